//! Tests of the header scanner: header block end rules, each `EmailCopy` field and the
//! automated rules.

use rapport_core::model::{EmailCopy, MailRecord};

use super::{HeaderField, HeaderFields, dedup_keep_order, parse_message};

/// 2000-12-18T03:33:00Z.
const BASE: i64 = 977_110_380;

fn email(bytes: &[u8]) -> EmailCopy {
    match parse_message(bytes) {
        MailRecord::Email(copy) => copy,
        MailRecord::Unparseable => panic!("unparseable: {:?}", String::from_utf8_lossy(bytes)),
    }
}

fn field_names(bytes: &[u8]) -> Vec<String> {
    HeaderFields::new(bytes).map(|field| String::from_utf8_lossy(field.name).into_owned()).collect()
}

#[test]
fn full_message_lf() {
    let message = b"From MAILER-DAEMON Mon Apr 18 14:26:13 2022\n\
Message-ID: <16702980.1075849628364.JavaMail.evans@thyme>\n\
Date: Mon, 18 Dec 2000 03:33:00 -0800 (PST)\n\
From: Kim Godfrey <Kim.Godfrey@enron.com>\n\
To: jennifer.stewart@enron.com, \"Bob\" <bob@x.org>\n\
Cc: jennifer.stewart@enron.com\n\
Bcc: carol@y.org\n\
In-Reply-To: <parent@x.org>\n\
Subject: Re: Compaq Update\n\
\n\
To: body@not.read\n";
    assert_eq!(
        email(message),
        EmailCopy {
            message_id: Some("16702980.1075849628364.JavaMail.evans@thyme".to_string()),
            sent: Some(BASE + 8 * 3600),
            sender: Some("kim.godfrey@enron.com".to_string()),
            recipients: vec![
                "jennifer.stewart@enron.com".to_string(),
                "bob@x.org".to_string(),
                "carol@y.org".to_string(),
            ],
            parent_id: Some("parent@x.org".to_string()),
            automated: false,
        }
    );
}

#[test]
fn full_message_crlf_and_folding() {
    let message = b"Message-ID:\r\n <abc@x.org>\r\nDate: Mon, 18 Dec 2000\r\n 03:33:00 +0000\r\nfrom: a@x.org\r\nTO: b@y.org,\r\n\tc@z.org\r\n\r\nCc: d@body.org\r\n";
    let copy = email(message);
    assert_eq!(copy.message_id.as_deref(), Some("abc@x.org"));
    assert_eq!(copy.sent, Some(BASE));
    assert_eq!(copy.sender.as_deref(), Some("a@x.org"));
    assert_eq!(copy.recipients, ["b@y.org", "c@z.org"]);
}

#[test]
fn header_block_ends_at_first_empty_line() {
    assert_eq!(field_names(b"A: 1\nB: 2\n\nC: 3\n"), ["A", "B"]);
    assert_eq!(field_names(b"A: 1\r\nB: 2\r\n\r\nC: 3\r\n"), ["A", "B"]);
}

#[test]
fn header_block_ends_at_a_line_that_is_no_field() {
    assert_eq!(field_names(b"A: 1\nnot a field\nC: 3\n"), ["A"]);
    assert_eq!(field_names(b"A: 1\nSubject : spaced\nC: 3\n"), ["A"]);
    assert_eq!(field_names(b"A: 1\n: no name\nC: 3\n"), ["A"]);
    assert_eq!(field_names(b"A: 1\nN\xe4me: 8-bit name\nC: 3\n"), ["A"]);
    assert_eq!(field_names(b"A: 1\n>From x\nC: 3\n"), ["A"]);
    assert_eq!(field_names(b"A: 1\nB: 2"), ["A", "B"]);
}

#[test]
fn header_field_values_span_continuations() {
    let fields: Vec<HeaderField<'_>> =
        HeaderFields::new(b"A: one\r\n two\r\n\tthree\r\nB:\r\nC:x").collect();
    assert_eq!(
        fields,
        [
            HeaderField { name: b"A", value: b" one\r\n two\r\n\tthree" },
            HeaderField { name: b"B", value: b"" },
            HeaderField { name: b"C", value: b"x" },
        ]
    );
}

#[test]
fn names_may_hold_any_printable_ascii() {
    assert_eq!(field_names(b"X-a.b_c~!: 1\nMIME-Version: 1.0\n"), ["X-a.b_c~!", "MIME-Version"]);
}

