//! What the server serves: a directory (users, groups, distribution lists), per-mailbox mail
//! folders holding messages, per-mailbox calendars holding events, and the customer data
//! (accounts and contacts) that goes with them.
//!
//! A folder or calendar is an [`Store`]: an optional range of *generated* items, computed on
//! demand by pure functions of (mailbox, folder, index) so that hundreds of mailboxes of tens of
//! thousands of messages never sit in memory, followed by *explicit* items (the hand-made dataset,
//! and everything added later). Every change made after construction is appended to the store's
//! change log; a delta token is a position in that log, so a later delta round returns exactly
//! the changes since its token.
//!
//! Positions are stable: a removed explicit item leaves a tombstone and a removed or replaced
//! generated item is recorded in an override map, so a paging position never shifts under a
//! round in progress.

pub(crate) mod generated;
mod small;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use crate::datetime::utc;
use crate::export::{self, ExportedFiles};
pub use generated::GenSpec;
use generated::{GeneratedRange, Generator};

/// A name and an address, as Graph's `emailAddress` carries them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EmailAddress {
    /// The display name (may be empty).
    pub name: String,
    /// The SMTP address.
    pub address: String,
}

impl EmailAddress {
    /// An address with its display name.
    pub fn new(name: &str, address: &str) -> EmailAddress {
        EmailAddress { name: name.to_owned(), address: address.to_owned() }
    }
}

/// A directory user.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct User {
    /// The Entra object id (a GUID).
    pub id: String,
    /// The user principal name (`/users/{upn}` finds the user by it).
    pub user_principal_name: String,
    /// The primary SMTP address, if any.
    pub mail: Option<String>,
    /// The display name.
    pub display_name: String,
    /// False for a user without an Exchange mailbox: its mail and calendar endpoints answer 404
    /// `MailboxNotEnabledForRESTAPI`.
    pub has_mailbox: bool,
}

/// The kind of a group, which decides its `groupTypes`, `mailEnabled` and `securityEnabled`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GroupKind {
    /// A Microsoft 365 group (`groupTypes: ["Unified"]`, mail-enabled).
    #[default]
    Unified,
    /// A security group (not mail-enabled).
    Security,
    /// A distribution list (`groupTypes: []`, mail-enabled, not security-enabled).
    Distribution,
}

/// A direct member of a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Member {
    /// A user, by object id.
    User(String),
    /// A nested group, by object id.
    Group(String),
    /// A mail contact of the directory (an outside address on a distribution list); it is never a
    /// user, so `transitiveMembers/microsoft.graph.user` leaves it out.
    OrgContact {
        /// Its object id.
        id: String,
        /// Its address.
        mail: String,
        /// Its display name.
        display_name: String,
    },
}

/// A directory group.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Group {
    /// The object id.
    pub id: String,
    /// The display name.
    pub display_name: String,
    /// The primary SMTP address, if mail-enabled.
    pub mail: Option<String>,
    /// Unified, security or distribution.
    pub kind: GroupKind,
    /// Direct members, in order.
    pub members: Vec<Member>,
}

/// Graph's `@odata.type` of a message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MessageKind {
    /// `#microsoft.graph.message`.
    #[default]
    Message,
    /// `#microsoft.graph.eventMessage`: a meeting request, response or cancellation sent as mail.
    EventMessage,
}

/// One copy of a message in one folder.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Message {
    /// The Graph id of this copy (unique per mailbox; another mailbox's copy has another id).
    pub id: String,
    /// The `Message-ID` header with its angle brackets, shared by every copy.
    pub internet_message_id: String,
    /// The conversation id.
    pub conversation_id: String,
    /// The raw conversation index: 22 header bytes, plus 5 bytes per reply level.
    pub conversation_index: Vec<u8>,
    /// `sentDateTime` (`None` for an unsent draft).
    pub sent: Option<i64>,
    /// `receivedDateTime`, which `$filter=receivedDateTime ge ...` compares.
    pub received: i64,
    /// `from`.
    pub from: Option<EmailAddress>,
    /// `sender`.
    pub sender: Option<EmailAddress>,
    /// `toRecipients`.
    pub to: Vec<EmailAddress>,
    /// `ccRecipients`.
    pub cc: Vec<EmailAddress>,
    /// `bccRecipients` (visible in the sender's copy only).
    pub bcc: Vec<EmailAddress>,
    /// `isDraft`.
    pub is_draft: bool,
    /// Plain message or event message.
    pub kind: MessageKind,
    /// `subject`: served only when asked for (no `$select`, or `subject` selected), so a test can
    /// see that a client never asks.
    pub subject: String,
}

