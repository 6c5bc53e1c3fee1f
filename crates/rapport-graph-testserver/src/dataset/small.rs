//! The hand-made dataset: small enough to count by hand, and covering every rule the Graph
//! source meets. Window `[2025-03-01, 2026-03-01)`.
//!
//! Directory: Adele, Bianca, Chen and Diego (with mailboxes) and Emily (no mailbox), all
//! `@contoso.example`. Groups: *Sales Team* (Microsoft 365 group `sales@`: Adele, Bianca and the
//! nested security group *Sales Leads*: Chen) and the distribution list *Customer Success*
//! (`cs@`: Diego, Emily, a mail contact at tailspin.example, and *Sales Leads* again).
//!
//! Customer data: Fabrikam (`ana@`, `bo@fabrikam.example`), Northwind (`nina@`), Tailspin
//! (`tom@`) and Adatum (`li@adatum.example`).
//!
//! Mail (21 copies of 15 messages; 19 copies exported): Adele writes Ana with Bianca on Cc (copies
//! in Adele's Sent Items, Bianca's Inbox and Adele's `Archive/Customers/Fabrikam`); Ana replies to
//! all (conversationIndex + 5 bytes) and Adele answers that reply (+ 10 bytes); Bianca and Nina
//! exchange a message and its reply; Tom writes Chen, who replies; a `noreply@fabrikam.example`
//! notice; an `eventMessage` from Diego to Li; a draft (never exported); a message from Ana sent
//! before the window (in the archive folder); Adele writes Diego (internal only); Li writes Diego
//! with Emily on Cc, and Diego replies with Chen on Bcc (Chen's copy does not show the Bcc); Bo
//! writes Adele and Bianca.
//!
//! Calendars (15 event copies; 14 inside the window): a meeting of Adele with Ana and Bianca
//! (copies in both calendars, same iCalUId); three occurrences and one exception of Bianca's
//! weekly series with Nina; a cancelled meeting; an all-day event; a 25-hour event; a meeting
//! where Tom declined; a meeting with a room (copies in Diego's and Chen's calendars); a meeting
//! with the organizer alone; a meeting Ana organized; and one before the window.

use crate::dataset::{
    Attendee, AttendeeType, CustomerAccount, CustomerContact, Dataset, EmailAddress, Event,
    EventType, Group, GroupKind, Member, Message, MessageKind, ResponseType, User,
};
use crate::datetime::{FILETIME_EPOCH_OFFSET, utc};

const ADELE: &str = "5b1c7a3e-0001-4a6f-9d2e-00000000a001";
const BIANCA: &str = "5b1c7a3e-0001-4a6f-9d2e-00000000a002";
const CHEN: &str = "5b1c7a3e-0001-4a6f-9d2e-00000000a003";
const DIEGO: &str = "5b1c7a3e-0001-4a6f-9d2e-00000000a004";
const EMILY: &str = "5b1c7a3e-0001-4a6f-9d2e-00000000a005";

const SALES_TEAM: &str = "7c2d9f10-0002-4b1e-8a3c-00000000b001";
const SALES_LEADS: &str = "7c2d9f10-0002-4b1e-8a3c-00000000b002";
const CUSTOMER_SUCCESS: &str = "7c2d9f10-0002-4b1e-8a3c-00000000b003";

fn person(name: &str, address: &str) -> EmailAddress {
    EmailAddress::new(name, address)
}

