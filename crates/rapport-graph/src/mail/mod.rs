//! Mail: a mailbox's folders, message delta pages, the mapping of Graph messages onto
//! [`EmailCopy`], and reply linkage through `conversationIndex`.
//!
//! A message delta round starts with `$filter=receivedDateTime ge W` and a narrow `$select`;
//! later rounds follow the stored `@odata.deltaLink` and return only changes, removals as
//! `@removed`. Drafts (`isDraft`) are not emails: they are dropped, counted nowhere, and their
//! ids are reported as removed so that a stored copy cannot linger.

use std::collections::{HashMap, HashSet};

use base64::Engine;
use base64::engine::general_purpose::STANDARD_PAD_INDIFFERENT;
use rapport_core::model::{EmailCopy, UnixSeconds};

use crate::GraphError;
use crate::http::{GraphClient, ItemsAndNext, encode_path_segment, encode_query_value};
use crate::wire::{
    DeltaItem, DeltaPage, LenientBool, LenientInt, LenientList, LenientObject, LenientStr, Page,
    WireRecipient, WireRemoved, read_delta_page,
};

#[cfg(test)]
mod tests;

/// The message properties read: ids, reply linkage, sent time, participants and the draft flag.
/// Never a subject, a body or a preview.
pub const MESSAGE_SELECT: &str = "id,internetMessageId,conversationId,conversationIndex,sentDateTime,from,sender,toRecipients,ccRecipients,bccRecipients,isDraft";
/// The folder properties read.
pub const FOLDER_SELECT: &str = "id,displayName,childFolderCount";
/// Folders per page (`$top`) when listing folders.
pub const FOLDER_PAGE_SIZE: u32 = 250;
/// The `@odata.type` prefix of meeting requests and responses sent as mail.
pub const EVENT_MESSAGE_TYPE: &str = "#microsoft.graph.eventMessage";
/// Length of a `conversationIndex` header: 1 reserved byte, 5 bytes of FILETIME, a 16-byte GUID.
pub const CONVERSATION_INDEX_HEADER: usize = 22;
/// Bytes each reply adds to its parent's `conversationIndex`.
pub const CONVERSATION_INDEX_CHILD: usize = 5;

/// A mail folder of a mailbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailFolder {
    /// Graph id of the folder.
    pub id: String,
    /// Its display name.
    pub display_name: String,
    /// Display names from the top folder down, joined with `/` (e.g. `Inbox/Archive`).
    pub path: String,
}

/// One message as read from one folder: its Graph id, its activity fields and its raw
/// `conversationIndex` (for [`link_replies`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailItem {
    /// Graph id of the message (unique per mailbox and folder copy).
    pub graph_id: String,
    /// The activity fields; `parent_id` is set by [`link_replies`].
    pub email: EmailCopy,
    /// The decoded `conversationIndex` (empty when absent or not base64).
    pub conversation_index: Vec<u8>,
}

/// One page of a message delta round. `removed` also holds drafts' ids; `skipped` counts only
/// items that are not objects or have no id (`unparseable`).
pub type MessagePage = DeltaPage<MailItem>;

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct WireMessage<'a> {
    #[serde(borrow)]
    id: LenientStr<'a>,
    #[serde(rename = "@odata.type", borrow)]
    odata_type: LenientStr<'a>,
    #[serde(rename = "@removed", borrow)]
    removed: LenientObject<WireRemoved<'a>>,
    #[serde(rename = "internetMessageId", borrow)]
    internet_message_id: LenientStr<'a>,
    #[serde(rename = "conversationIndex", borrow)]
    conversation_index: LenientStr<'a>,
    #[serde(rename = "sentDateTime", borrow)]
    sent_date_time: LenientStr<'a>,
    #[serde(borrow)]
    from: LenientObject<WireRecipient<'a>>,
    #[serde(borrow)]
    sender: LenientObject<WireRecipient<'a>>,
    #[serde(rename = "toRecipients", borrow)]
    to_recipients: LenientList<LenientObject<WireRecipient<'a>>>,
    #[serde(rename = "ccRecipients", borrow)]
    cc_recipients: LenientList<LenientObject<WireRecipient<'a>>>,
    #[serde(rename = "bccRecipients", borrow)]
    bcc_recipients: LenientList<LenientObject<WireRecipient<'a>>>,
    #[serde(rename = "isDraft")]
    is_draft: LenientBool,
}