/// Graph's event `type`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EventType {
    /// `singleInstance`.
    #[default]
    SingleInstance,
    /// `occurrence`: an unmodified occurrence of a series.
    Occurrence,
    /// `exception`: a modified occurrence of a series.
    Exception,
    /// `seriesMaster` (calendarView never returns one; kept for completeness of the model).
    SeriesMaster,
}

/// Graph's attendee `type`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AttendeeType {
    /// `required`.
    #[default]
    Required,
    /// `optional`.
    Optional,
    /// `resource` (a room or equipment).
    Resource,
}

/// Graph's `responseType`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ResponseType {
    /// `none`.
    #[default]
    None,
    /// `organizer`.
    Organizer,
    /// `tentativelyAccepted`.
    TentativelyAccepted,
    /// `accepted`.
    Accepted,
    /// `declined`.
    Declined,
    /// `notResponded`.
    NotResponded,
}

/// An attendee of an event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attendee {
    /// Required, optional or resource.
    pub kind: AttendeeType,
    /// The attendee's response.
    pub response: ResponseType,
    /// The attendee's address.
    pub email: EmailAddress,
}

/// One copy of an event (a single instance, an occurrence or an exception) in one calendar.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Event {
    /// The Graph id of this copy (unique per mailbox).
    pub id: String,
    /// `iCalUId`: shared by the copies of the event in every calendar; different for each
    /// occurrence of a series (as Graph documents).
    pub ical_uid: String,
    /// Single instance, occurrence or exception.
    pub event_type: EventType,
    /// The series master's id (occurrences and exceptions).
    pub series_master_id: Option<String>,
    /// `originalStart` (occurrences and exceptions): the start the occurrence had in the series.
    pub original_start: Option<i64>,
    /// Start instant (served in UTC).
    pub start: i64,
    /// End instant.
    pub end: i64,
    /// `isAllDay`.
    pub is_all_day: bool,
    /// `isCancelled`.
    pub is_cancelled: bool,
    /// `organizer`.
    pub organizer: Option<EmailAddress>,
    /// `attendees`.
    pub attendees: Vec<Attendee>,
    /// `responseStatus.response`: the mailbox owner's own response.
    pub response: ResponseType,
    /// `subject` (served; a client has no way to leave it out of calendarView delta).
    pub subject: String,
}

/// A business account of the customer data.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CustomerAccount {
    /// The account id.
    pub account_id: String,
    /// The account name.
    pub name: String,
    /// Its web domains.
    pub domains: Vec<String>,
}

/// A contact of the customer data.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CustomerContact {
    /// The contact's address.
    pub email: String,
    /// The account it belongs to.
    pub account_id: String,
    /// The contact's name.
    pub name: String,
}

/// A mail folder as [`Dataset::folders`] describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FolderInfo {
    /// The folder id.
    pub id: String,
    /// The display name.
    pub display_name: String,
    /// The display names from the top-level folder down to this one, joined by `/`.
    pub path: String,
    /// The parent folder's id (`None` for a top-level folder).
    pub parent_id: Option<String>,
    /// The number of direct child folders.
    pub child_folder_count: usize,
    /// The number of messages in the folder.
    pub total_item_count: u64,
}

/// A change to the dataset that names something that does not exist, or an id that does.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DatasetError {
    /// No user has this id, user principal name or address.
    #[error("no user {0:?}")]
    UnknownUser(String),
    /// The user has no mailbox.
    #[error("user {0:?} has no mailbox")]
    NoMailbox(String),
    /// The mailbox has no folder with this id.
    #[error("no folder {0:?}")]
    UnknownFolder(String),
    /// The folder or calendar has no item with this id.
    #[error("no item {0:?}")]
    UnknownItem(String),
    /// An item, user, group or folder with this id exists already.
    #[error("the id {0:?} is taken")]
    DuplicateId(String),
}

