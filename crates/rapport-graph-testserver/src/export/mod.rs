//! The dataset's activity as the files `rapport enrich` reads, so that a test can compare the
//! tables enriched through Graph with those enriched from files.
//!
//! What is written is what a first Graph round over the window reads: every message copy that
//! is not a draft and whose `receivedDateTime` is at or after the window start (the round's
//! `$filter`), and every event copy that overlaps the window (calendarView). Layout under `dir`:
//! - `mail/<address>/<NN>-<folder path>.mbox`: one mbox per mailbox folder that has messages,
//!   each message a header block (`From`, `To`, `Cc`, `Bcc`, `Date`, `Message-ID`,
//!   `In-Reply-To` naming the parent found through `conversationIndex`, and
//!   `Content-Type: text/calendar` for an `eventMessage`) and an empty line;
//! - `calendar/<address>.ics`: one calendar per mailbox that has events, each event copy a
//!   `VEVENT` (UID = iCalUId, `RECURRENCE-ID` = originalStart for occurrences and exceptions,
//!   UTC times or `VALUE=DATE` for all-day events, `ORGANIZER`, `ATTENDEE` with `PARTSTAT`,
//!   `CUTYPE=RESOURCE` for rooms, `STATUS:CANCELLED`);
//! - `users.txt` (one address a line), `contacts.csv` (`Email,AccountId,Name`) and
//!   `accounts.csv` (`AccountId,Name,Domains`).
//!
//! Generated folders are streamed item by item, so exporting does not hold a mailbox in memory.

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::dataset::generated::Generator;
use crate::dataset::{
    AttendeeType, Dataset, EmailAddress, Event, EventType, Mailbox, Message, MessageKind,
    ResponseType, folder_path,
};
use crate::datetime::{push_asctime, push_ics_date, push_ics_utc, push_rfc5322};

/// The files [`Dataset::export_files`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportedFiles {
    /// `users.txt`: the org users' addresses, one a line.
    pub users: PathBuf,
    /// `contacts.csv`: `Email,AccountId,Name`.
    pub contacts: PathBuf,
    /// `accounts.csv`: `AccountId,Name,Domains` (domains separated by `;`).
    pub accounts: PathBuf,
    /// The folder of the mbox files.
    pub mail_dir: PathBuf,
    /// The folder of the `.ics` files.
    pub calendar_dir: PathBuf,
    /// Message copies written.
    pub n_messages: u64,
    /// `VEVENT`s written.
    pub n_events: u64,
}

impl ExportedFiles {
    /// The `--source` paths: the mail folder, then the calendar folder.
    pub fn sources(&self) -> Vec<PathBuf> {
        vec![self.mail_dir.clone(), self.calendar_dir.clone()]
    }
}

/// Writes the files; see the module doc.
pub(crate) fn export(
    dataset: &Dataset,
    dir: &Path,
    window: (i64, i64),
) -> io::Result<ExportedFiles> {
    let mail_dir = dir.join("mail");
    let calendar_dir = dir.join("calendar");
    fs::create_dir_all(&mail_dir)?;
    fs::create_dir_all(&calendar_dir)?;
    let parents = explicit_parents(dataset);
    let generator = dataset.generator.as_deref();
    let mut n_messages = 0;
    let mut n_events = 0;
    for mailbox in &dataset.mailboxes {
        let Some(address) = mailbox_address(dataset, mailbox) else { continue };
        n_messages +=
            export_mailbox(mailbox, generator, &parents, &mail_dir.join(&address), window)?;
        n_events += export_calendar(
            mailbox,
            generator,
            &calendar_dir.join(format!("{address}.ics")),
            window,
        )?;
    }
    let users = dir.join("users.txt");
    let mut text = String::new();
    for user in &dataset.users {
        if let Some(mail) = &user.mail {
            text.push_str(mail);
            text.push('\n');
        }
    }
    fs::write(&users, text)?;
    let contacts = dir.join("contacts.csv");
    let mut text = String::from("Email,AccountId,Name\n");
    for contact in &dataset.contacts {
        push_csv_row(&mut text, &[&contact.email, &contact.account_id, &contact.name]);
    }
    fs::write(&contacts, text)?;
    let accounts = dir.join("accounts.csv");
    let mut text = String::from("AccountId,Name,Domains\n");
    for account in &dataset.accounts {
        push_csv_row(&mut text, &[&account.account_id, &account.name, &account.domains.join(";")]);
    }
    fs::write(&accounts, text)?;
    Ok(ExportedFiles { users, contacts, accounts, mail_dir, calendar_dir, n_messages, n_events })
}

/// A file-name-safe form of the mailbox owner's address (or user principal name).
fn mailbox_address(dataset: &Dataset, mailbox: &Mailbox) -> Option<String> {
    let user = dataset.users.get(mailbox.user_index)?;
    let address = user.mail.as_deref().unwrap_or(&user.user_principal_name);
    Some(safe_name(address))
}

