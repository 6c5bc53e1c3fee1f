//! Fuzzes the header scanner over one message.
//!
//! Besides not panicking: recipients never repeat, and a message that holds a header field is
//! never unparseable.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rapport_core::model::MailRecord;
use rapport_ingest::mail;

fuzz_target!(|data: &[u8]| {
    match mail::parse_message(data) {
        MailRecord::Email(copy) => {
            for (index, recipient) in copy.recipients.iter().enumerate() {
                assert!(!copy.recipients[..index].contains(recipient), "{recipient:?}");
            }
            assert_ne!(copy.message_id.as_deref(), Some(""));
            assert_ne!(copy.parent_id.as_deref(), Some(""));
        }
        MailRecord::Unparseable => {
            // The first line (after an envelope line) cannot be a header field.
            let start = if data.starts_with(b"From ") {
                data.iter()
                    .position(|&byte| byte == b'\n')
                    .map_or(data.len(), |newline| newline + 1)
            } else {
                0
            };
            let rest = &data[start..];
            let first_line =
                &rest[..rest.iter().position(|&byte| byte == b'\n').unwrap_or(rest.len())];
            let is_field = first_line.iter().position(|&byte| byte == b':').is_some_and(|colon| {
                colon > 0 && first_line[..colon].iter().all(|&byte| (b'!'..=b'~').contains(&byte))
            });
            assert!(!is_field, "{first_line:?}");
        }
    }
});