/// The directory, mailboxes, calendars and customer data the server serves. See the module doc.
#[derive(Clone, Debug, Default)]
pub struct Dataset {
    pub(crate) users: Vec<User>,
    pub(crate) groups: Vec<Group>,
    pub(crate) accounts: Vec<CustomerAccount>,
    pub(crate) contacts: Vec<CustomerContact>,
    /// The mailboxes, in the order their users were added.
    pub(crate) mailboxes: Vec<Mailbox>,
    /// Per user (same index): its mailbox's index.
    pub(crate) mailbox_of_user: Vec<Option<usize>>,
    /// Lowercase id, user principal name and address → user index.
    user_lookup: HashMap<String, usize>,
    /// Lowercase group id → group index.
    group_lookup: HashMap<String, usize>,
    pub(crate) generator: Option<Arc<Generator>>,
}

/// One user's mailbox: folders (in creation order) and calendar.
#[derive(Clone, Debug)]
pub(crate) struct Mailbox {
    pub(crate) user_index: usize,
    /// See [`id_fragment`].
    pub(crate) id_fragment: String,
    pub(crate) folders: Vec<Folder>,
    pub(crate) calendar: Store<Event>,
}

/// A mail folder.
#[derive(Clone, Debug)]
pub(crate) struct Folder {
    pub(crate) id: String,
    pub(crate) display_name: String,
    /// The parent's index in `Mailbox::folders`.
    pub(crate) parent: Option<usize>,
    /// The well-known name Graph accepts in place of the id (`inbox`, `sentitems`, ...).
    pub(crate) well_known: Option<&'static str>,
    pub(crate) messages: Store<Message>,
}

/// One entry of a store's change log: sequence number = index + 1.
#[derive(Clone, Debug)]
pub(crate) struct Change {
    pub(crate) id: String,
}

/// The items of a folder or calendar: generated ones (positions `0..n`), then explicit ones.
#[derive(Clone, Debug)]
pub(crate) struct Store<T> {
    pub(crate) generated: Option<GeneratedRange>,
    /// Generated index → replacement (`Some`) or removal (`None`).
    overrides: HashMap<u64, Option<T>>,
    /// Explicit items; `None` is a removed one.
    explicit: Vec<Option<T>>,
    /// Id → index in `explicit`, for live explicit items.
    explicit_index: HashMap<String, usize>,
    pub(crate) log: Vec<Change>,
}

/// What stores hold: something with an id that a generator can fill.
pub(crate) trait Item: Clone + Default {
    /// The Graph id.
    fn id(&self) -> &str;
    /// Fills `out` with the generated item `index` of `range`.
    fn generate(generator: &Generator, range: &GeneratedRange, index: u64, out: &mut Self);
    /// The generated index of `range` that `id` names, if it names one.
    fn generated_index(range: &GeneratedRange, id: &str) -> Option<u64>;
}

impl Item for Message {
    fn id(&self) -> &str {
        &self.id
    }

    fn generate(generator: &Generator, range: &GeneratedRange, index: u64, out: &mut Self) {
        generator.fill_message(range, index, out);
    }

    fn generated_index(range: &GeneratedRange, id: &str) -> Option<u64> {
        generated::message_index(range, id)
    }
}

impl Item for Event {
    fn id(&self) -> &str {
        &self.id
    }

    fn generate(generator: &Generator, range: &GeneratedRange, index: u64, out: &mut Self) {
        generator.fill_event(range, index, out);
    }

    fn generated_index(range: &GeneratedRange, id: &str) -> Option<u64> {
        generated::event_index(range, id)
    }
}

impl<T: Item> Default for Store<T> {
    fn default() -> Store<T> {
        Store {
            generated: None,
            overrides: HashMap::new(),
            explicit: Vec::new(),
            explicit_index: HashMap::new(),
            log: Vec::new(),
        }
    }
}

impl<T: Item> Store<T> {
    /// A store whose first items are generated.
    pub(crate) fn generated(range: GeneratedRange) -> Store<T> {
        Store { generated: Some(range), ..Store::default() }
    }

