//! Tests of the JSON shapes, against the documented property names and values.

use super::*;
use crate::dataset::{
    Attendee, AttendeeType, EmailAddress, Event, EventType, Group, GroupKind, Message, MessageKind,
    ResponseType, User,
};
use crate::datetime::utc;

fn string(value: &str) -> String {
    let mut out = String::new();
    push_string(&mut out, value);
    out
}

#[test]
fn strings_are_escaped() {
    assert_eq!(string("plain"), r#""plain""#);
    assert_eq!(string("a\"b\\c"), r#""a\"b\\c""#);
    assert_eq!(string("line\nfeed\ttab\r"), r#""line\nfeed\ttab\r""#);
    assert_eq!(string("bell\u{7}"), r#""bell\u0007""#);
    assert_eq!(string("Zoë"), "\"Zoë\"");
    let parsed: String = serde_json::from_str(&string("x\u{1f}\"\\\n")).unwrap_or_default();
    assert_eq!(parsed, "x\u{1f}\"\\\n");
}

fn message() -> Message {
    Message {
        id: "AAMkX=".into(),
        internet_message_id: "<a@b.example>".into(),
        conversation_id: "AAQk=".into(),
        conversation_index: vec![1, 2, 3],
        sent: Some(utc(2025, 6, 2, 9, 0, 0)),
        received: utc(2025, 6, 2, 9, 0, 5),
        from: Some(EmailAddress::new("Ana \"A\"", "ana@fabrikam.example")),
        sender: Some(EmailAddress::new("Ana \"A\"", "ana@fabrikam.example")),
        to: vec![EmailAddress::new("Adele", "adele@contoso.example")],
        cc: Vec::new(),
        bcc: Vec::new(),
        is_draft: false,
        kind: MessageKind::EventMessage,
        subject: "Secret subject".into(),
    }
}

#[test]
fn message_with_select() {
    let fields = message_fields(Some(
        "internetMessageId, conversationIndex,SENTDATETIME,from,toRecipients,ccRecipients,isDraft",
    ));
    let Ok(fields) = fields else { panic!("select refused") };
    let mut out = String::new();
    push_message(&mut out, &message(), "folder", fields);
    let etag = {
        let mut key = String::new();
        push_change_key(&mut key, message_version(&message()));
        key
    };
    assert_eq!(
        out,
        format!(
            concat!(
                r##"{{"@odata.type":"#microsoft.graph.eventMessage","@odata.etag":"W/\"{etag}\"","##,
                r##""sentDateTime":"2025-06-02T09:00:00Z","internetMessageId":"<a@b.example>","##,
                r##""conversationIndex":"AQID","isDraft":false,"##,
                r##""from":{{"emailAddress":{{"name":"Ana \"A\"","address":"ana@fabrikam.example"}}}},"##,
                r##""toRecipients":[{{"emailAddress":{{"name":"Adele","address":"adele@contoso.example"}}}}],"##,
                r##""ccRecipients":[],"id":"AAMkX="}}"##
            ),
            etag = etag
        )
    );
    assert_eq!(message_fields(Some("id,body,nope")), Err(UnknownProperty("nope".into())));
}

#[test]
fn message_without_select_has_default_properties() {
    let Ok(fields) = message_fields(None) else { panic!("defaults refused") };
    let mut out = String::new();
    push_message(&mut out, &message(), "folder=", fields);
    let value: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
    let keys: Vec<&str> = value
        .as_object()
        .map(|object| object.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let mut expect = vec!["@odata.type", "@odata.etag"];
    expect.extend(
        MESSAGE_PROPERTIES
            .iter()
            .filter(|name| !matches!(**name, "internetMessageHeaders" | "uniqueBody")),
    );
    assert_eq!(keys, expect);
    assert_eq!(value["subject"], "Secret subject");
    assert_eq!(value["parentFolderId"], "folder=");
    assert_eq!(value["receivedDateTime"], "2025-06-02T09:00:05Z");
    assert_eq!(
        value["webLink"],
        "https://outlook.office365.com/owa/?ItemID=AAMkX%3D&exvsurl=1&viewmodel=ReadMessageItem"
    );
}

#[test]
fn event_shape() {
    let event = Event {
        id: "AAMkE=".into(),
        ical_uid: "040000008200".into(),
        event_type: EventType::Exception,
        series_master_id: Some("AAMkM=".into()),
        original_start: Some(utc(2025, 10, 20, 15, 0, 0)),
        start: utc(2025, 10, 21, 16, 0, 0),
        end: utc(2025, 10, 21, 16, 30, 0),
        is_all_day: false,
        is_cancelled: true,
        organizer: Some(EmailAddress::new("Bianca", "bianca@contoso.example")),
        attendees: vec![Attendee {
            kind: AttendeeType::Resource,
            response: ResponseType::Declined,
            email: EmailAddress::new("Room", "room@contoso.example"),
        }],
        response: ResponseType::Organizer,
        subject: "Weekly".into(),
    };
    let mut out = String::new();
    push_event(&mut out, &event);
    let value: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
    assert_eq!(value["@odata.type"], "#microsoft.graph.event");
    assert_eq!(value["type"], "exception");
    assert_eq!(value["seriesMasterId"], "AAMkM=");
    assert_eq!(value["originalStart"], "2025-10-20T15:00:00Z");
    assert_eq!(
        value["start"],
        serde_json::json!({"dateTime": "2025-10-21T16:00:00.0000000", "timeZone": "UTC"})
    );
    assert_eq!(value["end"]["dateTime"], "2025-10-21T16:30:00.0000000");
    assert_eq!(value["isCancelled"], true);
    assert_eq!(value["isAllDay"], false);
    assert_eq!(value["isOrganizer"], true);
    assert_eq!(value["responseStatus"]["response"], "organizer");
    assert_eq!(
        value["attendees"],
        serde_json::json!([{"type": "resource", "status": {"response": "declined", "time": "0001-01-01T00:00:00Z"}, "emailAddress": {"name": "Room", "address": "room@contoso.example"}}])
    );
    assert_eq!(value["organizer"]["emailAddress"]["address"], "bianca@contoso.example");
    assert_eq!(value["iCalUId"], "040000008200");
    assert_eq!(value["id"], "AAMkE=");
}

#[test]
fn directory_objects() {
    let user = User {
        id: "u1".into(),
        user_principal_name: "a@contoso.example".into(),
        mail: None,
        display_name: "A".into(),
        has_mailbox: true,
    };
    let mut out = String::new();
    let Ok(fields) = user_fields(Some("id,mail,userPrincipalName")) else {
        panic!("select refused")
    };
    push_user(&mut out, &user, fields, true);
    assert_eq!(
        out,
        r##"{"@odata.type":"#microsoft.graph.user","mail":null,"userPrincipalName":"a@contoso.example","id":"u1"}"##
    );

    let group = Group {
        id: "g1".into(),
        display_name: "Golf".into(),
        mail: Some("golf@contoso.example".into()),
        kind: GroupKind::Distribution,
        members: Vec::new(),
    };
    out.clear();
    let Ok(fields) = group_fields(None) else { panic!("defaults refused") };
    push_group(&mut out, &group, fields, false);
    assert_eq!(
        out,
        r#"{"id":"g1","description":null,"displayName":"Golf","groupTypes":[],"mail":"golf@contoso.example","mailEnabled":true,"mailNickname":"golf","securityEnabled":false}"#
    );

    out.clear();
    let Ok(fields) = folder_fields(Some("displayName,childFolderCount")) else {
        panic!("select refused")
    };
    let folder = FolderJson {
        id: "f1",
        display_name: "Inbox",
        parent_id: "root",
        child_folder_count: 2,
        total_item_count: 7,
    };
    push_folder(&mut out, &folder, fields);
    assert_eq!(out, r#"{"id":"f1","displayName":"Inbox","childFolderCount":2}"#);
}

#[test]
fn error_bodies() {
    let body: serde_json::Value =
        serde_json::from_str(&error_body("TooManyRequests", "Slow \"down\"")).unwrap_or_default();
    assert_eq!(body["error"]["code"], "TooManyRequests");
    assert_eq!(body["error"]["message"], "Slow \"down\"");
    let body: serde_json::Value = serde_json::from_str(&oauth_error_body(
        "invalid_client",
        7000215,
        "Invalid client secret provided.",
    ))
    .unwrap_or_default();
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(body["error_description"], "AADSTS7000215: Invalid client secret provided.");
    assert_eq!(body["error_codes"], serde_json::json!([7000215]));
}
