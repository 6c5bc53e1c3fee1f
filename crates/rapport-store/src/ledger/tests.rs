use proptest::prelude::*;
use rapport_core::model::{EmailCopy, MailRecord};

use super::{
    DecodeError, FORMAT_VERSION, combine_hashes, content_hash, decode, encode_segment, new_blob,
    segments,
};

fn email(
    message_id: Option<&str>,
    sent: Option<i64>,
    sender: Option<&str>,
    recipients: &[&str],
    parent_id: Option<&str>,
    automated: bool,
) -> MailRecord {
    MailRecord::Email(EmailCopy {
        message_id: message_id.map(str::to_owned),
        sent,
        sender: sender.map(str::to_owned),
        recipients: recipients.iter().map(|recipient| (*recipient).to_owned()).collect(),
        parent_id: parent_id.map(str::to_owned),
        automated,
    })
}

fn blob_of(segments: &[&[MailRecord]]) -> Vec<u8> {
    let mut blob = new_blob();
    for records in segments {
        encode_segment(records, &mut blob);
    }
    blob
}

#[test]
fn a_small_segment_has_the_documented_bytes() {
    let records = [
        email(
            Some("0123456789abcdef0123456789abcdef"),
            Some(100),
            Some("a@x"),
            &["b@y", "a@x"],
            Some("id"),
            true,
        ),
        MailRecord::Unparseable,
        email(None, Some(90), None, &[], None, false),
    ];
    let blob = blob_of(&[&records]);
    #[rustfmt::skip]
    let expected: Vec<u8> = vec![
        FORMAT_VERSION,
        41, // the segment's length
        2, 3, b'a', b'@', b'x', 3, b'b', b'@', b'y', // two strings
        3, // three records
        0b11_1110, // message id, sent, sender, parent, automated
        0, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
        0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, // packed id
        200, 1, // zigzag(100) = 200
        0, // sender: string 0
        2, 1, 0, // recipients: strings 1 and 0
        3, b'i', b'd', // a text id: length + 1, bytes
        1, // unparseable
        0b100, 19, // sent only: zigzag(90 - 100) = 19
        0, // no recipients
    ];
    assert_eq!(blob, expected);
    assert_eq!(decode(&blob).expect("decode"), records.to_vec());
}

#[test]
fn records_round_trip_with_none_fields_markers_and_non_ascii() {
    let first = [
        email(None, None, None, &[], None, false),
        MailRecord::Unparseable,
        email(
            Some("<Not-Hex@Host>"),
            Some(i64::MIN),
            Some("jürgen@münchen.example"),
            &[],
            None,
            false,
        ),
        email(
            Some("ABCDEF0123456789ABCDEF0123456789"),
            Some(i64::MAX),
            None,
            &["élodie@société.example", "jürgen@münchen.example", "x@y"],
            Some("日本@example"),
            true,
        ),
        email(Some(""), Some(0), Some(""), &[""], Some(""), false),
        MailRecord::Unparseable,
    ];
    let second = [email(
        Some("ffffffffffffffffffffffffffffffff"),
        Some(-1),
        Some("x@y"),
        &["x@y", "x@y"],
        Some("00000000000000000000000000000000"),
        true,
    )];
    let empty: [MailRecord; 0] = [];
    let blob = blob_of(&[&first, &empty, &second]);
    let by_segment: Vec<Vec<MailRecord>> =
        segments(&blob).expect("format").collect::<Result<_, _>>().expect("segments");
    assert_eq!(by_segment, vec![first.to_vec(), Vec::new(), second.to_vec()]);
    let mut all = first.to_vec();
    all.extend(second.iter().cloned());
    assert_eq!(decode(&blob).expect("decode"), all);
    assert_eq!(decode(&new_blob()).expect("empty"), Vec::new());
}

#[test]
fn another_format_is_refused_before_anything_is_read() {
    assert_eq!(decode(&[]), Err(DecodeError::Format { found: None }));
    assert_eq!(decode(&[FORMAT_VERSION + 1, 0]), Err(DecodeError::Format { found: Some(2) }));
}

