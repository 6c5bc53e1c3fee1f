//! Tests of the small and generated datasets and of the stores' change logs.

use super::*;
use crate::datetime::utc;

const ADELE: &str = "adele@contoso.example";

fn ids(messages: &[Message]) -> Vec<&str> {
    messages.iter().map(|message| message.id.as_str()).collect()
}

#[test]
fn small_dataset_inventory() {
    let dataset = Dataset::small();
    let addresses: Vec<_> =
        dataset.users().iter().map(|user| user.mail.as_deref().unwrap_or_default()).collect();
    assert_eq!(
        addresses,
        [
            "adele@contoso.example",
            "bianca@contoso.example",
            "chen@contoso.example",
            "diego@contoso.example",
            "emily@contoso.example"
        ]
    );
    assert_eq!(dataset.users().iter().filter(|user| user.has_mailbox).count(), 4);
    assert_eq!(dataset.groups().len(), 3);
    assert_eq!(dataset.accounts().len(), 4);
    assert_eq!(dataset.contacts().len(), 5);
    assert_eq!(dataset.message_count(), 21);
    assert_eq!(dataset.event_count(), 15);
    assert_eq!(dataset.resident_items(), 36);

    let Ok(folders) = dataset.folders(ADELE) else { panic!("Adele has a mailbox") };
    let summary: Vec<(&str, usize, u64)> = folders
        .iter()
        .map(|folder| (folder.path.as_str(), folder.child_folder_count, folder.total_item_count))
        .collect();
    assert_eq!(
        summary,
        [
            ("Inbox", 0, 3),
            ("Sent Items", 0, 3),
            ("Drafts", 0, 1),
            ("Deleted Items", 0, 0),
            ("Archive", 1, 0),
            ("Archive/Customers", 1, 0),
            ("Archive/Customers/Fabrikam", 0, 2),
        ]
    );
    assert_eq!(
        folders.get(5).and_then(|folder| folder.parent_id.clone()),
        folders.get(4).map(|folder| folder.id.clone())
    );
    // Folder ids differ between mailboxes.
    assert_ne!(
        dataset.folder_id(ADELE, "Inbox"),
        dataset.folder_id("bianca@contoso.example", "Inbox")
    );
    assert_eq!(
        dataset.folders("emily@contoso.example"),
        Err(DatasetError::NoMailbox("emily@contoso.example".into()))
    );
    assert_eq!(
        dataset.folders("nobody@contoso.example"),
        Err(DatasetError::UnknownUser("nobody@contoso.example".into()))
    );
}

#[test]
fn small_dataset_replies_and_copies() {
    let dataset = Dataset::small();
    let inbox = dataset.messages(ADELE, "inbox").unwrap_or_default();
    let sent = dataset.messages(ADELE, "SentItems").unwrap_or_default();
    assert_eq!(ids(&inbox), ["AAMkADaAI02AAA=", "AAMkADaAI07AAA=", "AAMkADaAI14AAA="]);
    assert_eq!(ids(&sent), ["AAMkADaAS01AAA=", "AAMkADaAS11AAA=", "AAMkADaAS15AAA="]);
    let (Some(m1), Some(m2), Some(m15)) = (sent.first(), inbox.first(), sent.get(2)) else {
        panic!("missing")
    };
    assert_eq!(m1.conversation_index.len(), 22);
    assert_eq!(m2.conversation_index.get(..22), Some(m1.conversation_index.as_slice()));
    assert_eq!(m2.conversation_index.len(), 27);
    assert_eq!(m15.conversation_index.get(..27), Some(m2.conversation_index.as_slice()));
    assert_eq!(m15.conversation_index.len(), 32);
    assert_eq!(m2.conversation_id, m1.conversation_id);
    // Bianca's Inbox holds a copy of Adele's first message, without the sender's Bcc line.
    let bianca = dataset.messages("bianca@contoso.example", "inbox").unwrap_or_default();
    assert_eq!(
        bianca.first().map(|copy| copy.internet_message_id.as_str()),
        Some("<m1.adele@contoso.example>")
    );
    assert_eq!(bianca.first().map(|copy| copy.received), m1.sent.map(|sent| sent + 5));
    let chen = dataset.messages("chen@contoso.example", "inbox").unwrap_or_default();
    let diego = dataset.messages("diego@contoso.example", "sentitems").unwrap_or_default();
    assert_eq!(diego.get(1).map(|m13| m13.bcc.len()), Some(1));
    assert_eq!(
        chen.get(1).map(|m13| (m13.internet_message_id.as_str(), m13.bcc.len())),
        Some(("<m13.diego@contoso.example>", 0))
    );
    assert_eq!(diego.first().map(|m8| m8.kind), Some(MessageKind::EventMessage));
    let drafts = dataset.messages(ADELE, "drafts").unwrap_or_default();
    assert_eq!(drafts.first().map(|draft| (draft.is_draft, draft.sent)), Some((true, None)));
}