fn adele() -> EmailAddress {
    person("Adele Vance", "adele@contoso.example")
}
fn bianca() -> EmailAddress {
    person("Bianca Pisani", "bianca@contoso.example")
}
fn chen() -> EmailAddress {
    person("Chen Wu", "chen@contoso.example")
}
fn diego() -> EmailAddress {
    person("Diego Siciliani", "diego@contoso.example")
}
fn emily() -> EmailAddress {
    person("Emily Braun", "emily@contoso.example")
}
fn ana() -> EmailAddress {
    person("Ana Bowman", "ana@fabrikam.example")
}
fn bo() -> EmailAddress {
    person("Bo Larsen", "bo@fabrikam.example")
}
fn nina() -> EmailAddress {
    person("Nina Patel", "nina@northwind.example")
}
fn tom() -> EmailAddress {
    person("Tom Novak", "tom@tailspin.example")
}
fn li() -> EmailAddress {
    person("Li Zhang", "li@adatum.example")
}
fn room() -> EmailAddress {
    person("Room Rainier", "room-rainier@contoso.example")
}

/// A conversation index header for a conversation started at `time`.
fn root_index(time: i64, guid_byte: u8) -> Vec<u8> {
    let mut index = vec![0x01];
    let filetime = (time + FILETIME_EPOCH_OFFSET) as u64 * 10_000_000;
    index.extend_from_slice(filetime.to_be_bytes().get(0..5).unwrap_or_default());
    index.extend((0..16_u8).map(|position| guid_byte.wrapping_mul(31).wrapping_add(position)));
    index
}

/// The index of a reply to a message whose index is `parent`.
fn reply_index(parent: &[u8], block_byte: u8) -> Vec<u8> {
    let mut index = parent.to_vec();
    index.extend_from_slice(&[0x00, 0x01, block_byte, 0x5a, 0xc3]);
    index
}

/// A message's content; each copy gets its own id and received time.
struct Mail {
    internet_message_id: &'static str,
    conversation: &'static str,
    index: Vec<u8>,
    sent: Option<i64>,
    from: EmailAddress,
    to: Vec<EmailAddress>,
    cc: Vec<EmailAddress>,
    bcc: Vec<EmailAddress>,
    kind: MessageKind,
    subject: &'static str,
}

impl Mail {
    fn copy(&self, id: &str, received: i64) -> Message {
        Message {
            id: id.to_owned(),
            internet_message_id: self.internet_message_id.to_owned(),
            conversation_id: self.conversation.to_owned(),
            conversation_index: self.index.clone(),
            sent: self.sent,
            received,
            from: Some(self.from.clone()),
            sender: Some(self.from.clone()),
            to: self.to.clone(),
            cc: self.cc.clone(),
            bcc: self.bcc.clone(),
            is_draft: self.sent.is_none(),
            kind: self.kind,
            subject: self.subject.to_owned(),
        }
    }

    /// The sender's copy: received when sent.
    fn sent_copy(&self, id: &str) -> Message {
        self.copy(id, self.sent.unwrap_or_default())
    }

    /// A recipient's copy: received five seconds after it was sent, without the Bcc line.
    fn received_copy(&self, id: &str) -> Message {
        let mut message = self.copy(id, self.sent.unwrap_or_default() + 5);
        message.bcc.clear();
        message
    }
}

fn attendee(email: EmailAddress, kind: AttendeeType, response: ResponseType) -> Attendee {
    Attendee { kind, response, email }
}

fn required(email: EmailAddress) -> Attendee {
    attendee(email, AttendeeType::Required, ResponseType::Accepted)
}

/// An event's content; each calendar's copy gets its own id and response.
struct Meeting {
    ical_uid: &'static str,
    start: i64,
    end: i64,
    organizer: EmailAddress,
    attendees: Vec<Attendee>,
    subject: &'static str,
}

impl Meeting {
    fn copy(&self, id: &str, response: ResponseType) -> Event {
        Event {
            id: id.to_owned(),
            ical_uid: self.ical_uid.to_owned(),
            event_type: EventType::SingleInstance,
            series_master_id: None,
            original_start: None,
            start: self.start,
            end: self.end,
            is_all_day: false,
            is_cancelled: false,
            organizer: Some(self.organizer.clone()),
            attendees: self.attendees.clone(),
            response,
            subject: self.subject.to_owned(),
        }
    }
}