    fn generated_count(&self) -> u64 {
        self.generated.as_ref().map_or(0, |range| range.count)
    }

    /// One past the last position.
    pub(crate) fn end_position(&self) -> u64 {
        self.generated_count() + self.explicit.len() as u64
    }

    /// The current sequence number: the number of changes made so far.
    pub(crate) fn sequence(&self) -> u64 {
        self.log.len() as u64
    }

    /// The live item at `position`, filled into `scratch` when it is generated.
    pub(crate) fn item<'a>(
        &'a self,
        position: u64,
        generator: Option<&Generator>,
        scratch: &'a mut T,
    ) -> Option<&'a T> {
        let generated_count = self.generated_count();
        if position < generated_count {
            if let Some(replaced) = self.overrides.get(&position) {
                return replaced.as_ref();
            }
            let (generator, range) = (generator?, self.generated.as_ref()?);
            T::generate(generator, range, position, scratch);
            return Some(scratch);
        }
        let index = usize::try_from(position - generated_count).ok()?;
        self.explicit.get(index)?.as_ref()
    }

    /// The position of the live item `id`.
    pub(crate) fn position_of(&self, id: &str) -> Option<u64> {
        if let Some(&index) = self.explicit_index.get(id) {
            return Some(self.generated_count() + index as u64);
        }
        let range = self.generated.as_ref()?;
        let index = T::generated_index(range, id)?;
        let removed = matches!(self.overrides.get(&index), Some(None));
        (index < range.count && !removed).then_some(index)
    }

    /// The number of live items (generated ones are counted without being generated).
    pub(crate) fn live_count(&self) -> u64 {
        let removed_generated =
            self.overrides.values().filter(|replacement| replacement.is_none()).count() as u64;
        self.generated_count() - removed_generated + self.explicit_index.len() as u64
    }

    /// True when the item at `position` comes from the generator (not replaced or added).
    pub(crate) fn is_generated(&self, position: u64) -> bool {
        position < self.generated_count() && !self.overrides.contains_key(&position)
    }

    /// The live items held in memory: explicit ones and replaced generated ones.
    pub(crate) fn resident_items(&self) -> impl Iterator<Item = &T> {
        self.explicit.iter().flatten().chain(self.overrides.values().flatten())
    }

    /// Items held in memory: explicit ones and replaced generated ones (removals hold none).
    fn resident(&self) -> usize {
        self.explicit_index.len() + self.overrides.values().filter(|item| item.is_some()).count()
    }

    /// Adds a new item at the end.
    pub(crate) fn insert(&mut self, item: T) -> Result<(), DatasetError> {
        if self.position_of(item.id()).is_some() {
            return Err(DatasetError::DuplicateId(item.id().to_owned()));
        }
        let id = item.id().to_owned();
        self.explicit_index.insert(id.clone(), self.explicit.len());
        self.explicit.push(Some(item));
        self.log.push(Change { id });
        Ok(())
    }

    /// Replaces the live item with the same id.
    pub(crate) fn update(&mut self, item: T) -> Result<(), DatasetError> {
        let id = item.id().to_owned();
        let generated_count = self.generated_count();
        let position =
            self.position_of(&id).ok_or_else(|| DatasetError::UnknownItem(id.clone()))?;
        if position < generated_count {
            self.overrides.insert(position, Some(item));
        } else if let Some(slot) = usize::try_from(position - generated_count)
            .ok()
            .and_then(|index| self.explicit.get_mut(index))
        {
            *slot = Some(item);
        }
        self.log.push(Change { id });
        Ok(())
    }

    /// Removes the live item `id`.
    pub(crate) fn remove(&mut self, id: &str) -> Result<(), DatasetError> {
        let generated_count = self.generated_count();
        let position = self.position_of(id).ok_or_else(|| DatasetError::UnknownItem(id.into()))?;
        if position < generated_count {
            self.overrides.insert(position, None);
        } else if let Some(index) = self.explicit_index.remove(id)
            && let Some(slot) = self.explicit.get_mut(index)
        {
            *slot = None;
        }
        self.log.push(Change { id: id.to_owned() });
        Ok(())
    }

    /// The ids changed by the changes `from..to` (sequence numbers), each once, in the order of
    /// its last change.
    pub(crate) fn changed_ids(&self, from: u64, to: u64) -> Vec<&str> {
        let to = to.min(self.sequence());
        let from = from.min(to);
        let changes = self.log.get(from as usize..to as usize).unwrap_or_default();
        let mut last_change: HashMap<&str, usize> = HashMap::with_capacity(changes.len());
        for (index, change) in changes.iter().enumerate() {
            last_change.insert(&change.id, index);
        }
        let mut ids: Vec<(usize, &str)> =
            last_change.into_iter().map(|(id, index)| (index, id)).collect();
        ids.sort_unstable();
        ids.into_iter().map(|(_, id)| id).collect()
    }

    /// Every live item, generated ones included (materialized: for tests and small stores).
    pub(crate) fn all(&self, generator: Option<&Generator>) -> Vec<T> {
        let mut scratch = T::default();
        (0..self.end_position())
            .filter_map(|position| self.item(position, generator, &mut scratch).cloned())
            .collect()
    }
}