#[test]
fn mbox_envelope_line_is_skipped_only_at_the_top() {
    assert_eq!(field_names(b"From someone Mon Apr 18 2022\nA: 1\n"), ["A"]);
    assert_eq!(field_names(b"From: a@x.org\n"), ["From"]);
    assert_eq!(field_names(b"A: 1\nFrom someone\nB: 2\n"), ["A"]);
}

#[test]
fn no_header_field_is_unparseable() {
    assert_eq!(parse_message(b""), MailRecord::Unparseable);
    assert_eq!(parse_message(b"\n"), MailRecord::Unparseable);
    assert_eq!(parse_message(b"\r\nA: 1\r\n"), MailRecord::Unparseable);
    assert_eq!(parse_message(b"just some text\nA: 1\n"), MailRecord::Unparseable);
    assert_eq!(parse_message(b"From someone\n\nA: 1\n"), MailRecord::Unparseable);
    assert_eq!(parse_message(b"From someone"), MailRecord::Unparseable);
    assert_eq!(parse_message(b"\xff\xfe\x00garbage"), MailRecord::Unparseable);
}

#[test]
fn a_message_with_only_unknown_fields_is_an_email() {
    assert_eq!(parse_message(b"X-Thing: 1\n"), MailRecord::Email(EmailCopy::default()));
}

#[test]
fn first_date_field_wins() {
    let copy = email(b"Date: 18 Dec 2000 03:33:00 +0000\nDate: 19 Dec 2000 03:33:00 +0000\n");
    assert_eq!(copy.sent, Some(BASE));
}

#[test]
fn unparseable_date_falls_back_to_latest_received() {
    let message = b"Received: from a by b; Mon, 18 Dec 2000 03:33:00 +0000\n\
Received: from c by d; Mon, 18 Dec 2000 05:33:00 +0000\n\
Received: from e by f; garbage\n\
Date: Whenever\n\
Received: from g by h; Mon, 18 Dec 2000 04:33:00 +0000\n";
    assert_eq!(email(message).sent, Some(BASE + 2 * 3600));
}

#[test]
fn missing_date_falls_back_to_received() {
    assert_eq!(email(b"Received: by x; 18 Dec 2000 03:33:00 +0000\n").sent, Some(BASE));
}

#[test]
fn received_fallback_reads_only_the_header_block() {
    let message = b"From: a@x.org\n\nReceived: by x; 18 Dec 2000 03:33:00 +0000\n";
    assert_eq!(email(message).sent, None);
}

#[test]
fn a_parseable_date_is_used_even_if_received_is_later() {
    let message = b"Received: by x; 18 Dec 2000 09:33:00 +0000\nDate: 18 Dec 2000 03:33:00 +0000\n";
    assert_eq!(email(message).sent, Some(BASE));
}

#[test]
fn no_date_at_all() {
    assert_eq!(email(b"From: a@x.org\nDate: garbage\n").sent, None);
}

#[test]
fn message_id_forms() {
    let check = |value: &str, expect: Option<&str>| {
        let message = format!("Message-ID:{value}\n");
        assert_eq!(email(message.as_bytes()).message_id.as_deref(), expect, "{value:?}");
    };
    check(" <a@b>", Some("a@b"));
    check(" <Case.Kept@B> (comment)", Some("Case.Kept@B"));
    check(" (comment) <a@b> <c@d>", Some("a@b"));
    check("   bare-id@host  ", Some("bare-id@host"));
    check(" <>", None);
    check(" < >", None);
    check("", None);
    check("   ", None);
    check(" <unclosed", Some("<unclosed"));
    let first_field_wins = email(b"Message-ID: <one>\nMessage-Id: <two>\n");
    assert_eq!(first_field_wins.message_id.as_deref(), Some("one"));
}

#[test]
fn sender_is_the_first_valid_address_of_the_first_from() {
    assert_eq!(
        email(b"From: not-an-address, \"A\" <A@X.org>, b@y.org\nTo: c@z.org\n").sender.as_deref(),
        Some("a@x.org")
    );
    assert_eq!(email(b"From: nobody\nFrom: b@y.org\n").sender, None);
    let copy = email(b"From: a@x.org, b@x.org\nTo: c@z.org\n");
    assert_eq!(copy.recipients, ["c@z.org"]);
}