/// Builds the dataset described in the module doc.
pub(crate) fn build() -> Dataset {
    let mut dataset = Dataset::empty();
    add_directory(&mut dataset);
    add_customers(&mut dataset);
    add_mail(&mut dataset);
    add_events(&mut dataset);
    // Building a store logs each item as a change; the served state starts from here, so the
    // log restarts too (a first delta round lists everything anyway).
    for mailbox in &mut dataset.mailboxes {
        mailbox.calendar.log.clear();
        for folder in &mut mailbox.folders {
            folder.messages.log.clear();
        }
    }
    dataset
}

fn add_directory(dataset: &mut Dataset) {
    let users = [
        (ADELE, adele(), true),
        (BIANCA, bianca(), true),
        (CHEN, chen(), true),
        (DIEGO, diego(), true),
        (EMILY, emily(), false),
    ];
    for (id, address, has_mailbox) in users {
        // The ids and addresses above are distinct, so adding cannot fail.
        let _ = dataset.add_user(User {
            id: id.to_owned(),
            user_principal_name: address.address.clone(),
            mail: Some(address.address),
            display_name: address.name,
            has_mailbox,
        });
    }
    let groups = [
        Group {
            id: SALES_TEAM.into(),
            display_name: "Sales Team".into(),
            mail: Some("sales@contoso.example".into()),
            kind: GroupKind::Unified,
            members: vec![
                Member::User(ADELE.into()),
                Member::User(BIANCA.into()),
                Member::Group(SALES_LEADS.into()),
            ],
        },
        Group {
            id: SALES_LEADS.into(),
            display_name: "Sales Leads".into(),
            mail: None,
            kind: GroupKind::Security,
            members: vec![Member::User(CHEN.into())],
        },
        Group {
            id: CUSTOMER_SUCCESS.into(),
            display_name: "Customer Success".into(),
            mail: Some("cs@contoso.example".into()),
            kind: GroupKind::Distribution,
            members: vec![
                Member::User(DIEGO.into()),
                Member::User(EMILY.into()),
                Member::OrgContact {
                    id: "3e4f5a6b-0003-4c2d-9e1f-00000000c001".into(),
                    mail: "partners@tailspin.example".into(),
                    display_name: "Tailspin Partner Desk".into(),
                },
                Member::Group(SALES_LEADS.into()),
            ],
        },
    ];
    for group in groups {
        let _ = dataset.add_group(group);
    }
}

fn add_customers(dataset: &mut Dataset) {
    let accounts = [
        ("ACC-001", "Fabrikam", "fabrikam.example"),
        ("ACC-002", "Northwind Traders", "northwind.example"),
        ("ACC-003", "Tailspin Toys", "tailspin.example"),
        ("ACC-004", "Adatum", "adatum.example"),
    ];
    for (account_id, name, domain) in accounts {
        dataset.add_account(CustomerAccount {
            account_id: account_id.into(),
            name: name.into(),
            domains: vec![domain.into()],
        });
    }
    for (contact, account_id) in [
        (ana(), "ACC-001"),
        (bo(), "ACC-001"),
        (nina(), "ACC-002"),
        (tom(), "ACC-003"),
        (li(), "ACC-004"),
    ] {
        dataset.add_contact(CustomerContact {
            email: contact.address,
            account_id: account_id.into(),
            name: contact.name,
        });
    }
}

