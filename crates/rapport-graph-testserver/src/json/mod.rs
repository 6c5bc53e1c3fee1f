//! Graph's JSON shapes (messages, events, users, groups, folders, errors), written by hand into
//! a caller's `String`.
//!
//! Hand-written because a page of a thousand generated messages is the benchmark's hot path:
//! pushing into a pre-sized buffer costs no allocation per message, where building
//! `serde_json::Value`s would cost several. Property names and order follow the documented
//! responses; `$select` is a bit mask over each type's property list.

#[cfg(test)]
mod tests;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::dataset::{
    Attendee, AttendeeType, EmailAddress, Event, EventType, Group, GroupKind, Message, MessageKind,
    ResponseType, User,
};
use crate::datetime::{push_graph_local, push_utc};

/// A set of properties of one type: bit `i` is property `i` of that type's list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Fields(u64);

impl Fields {
    fn has(self, property: usize) -> bool {
        self.0 & (1 << property) != 0
    }
}

/// A `$select` named a property the type does not have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UnknownProperty(pub(crate) String);

/// Reads a `$select` value against a property list; `None` selects the type's defaults. Names
/// are matched case-insensitively, as Graph does.
fn select(
    properties: &[&str],
    defaults: u64,
    value: Option<&str>,
) -> Result<Fields, UnknownProperty> {
    let Some(value) = value else { return Ok(Fields(defaults)) };
    let mut mask = 0_u64;
    for name in value.split(',').map(str::trim).filter(|name| !name.is_empty()) {
        let position = properties
            .iter()
            .position(|property| property.eq_ignore_ascii_case(name))
            .ok_or_else(|| UnknownProperty(name.to_owned()))?;
        mask |= 1 << position;
    }
    Ok(Fields(mask))
}

/// Message properties, in the order they are written (`id` last, as the documented delta pages
/// show it).
const MESSAGE_PROPERTIES: [&str; 31] = [
    "createdDateTime",
    "lastModifiedDateTime",
    "changeKey",
    "categories",
    "receivedDateTime",
    "sentDateTime",
    "hasAttachments",
    "internetMessageId",
    "subject",
    "bodyPreview",
    "importance",
    "parentFolderId",
    "conversationId",
    "conversationIndex",
    "isDeliveryReceiptRequested",
    "isReadReceiptRequested",
    "isRead",
    "isDraft",
    "webLink",
    "inferenceClassification",
    "body",
    "sender",
    "from",
    "toRecipients",
    "ccRecipients",
    "bccRecipients",
    "replyTo",
    "flag",
    "internetMessageHeaders",
    "uniqueBody",
    "id",
];

/// Without `$select`: every property but `internetMessageHeaders` and `uniqueBody`.
const MESSAGE_DEFAULTS: u64 = ((1 << 31) - 1) & !(1 << 28) & !(1 << 29);

/// The message properties a `$select` asks for (plus `id`, which Graph always returns).
pub(crate) fn message_fields(value: Option<&str>) -> Result<Fields, UnknownProperty> {
    let fields = select(&MESSAGE_PROPERTIES, MESSAGE_DEFAULTS, value)?;
    Ok(Fields(fields.0 | 1 << 30))
}

impl Fields {
    /// The mask as a number, for delta tokens.
    pub(crate) fn bits(self) -> u64 {
        self.0
    }

    /// The fields a token's number stands for.
    pub(crate) fn from_bits(bits: u64) -> Fields {
        Fields(bits)
    }
}

const USER_PROPERTIES: [&str; 13] = [
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
    "accountEnabled",
    "userType",
];
const USER_DEFAULTS: u64 = (1 << 11) - 1;

/// The user properties a `$select` asks for.
pub(crate) fn user_fields(value: Option<&str>) -> Result<Fields, UnknownProperty> {
    select(&USER_PROPERTIES, USER_DEFAULTS, value)
}

const GROUP_PROPERTIES: [&str; 8] = [
    "id",
    "description",
    "displayName",
    "groupTypes",
    "mail",
    "mailEnabled",
    "mailNickname",
    "securityEnabled",
];
const GROUP_DEFAULTS: u64 = (1 << 8) - 1;