/// The well-known folder names Graph accepts in place of a folder id, with the display names of
/// the folders they name.
const WELL_KNOWN_FOLDERS: [(&str, &str); 6] = [
    ("inbox", "Inbox"),
    ("sentitems", "Sent Items"),
    ("drafts", "Drafts"),
    ("deleteditems", "Deleted Items"),
    ("junkemail", "Junk Email"),
    ("archive", "Archive"),
];

impl Dataset {
    /// The window of [`Dataset::small`]: `[2025-03-01, 2026-03-01)` UTC, as unix seconds. Its
    /// as-of instant `T` is `2026-03-01T00:00:00Z`.
    pub const SMALL_WINDOW: (i64, i64) = (utc(2025, 3, 1, 0, 0, 0), utc(2026, 3, 1, 0, 0, 0));

    /// An empty dataset, to build one by hand with the `add_*` methods.
    pub fn empty() -> Dataset {
        Dataset::default()
    }

    /// The hand-made dataset that covers every rule (see the `small` module doc for its
    /// contents and `Dataset::SMALL_WINDOW` for its window).
    pub fn small() -> Dataset {
        small::build()
    }

    /// A generated dataset at any scale: its messages and events are computed per page, so that
    /// its memory does not grow with `spec.mailboxes × spec.messages_per_mailbox`.
    pub fn generated(spec: &GenSpec) -> Dataset {
        generated::build(spec)
    }

    /// Writes the activity a first Graph round over `window` would read, as the files
    /// `rapport enrich` reads: one mbox per mailbox folder, one `.ics` per mailbox, `users.txt`,
    /// `contacts.csv` and `accounts.csv`. See the `export` module doc.
    pub fn export_files(&self, dir: &Path, window: (i64, i64)) -> std::io::Result<ExportedFiles> {
        export::export(self, dir, window)
    }

    /// The users, in order.
    pub fn users(&self) -> &[User] {
        &self.users
    }

    /// The groups, in order.
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    /// The customer accounts.
    pub fn accounts(&self) -> &[CustomerAccount] {
        &self.accounts
    }

    /// The customer contacts.
    pub fn contacts(&self) -> &[CustomerContact] {
        &self.contacts
    }

    /// Adds a user (with an empty mailbox holding the usual folders when `has_mailbox`).
    pub fn add_user(&mut self, user: User) -> Result<(), DatasetError> {
        let keys = user_keys(&user);
        if let Some(taken) = keys.iter().find(|key| self.user_lookup.contains_key(*key)) {
            return Err(DatasetError::DuplicateId(taken.clone()));
        }
        let user_index = self.users.len();
        for key in keys {
            self.user_lookup.insert(key, user_index);
        }
        let mailbox = user.has_mailbox.then(|| {
            let id_fragment = id_fragment(&user.id);
            self.mailboxes.push(Mailbox {
                user_index,
                folders: default_folders(&id_fragment),
                id_fragment,
                calendar: Store::default(),
            });
            self.mailboxes.len() - 1
        });
        self.mailbox_of_user.push(mailbox);
        self.users.push(user);
        Ok(())
    }