/// Reads one page of a message delta answer.
pub fn read_message_page(body: &[u8]) -> Result<MessagePage, serde_json::Error> {
    read_delta_page(body, |graph_id, message: &WireMessage<'_>, out| {
        if message.is_draft.0 == Some(true) {
            out.removed.push(graph_id);
        } else {
            out.upserted.push(map_message(graph_id, message));
        }
    })
}

impl DeltaItem for WireMessage<'_> {
    fn graph_id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    fn is_removed(&self) -> bool {
        self.removed.0.is_some()
    }
}

fn map_message(graph_id: String, message: &WireMessage<'_>) -> MailItem {
    let sender = message
        .from
        .0
        .as_ref()
        .and_then(WireRecipient::normalized_address)
        .or_else(|| message.sender.0.as_ref().and_then(WireRecipient::normalized_address));
    let mut recipients: Vec<String> = Vec::new();
    let lists = [&message.to_recipients, &message.cc_recipients, &message.bcc_recipients];
    for recipient in lists.into_iter().flat_map(|list| list.0.iter()) {
        if let Some(address) = recipient.0.as_ref().and_then(WireRecipient::normalized_address)
            && !recipients.contains(&address)
        {
            recipients.push(address);
        }
    }
    let automated =
        message.odata_type.as_deref().is_some_and(|kind| kind.starts_with(EVENT_MESSAGE_TYPE));
    let conversation_index = message
        .conversation_index
        .as_deref()
        .and_then(|text| STANDARD_PAD_INDIFFERENT.decode(text.trim()).ok())
        .unwrap_or_default();
    MailItem {
        graph_id,
        email: EmailCopy {
            message_id: message.internet_message_id.as_deref().and_then(message_id_of),
            sent: message.sent_date_time.as_deref().and_then(parse_instant),
            sender,
            recipients,
            parent_id: None,
            automated,
        },
        conversation_index,
    }
}

/// The Message-ID of an `internetMessageId`: the content of its first `<...>`, else the trimmed
/// value; `None` when empty (`<>` is no id).
pub fn message_id_of(value: &str) -> Option<String> {
    let value = value.trim();
    let id = match value.find('<') {
        Some(open) => {
            let rest = value.get(open + 1..).unwrap_or_default();
            match rest.find('>') {
                Some(close) => rest.get(..close).unwrap_or_default(),
                None => value,
            }
        }
        None => value,
    };
    let id = id.trim();
    (!id.is_empty()).then(|| id.to_owned())
}

/// An ISO 8601 instant as Graph writes it (`2026-03-02T15:00:00Z`, with or without fractions or
/// an offset; no offset means UTC), in whole Unix seconds.
pub fn parse_instant(text: &str) -> Option<UnixSeconds> {
    let text = text.trim();
    if let Ok(instant) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(instant.timestamp());
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|format| chrono::NaiveDateTime::parse_from_str(text, format).ok())
        .map(|naive| naive.and_utc().timestamp())
}

/// A Unix instant as Graph takes it in a query: `2025-01-01T00:00:00Z`.
pub fn format_instant(instant: UnixSeconds) -> String {
    chrono::DateTime::from_timestamp(instant, 0)
        .map(|instant| instant.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_owned())
}

/// The first request of a message delta round for a folder, bounded to messages received at or
/// after `window_start` (relative to `{graph}/v1.0`).
pub fn first_round_path(mailbox_id: &str, folder_id: &str, window_start: UnixSeconds) -> String {
    format!(
        "/users/{}/mailFolders/{}/messages/delta?$select={}&$filter={}",
        encode_path_segment(mailbox_id),
        encode_path_segment(folder_id),
        MESSAGE_SELECT,
        encode_query_value(&format!("receivedDateTime ge {}", format_instant(window_start)))
    )
}

