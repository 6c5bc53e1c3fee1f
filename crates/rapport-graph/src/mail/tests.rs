use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rapport_core::model::{EmailCopy, SkipReason};

use super::*;

fn index(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// A 22-byte header followed by `replies` 5-byte child blocks, all derived from `seed`.
fn conversation(seed: u8, replies: usize) -> Vec<u8> {
    (0..CONVERSATION_INDEX_HEADER + replies * CONVERSATION_INDEX_CHILD)
        .map(|position| seed.wrapping_add(position as u8))
        .collect()
}

#[test]
fn a_delta_page_maps_messages() {
    let parent_index = conversation(1, 0);
    let reply_index = conversation(1, 1);
    let body = format!(
        r##"{{
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(message)",
        "@odata.nextLink": "https://graph.microsoft.com/v1.0/users/u1/mailFolders/inbox/messages/delta?$skiptoken=p2",
        "value": [
            {{
                "@odata.type": "#microsoft.graph.message",
                "@odata.etag": "W/\"CQAAABYAAAA\"",
                "id": "m1",
                "internetMessageId": "<CAF1@mail.contoso.com>",
                "conversationId": "c1",
                "conversationIndex": "{parent}",
                "sentDateTime": "2025-03-04T10:11:12Z",
                "from": {{"emailAddress": {{"name": "Ann Org", "address": "Ann@Contoso.com"}}}},
                "sender": {{"emailAddress": {{"name": "Assistant", "address": "assistant@contoso.com"}}}},
                "toRecipients": [
                    {{"emailAddress": {{"name": "Bob", "address": "bob@fabrikam.com"}}}},
                    {{"emailAddress": {{"name": "Legacy", "address": "/o=ExchangeLabs/ou=Exchange/cn=Recipients/cn=x"}}}}
                ],
                "ccRecipients": [{{"emailAddress": {{"address": "BOB@fabrikam.com"}}}}, {{"emailAddress": {{"address": "cat@fabrikam.com"}}}}],
                "bccRecipients": [{{"emailAddress": {{"address": "dan@contoso.com"}}}}],
                "isDraft": false
            }},
            {{
                "@odata.type": "#microsoft.graph.eventMessageRequest",
                "id": "m2",
                "internetMessageId": "no-brackets@x",
                "conversationIndex": "{reply}",
                "sentDateTime": "2025-03-05T08:00:00.123Z",
                "from": null,
                "sender": {{"emailAddress": {{"address": "eve@fabrikam.com"}}}},
                "toRecipients": [{{"emailAddress": {{"address": "ann@contoso.com"}}}}],
                "ccRecipients": [],
                "bccRecipients": []
            }},
            {{"id": "m3", "isDraft": true, "internetMessageId": "<draft@x>", "sentDateTime": null}},
            {{"@odata.type": "#microsoft.graph.message", "id": "m4", "@removed": {{"reason": "deleted"}}}},
            {{"id": "m5", "@removed": {{"reason": "changed"}}}},
            {{"internetMessageId": "<no-id@x>"}},
            {{"id": "m6", "internetMessageId": "<>", "sentDateTime": "yesterday", "isDraft": "false"}}
        ]
    }}"##,
        parent = index(&parent_index),
        reply = index(&reply_index),
    );
    let page = read_message_page(body.as_bytes()).expect("page reads");
    assert_eq!(
        page.next_link.as_deref(),
        Some(
            "https://graph.microsoft.com/v1.0/users/u1/mailFolders/inbox/messages/delta?$skiptoken=p2"
        )
    );
    assert_eq!(page.delta_link, None);
    assert_eq!(page.removed, ["m3", "m4", "m5"]);
    assert_eq!(page.skipped.get(SkipReason::Unparseable), 1);
    assert_eq!(page.skipped.total(), 1);
    assert_eq!(
        page.upserted,
        [
            MailItem {
                graph_id: "m1".into(),
                email: EmailCopy {
                    message_id: Some("CAF1@mail.contoso.com".into()),
                    sent: Some(1_741_083_072),
                    sender: Some("ann@contoso.com".into()),
                    recipients: vec![
                        "bob@fabrikam.com".into(),
                        "cat@fabrikam.com".into(),
                        "dan@contoso.com".into()
                    ],
                    parent_id: None,
                    automated: false,
                },
                conversation_index: parent_index,
            },
            MailItem {
                graph_id: "m2".into(),
                email: EmailCopy {
                    message_id: Some("no-brackets@x".into()),
                    sent: Some(1_741_161_600),
                    sender: Some("eve@fabrikam.com".into()),
                    recipients: vec!["ann@contoso.com".into()],
                    parent_id: None,
                    automated: true,
                },
                conversation_index: reply_index,
            },
            MailItem {
                graph_id: "m6".into(),
                email: EmailCopy {
                    message_id: None,
                    sent: None,
                    sender: None,
                    recipients: vec![],
                    parent_id: None,
                    automated: false,
                },
                conversation_index: vec![],
            },
        ]
    );
}