    /// Adds a group.
    pub fn add_group(&mut self, group: Group) -> Result<(), DatasetError> {
        let key = group.id.to_ascii_lowercase();
        if self.group_lookup.contains_key(&key) {
            return Err(DatasetError::DuplicateId(group.id));
        }
        self.group_lookup.insert(key, self.groups.len());
        self.groups.push(group);
        Ok(())
    }

    /// Adds a customer account.
    pub fn add_account(&mut self, account: CustomerAccount) {
        self.accounts.push(account);
    }

    /// Adds a customer contact.
    pub fn add_contact(&mut self, contact: CustomerContact) {
        self.contacts.push(contact);
    }

    /// Adds a mail folder `display_name` under `parent_id` (top level when `None`) to the mailbox
    /// of `user`, and returns its id.
    pub fn add_folder(
        &mut self,
        user: &str,
        display_name: &str,
        parent_id: Option<&str>,
    ) -> Result<String, DatasetError> {
        let mailbox = self.mailbox_mut(user)?;
        let parent = match parent_id {
            Some(parent_id) => Some(
                folder_index(mailbox, parent_id)
                    .ok_or_else(|| DatasetError::UnknownFolder(parent_id.to_owned()))?,
            ),
            None => None,
        };
        let id = format!("AAMkAF{}{:04}AAA=", mailbox.id_fragment, mailbox.folders.len());
        mailbox.folders.push(Folder {
            id: id.clone(),
            display_name: display_name.to_owned(),
            parent,
            well_known: None,
            messages: Store::default(),
        });
        Ok(id)
    }

    /// The mail folders of `user`'s mailbox, parents before children.
    pub fn folders(&self, user: &str) -> Result<Vec<FolderInfo>, DatasetError> {
        let mailbox = self.mailbox(user)?;
        Ok(mailbox
            .folders
            .iter()
            .enumerate()
            .map(|(index, folder)| FolderInfo {
                id: folder.id.clone(),
                display_name: folder.display_name.clone(),
                path: folder_path(mailbox, index),
                parent_id: folder
                    .parent
                    .and_then(|parent| mailbox.folders.get(parent))
                    .map(|parent| parent.id.clone()),
                child_folder_count: child_count(mailbox, index),
                total_item_count: folder.messages.live_count(),
            })
            .collect())
    }

    /// The id of `user`'s folder whose path (display names joined by `/`, e.g.
    /// `Archive/Customers`) is `path`.
    pub fn folder_id(&self, user: &str, path: &str) -> Option<String> {
        let mailbox = self.mailbox(user).ok()?;
        (0..mailbox.folders.len())
            .find(|&index| folder_path(mailbox, index) == path)
            .and_then(|index| mailbox.folders.get(index))
            .map(|folder| folder.id.clone())
    }

    /// Every message of a folder, generated ones included (this materializes the folder: meant
    /// for tests on small folders).
    pub fn messages(&self, user: &str, folder_id: &str) -> Result<Vec<Message>, DatasetError> {
        let folder = self.folder(user, folder_id)?;
        Ok(folder.messages.all(self.generator.as_deref()))
    }

    /// Every event of `user`'s calendar, generated ones included (materialized, like
    /// [`Dataset::messages`]).
    pub fn events(&self, user: &str) -> Result<Vec<Event>, DatasetError> {
        Ok(self.mailbox(user)?.calendar.all(self.generator.as_deref()))
    }

    /// Adds a message to a folder (a delta round after this returns it).
    pub fn add_message(
        &mut self,
        user: &str,
        folder_id: &str,
        message: Message,
    ) -> Result<(), DatasetError> {
        self.folder_mut(user, folder_id)?.messages.insert(message)
    }

    /// Replaces the message with the same id (a delta round after this returns it).
    pub fn update_message(
        &mut self,
        user: &str,
        folder_id: &str,
        message: Message,
    ) -> Result<(), DatasetError> {
        self.folder_mut(user, folder_id)?.messages.update(message)
    }

    /// Deletes a message (a delta round after this returns it as `@removed`).
    pub fn remove_message(
        &mut self,
        user: &str,
        folder_id: &str,
        message_id: &str,
    ) -> Result<(), DatasetError> {
        self.folder_mut(user, folder_id)?.messages.remove(message_id)
    }