fn safe_name(text: &str) -> String {
    text.chars()
        .map(|character| {
            if character.is_ascii_alphanumeric() || matches!(character, '@' | '.' | '-' | '_' | ' ')
            {
                character
            } else {
                '_'
            }
        })
        .collect()
}

/// conversationIndex → Message-ID of every message held in memory (explicit and changed ones):
/// the parents of replies that are not generated.
fn explicit_parents(dataset: &Dataset) -> HashMap<Vec<u8>, String> {
    let mut parents = HashMap::new();
    for mailbox in &dataset.mailboxes {
        for folder in &mailbox.folders {
            for message in folder.messages.resident_items() {
                if !message.is_draft && !message.conversation_index.is_empty() {
                    parents
                        .entry(message.conversation_index.clone())
                        .or_insert_with(|| message.internet_message_id.clone());
                }
            }
        }
    }
    parents
}

/// Writes the mbox files of one mailbox; returns the number of messages written.
fn export_mailbox(
    mailbox: &Mailbox,
    generator: Option<&Generator>,
    parents: &HashMap<Vec<u8>, String>,
    dir: &Path,
    window: (i64, i64),
) -> io::Result<u64> {
    let mut n_written = 0;
    let mut scratch = Message::default();
    let mut parent = String::new();
    let mut block = String::with_capacity(1024);
    for (folder_number, folder) in mailbox.folders.iter().enumerate() {
        let store = &folder.messages;
        let mut writer: Option<BufWriter<File>> = None;
        for position in 0..store.end_position() {
            let generated = store.is_generated(position);
            let Some(message) = store.item(position, generator, &mut scratch) else { continue };
            if message.is_draft || message.received < window.0 {
                continue;
            }
            parent.clear();
            let has_parent = match (generated, generator, &store.generated) {
                (true, Some(generator), Some(range)) => {
                    generator.parent_message_id(range, position, &mut parent)
                }
                _ => {
                    let parent_index = message
                        .conversation_index
                        .len()
                        .checked_sub(5)
                        .filter(|&length| length >= 22);
                    match parent_index
                        .and_then(|length| parents.get(message.conversation_index.get(..length)?))
                    {
                        Some(found) => {
                            parent.push_str(found);
                            true
                        }
                        None => false,
                    }
                }
            };
            block.clear();
            push_mbox_message(&mut block, message, has_parent.then_some(parent.as_str()));
            if writer.is_none() {
                fs::create_dir_all(dir)?;
                let name = format!(
                    "{folder_number:02}-{}.mbox",
                    safe_name(&folder_path(mailbox, folder_number).replace('/', " - "))
                );
                writer = Some(BufWriter::new(File::create(dir.join(name))?));
            }
            if let Some(writer) = writer.as_mut() {
                writer.write_all(block.as_bytes())?;
            }
            n_written += 1;
        }
        if let Some(mut writer) = writer {
            writer.flush()?;
        }
    }
    Ok(n_written)
}

fn push_mailbox_header(out: &mut String, name: &str, addresses: &[EmailAddress]) {
    if addresses.is_empty() {
        return;
    }
    out.push_str(name);
    out.push_str(": ");
    for (position, address) in addresses.iter().enumerate() {
        if position > 0 {
            out.push_str(", ");
        }
        push_mailbox(out, address);
    }
    out.push('\n');
}

/// `"Display Name" <address>` (or the bare address without a name).
fn push_mailbox(out: &mut String, address: &EmailAddress) {
    if address.name.is_empty() {
        out.push_str(&address.address);
        return;
    }
    out.push('"');
    for character in address.name.chars() {
        match character {
            '"' | '\\' => {
                out.push('\\');
                out.push(character);
            }
            '\r' | '\n' => out.push(' '),
            _ => out.push(character),
        }
    }
    out.push_str("\" <");
    out.push_str(&address.address);
    out.push('>');
}

/// One message as an mbox entry: envelope line, header block, empty line.
fn push_mbox_message(out: &mut String, message: &Message, parent: Option<&str>) {
    out.push_str("From ");
    match message.from.as_ref().filter(|from| !from.address.is_empty()) {
        Some(from) => out.push_str(&from.address),
        None => out.push_str("MAILER-DAEMON"),
    }
    out.push(' ');
    push_asctime(out, message.sent.unwrap_or(message.received));
    out.push('\n');
    if let Some(from) = &message.from {
        push_mailbox_header(out, "From", std::slice::from_ref(from));
    }
    push_mailbox_header(out, "To", &message.to);
    push_mailbox_header(out, "Cc", &message.cc);
    push_mailbox_header(out, "Bcc", &message.bcc);
    if let Some(sent) = message.sent {
        out.push_str("Date: ");
        push_rfc5322(out, sent);
        out.push('\n');
    }
    if !message.internet_message_id.is_empty() {
        out.push_str("Message-ID: ");
        out.push_str(&message.internet_message_id);
        out.push('\n');
    }
    if let Some(parent) = parent {
        out.push_str("In-Reply-To: ");
        out.push_str(parent);
        out.push('\n');
    }
    if message.kind == MessageKind::EventMessage {
        out.push_str("Content-Type: text/calendar; method=REQUEST; charset=utf-8\n");
    }
    out.push('\n');
}