fn add_mail(dataset: &mut Dataset) {
    let archive = dataset.add_folder(ADELE, "Archive", None).unwrap_or_default();
    let customers = dataset.add_folder(ADELE, "Customers", Some(&archive)).unwrap_or_default();
    let fabrikam = dataset.add_folder(ADELE, "Fabrikam", Some(&customers)).unwrap_or_default();

    let m1_time = utc(2025, 6, 2, 9, 0, 0);
    let m1 = Mail {
        internet_message_id: "<m1.adele@contoso.example>",
        conversation: "AAQkADc1-fabrikam-kickoff=",
        index: root_index(m1_time, 1),
        sent: Some(m1_time),
        from: adele(),
        to: vec![ana()],
        cc: vec![bianca()],
        bcc: Vec::new(),
        kind: MessageKind::Message,
        subject: "Kickoff",
    };
    let m2 = Mail {
        internet_message_id: "<m2.ana@fabrikam.example>",
        index: reply_index(&m1.index, 2),
        sent: Some(utc(2025, 6, 2, 13, 30, 0)),
        from: ana(),
        to: vec![adele()],
        cc: vec![bianca()],
        subject: "RE: Kickoff",
        ..m1.clone_shape()
    };
    let m15 = Mail {
        internet_message_id: "<m15.adele@contoso.example>",
        index: reply_index(&m2.index, 15),
        sent: Some(utc(2025, 6, 3, 8, 0, 0)),
        from: adele(),
        to: vec![ana()],
        cc: Vec::new(),
        subject: "RE: RE: Kickoff",
        ..m1.clone_shape()
    };
    let m3_time = utc(2025, 9, 15, 10, 0, 0);
    let m3 = Mail {
        internet_message_id: "<m3.bianca@contoso.example>",
        conversation: "AAQkADc3-northwind-offer=",
        index: root_index(m3_time, 3),
        sent: Some(m3_time),
        from: bianca(),
        to: vec![nina()],
        cc: Vec::new(),
        bcc: Vec::new(),
        kind: MessageKind::Message,
        subject: "Offer",
    };
    let m4 = Mail {
        internet_message_id: "<m4.nina@northwind.example>",
        index: reply_index(&m3.index, 4),
        sent: Some(utc(2025, 9, 16, 8, 15, 0)),
        from: nina(),
        to: vec![bianca()],
        subject: "RE: Offer",
        ..m3.clone_shape()
    };
    let m5_time = utc(2025, 11, 3, 16, 20, 0);
    let m5 = Mail {
        internet_message_id: "<m5.tom@tailspin.example>",
        conversation: "AAQkADc5-tailspin-question=",
        index: root_index(m5_time, 5),
        sent: Some(m5_time),
        from: tom(),
        to: vec![chen()],
        cc: Vec::new(),
        bcc: Vec::new(),
        kind: MessageKind::Message,
        subject: "Question",
    };
    let m6 = Mail {
        internet_message_id: "<m6.chen@contoso.example>",
        index: reply_index(&m5.index, 6),
        sent: Some(utc(2025, 11, 4, 9, 0, 0)),
        from: chen(),
        to: vec![tom()],
        subject: "RE: Question",
        ..m5.clone_shape()
    };
    let m7 = single(
        "<m7.noreply@fabrikam.example>",
        7,
        Some(utc(2025, 7, 1, 6, 0, 0)),
        person("Fabrikam Billing", "noreply@fabrikam.example"),
        vec![adele()],
        "Invoice",
    );
    let mut m8 = single(
        "<m8.diego@contoso.example>",
        8,
        Some(utc(2025, 12, 20, 11, 0, 0)),
        diego(),
        vec![li()],
        "Workshop",
    );
    m8.kind = MessageKind::EventMessage;
    let m9 = single("<m9.adele@contoso.example>", 9, None, adele(), vec![ana()], "Draft");
    let m10 = single(
        "<m10.ana@fabrikam.example>",
        10,
        Some(utc(2024, 12, 10, 10, 0, 0)),
        ana(),
        vec![adele()],
        "Last year",
    );
    let m11 = single(
        "<m11.adele@contoso.example>",
        11,
        Some(utc(2025, 8, 5, 12, 0, 0)),
        adele(),
        vec![diego()],
        "Lunch",
    );
    let mut m12 = single(
        "<m12.li@adatum.example>",
        12,
        Some(utc(2026, 1, 20, 9, 45, 0)),
        li(),
        vec![diego()],
        "Renewal",
    );
    m12.cc = vec![emily()];
    let m13 = Mail {
        internet_message_id: "<m13.diego@contoso.example>",
        index: reply_index(&m12.index, 13),
        sent: Some(utc(2026, 1, 21, 14, 0, 0)),
        from: diego(),
        to: vec![li()],
        cc: Vec::new(),
        bcc: vec![chen()],
        subject: "RE: Renewal",
        ..m12.clone_shape()
    };
    let m14 = single(
        "<m14.bo@fabrikam.example>",
        14,
        Some(utc(2025, 10, 10, 10, 10, 0)),
        bo(),
        vec![adele(), bianca()],
        "Samples",
    );

    let copies = [
        (ADELE, "sentitems", m1.sent_copy("AAMkADaAS01AAA=")),
        (BIANCA, "inbox", m1.received_copy("AAMkADaBI01AAA=")),
        (ADELE, fabrikam.as_str(), m1.sent_copy("AAMkADaAA01AAA=")),
        (ADELE, "inbox", m2.received_copy("AAMkADaAI02AAA=")),
        (BIANCA, "inbox", m2.received_copy("AAMkADaBI02AAA=")),
        (BIANCA, "sentitems", m3.sent_copy("AAMkADaBS03AAA=")),
        (BIANCA, "inbox", m4.received_copy("AAMkADaBI04AAA=")),
        (CHEN, "inbox", m5.received_copy("AAMkADaCI05AAA=")),
        (CHEN, "sentitems", m6.sent_copy("AAMkADaCS06AAA=")),
        (ADELE, "inbox", m7.received_copy("AAMkADaAI07AAA=")),
        (DIEGO, "sentitems", m8.sent_copy("AAMkADaDS08AAA=")),
        (ADELE, "drafts", m9.copy("AAMkADaAD09AAA=", utc(2026, 2, 20, 10, 0, 0))),
        (ADELE, fabrikam.as_str(), m10.received_copy("AAMkADaAA10AAA=")),
        (ADELE, "sentitems", m11.sent_copy("AAMkADaAS11AAA=")),
        (DIEGO, "inbox", m11.received_copy("AAMkADaDI11AAA=")),
        (DIEGO, "inbox", m12.received_copy("AAMkADaDI12AAA=")),
        (DIEGO, "sentitems", m13.sent_copy("AAMkADaDS13AAA=")),
        (CHEN, "inbox", m13.received_copy("AAMkADaCI13AAA=")),
        (ADELE, "inbox", m14.received_copy("AAMkADaAI14AAA=")),
        (BIANCA, "inbox", m14.received_copy("AAMkADaBI14AAA=")),
        (ADELE, "sentitems", m15.sent_copy("AAMkADaAS15AAA=")),
    ];
    for (user, folder, message) in copies {
        // Users, folders and ids above exist and are distinct, so adding cannot fail.
        let _ = dataset.add_message(user, folder, message);
    }
}