#[test]
fn transitive_members() {
    let dataset = Dataset::small();
    let group = |name: &str| {
        dataset.groups().iter().position(|group| group.display_name == name).unwrap_or(usize::MAX)
    };
    assert_eq!(
        dataset.transitive_members(group("Sales Team"), true),
        [MemberRef::User(0), MemberRef::User(1), MemberRef::User(2)]
    );
    assert_eq!(
        dataset.transitive_members(group("Customer Success"), true),
        [MemberRef::User(3), MemberRef::User(4), MemberRef::User(2)]
    );
    assert_eq!(
        dataset.transitive_members(group("Customer Success"), false),
        [
            MemberRef::User(3),
            MemberRef::User(4),
            MemberRef::Contact(2, 2),
            MemberRef::Group(1),
            MemberRef::User(2)
        ]
    );

    // Nesting that loops back ends, and lists each user once.
    let mut looped = Dataset::empty();
    for (id, mail) in [("u1", "one@contoso.example"), ("u2", "two@contoso.example")] {
        let user = User {
            id: id.into(),
            user_principal_name: mail.into(),
            mail: Some(mail.into()),
            display_name: id.into(),
            has_mailbox: false,
        };
        assert_eq!(looped.add_user(user), Ok(()));
    }
    let a = Group {
        id: "A".into(),
        members: vec![Member::User("u1".into()), Member::Group("B".into())],
        ..Group::default()
    };
    let b = Group {
        id: "B".into(),
        members: vec![
            Member::Group("A".into()),
            Member::User("u2".into()),
            Member::User("U1".into()),
        ],
        ..Group::default()
    };
    assert_eq!(looped.add_group(a), Ok(()));
    assert_eq!(looped.add_group(b), Ok(()));
    assert_eq!(
        looped.add_group(Group { id: "a".into(), ..Group::default() }),
        Err(DatasetError::DuplicateId("a".into()))
    );
    assert_eq!(looped.transitive_members(0, true), [MemberRef::User(0), MemberRef::User(1)]);
    assert_eq!(
        looped.transitive_members(1, false),
        [MemberRef::Group(0), MemberRef::User(1), MemberRef::User(0)]
    );
}

#[test]
fn changes_are_logged_in_order() {
    let mut dataset = Dataset::small();
    let Some(inbox) = dataset.folder_id(ADELE, "Inbox") else { panic!("no inbox") };
    let new =
        Message { id: "NEW=".into(), received: utc(2026, 2, 1, 0, 0, 0), ..Message::default() };
    assert_eq!(dataset.add_message(ADELE, &inbox, new.clone()), Ok(()));
    assert_eq!(
        dataset.add_message(ADELE, &inbox, new.clone()),
        Err(DatasetError::DuplicateId("NEW=".into()))
    );
    assert_eq!(dataset.remove_message(ADELE, &inbox, "AAMkADaAI07AAA="), Ok(()));
    assert_eq!(
        dataset.remove_message(ADELE, &inbox, "AAMkADaAI07AAA="),
        Err(DatasetError::UnknownItem("AAMkADaAI07AAA=".into()))
    );
    let mut changed = dataset
        .messages(ADELE, &inbox)
        .unwrap_or_default()
        .into_iter()
        .find(|m| m.id == "AAMkADaAI14AAA=")
        .unwrap_or_default();
    changed.cc.push(EmailAddress::new("Chen Wu", "chen@contoso.example"));
    assert_eq!(dataset.update_message(ADELE, &inbox, changed), Ok(()));
    assert_eq!(dataset.update_message(ADELE, &inbox, new), Ok(()));
    assert_eq!(
        dataset.update_message(
            ADELE,
            "inbox",
            Message { id: "GONE=".into(), ..Message::default() }
        ),
        Err(DatasetError::UnknownItem("GONE=".into()))
    );
    assert_eq!(
        dataset.add_message(ADELE, "nowhere", Message::default()),
        Err(DatasetError::UnknownFolder("nowhere".into()))
    );

    let Ok(mailbox) = dataset.mailbox(ADELE) else { panic!("no mailbox") };
    let store = &mailbox.folders[0].messages;
    assert_eq!(store.sequence(), 4);
    assert_eq!(store.changed_ids(0, 4), ["AAMkADaAI07AAA=", "AAMkADaAI14AAA=", "NEW="]);
    assert_eq!(store.changed_ids(2, 4), ["AAMkADaAI14AAA=", "NEW="]);
    assert_eq!(store.changed_ids(4, 4), Vec::<&str>::new());
    assert_eq!(
        ids(&dataset.messages(ADELE, &inbox).unwrap_or_default()),
        ["AAMkADaAI02AAA=", "AAMkADaAI14AAA=", "NEW="]
    );
    assert_eq!(dataset.message_count(), 21);

    assert_eq!(dataset.remove_event("chen@contoso.example", "AAMkAEaC06AAA="), Ok(()));
    assert_eq!(dataset.event_count(), 14);
    assert_eq!(
        dataset.add_event("emily@contoso.example", Event::default()),
        Err(DatasetError::NoMailbox("emily@contoso.example".into()))
    );
}