#[test]
fn damaged_blobs_are_errors_never_panics() {
    let records = [
        email(
            Some("0123456789abcdef0123456789abcdef"),
            Some(100),
            Some("a@x"),
            &["b@y"],
            Some("i"),
            true,
        ),
        MailRecord::Unparseable,
    ];
    let blob = blob_of(&[&records, &records]);
    // Every truncation fails (a cut between the two segments leaves a valid first segment).
    let first_segment_end = 1 + 1 + usize::from(blob[1]);
    for length in 1..blob.len() {
        let outcome = decode(&blob[..length]);
        if length == first_segment_end {
            assert_eq!(outcome.expect("one whole segment"), records.to_vec());
        } else if length > 1 {
            assert!(matches!(outcome, Err(DecodeError::Damaged { .. })), "{length}: {outcome:?}");
        }
    }
    // Flipping any byte after the format byte never panics.
    for position in 1..blob.len() {
        for value in [0_u8, 1, 0x7f, 0x80, 0xff] {
            let mut damaged = blob.clone();
            damaged[position] = value;
            let _ = decode(&damaged);
        }
    }
    // An unknown tag bit, a bad string index and trailing bytes in a segment are damage, found
    // where they are.
    let damaged_at = |offset| Err(DecodeError::Damaged { offset });
    assert_eq!(decode(&[FORMAT_VERSION, 3, 0, 1, 0x40]), damaged_at(5));
    assert_eq!(decode(&[FORMAT_VERSION, 5, 0, 1, 0b1000, 0, 0]), damaged_at(6));
    assert_eq!(decode(&[FORMAT_VERSION, 3, 0, 0, 0]), damaged_at(4));
    // A huge count does not allocate for it: the first missing record is the damage.
    assert_eq!(
        decode(&[FORMAT_VERSION, 10, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]),
        damaged_at(12)
    );
}

#[test]
fn the_content_hash_is_xxh64() {
    // Published XXH64 values (seed 0).
    assert_eq!(content_hash(b""), 0xEF46_DB37_51D8_E999);
    assert_eq!(content_hash(b"a"), 0xD24E_C4F1_A98C_6E5B);
    assert_eq!(content_hash(b"abc"), 0x44BC_2CF5_AD77_0999);
    assert_eq!(content_hash(b"Nobody inspects the spammish repetition"), 0xFBCE_A83C_8A37_8BF1);
    assert_ne!(content_hash(b"From a\n\nx"), content_hash(b"From a\n\ny"));
    // One block: its own hash; several: the hash of their hashes, in order.
    assert_eq!(combine_hashes(&[7]), 7);
    let mut one_two = 1_u64.to_le_bytes().to_vec();
    one_two.extend_from_slice(&2_u64.to_le_bytes());
    assert_eq!(combine_hashes(&[1, 2]), content_hash(&one_two));
    assert_ne!(combine_hashes(&[1, 2]), combine_hashes(&[2, 1]));
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z0-9@.]{0,12}", "[0-9a-f]{32}", "\\PC{0,8}",]
}

fn any_record() -> impl Strategy<Value = MailRecord> {
    prop_oneof![
        1 => Just(MailRecord::Unparseable),
        8 => (
            proptest::option::of(any_text()),
            proptest::option::of(any::<i64>()),
            proptest::option::of(any_text()),
            proptest::collection::vec(any_text(), 0..4),
            proptest::option::of(any_text()),
            any::<bool>(),
        )
            .prop_map(|(message_id, sent, sender, recipients, parent_id, automated)| {
                MailRecord::Email(EmailCopy { message_id, sent, sender, recipients, parent_id, automated })
            }),
    ]
}

proptest! {
    #[test]
    fn any_records_round_trip(
        segments_in in proptest::collection::vec(proptest::collection::vec(any_record(), 0..12), 0..4)
    ) {
        let mut blob = new_blob();
        for records in &segments_in {
            encode_segment(records, &mut blob);
        }
        let decoded: Vec<Vec<MailRecord>> =
            segments(&blob).expect("format").collect::<Result<_, _>>().expect("decode");
        prop_assert_eq!(decoded, segments_in);
    }
}