/// A message that starts its own conversation.
fn single(
    internet_message_id: &'static str,
    number: u8,
    sent: Option<i64>,
    from: EmailAddress,
    to: Vec<EmailAddress>,
    subject: &'static str,
) -> Mail {
    Mail {
        internet_message_id,
        conversation: CONVERSATIONS.get(usize::from(number)).copied().unwrap_or("AAQkADc0="),
        index: root_index(sent.unwrap_or_default(), number),
        sent,
        from,
        to,
        cc: Vec::new(),
        bcc: Vec::new(),
        kind: MessageKind::Message,
        subject,
    }
}

/// Conversation ids of the messages that start their own conversation, by message number.
const CONVERSATIONS: [&str; 15] = [
    "AAQkADc0=",
    "AAQkADc1-fabrikam-kickoff=",
    "AAQkADc2=",
    "AAQkADc3-northwind-offer=",
    "AAQkADc4=",
    "AAQkADc5-tailspin-question=",
    "AAQkADc6=",
    "AAQkADc7-invoice=",
    "AAQkADc8-workshop=",
    "AAQkADc9-draft=",
    "AAQkADc10-last-year=",
    "AAQkADc11-lunch=",
    "AAQkADc12-renewal=",
    "AAQkADc13=",
    "AAQkADc14-samples=",
];