fn spec(seed: u64) -> GenSpec {
    GenSpec {
        mailboxes: 4,
        messages_per_mailbox: 30,
        events_per_mailbox: 10,
        external_domains: 3,
        seed,
        window: (utc(2025, 3, 1, 0, 0, 0), utc(2026, 3, 1, 0, 0, 0)),
    }
}

fn user(mailbox: usize) -> String {
    format!("user{mailbox:04}@contoso.example")
}

#[test]
fn generated_dataset_is_deterministic_and_lazy() {
    let first = Dataset::generated(&spec(7));
    let second = Dataset::generated(&spec(7));
    let other = Dataset::generated(&spec(8));
    assert_eq!(first.message_count(), 120);
    assert_eq!(first.event_count(), 40);
    assert_eq!(first.resident_items(), 0);
    for mailbox in 0..4 {
        for folder in ["inbox", "sentitems"] {
            let messages = first.messages(&user(mailbox), folder).unwrap_or_default();
            assert_eq!(messages.len(), 15);
            assert_eq!(messages, second.messages(&user(mailbox), folder).unwrap_or_default());
            assert_ne!(messages, other.messages(&user(mailbox), folder).unwrap_or_default());
        }
        assert_eq!(
            first.events(&user(mailbox)).unwrap_or_default(),
            second.events(&user(mailbox)).unwrap_or_default()
        );
    }
    assert_eq!(first.resident_items(), 0);

    // At scale nothing per message is held: the dataset is its users, groups and customers.
    let big = Dataset::generated(&GenSpec {
        mailboxes: 500,
        messages_per_mailbox: 15_000,
        events_per_mailbox: 200,
        ..spec(1)
    });
    assert_eq!(big.message_count(), 7_500_000);
    assert_eq!(big.event_count(), 100_000);
    assert_eq!(big.resident_items(), 0);
    assert_eq!(big.users().len(), 500);
    let Ok(mailbox) = big.mailbox(&user(499)) else { panic!("no mailbox") };
    let inbox = &mailbox.folders[0].messages;
    let mut scratch = Message::default();
    let last = inbox.item(7_499, big.generator.as_deref(), &mut scratch).cloned();
    assert_eq!(last.map(|message| message.id), Some("AAMkAG0001f3I00001d4bAAA=".to_owned()));
    assert_eq!(inbox.position_of("AAMkAG0001f3I00001d4bAAA="), Some(7_499));
    assert_eq!(inbox.position_of("AAMkAG0001f3I00001d4cAAA="), None);
    assert_eq!(inbox.position_of("AAMkAG0001f2I00001d4bAAA="), None);
}