/// Writes one mailbox's `.ics`; returns the number of events written.
fn export_calendar(
    mailbox: &Mailbox,
    generator: Option<&Generator>,
    path: &Path,
    window: (i64, i64),
) -> io::Result<u64> {
    let store = &mailbox.calendar;
    let mut scratch = Event::default();
    let mut writer: Option<BufWriter<File>> = None;
    let mut block = String::with_capacity(1024);
    let mut n_written = 0;
    for position in 0..store.end_position() {
        let Some(event) = store.item(position, generator, &mut scratch) else { continue };
        let overlaps = event.start < window.1 && (event.end > window.0 || event.start >= window.0);
        if !overlaps {
            continue;
        }
        block.clear();
        push_vevent(&mut block, event);
        if writer.is_none() {
            let mut file = BufWriter::new(File::create(path)?);
            file.write_all(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//rapport//graph-testserver export//EN\r\n")?;
            writer = Some(file);
        }
        if let Some(writer) = writer.as_mut() {
            writer.write_all(block.as_bytes())?;
        }
        n_written += 1;
    }
    if let Some(mut writer) = writer {
        writer.write_all(b"END:VCALENDAR\r\n")?;
        writer.flush()?;
    }
    Ok(n_written)
}

/// Writes `line` folded at 75 octets (RFC 5545 §3.1), with CRLF.
fn push_line(out: &mut String, line: &str) {
    let mut rest = line;
    let mut limit = 75;
    while rest.len() > limit {
        let mut cut = limit;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let (head, tail) = rest.split_at(cut);
        out.push_str(head);
        out.push_str("\r\n ");
        rest = tail;
        // A continuation line starts with the space, which counts.
        limit = 74;
    }
    out.push_str(rest);
    out.push_str("\r\n");
}

/// A parameter value: quoted, without the characters a quoted value cannot hold.
fn push_parameter(out: &mut String, name: &str, value: &str) {
    out.push(';');
    out.push_str(name);
    out.push_str("=\"");
    out.extend(value.chars().filter(|character| !matches!(character, '"' | '\r' | '\n')));
    out.push('"');
}

fn push_vevent(out: &mut String, event: &Event) {
    let mut line = String::with_capacity(160);
    push_line(out, "BEGIN:VEVENT");
    line.push_str("UID:");
    line.push_str(&event.ical_uid);
    push_line(out, &line);
    push_line(out, "DTSTAMP:20260101T000000Z");
    push_line(out, "SEQUENCE:0");
    if matches!(event.event_type, EventType::Occurrence | EventType::Exception)
        && let Some(original_start) = event.original_start
    {
        line.clear();
        line.push_str("RECURRENCE-ID:");
        push_ics_utc(&mut line, original_start);
        push_line(out, &line);
    }
    for (name, instant) in [("DTSTART", event.start), ("DTEND", event.end)] {
        line.clear();
        line.push_str(name);
        if event.is_all_day {
            line.push_str(";VALUE=DATE:");
            push_ics_date(&mut line, instant);
        } else {
            line.push(':');
            push_ics_utc(&mut line, instant);
        }
        push_line(out, &line);
    }
    push_line(out, if event.is_cancelled { "STATUS:CANCELLED" } else { "STATUS:CONFIRMED" });
    if let Some(organizer) = &event.organizer {
        line.clear();
        line.push_str("ORGANIZER");
        push_parameter(&mut line, "CN", &organizer.name);
        line.push_str(":mailto:");
        line.push_str(&organizer.address);
        push_line(out, &line);
    }
    for attendee in &event.attendees {
        line.clear();
        line.push_str("ATTENDEE;CUTYPE=");
        line.push_str(if attendee.kind == AttendeeType::Resource {
            "RESOURCE"
        } else {
            "INDIVIDUAL"
        });
        line.push_str(";ROLE=");
        line.push_str(if attendee.kind == AttendeeType::Optional {
            "OPT-PARTICIPANT"
        } else {
            "REQ-PARTICIPANT"
        });
        line.push_str(";PARTSTAT=");
        line.push_str(match attendee.response {
            ResponseType::Accepted | ResponseType::Organizer => "ACCEPTED",
            ResponseType::Declined => "DECLINED",
            ResponseType::TentativelyAccepted => "TENTATIVE",
            ResponseType::None | ResponseType::NotResponded => "NEEDS-ACTION",
        });
        push_parameter(&mut line, "CN", &attendee.email.name);
        line.push_str(":mailto:");
        line.push_str(&attendee.email.address);
        push_line(out, &line);
    }
    push_line(out, "END:VEVENT");
}

/// A CSV row with minimal quoting.
fn push_csv_row(out: &mut String, cells: &[&str]) {
    for (position, cell) in cells.iter().enumerate() {
        if position > 0 {
            out.push(',');
        }
        if cell.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&cell.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(cell);
        }
    }
    out.push('\n');
}