    /// Adds an event to `user`'s calendar.
    pub fn add_event(&mut self, user: &str, event: Event) -> Result<(), DatasetError> {
        self.mailbox_mut(user)?.calendar.insert(event)
    }

    /// Replaces the event with the same id.
    pub fn update_event(&mut self, user: &str, event: Event) -> Result<(), DatasetError> {
        self.mailbox_mut(user)?.calendar.update(event)
    }

    /// Deletes an event.
    pub fn remove_event(&mut self, user: &str, event_id: &str) -> Result<(), DatasetError> {
        self.mailbox_mut(user)?.calendar.remove(event_id)
    }

    /// The number of message copies in all folders of all mailboxes (generated ones counted
    /// without being generated).
    pub fn message_count(&self) -> u64 {
        self.mailboxes
            .iter()
            .flat_map(|mailbox| &mailbox.folders)
            .map(|folder| folder.messages.live_count())
            .sum()
    }

    /// The number of event copies in all calendars.
    pub fn event_count(&self) -> u64 {
        self.mailboxes.iter().map(|mailbox| mailbox.calendar.live_count()).sum()
    }

    /// Messages and events held in memory (explicit ones and changed generated ones): 0 for a
    /// freshly generated dataset, whatever its size.
    pub fn resident_items(&self) -> usize {
        self.mailboxes
            .iter()
            .map(|mailbox| {
                mailbox.calendar.resident()
                    + mailbox.folders.iter().map(|folder| folder.messages.resident()).sum::<usize>()
            })
            .sum()
    }

    /// The index of the user with this id, user principal name or address (case-insensitive).
    pub(crate) fn user_index(&self, key: &str) -> Option<usize> {
        if let Some(&index) = self.user_lookup.get(key) {
            return Some(index);
        }
        self.user_lookup.get(&key.to_ascii_lowercase()).copied()
    }

    /// The index of the group with this id (case-insensitive).
    pub(crate) fn group_index(&self, id: &str) -> Option<usize> {
        self.group_lookup.get(&id.to_ascii_lowercase()).copied()
    }

    pub(crate) fn mailbox(&self, user: &str) -> Result<&Mailbox, DatasetError> {
        let index = self.mailbox_index(user)?;
        self.mailboxes.get(index).ok_or_else(|| DatasetError::NoMailbox(user.to_owned()))
    }

    fn mailbox_mut(&mut self, user: &str) -> Result<&mut Mailbox, DatasetError> {
        let index = self.mailbox_index(user)?;
        self.mailboxes.get_mut(index).ok_or_else(|| DatasetError::NoMailbox(user.to_owned()))
    }

    /// The index in `mailboxes` of `user`'s mailbox: the one lookup behind [`Dataset::mailbox`]
    /// and [`Dataset::mailbox_mut`].
    fn mailbox_index(&self, user: &str) -> Result<usize, DatasetError> {
        let user_index =
            self.user_index(user).ok_or_else(|| DatasetError::UnknownUser(user.to_owned()))?;
        self.mailbox_of_user
            .get(user_index)
            .copied()
            .flatten()
            .ok_or_else(|| DatasetError::NoMailbox(user.to_owned()))
    }

    fn folder(&self, user: &str, folder_id: &str) -> Result<&Folder, DatasetError> {
        let mailbox = self.mailbox(user)?;
        folder_index(mailbox, folder_id)
            .and_then(|index| mailbox.folders.get(index))
            .ok_or_else(|| DatasetError::UnknownFolder(folder_id.to_owned()))
    }

    fn folder_mut(&mut self, user: &str, folder_id: &str) -> Result<&mut Folder, DatasetError> {
        let mailbox = self.mailbox_mut(user)?;
        folder_index(mailbox, folder_id)
            .and_then(|index| mailbox.folders.get_mut(index))
            .ok_or_else(|| DatasetError::UnknownFolder(folder_id.to_owned()))
    }