impl Mail {
    /// The conversation, kind and other fields a reply shares with its parent (the rest is
    /// overwritten by the reply).
    fn clone_shape(&self) -> Mail {
        Mail {
            internet_message_id: self.internet_message_id,
            conversation: self.conversation,
            index: self.index.clone(),
            sent: self.sent,
            from: self.from.clone(),
            to: Vec::new(),
            cc: Vec::new(),
            bcc: Vec::new(),
            kind: MessageKind::Message,
            subject: self.subject,
        }
    }
}

fn add_events(dataset: &mut Dataset) {
    let e1 = Meeting {
        ical_uid: "040000008200E00074C5B7101A82E00800000000E1A1B2C3D4E5F60100000000000000001000000011",
        start: utc(2025, 6, 10, 15, 0, 0),
        end: utc(2025, 6, 10, 16, 0, 0),
        organizer: adele(),
        attendees: vec![required(ana()), required(bianca())],
        subject: "Fabrikam kickoff",
    };
    let e3 = Meeting {
        ical_uid: "040000008200E00074C5B7101A82E00800000000E3A1B2C3D4E5F60100000000000000001000000033",
        start: utc(2025, 11, 12, 10, 0, 0),
        end: utc(2025, 11, 12, 11, 0, 0),
        organizer: chen(),
        attendees: vec![required(tom())],
        subject: "Cancelled review",
    };
    let e4 = Meeting {
        ical_uid: "040000008200E00074C5B7101A82E00800000000E4A1B2C3D4E5F60100000000000000001000000044",
        start: utc(2025, 12, 1, 0, 0, 0),
        end: utc(2025, 12, 2, 0, 0, 0),
        organizer: diego(),
        attendees: vec![required(li())],
        subject: "Adatum on site",
    };
    let e5 = Meeting {
        ical_uid: "040000008200E00074C5B7101A82E00800000000E5A1B2C3D4E5F60100000000000000001000000055",
        start: utc(2025, 7, 1, 9, 0, 0),
        end: utc(2025, 7, 2, 10, 0, 0),
        organizer: adele(),
        attendees: vec![required(ana())],
        subject: "Fabrikam offsite",
    };
    let e6 = Meeting {
        ical_uid: "040000008200E00074C5B7101A82E00800000000E6A1B2C3D4E5F60100000000000000001000000066",
        start: utc(2025, 11, 10, 14, 0, 0),
        end: utc(2025, 11, 10, 15, 0, 0),
        organizer: chen(),
        attendees: vec![
            attendee(tom(), AttendeeType::Required, ResponseType::Declined),
            required(li()),
        ],
        subject: "Joint planning",
    };
    let e7 = Meeting {
        ical_uid: "040000008200E00074C5B7101A82E00800000000E7A1B2C3D4E5F60100000000000000001000000077",
        start: utc(2026, 1, 15, 10, 0, 0),
        end: utc(2026, 1, 15, 10, 30, 0),
        organizer: diego(),
        attendees: vec![
            required(li()),
            attendee(chen(), AttendeeType::Optional, ResponseType::TentativelyAccepted),
            attendee(room(), AttendeeType::Resource, ResponseType::Accepted),
        ],
        subject: "Renewal meeting",
    };
    let e8 = Meeting {
        ical_uid: "040000008200E00074C5B7101A82E00800000000E8A1B2C3D4E5F60100000000000000001000000088",
        start: utc(2025, 8, 1, 12, 0, 0),
        end: utc(2025, 8, 1, 13, 0, 0),
        organizer: adele(),
        attendees: Vec::new(),
        subject: "Focus time",
    };
    let e9 = Meeting {
        ical_uid: "040000008200E00074C5B7101A82E00800000000E9A1B2C3D4E5F60100000000000000001000000099",
        start: utc(2025, 8, 20, 9, 0, 0),
        end: utc(2025, 8, 20, 10, 0, 0),
        organizer: ana(),
        attendees: vec![required(adele()), required(bo())],
        subject: "Fabrikam roadmap",
    };
    let e10 = Meeting {
        ical_uid: "040000008200E00074C5B7101A82E00800000000EAA1B2C3D4E5F60100000000000000001000000010",
        start: utc(2025, 1, 15, 10, 0, 0),
        end: utc(2025, 1, 15, 11, 0, 0),
        organizer: chen(),
        attendees: vec![required(tom())],
        subject: "Old meeting",
    };

    let mut cancelled = e3.copy("AAMkAEaC03AAA=", ResponseType::Organizer);
    cancelled.is_cancelled = true;
    let mut all_day = e4.copy("AAMkAEaD04AAA=", ResponseType::Organizer);
    all_day.is_all_day = true;
    let events = [
        (ADELE, e1.copy("AAMkAEaA01AAA=", ResponseType::Organizer)),
        (BIANCA, e1.copy("AAMkAEaB01AAA=", ResponseType::Accepted)),
        (CHEN, cancelled),
        (DIEGO, all_day),
        (ADELE, e5.copy("AAMkAEaA05AAA=", ResponseType::Organizer)),
        (CHEN, e6.copy("AAMkAEaC06AAA=", ResponseType::Organizer)),
        (DIEGO, e7.copy("AAMkAEaD07AAA=", ResponseType::Organizer)),
        (CHEN, e7.copy("AAMkAEaC07AAA=", ResponseType::TentativelyAccepted)),
        (ADELE, e8.copy("AAMkAEaA08AAA=", ResponseType::Organizer)),
        (ADELE, e9.copy("AAMkAEaA09AAA=", ResponseType::Accepted)),
        (CHEN, e10.copy("AAMkAEaC10AAA=", ResponseType::Organizer)),
    ];
    for (user, event) in events {
        let _ = dataset.add_event(user, event);
    }
    for event in weekly_series() {
        let _ = dataset.add_event(BIANCA, event);
    }
}

