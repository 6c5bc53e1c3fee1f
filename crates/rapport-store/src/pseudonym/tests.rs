use std::os::unix::fs::PermissionsExt as _;

use chrono::NaiveDate;
use hmac::{Hmac, KeyInit as _};
use rapport_core::calendar::{
    CalendarFile, Event, EventComponent, EventGroup, Length, Start, TimeValue,
};
use rapport_core::model::{EmailCopy, MailRecord};
use sha2::Sha256;

use super::{KEY_FILE, Key, PseudonymCache, Pseudonymizer};
use crate::error::Error;

/// The key 00 01 02 ... 1f. The expected pseudonyms below were computed independently with
/// Python's `hmac`, `hashlib.sha256` and `base64.b32encode`.
fn counting_key() -> Key {
    let mut bytes = [0_u8; 32];
    for (index, byte) in bytes.iter_mut().enumerate() {
        *byte = index as u8;
    }
    Key::from_bytes(bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[test]
fn the_mac_is_hmac_sha256() {
    // RFC 4231, test case 1.
    let keyed = <Hmac<Sha256>>::new_from_slice(&[0x0b; 20]).expect("key");
    let pseudonymizer = Pseudonymizer { keyed, key_id: 0 };
    assert_eq!(
        hex(&pseudonymizer.mac(b"Hi ", b"There")),
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
    );
}

#[test]
fn addresses_become_p_base32_at_the_domain() {
    let pseudonymizer = Pseudonymizer::new(&counting_key());
    assert_eq!(
        pseudonymizer.address("alice@contoso.com"),
        "pkeec3feoaq3ajmoljrowh4w6s2@contoso.com"
    );
    assert_eq!(
        pseudonymizer.address("bob@fabrikam.example"),
        "pbu6hjjumhrw3d33nqgmfm2xmfl@fabrikam.example"
    );
    assert_eq!(
        pseudonymizer.address("jürgen@münchen.example"),
        "pjjbbbqgdm7hv4jjykyhkzfd4sx@münchen.example"
    );
    // 1 + 26 base32 characters before the domain, whatever the local part's length.
    let long =
        pseudonymizer.address("a.very.long.local.part.indeed.longer.than.the.hash@x.example");
    assert_eq!(long.find('@'), Some(27));
    assert!(
        long[1..27].bytes().all(|byte| byte.is_ascii_lowercase() || (b'2'..=b'7').contains(&byte))
    );
}

#[test]
fn the_empty_address_stays_empty_and_one_without_at_has_no_domain() {
    let pseudonymizer = Pseudonymizer::new(&counting_key());
    assert_eq!(pseudonymizer.address(""), "");
    let bare = pseudonymizer.address("postmaster");
    assert_eq!(bare.len(), 27);
    assert!(bare.starts_with('p'));
    assert!(!bare.contains('@'));
    // The domain is the part after the last `@`.
    assert!(pseudonymizer.address("\"a@b\"@c.example").ends_with("@c.example"));
}

#[test]
fn message_ids_become_32_hex_characters() {
    let pseudonymizer = Pseudonymizer::new(&counting_key());
    assert_eq!(pseudonymizer.message_id("abc@host.example"), "2d085337f74649a0456d032abe5dd2d8");
    // The `id:` prefix separates ids from addresses: without it the same text hashes to
    // other bytes.
    let unprefixed = hex(&pseudonymizer.mac(b"", b"abc@host.example"));
    assert_eq!(unprefixed.len(), 64);
    assert_ne!(pseudonymizer.message_id("abc@host.example"), unprefixed[..32]);
}

#[test]
fn another_key_gives_other_pseudonyms_and_another_key_id() {
    let first = Pseudonymizer::new(&counting_key());
    let second = Pseudonymizer::new(&Key::from_bytes([7; 32]));
    assert_ne!(first.address("alice@contoso.com"), second.address("alice@contoso.com"));
    assert_ne!(first.message_id("x@y"), second.message_id("x@y"));
    assert_eq!(first.key_id(), -2_747_661_476_812_581_768);
    assert_ne!(first.key_id(), second.key_id());
    assert_eq!(format!("{:?}", counting_key()), "Key(..)");
}

#[test]
fn a_copy_is_pseudonymised_after_folding_the_automated_sender_rule() {
    let pseudonymizer = Pseudonymizer::new(&counting_key());
    let mut cache = PseudonymCache::default();
    let copy = |sender: &str| EmailCopy {
        message_id: Some("abc@host.example".into()),
        sent: Some(1_700_000_000),
        sender: Some(sender.into()),
        recipients: vec!["alice@contoso.com".into(), "bob@fabrikam.example".into()],
        parent_id: Some("abc@host.example".into()),
        automated: false,
    };
    let mut record = MailRecord::Email(copy("noreply@fabrikam.example"));
    pseudonymizer.mail_record(&mut record, &mut cache);
    let MailRecord::Email(done) = record else { panic!("an email stays an email") };
    assert!(done.automated);
    assert_eq!(done.sender, Some(pseudonymizer.address("noreply@fabrikam.example")));
    assert_eq!(
        done.recipients,
        vec![
            "pkeec3feoaq3ajmoljrowh4w6s2@contoso.com".to_owned(),
            "pbu6hjjumhrw3d33nqgmfm2xmfl@fabrikam.example".to_owned()
        ]
    );
    assert_eq!(done.message_id.as_deref(), Some("2d085337f74649a0456d032abe5dd2d8"));
    assert_eq!(done.parent_id.as_deref(), Some("2d085337f74649a0456d032abe5dd2d8"));
    assert_eq!(done.sent, Some(1_700_000_000));

    // The whole local part must match: this sender is not automated.
    let mut person = copy("noreply.team@fabrikam.example");
    pseudonymizer.email_copy(&mut person, &mut cache);
    assert!(!person.automated);
    // An unparseable record has nothing to hide.
    let mut unparseable = MailRecord::Unparseable;
    pseudonymizer.mail_record(&mut unparseable, &mut cache);
    assert_eq!(unparseable, MailRecord::Unparseable);
}

#[test]
fn a_calendar_loses_its_uids_and_addresses_and_keeps_the_rest() {
    let pseudonymizer = Pseudonymizer::new(&counting_key());
    let uid = "040000008200E00074C5B7101A82E008";
    // Computed independently with Python's `hmac` and `hashlib.sha256`: a UID's pseudonym is not
    // the pseudonym of the same text as a Message-ID.
    assert_eq!(pseudonymizer.uid(uid), "d2bf728b49e18285ff0e08ec812c1654");
    assert_eq!(pseudonymizer.message_id(uid), "94f3f302b8017a258ca9944813093909");
    let event = |organizer: Option<&str>, participants: &[&str]| Event {
        recurrence_id: Some(TimeValue::Instant(1_700_000_000)),
        sequence: 3,
        stamp: Some(1_690_000_000),
        start: Start::Date(NaiveDate::from_ymd_opt(2024, 3, 4).expect("date")),
        length: Length::Exact(3600),
        rules: Vec::new(),
        dates: Vec::new(),
        exception_dates: Vec::new(),
        organizer: organizer.map(str::to_owned),
        participants: participants.iter().map(|participant| (*participant).to_owned()).collect(),
        cancelled: true,
        all_day: false,
    };
    let calendar = |uid: Option<&str>, organizer, participants| CalendarFile {
        method: Some("REQUEST".into()),
        groups: vec![
            EventGroup {
                uid: uid.map(str::to_owned),
                components: vec![
                    EventComponent::Unparseable,
                    EventComponent::Event(Box::new(event(organizer, participants))),
                ],
            },
            EventGroup { uid: None, components: vec![EventComponent::InvalidDate] },
        ],
    };
    let mut file = calendar(
        Some(uid),
        Some("bob@fabrikam.example"),
        &["alice@contoso.com", "bob@fabrikam.example", ""],
    );
    pseudonymizer.calendar_file(&mut file, &mut PseudonymCache::default());
    assert_eq!(
        file,
        calendar(
            Some("d2bf728b49e18285ff0e08ec812c1654"),
            Some("pbu6hjjumhrw3d33nqgmfm2xmfl@fabrikam.example"),
            &[
                "pkeec3feoaq3ajmoljrowh4w6s2@contoso.com",
                "pbu6hjjumhrw3d33nqgmfm2xmfl@fabrikam.example",
                ""
            ],
        )
    );
}

#[test]
fn the_key_file_is_created_private_and_reused() {
    let folder = tempfile::tempdir().expect("temp dir");
    let data_dir = folder.path().join("data");
    let first = Key::load_or_create(&data_dir).expect("create");
    let path = data_dir.join(KEY_FILE);
    let metadata = std::fs::metadata(&path).expect("key file");
    assert_eq!(metadata.permissions().mode() & 0o777, 0o600);
    assert_eq!(metadata.len(), 32);
    assert_eq!(std::fs::read(&path).expect("read"), first.0.to_vec());
    let second = Key::load_or_create(&data_dir).expect("reuse");
    assert_eq!(first.0, second.0);
    // No temporary file is left behind.
    let names: Vec<_> = std::fs::read_dir(&data_dir)
        .expect("list")
        .map(|entry| entry.expect("entry").file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from(KEY_FILE)]);
    // Two new installations get different keys.
    let other = Key::load_or_create(&folder.path().join("other")).expect("create");
    assert_ne!(first.0, other.0);
}

#[test]
fn a_key_file_others_may_read_or_of_the_wrong_size_is_refused() {
    let folder = tempfile::tempdir().expect("temp dir");
    let path = folder.path().join(KEY_FILE);
    std::fs::write(&path, [1_u8; 32]).expect("write");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let error = Key::load_or_create(folder.path()).expect_err("group-readable");
    assert!(matches!(error, Error::Key { .. }), "{error:?}");
    assert!(error.to_string().contains("mode is 0644"), "{error}");
    // The file is left as it was.
    assert_eq!(std::fs::read(&path).expect("read"), vec![1_u8; 32]);

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    assert_eq!(Key::load_or_create(folder.path()).expect("private").0, [1_u8; 32]);

    std::fs::write(&path, [1_u8; 31]).expect("write");
    let error = Key::load_or_create(folder.path()).expect_err("short");
    assert!(error.to_string().contains("holds 31 bytes instead of 32"), "{error}");
}