/// The group properties a `$select` asks for.
pub(crate) fn group_fields(value: Option<&str>) -> Result<Fields, UnknownProperty> {
    select(&GROUP_PROPERTIES, GROUP_DEFAULTS, value)
}

const FOLDER_PROPERTIES: [&str; 7] = [
    "id",
    "displayName",
    "parentFolderId",
    "childFolderCount",
    "unreadItemCount",
    "totalItemCount",
    "isHidden",
];
const FOLDER_DEFAULTS: u64 = (1 << 7) - 1;

/// The mail folder properties a `$select` asks for (plus `id`).
pub(crate) fn folder_fields(value: Option<&str>) -> Result<Fields, UnknownProperty> {
    let fields = select(&FOLDER_PROPERTIES, FOLDER_DEFAULTS, value)?;
    Ok(Fields(fields.0 | 1))
}

/// Writes `value` as a JSON string.
pub(crate) fn push_string(out: &mut String, value: &str) {
    out.push('"');
    let mut clean_from = 0;
    for (position, byte) in value.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(value.get(clean_from..position).unwrap_or_default());
        if escape.is_empty() {
            out.push_str("\\u00");
            out.push(hex_digit(byte >> 4));
            out.push(hex_digit(byte & 0xf));
        } else {
            out.push_str(escape);
        }
        clean_from = position + 1;
    }
    out.push_str(value.get(clean_from..).unwrap_or_default());
    out.push('"');
}

fn hex_digit(value: u8) -> char {
    char::from(if value < 10 { b'0' + value } else { b'a' + value - 10 })
}

/// Writes `,"name":` (or `"name":` as the object's first member).
fn push_key(out: &mut String, first: &mut bool, name: &str) {
    if !*first {
        out.push(',');
    }
    *first = false;
    out.push('"');
    out.push_str(name);
    out.push_str("\":");
}

fn push_utc_string(out: &mut String, instant: i64) {
    out.push('"');
    push_utc(out, instant);
    out.push('"');
}

fn push_optional_string(out: &mut String, value: Option<&str>) {
    match value {
        Some(value) => push_string(out, value),
        None => out.push_str("null"),
    }
}

fn push_bool(out: &mut String, value: bool) {
    out.push_str(if value { "true" } else { "false" });
}

fn push_number(out: &mut String, value: u64) {
    use std::fmt::Write as _;
    let _ = write!(out, "{value}");
}

/// `{"emailAddress":{"name":"...","address":"..."}}`.
pub(crate) fn push_recipient(out: &mut String, address: &EmailAddress) {
    out.push_str("{\"emailAddress\":{\"name\":");
    push_string(out, &address.name);
    out.push_str(",\"address\":");
    push_string(out, &address.address);
    out.push_str("}}");
}

fn push_recipients(out: &mut String, addresses: &[EmailAddress]) {
    out.push('[');
    for (position, address) in addresses.iter().enumerate() {
        if position > 0 {
            out.push(',');
        }
        push_recipient(out, address);
    }
    out.push(']');
}