/// Bianca's weekly series with Nina: three occurrences and one exception (moved a day later).
fn weekly_series() -> Vec<Event> {
    let slots = [
        (utc(2025, 10, 6, 15, 0, 0), None, "2A"),
        (utc(2025, 10, 13, 15, 0, 0), None, "2B"),
        (utc(2025, 10, 20, 15, 0, 0), Some(utc(2025, 10, 21, 16, 0, 0)), "2C"),
        (utc(2025, 10, 27, 15, 0, 0), None, "2D"),
    ];
    slots
        .iter()
        .map(|&(original_start, moved_to, tag)| {
            let start = moved_to.unwrap_or(original_start);
            Event {
                id: format!("AAMkAEaB{tag}AAA="),
                ical_uid: format!(
                    "040000008200E00074C5B7101A82E008{tag}0000000E2A1B2C3D4E5F60100000000000000001000000022"
                ),
                event_type: if moved_to.is_some() {
                    EventType::Exception
                } else {
                    EventType::Occurrence
                },
                series_master_id: Some("AAMkAEaB2MAAA=".into()),
                original_start: Some(original_start),
                start,
                end: start + 30 * 60,
                is_all_day: false,
                is_cancelled: false,
                organizer: Some(bianca()),
                attendees: vec![required(nina())],
                response: ResponseType::Organizer,
                subject: "Northwind weekly".into(),
            }
        })
        .collect()
}