#[test]
fn last_page_carries_the_delta_link() {
    let page = read_message_page(
        br#"{"@odata.deltaLink": "https://graph.microsoft.com/v1.0/d?$deltatoken=x", "value": []}"#,
    )
    .expect("reads");
    assert_eq!(
        page.delta_link.as_deref(),
        Some("https://graph.microsoft.com/v1.0/d?$deltatoken=x")
    );
    assert_eq!(page.next_link, None);
    assert!(read_message_page(b"{\"value\": [").is_err());
}

#[test]
fn message_ids() {
    let check = |input: &str, expected: Option<&str>| {
        assert_eq!(message_id_of(input).as_deref(), expected, "{input:?}");
    };
    check("<a@b>", Some("a@b"));
    check("  <a@b> <c@d>", Some("a@b"));
    check("a@b", Some("a@b"));
    check("<>", None);
    check("   ", None);
    check("<unclosed@x", Some("<unclosed@x"));
}

#[test]
fn instants() {
    assert_eq!(parse_instant("2025-01-01T00:00:00Z"), Some(1_735_689_600));
    assert_eq!(parse_instant("2025-01-01T01:00:00+01:00"), Some(1_735_689_600));
    assert_eq!(parse_instant("2025-01-01T00:00:00.9999999"), Some(1_735_689_600));
    assert_eq!(parse_instant("2025-01-01"), None);
    assert_eq!(format_instant(1_735_689_600), "2025-01-01T00:00:00Z");
}

#[test]
fn first_round_is_bounded_to_the_window() {
    assert_eq!(
        first_round_path("3f2a-user", "AAMkAD=", 1_735_689_600),
        "/users/3f2a-user/mailFolders/AAMkAD=/messages/delta?$select=id,internetMessageId,conversationId,conversationIndex,sentDateTime,from,sender,toRecipients,ccRecipients,bccRecipients,isDraft&$filter=receivedDateTime%20ge%202025-01-01T00:00:00Z"
    );
}

fn item(graph_id: &str, message_id: Option<&str>, conversation_index: Vec<u8>) -> MailItem {
    MailItem {
        graph_id: graph_id.into(),
        email: EmailCopy { message_id: message_id.map(str::to_owned), ..EmailCopy::default() },
        conversation_index,
    }
}

#[test]
fn replies_link_to_the_index_minus_five_bytes() {
    let root = conversation(10, 0);
    let reply = conversation(10, 1);
    let reply_to_reply = conversation(10, 2);
    let mut other_reply = conversation(10, 1);
    if let Some(last) = other_reply.last_mut() {
        *last ^= 0xFF;
    }
    let orphan = conversation(90, 1);
    let mut short = conversation(10, 0);
    short.push(1);
    let mut preset = item("p", Some("<keep>"), conversation(10, 1));
    preset.email.parent_id = Some("already".into());
    let mut messages = vec![
        item("r2", Some("reply2@x"), reply_to_reply),
        item("r1", Some("reply1@x"), reply.clone()),
        item("root-copy-without-id", None, root.clone()),
        item("root", Some("root@x"), root.clone()),
        item("root-second-copy", Some("root@x"), root),
        item("o", Some("other@x"), other_reply),
        item("orphan", Some("orphan@x"), orphan),
        item("short", Some("short@x"), short),
        item("empty", Some("empty@x"), vec![]),
        preset,
    ];
    link_replies(&mut messages);
    let parents: Vec<(&str, Option<&str>)> = messages
        .iter()
        .map(|message| (message.graph_id.as_str(), message.email.parent_id.as_deref()))
        .collect();
    assert_eq!(
        parents,
        [
            ("r2", Some("reply1@x")),
            ("r1", Some("root@x")),
            ("root-copy-without-id", None),
            ("root", None),
            ("root-second-copy", None),
            ("o", Some("root@x")),
            ("orphan", None),
            ("short", None),
            ("empty", None),
            ("p", Some("already")),
        ]
    );
}