    /// The users that are members of group `group_index`, directly or through nested groups,
    /// each once, in first-seen order; with `users_only` false, nested groups and mail contacts
    /// are listed too (`transitiveMembers` without a type cast).
    pub(crate) fn transitive_members(
        &self,
        group_index: usize,
        users_only: bool,
    ) -> Vec<MemberRef> {
        let mut members = Vec::new();
        let mut seen_groups = HashSet::from([group_index]);
        let mut seen_members: HashSet<MemberRef> = HashSet::new();
        let mut pending = vec![group_index];
        while let Some(index) = pending.pop() {
            let Some(group) = self.groups.get(index) else { continue };
            for (position, member) in group.members.iter().enumerate() {
                let found = match member {
                    Member::User(id) => self.user_index(id).map(MemberRef::User),
                    Member::Group(id) => {
                        let nested = self.group_index(id);
                        if let Some(nested) = nested
                            && seen_groups.insert(nested)
                        {
                            pending.insert(0, nested);
                        }
                        // A group that contains itself through nesting is not its own member.
                        nested
                            .filter(|&nested| !users_only && nested != group_index)
                            .map(MemberRef::Group)
                    }
                    Member::OrgContact { .. } => {
                        (!users_only).then_some(MemberRef::Contact(index, position))
                    }
                };
                if let Some(found) = found
                    && seen_members.insert(found)
                {
                    members.push(found);
                }
            }
        }
        members
    }
}

/// A resolved member of a group, for `transitiveMembers`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum MemberRef {
    /// A user index.
    User(usize),
    /// A group index.
    Group(usize),
    /// A mail contact: (group index, position in its members).
    Contact(usize, usize),
}

/// The keys a user is found by: lowercase id, user principal name and address.
fn user_keys(user: &User) -> Vec<String> {
    let mut keys =
        vec![user.id.to_ascii_lowercase(), user.user_principal_name.to_ascii_lowercase()];
    if let Some(mail) = &user.mail {
        keys.push(mail.to_ascii_lowercase());
    }
    keys.sort();
    keys.dedup();
    keys.retain(|key| !key.is_empty());
    keys
}

/// The folders every mailbox starts with.
fn default_folders(fragment: &str) -> Vec<Folder> {
    ["inbox", "sentitems", "drafts", "deleteditems"]
        .iter()
        .enumerate()
        .filter_map(|(index, well_known)| {
            let (name, display_name) =
                WELL_KNOWN_FOLDERS.iter().find(|(name, _)| name == well_known)?;
            Some(Folder {
                id: format!("AAMkAF{fragment}{index:04}AAA="),
                display_name: (*display_name).to_owned(),
                parent: None,
                well_known: Some(name),
                messages: Store::default(),
            })
        })
        .collect()
}

/// The last 12 id-safe characters of a user id (the distinct end of a GUID), which make folder
/// ids unique per mailbox.
pub(crate) fn id_fragment(user_id: &str) -> String {
    let characters: Vec<char> = user_id.chars().filter(char::is_ascii_alphanumeric).collect();
    characters.get(characters.len().saturating_sub(12)..).unwrap_or_default().iter().collect()
}

/// The index of the folder named by `id` (or a well-known name, case-insensitively).
pub(crate) fn folder_index(mailbox: &Mailbox, id: &str) -> Option<usize> {
    mailbox.folders.iter().position(|folder| folder.id == id).or_else(|| {
        let lower = id.to_ascii_lowercase();
        mailbox.folders.iter().position(|folder| folder.well_known == Some(lower.as_str()))
    })
}

/// The display names from the top-level folder down to `index`, joined by `/`.
pub(crate) fn folder_path(mailbox: &Mailbox, index: usize) -> String {
    let mut names = Vec::new();
    let mut current = Some(index);
    // A parent chain longer than the number of folders would be a cycle; stop there.
    while let Some(position) = current
        && names.len() <= mailbox.folders.len()
    {
        let Some(folder) = mailbox.folders.get(position) else { break };
        names.push(folder.display_name.as_str());
        current = folder.parent;
    }
    names.reverse();
    names.join("/")
}

/// The number of direct children of folder `index`.
pub(crate) fn child_count(mailbox: &Mailbox, index: usize) -> usize {
    mailbox.folders.iter().filter(|folder| folder.parent == Some(index)).count()
}