/// FNV-1a, for etags and change keys that change with the content.
fn fnv(bytes: &[u8], mut hash: u64) -> u64 {
    for &byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

fn message_version(message: &Message) -> u32 {
    let mut hash = fnv(message.id.as_bytes(), FNV_START);
    hash = fnv(&message.received.to_le_bytes(), hash);
    hash = fnv(&message.sent.unwrap_or(-1).to_le_bytes(), hash);
    hash = fnv(&[u8::from(message.is_draft)], hash);
    for address in message.to.iter().chain(&message.cc).chain(&message.bcc) {
        hash = fnv(address.address.as_bytes(), hash);
    }
    (hash >> 32) as u32 ^ hash as u32
}

fn push_change_key(out: &mut String, version: u32) {
    use std::fmt::Write as _;
    let _ = write!(out, "CQAAABYAAAA{version:08X}");
}

/// One message of a page, with the properties of `fields` plus `@odata.type`/`@odata.etag`.
pub(crate) fn push_message(out: &mut String, message: &Message, folder_id: &str, fields: Fields) {
    let version = message_version(message);
    out.push_str("{\"@odata.type\":");
    out.push_str(match message.kind {
        MessageKind::Message => "\"#microsoft.graph.message\"",
        MessageKind::EventMessage => "\"#microsoft.graph.eventMessage\"",
    });
    out.push_str(",\"@odata.etag\":\"W/\\\"");
    push_change_key(out, version);
    out.push_str("\\\"\"");
    let mut first = false;
    for (property, name) in MESSAGE_PROPERTIES.iter().enumerate() {
        if !fields.has(property) {
            continue;
        }
        push_key(out, &mut first, name);
        match property {
            0 | 1 | 4 => push_utc_string(out, message.received),
            2 => {
                out.push('"');
                push_change_key(out, version);
                out.push('"');
            }
            3 | 26 => out.push_str("[]"),
            5 => match message.sent {
                Some(sent) => push_utc_string(out, sent),
                None => out.push_str("null"),
            },
            6 | 14 | 15 => push_bool(out, false),
            7 => push_string(out, &message.internet_message_id),
            8 => push_string(out, &message.subject),
            9 => out.push_str("\"\""),
            10 => out.push_str("\"normal\""),
            11 => push_string(out, folder_id),
            12 => push_string(out, &message.conversation_id),
            13 => {
                out.push('"');
                STANDARD.encode_string(&message.conversation_index, out);
                out.push('"');
            }
            16 => push_bool(out, true),
            17 => push_bool(out, message.is_draft),
            18 => {
                out.push_str("\"https://outlook.office365.com/owa/?ItemID=");
                for character in message.id.chars() {
                    match character {
                        '=' => out.push_str("%3D"),
                        '"' | '\\' | '\u{0}'..='\u{1f}' => {}
                        _ => out.push(character),
                    }
                }
                out.push_str("&exvsurl=1&viewmodel=ReadMessageItem\"");
            }
            19 => out.push_str("\"focused\""),
            20 | 29 => out.push_str("{\"contentType\":\"text\",\"content\":\"\"}"),
            21 => match &message.sender {
                Some(sender) => push_recipient(out, sender),
                None => out.push_str("null"),
            },
            22 => match &message.from {
                Some(from) => push_recipient(out, from),
                None => out.push_str("null"),
            },
            23 => push_recipients(out, &message.to),
            24 => push_recipients(out, &message.cc),
            25 => push_recipients(out, &message.bcc),
            27 => out.push_str("{\"flagStatus\":\"notFlagged\"}"),
            28 => {
                out.push_str("[{\"name\":\"Message-ID\",\"value\":");
                push_string(out, &message.internet_message_id);
                out.push_str("}]");
            }
            _ => push_string(out, &message.id),
        }
    }
    out.push('}');
}

/// A removed item of a delta page.
pub(crate) fn push_removed(out: &mut String, odata_type: &str, id: &str) {
    out.push_str("{\"@odata.type\":\"");
    out.push_str(odata_type);
    out.push_str("\",\"id\":");
    push_string(out, id);
    out.push_str(",\"@removed\":{\"reason\":\"deleted\"}}");
}

fn event_type_name(event_type: EventType) -> &'static str {
    match event_type {
        EventType::SingleInstance => "singleInstance",
        EventType::Occurrence => "occurrence",
        EventType::Exception => "exception",
        EventType::SeriesMaster => "seriesMaster",
    }
}

fn response_name(response: ResponseType) -> &'static str {
    match response {
        ResponseType::None => "none",
        ResponseType::Organizer => "organizer",
        ResponseType::TentativelyAccepted => "tentativelyAccepted",
        ResponseType::Accepted => "accepted",
        ResponseType::Declined => "declined",
        ResponseType::NotResponded => "notResponded",
    }
}

fn attendee_type_name(kind: AttendeeType) -> &'static str {
    match kind {
        AttendeeType::Required => "required",
        AttendeeType::Optional => "optional",
        AttendeeType::Resource => "resource",
    }
}

fn push_date_time_time_zone(out: &mut String, instant: i64) {
    out.push_str("{\"dateTime\":\"");
    push_graph_local(out, instant);
    out.push_str("\",\"timeZone\":\"UTC\"}");
}