#[test]
fn sender_and_reply_to_style_fields_are_not_used() {
    let copy = email(
        b"Sender: s@x.org\nReply-To: r@x.org\nResent-To: rt@x.org\nDelivered-To: d@x.org\nX-To: x@x.org\n",
    );
    assert_eq!(copy.sender, None);
    assert!(copy.recipients.is_empty());
}

#[test]
fn recipients_from_every_to_cc_bcc_without_repeats() {
    let copy = email(
        b"To: a@x.org, B@x.org\nCc: b@x.org, undisclosed-recipients:;\nbcc: c@x.org\nTo: A@X.ORG, d@x.org\n",
    );
    assert_eq!(copy.recipients, ["a@x.org", "b@x.org", "c@x.org", "d@x.org"]);
}

#[test]
fn parent_from_in_reply_to_first_id() {
    let copy = email(b"In-Reply-To: <p1@x> <p2@x>\nReferences: <r1@x> <r2@x>\n");
    assert_eq!(copy.parent_id.as_deref(), Some("p1@x"));
}

#[test]
fn several_in_reply_to_fields_are_joined() {
    let copy = email(b"In-Reply-To: no id here\nIn-Reply-To: <>, <p2@x>\nIn-Reply-To: <p3@x>\n");
    assert_eq!(copy.parent_id.as_deref(), Some("p2@x"));
}

#[test]
fn parent_from_the_last_references_id_over_all_fields() {
    let copy = email(b"References: <r1@x>\n <r2@x>\nReferences: <r3@x> <>\nReferences: none\n");
    assert_eq!(copy.parent_id.as_deref(), Some("r3@x"));
    let copy = email(b"In-Reply-To: no brackets@x\nReferences: <r1@x>\n");
    assert_eq!(copy.parent_id.as_deref(), Some("r1@x"));
    assert_eq!(email(b"References: bare@x\n").parent_id, None);
}

#[test]
fn automated_rules() {
    let check = |headers: &str, expect: bool| {
        assert_eq!(email(headers.as_bytes()).automated, expect, "{headers:?}");
    };
    check("From: a@x.org\n", false);
    check("Auto-Submitted: auto-generated\n", true);
    check("Auto-Submitted: auto-replied; owner-email=\"a@x\"\n", true);
    check("Auto-Submitted: no\n", false);
    check("Auto-Submitted: NO ; x=y\n", false);
    check("Auto-Submitted: (human) no (really)\n", false);
    check("Auto-Submitted:\n", true);
    check("Precedence: bulk\n", true);
    check("Precedence: LIST\n", true);
    check("precedence: junk\n", true);
    check("Precedence: first-class\n", false);
    check("List-Id: <list.x.org>\n", true);
    check("list-id:\n", true);
    check("List-Unsubscribe: <mailto:u@x.org>\n", true);
    check("Content-Type: text/calendar; method=REQUEST\n", true);
    check("Content-Type: Text/Calendar\n", true);
    check("Content-Type: multipart/alternative; boundary=x\n", false);
    check("Content-Class: urn:content-classes:calendarmessage\n", true);
    check("Content-Class: urn:content-classes:message\n", false);
    check("X-List-Id: x\n", false);
    check("From: a@x.org\n\nList-Id: body\n", false);
}

#[test]
fn eight_bit_and_invalid_utf8_headers_never_fail() {
    let copy = email(
        b"From: J\xf6rg <j@x.org>\nTo: \xff\xfe <k@x.org>\nMessage-ID: <\xe9@x>\nSubject: \xc3\x28\n",
    );
    assert_eq!(copy.sender.as_deref(), Some("j@x.org"));
    assert_eq!(copy.recipients, ["k@x.org"]);
    assert_eq!(copy.message_id.as_deref(), Some("\u{fffd}@x"));
}

#[test]
fn dedup_keeps_first_occurrences_in_order() {
    let check = |input: &[&str], expect: &[&str]| {
        let mut list: Vec<String> = input.iter().map(|text| text.to_string()).collect();
        dedup_keep_order(&mut list);
        assert_eq!(list, expect);
    };
    check(&[], &[]);
    check(&["b", "a", "b", "c", "a"], &["b", "a", "c"]);
    let long: Vec<String> = (0..100).map(|index| format!("{}", (index * 7) % 40)).collect();
    let long_refs: Vec<&str> = long.iter().map(String::as_str).collect();
    let expect: Vec<String> = (0..40).map(|index| format!("{}", (index * 7) % 40)).collect();
    let expect_refs: Vec<&str> = expect.iter().map(String::as_str).collect();
    check(&long_refs, &expect_refs);
}