#[test]
fn generated_copies_and_replies_are_consistent() {
    let dataset = Dataset::generated(&spec(3));
    let (window_start, window_end) = spec(3).window;
    let mut checked_copies = 0;
    for mailbox in 0..4 {
        let inbox = dataset.messages(&user(mailbox), "inbox").unwrap_or_default();
        let sent = dataset.messages(&user(mailbox), "sentitems").unwrap_or_default();
        for message in inbox.iter().chain(&sent) {
            assert!(message.sent.is_some_and(|sent| sent < window_end));
            assert!(message.received >= message.sent.unwrap_or(i64::MAX));
        }
        for (index, message) in inbox.iter().enumerate() {
            match index % 3 {
                // The copy of a colleague's message that has this mailbox on Cc.
                0 => {
                    let sender =
                        message.from.as_ref().map(|from| from.address.clone()).unwrap_or_default();
                    let sender_sent = dataset.messages(&sender, "sentitems").unwrap_or_default();
                    let original = sender_sent.get(index).cloned().unwrap_or_default();
                    assert_eq!(original.internet_message_id, message.internet_message_id);
                    assert_eq!(original.sent, message.sent);
                    assert_eq!(original.to, message.to);
                    assert_eq!(
                        message.cc.iter().map(|cc| cc.address.as_str()).collect::<Vec<_>>(),
                        [user(mailbox)]
                    );
                    assert_ne!(original.id, message.id);
                    checked_copies += 1;
                }
                // A contact's reply to this mailbox's Sent Items message of the same index.
                1 => {
                    let parent = sent.get(index).cloned().unwrap_or_default();
                    assert_eq!(
                        message.conversation_index.len(),
                        parent.conversation_index.len() + 5
                    );
                    assert_eq!(
                        message.conversation_index.get(..22),
                        Some(parent.conversation_index.as_slice())
                    );
                    assert_eq!(message.conversation_id, parent.conversation_id);
                    assert_eq!(message.from.as_ref(), parent.to.first());
                    assert!(message.sent > parent.sent);
                }
                _ => assert_eq!(message.conversation_index.len(), 22),
            }
        }
        for (index, message) in sent.iter().enumerate().filter(|(index, _)| index % 3 == 2) {
            // An org reply: to the contact whose new message opened the conversation.
            let parent = inbox.get(index).cloned().unwrap_or_default();
            if message.conversation_index.len() == 27 {
                assert_eq!(
                    message.conversation_index.get(..22),
                    Some(parent.conversation_index.as_slice())
                );
                assert_eq!(message.to.first(), parent.from.as_ref());
            }
        }
        let events = dataset.events(&user(mailbox)).unwrap_or_default();
        for (index, event) in events.iter().enumerate().filter(|(index, _)| index % 2 == 1) {
            // The copy of a colleague's event, whose organizer calendar holds it one slot before.
            let owner = (0..4).find(|&owner| {
                dataset
                    .events(&user(owner))
                    .unwrap_or_default()
                    .get(index - 1)
                    .is_some_and(|original| original.ical_uid == event.ical_uid)
            });
            assert!(
                owner.is_some_and(|owner| owner != mailbox),
                "event {index} of mailbox {mailbox}"
            );
            assert!(event.attendees.iter().any(|attendee| attendee.email.address == user(mailbox)));
        }
    }
    assert_eq!(checked_copies, 4 * 5);

    // About one conversation in 40 starts before the window (for the first round's $filter).
    let larger = Dataset::generated(&GenSpec { messages_per_mailbox: 600, ..spec(3) });
    let early: usize = (0..4)
        .map(|mailbox| {
            let inbox = larger.messages(&user(mailbox), "inbox").unwrap_or_default();
            inbox.iter().filter(|message| message.received < window_start).count()
        })
        .sum();
    assert!((5..=60).contains(&early), "{early} messages before the window");
}

#[test]
fn generated_edge_sizes() {
    let instant = utc(2026, 3, 1, 0, 0, 0);
    let cases = [
        (1, 7, 3, (utc(2025, 3, 1, 0, 0, 0), instant)),
        (2, 1, 1, (instant, instant)),
        (0, 10, 10, (utc(2025, 3, 1, 0, 0, 0), instant)),
        (3, 0, 0, (instant, utc(2025, 3, 1, 0, 0, 0))),
    ];
    for (mailboxes, messages, events, window) in cases {
        let spec = GenSpec {
            mailboxes,
            messages_per_mailbox: messages,
            events_per_mailbox: events,
            external_domains: 0,
            seed: 9,
            window,
        };
        let dataset = Dataset::generated(&spec);
        assert_eq!(dataset.message_count(), (mailboxes * messages) as u64);
        assert_eq!(dataset.event_count(), (mailboxes * events) as u64);
        for mailbox in 0..mailboxes {
            let inbox = dataset.messages(&user(mailbox), "inbox").unwrap_or_default();
            let sent = dataset.messages(&user(mailbox), "sentitems").unwrap_or_default();
            assert_eq!(inbox.len() + sent.len(), messages);
            // With one mailbox nothing is copied from a colleague: every message is this user's.
            if mailboxes == 1 {
                assert!(inbox.iter().all(|message| message.cc.is_empty()));
            }
            assert_eq!(dataset.events(&user(mailbox)).unwrap_or_default().len(), events);
        }
    }
}