fn push_attendee(out: &mut String, attendee: &Attendee) {
    out.push_str("{\"type\":\"");
    out.push_str(attendee_type_name(attendee.kind));
    out.push_str("\",\"status\":{\"response\":\"");
    out.push_str(response_name(attendee.response));
    out.push_str("\",\"time\":\"0001-01-01T00:00:00Z\"},\"emailAddress\":{\"name\":");
    push_string(out, &attendee.email.name);
    out.push_str(",\"address\":");
    push_string(out, &attendee.email.address);
    out.push_str("}}");
}

/// One event of a calendarView page, in UTC (the only `outlook.timezone` served).
pub(crate) fn push_event(out: &mut String, event: &Event) {
    let mut hash = fnv(event.id.as_bytes(), FNV_START);
    hash = fnv(&event.start.to_le_bytes(), hash);
    hash = fnv(&event.end.to_le_bytes(), hash);
    hash = fnv(&[u8::from(event.is_cancelled), u8::from(event.is_all_day)], hash);
    for attendee in &event.attendees {
        hash = fnv(attendee.email.address.as_bytes(), hash);
        hash = fnv(&[attendee.response as u8], hash);
    }
    let version = (hash >> 32) as u32 ^ hash as u32;
    out.push_str("{\"@odata.type\":\"#microsoft.graph.event\",\"@odata.etag\":\"W/\\\"");
    push_change_key(out, version);
    out.push_str("\\\"\",\"createdDateTime\":\"");
    push_utc(out, event.start.min(event.original_start.unwrap_or(event.start)) - 86_400);
    out.push_str("\",\"changeKey\":\"");
    push_change_key(out, version);
    out.push_str("\",\"categories\":[],\"originalStartTimeZone\":\"UTC\",\"originalEndTimeZone\":\"UTC\",\"iCalUId\":");
    push_string(out, &event.ical_uid);
    out.push_str(",\"reminderMinutesBeforeStart\":15,\"isReminderOn\":true,\"hasAttachments\":false,\"subject\":");
    push_string(out, &event.subject);
    out.push_str(
        ",\"bodyPreview\":\"\",\"importance\":\"normal\",\"sensitivity\":\"normal\",\"isAllDay\":",
    );
    push_bool(out, event.is_all_day);
    out.push_str(",\"isCancelled\":");
    push_bool(out, event.is_cancelled);
    out.push_str(",\"isOrganizer\":");
    push_bool(out, event.response == ResponseType::Organizer);
    out.push_str(",\"responseRequested\":true,\"seriesMasterId\":");
    push_optional_string(out, event.series_master_id.as_deref());
    out.push_str(",\"showAs\":\"busy\",\"type\":\"");
    out.push_str(event_type_name(event.event_type));
    out.push_str("\",\"responseStatus\":{\"response\":\"");
    out.push_str(response_name(event.response));
    out.push_str("\",\"time\":\"0001-01-01T00:00:00Z\"}");
    if let Some(original_start) = event.original_start {
        out.push_str(",\"originalStart\":\"");
        push_utc(out, original_start);
        out.push('"');
    }
    out.push_str(",\"start\":");
    push_date_time_time_zone(out, event.start);
    out.push_str(",\"end\":");
    push_date_time_time_zone(out, event.end);
    out.push_str(",\"location\":{\"displayName\":\"\"},\"attendees\":[");
    for (position, attendee) in event.attendees.iter().enumerate() {
        if position > 0 {
            out.push(',');
        }
        push_attendee(out, attendee);
    }
    out.push_str("],\"organizer\":");
    match &event.organizer {
        Some(organizer) => push_recipient(out, organizer),
        None => out.push_str("null"),
    }
    out.push_str(",\"id\":");
    push_string(out, &event.id);
    out.push('}');
}

/// A user, with `@odata.type` when listed among directory objects.
pub(crate) fn push_user(out: &mut String, user: &User, fields: Fields, with_type: bool) {
    out.push('{');
    let mut first = true;
    if with_type {
        push_key(out, &mut first, "@odata.type");
        out.push_str("\"#microsoft.graph.user\"");
    }
    for (property, name) in USER_PROPERTIES.iter().enumerate() {
        if !fields.has(property) {
            continue;
        }
        push_key(out, &mut first, name);
        match property {
            0 => out.push_str("[]"),
            1 => push_string(out, &user.display_name),
            4 => push_optional_string(out, user.mail.as_deref()),
            9 => push_string(out, &user.user_principal_name),
            10 => push_string(out, &user.id),
            11 => push_bool(out, true),
            12 => out.push_str("\"Member\""),
            _ => out.push_str("null"),
        }
    }
    out.push('}');
}