/// Sets each message's `parent_id` to the Message-ID of the message whose `conversationIndex`
/// equals its own minus the last 5 bytes (metrics.md §3), when its index is longer than the
/// 22-byte header and such a message (with a Message-ID) is among `messages`, which should hold
/// every mailbox's messages. A `parent_id` already set is kept.
pub fn link_replies(messages: &mut [MailItem]) {
    let mut by_index: HashMap<&[u8], usize> = HashMap::with_capacity(messages.len());
    for (position, item) in messages.iter().enumerate() {
        if !item.conversation_index.is_empty() && item.email.message_id.is_some() {
            by_index.entry(item.conversation_index.as_slice()).or_insert(position);
        }
    }
    let mut links: Vec<(usize, usize)> = Vec::new();
    for (position, item) in messages.iter().enumerate() {
        let length = item.conversation_index.len();
        if item.email.parent_id.is_some() || length <= CONVERSATION_INDEX_HEADER {
            continue;
        }
        let Some(prefix) = item.conversation_index.get(..length - CONVERSATION_INDEX_CHILD) else {
            continue;
        };
        if let Some(&parent) = by_index.get(prefix) {
            links.push((position, parent));
        }
    }
    drop(by_index);
    for (position, parent) in links {
        let parent_id = messages.get(parent).and_then(|item| item.email.message_id.clone());
        if let Some(item) = messages.get_mut(position) {
            item.email.parent_id = parent_id;
        }
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct WireFolder<'a> {
    #[serde(borrow)]
    id: LenientStr<'a>,
    #[serde(rename = "displayName", borrow)]
    display_name: LenientStr<'a>,
    #[serde(rename = "childFolderCount")]
    child_folder_count: LenientInt,
}

/// A page of folders: (id, display name, has children), and the next link.
type FolderPage = ItemsAndNext<(String, String, bool)>;

fn read_folder_page(body: &[u8]) -> Result<FolderPage, serde_json::Error> {
    let page: Page<WireFolder<'_>> = serde_json::from_slice(body)?;
    let folders = page
        .value
        .0
        .into_iter()
        .filter_map(|item| item.0)
        .filter_map(|folder| {
            let id = folder.id.into_owned().filter(|id| !id.is_empty())?;
            let name = folder.display_name.into_owned().unwrap_or_default();
            // An unknown child count is treated as "may have children": one extra request is
            // cheaper than a folder never read.
            let has_children = folder.child_folder_count.0.is_none_or(|count| count > 0);
            Some((id, name, has_children))
        })
        .collect();
    Ok((folders, page.next_link))
}

impl GraphClient {
    /// Every mail folder of a mailbox (hidden folders excepted, as Graph lists them), each once,
    /// every folder before its children.
    pub async fn list_mail_folders(&self, mailbox_id: &str) -> Result<Vec<MailFolder>, GraphError> {
        let mailbox = encode_path_segment(mailbox_id);
        let mut folders: Vec<MailFolder> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        // (parent path, first URL): the top level first, then each folder with children.
        let mut pending: Vec<(Option<String>, String)> = vec![(
            None,
            self.url(&format!(
                "/users/{mailbox}/mailFolders?$select={FOLDER_SELECT}&$top={FOLDER_PAGE_SIZE}"
            )),
        )];
        while let Some((parent_path, first_url)) = pending.pop() {
            let level = self.get_every_page(first_url, mailbox_id, read_folder_page).await?;
            // Children are pushed in reverse so that they pop in Graph's order.
            let mut children: Vec<(Option<String>, String)> = Vec::new();
            for (id, name, has_children) in level {
                if !seen.insert(id.clone()) {
                    continue;
                }
                let path = match &parent_path {
                    Some(parent) => format!("{parent}/{name}"),
                    None => name.clone(),
                };
                if has_children {
                    children.push((
                        Some(path.clone()),
                        self.url(&format!(
                            "/users/{mailbox}/mailFolders/{}/childFolders?$select={FOLDER_SELECT}&$top={FOLDER_PAGE_SIZE}",
                            encode_path_segment(&id)
                        )),
                    ));
                }
                folders.push(MailFolder { id, display_name: name, path });
            }
            pending.extend(children.into_iter().rev());
        }
        Ok(folders)
    }
}
