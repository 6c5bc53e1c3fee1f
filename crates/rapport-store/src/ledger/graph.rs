//! What the Microsoft Graph source keeps between runs: per mailbox and container (a mail folder,
//! or the calendar) the items the delta rounds gave, pseudonymised, and the changes one page
//! makes. Mail items are one record in the mail ledger's codec; meeting occurrences have a small
//! codec of their own here.

use rapport_core::model::{MailRecord, MeetingCopy};

use super::{DecodeError, decode, encode_segment, new_blob};

/// The container name of a mailbox's calendar (mail folders are named by their Graph id).
pub const CALENDAR: &str = "calendar";

/// One kept item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GraphRecord {
    /// A message copy, with the pseudonyms of its `conversationIndex` and of its parent's.
    Mail {
        /// The record (addresses and ids pseudonymised).
        record: MailRecord,
        /// Pseudonym of the message's own `conversationIndex`.
        link_key: Option<String>,
        /// Pseudonym of the `conversationIndex` minus its last 5 bytes (a reply's parent).
        parent_link_key: Option<String>,
    },
    /// A meeting occurrence copy (addresses and UID pseudonymised).
    Meeting(MeetingCopy),
}

/// A kept item as read back, with where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphItem {
    /// The mailbox (Entra object id).
    pub mailbox: String,
    /// The mail folder id, or [`CALENDAR`].
    pub container: String,
    /// The item's Graph id.
    pub graph_id: String,
    /// The item.
    pub record: GraphRecord,
}

/// What one page of a delta round changes, written with the checkpoint that follows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GraphPage {
    /// The mailbox.
    pub mailbox: String,
    /// The mail folder id, or [`CALENDAR`].
    pub container: String,
    /// The first page of a full round: the container's kept items go first.
    pub reset: bool,
    /// New or changed items by Graph id.
    pub upserted: Vec<(String, GraphRecord)>,
    /// Graph ids to forget.
    pub removed: Vec<String>,
    /// The whole sync state after this page (JSON; links only, no activity).
    pub state: String,
}

/// The stored form of a record: (`kind`, bytes).
pub(crate) fn encode(record: &GraphRecord) -> (&'static str, Vec<u8>) {
    match record {
        GraphRecord::Mail { record, .. } => {
            let mut blob = new_blob();
            encode_segment(std::slice::from_ref(record), &mut blob);
            ("mail", blob)
        }
        GraphRecord::Meeting(copy) => ("meeting", encode_meeting(copy)),
    }
}

/// A record from its stored form.
pub(crate) fn decode_record(
    kind: &str,
    bytes: &[u8],
    link_key: Option<String>,
    parent_link_key: Option<String>,
) -> Result<GraphRecord, DecodeError> {
    match kind {
        "mail" => {
            let record =
                decode(bytes)?.into_iter().next().ok_or(DecodeError::Damaged { offset: 0 })?;
            Ok(GraphRecord::Mail { record, link_key, parent_link_key })
        }
        _ => decode_meeting(bytes).map(GraphRecord::Meeting),
    }
}

/// A meeting as JSON: small, and every field named.
pub(crate) fn encode_meeting(copy: &MeetingCopy) -> Vec<u8> {
    serde_json::json!({
        "key": copy.key.as_ref().map(|(uid, instant)| serde_json::json!([uid, instant])),
        "start": copy.start,
        "end": copy.end,
        "organizer": copy.organizer,
        "participants": copy.participants,
        "cancelled": copy.cancelled,
        "all_day": copy.all_day,
    })
    .to_string()
    .into_bytes()
}

pub(crate) fn decode_meeting(bytes: &[u8]) -> Result<MeetingCopy, DecodeError> {
    let damaged = || DecodeError::Damaged { offset: 0 };
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|_| damaged())?;
    let text = |value: &serde_json::Value| value.as_str().map(str::to_owned);
    let key = match &value["key"] {
        serde_json::Value::Null => None,
        key => Some((text(&key[0]).ok_or_else(damaged)?, key[1].as_i64().ok_or_else(damaged)?)),
    };
    Ok(MeetingCopy {
        key,
        start: value["start"].as_i64().ok_or_else(damaged)?,
        end: value["end"].as_i64().ok_or_else(damaged)?,
        organizer: text(&value["organizer"]),
        participants: value["participants"]
            .as_array()
            .ok_or_else(damaged)?
            .iter()
            .filter_map(text)
            .collect(),
        cancelled: value["cancelled"].as_bool().ok_or_else(damaged)?,
        all_day: value["all_day"].as_bool().ok_or_else(damaged)?,
    })
}

#[cfg(test)]
mod tests {
    use rapport_core::model::EmailCopy;

    use super::*;

    #[test]
    fn records_round_trip() {
        let meeting = MeetingCopy {
            key: Some(("p1@x".into(), 1_700_000_000)),
            start: 1_700_000_000,
            end: 1_700_003_600,
            organizer: Some("pa@org.example".into()),
            participants: vec!["pb@c.example".into(), "pc@c.example".into()],
            cancelled: false,
            all_day: true,
        };
        let (kind, bytes) = encode(&GraphRecord::Meeting(meeting.clone()));
        assert_eq!(kind, "meeting");
        assert_eq!(decode_record(kind, &bytes, None, None), Ok(GraphRecord::Meeting(meeting)));
        let mail = GraphRecord::Mail {
            record: MailRecord::Email(EmailCopy {
                message_id: Some("0123456789abcdef0123456789abcdef".into()),
                sent: Some(5),
                sender: Some("pa@org.example".into()),
                recipients: vec!["pb@c.example".into()],
                parent_id: None,
                automated: true,
            }),
            link_key: Some("k1".into()),
            parent_link_key: None,
        };
        let (kind, bytes) = encode(&mail);
        assert_eq!(kind, "mail");
        assert_eq!(decode_record(kind, &bytes, Some("k1".into()), None), Ok(mail));
        assert!(decode_record("meeting", b"{}", None, None).is_err());
        assert!(decode_record("mail", &[1, 0], None, None).is_err());
    }
}