/// A group, with `@odata.type` when listed among directory objects.
pub(crate) fn push_group(out: &mut String, group: &Group, fields: Fields, with_type: bool) {
    out.push('{');
    let mut first = true;
    if with_type {
        push_key(out, &mut first, "@odata.type");
        out.push_str("\"#microsoft.graph.group\"");
    }
    for (property, name) in GROUP_PROPERTIES.iter().enumerate() {
        if !fields.has(property) {
            continue;
        }
        push_key(out, &mut first, name);
        match property {
            0 => push_string(out, &group.id),
            1 => out.push_str("null"),
            2 => push_string(out, &group.display_name),
            3 => out.push_str(match group.kind {
                GroupKind::Unified => "[\"Unified\"]",
                GroupKind::Security | GroupKind::Distribution => "[]",
            }),
            4 => push_optional_string(out, group.mail.as_deref()),
            5 => push_bool(out, group.kind != GroupKind::Security),
            6 => push_optional_string(
                out,
                group.mail.as_deref().and_then(|mail| mail.split('@').next()),
            ),
            _ => push_bool(out, group.kind == GroupKind::Security),
        }
    }
    out.push('}');
}

/// A mail contact listed among a group's members.
pub(crate) fn push_org_contact(out: &mut String, id: &str, mail: &str, display_name: &str) {
    out.push_str("{\"@odata.type\":\"#microsoft.graph.orgContact\",\"id\":");
    push_string(out, id);
    out.push_str(",\"displayName\":");
    push_string(out, display_name);
    out.push_str(",\"mail\":");
    push_string(out, mail);
    out.push('}');
}

/// What a mail folder shows.
pub(crate) struct FolderJson<'a> {
    pub(crate) id: &'a str,
    pub(crate) display_name: &'a str,
    pub(crate) parent_id: &'a str,
    pub(crate) child_folder_count: usize,
    pub(crate) total_item_count: u64,
}

/// A mail folder.
pub(crate) fn push_folder(out: &mut String, folder: &FolderJson<'_>, fields: Fields) {
    out.push('{');
    let mut first = true;
    for (property, name) in FOLDER_PROPERTIES.iter().enumerate() {
        if !fields.has(property) {
            continue;
        }
        push_key(out, &mut first, name);
        match property {
            0 => push_string(out, folder.id),
            1 => push_string(out, folder.display_name),
            2 => push_string(out, folder.parent_id),
            3 => push_number(out, folder.child_folder_count as u64),
            4 => out.push('0'),
            5 => push_number(out, folder.total_item_count),
            _ => push_bool(out, false),
        }
    }
    out.push('}');
}

/// Graph's error body: `{"error":{"code":...,"message":...,"innerError":{...}}}`.
pub(crate) fn error_body(code: &str, message: &str) -> String {
    let mut out = String::with_capacity(160 + message.len());
    out.push_str("{\"error\":{\"code\":");
    push_string(&mut out, code);
    out.push_str(",\"message\":");
    push_string(&mut out, message);
    out.push_str(",\"innerError\":{\"date\":\"2026-01-01T00:00:00\",\"request-id\":\"00000000-0000-0000-0000-000000000000\"}}}");
    out
}

/// The token endpoint's error body (`error`, `error_description`, `error_codes`).
pub(crate) fn oauth_error_body(error: &str, code: u32, description: &str) -> String {
    let mut out = String::with_capacity(160 + description.len());
    out.push_str("{\"error\":");
    push_string(&mut out, error);
    out.push_str(",\"error_description\":");
    let mut text = format!("AADSTS{code}: ");
    text.push_str(description);
    push_string(&mut out, &text);
    out.push_str(",\"error_codes\":[");
    push_number(&mut out, u64::from(code));
    out.push_str("],\"timestamp\":\"2026-01-01 00:00:00Z\",\"trace_id\":\"00000000-0000-0000-0000-000000000000\",\"correlation_id\":\"00000000-0000-0000-0000-000000000000\"}");
    out
}
