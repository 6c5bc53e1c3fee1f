//! Pseudonyms for what the ledger keeps: the installation key and the keyed hashes that replace
//! addresses and message ids before anything is written (issue 3, "Privacy in the store").
//!
//! An address becomes `p` + 26 lowercase base32 characters of HMAC-SHA256(key, address) + `@` +
//! its domain: the domain stays in clear so that domain matching and the org's own domains still
//! work, while the local part cannot be read back without the key (and not even with it, short of
//! guessing). A Message-ID or parent id becomes 32 hex characters of HMAC-SHA256(key, `id:` + id),
//! a calendar UID 32 hex characters of HMAC-SHA256(key, `uid:` + UID) (UIDs often hold an address
//! or a host name).
//! The same key gives the same pseudonym at every run, so the ledger's records join the
//! pseudonymised org users and contacts of later runs exactly as the real addresses would.
//!
//! The key is 32 random bytes in `<data-dir>/key`, readable by its owner only. It is not a
//! secret that protects against the machine's administrator; it keeps the database file alone
//! (a backup, a copy sent for support) from naming anyone.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read as _, Write as _};
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use hmac::{Hmac, KeyInit as _, Mac as _};
use rapport_core::calendar::{CalendarFile, EventComponent};
use rapport_core::identity;
use rapport_core::model::{EmailCopy, MailRecord, MeetingCopy};
use sha2::Sha256;

use crate::error::Error;
use crate::ledger::HEX_DIGITS;

/// The name of the key file in the data folder.
pub const KEY_FILE: &str = "key";
/// The size of the key in bytes.
pub const KEY_BYTES: usize = 32;
/// The number of base32 characters of an address pseudonym's local part (130 bits).
pub const ADDRESS_HASH_CHARS: usize = 26;
/// The number of hex characters of an id pseudonym (128 bits).
pub const ID_HASH_CHARS: usize = 32;

/// The RFC 4648 base32 alphabet, lowercased (addresses are compared lowercased).
const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
/// The cache of [`PseudonymCache`] is emptied when it holds this many addresses, so that a worker
/// reading a huge mailbox keeps bounded memory.
const MAX_CACHED_ADDRESSES: usize = 1 << 18;

/// The installation key: 32 random bytes. Its `Debug` does not show them.
#[derive(Clone)]
pub struct Key([u8; KEY_BYTES]);

impl std::fmt::Debug for Key {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Key(..)")
    }
}

impl Key {
    /// A key from its bytes (tests, and keys kept elsewhere).
    pub fn from_bytes(bytes: [u8; KEY_BYTES]) -> Key {
        Key(bytes)
    }

    /// Reads `<data_dir>/key`, creating it on first use: 32 bytes from `/dev/urandom`, mode 0600.
    ///
    /// An existing key file that group or others may read or write, that is not a regular file
    /// or that is not exactly 32 bytes is refused with [`Error::Key`] and left as it is: a key
    /// that others could read protects nothing, and a damaged one would silently make every
    /// pseudonym in the ledger unmatchable.
    pub fn load_or_create(data_dir: &Path) -> Result<Key, Error> {
        let path = data_dir.join(KEY_FILE);
        match fs::symlink_metadata(&path) {
            Ok(_) => read_key(&path),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                create_key(data_dir, &path)
            }
            Err(source) => Err(Error::Io { path, source }),
        }
    }
}

/// Reads and checks an existing key file.
fn read_key(path: &Path) -> Result<Key, Error> {
    let refuse = |problem: String| Error::Key { path: path.to_path_buf(), problem };
    let metadata = fs::symlink_metadata(path)
        .map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    if !metadata.file_type().is_file() {
        return Err(refuse("it is not a regular file".into()));
    }
    let mode = metadata.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(refuse(format!(
            "its mode is {mode:04o}: group and others may use it; make it readable by its owner \
             only (chmod 600)"
        )));
    }
    if metadata.len() != KEY_BYTES as u64 {
        return Err(refuse(format!(
            "it holds {} bytes instead of {KEY_BYTES}: it is damaged",
            metadata.len()
        )));
    }
    let mut bytes = [0_u8; KEY_BYTES];
    File::open(path)
        .and_then(|mut file| file.read_exact(&mut bytes))
        .map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    Ok(Key(bytes))
}

/// Creates the key file: the bytes go to a private temporary file first, which is then linked
/// to its name, so that another process creating the key at the same time never reads a partly
/// written file (the loser of the race reads the winner's key).
fn create_key(data_dir: &Path, path: &Path) -> Result<Key, Error> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    fs::create_dir_all(data_dir).map_err(io(data_dir))?;
    let mut bytes = [0_u8; KEY_BYTES];
    let random = Path::new("/dev/urandom");
    File::open(random).and_then(|mut file| file.read_exact(&mut bytes)).map_err(io(random))?;
    let temporary = temporary_key_path(data_dir);
    let written =
        OpenOptions::new().write(true).create_new(true).mode(0o600).open(&temporary).and_then(
            |mut file| {
                file.write_all(&bytes)?;
                file.sync_all()
            },
        );
    if let Err(source) = written {
        let _ = fs::remove_file(&temporary);
        return Err(Error::Io { path: temporary, source });
    }
    let linked = fs::hard_link(&temporary, path);
    let _ = fs::remove_file(&temporary);
    match linked {
        Ok(()) => Ok(Key(bytes)),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => read_key(path),
        Err(source) => Err(Error::Io { path: path.to_path_buf(), source }),
    }
}

/// A temporary name for the key beside it, unique to this process and call.
fn temporary_key_path(data_dir: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let sequence = COUNTER.fetch_add(1, Ordering::Relaxed);
    data_dir.join(format!(".{KEY_FILE}.{}.{sequence}.tmp", std::process::id()))
}

/// Turns addresses and ids into pseudonyms with one key. Cheap to share between threads (`Sync`):
/// every call starts from the keyed HMAC state, so the key is hashed into it only once.
#[derive(Clone)]
pub struct Pseudonymizer {
    /// HMAC-SHA256 with the key already absorbed.
    keyed: Hmac<Sha256>,
    /// A fingerprint of the key, stored with ledger rows.
    key_id: i64,
}

impl std::fmt::Debug for Pseudonymizer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Pseudonymizer").field("key_id", &self.key_id).finish()
    }
}

impl Pseudonymizer {
    /// A pseudonymizer for `key`.
    pub fn new(key: &Key) -> Pseudonymizer {
        // HMAC takes keys of any length, so this cannot fail; the fallback keeps it panic-free.
        let keyed = <Hmac<Sha256>>::new_from_slice(&key.0)
            .unwrap_or_else(|_| <Hmac<Sha256>>::new(&Default::default()));
        let mut pseudonymizer = Pseudonymizer { keyed, key_id: 0 };
        let fingerprint = pseudonymizer.mac(b"rapport ledger key id", b"");
        let mut first = [0_u8; 8];
        first.copy_from_slice(fingerprint.get(..8).unwrap_or(&[0; 8]));
        pseudonymizer.key_id = i64::from_le_bytes(first);
        pseudonymizer
    }

    /// A fingerprint of the key (not the key, and not enough to recompute a pseudonym): ledger
    /// rows keep it, so that rows made with another key are read again instead of being joined
    /// with pseudonyms they cannot match.
    pub fn key_id(&self) -> i64 {
        self.key_id
    }

    /// The pseudonym of a normalized address: `p` + 26 base32 characters + `@` + the domain (the
    /// part after the last `@`, kept in clear). An address without `@` gets no domain part; the
    /// empty address stays empty (it is "no address" to the engine).
    pub fn address(&self, address: &str) -> String {
        if address.is_empty() {
            return String::new();
        }
        let digest = self.mac(address.as_bytes(), b"");
        let mut out = String::with_capacity(2 + ADDRESS_HASH_CHARS + address.len());
        out.push('p');
        // 26 characters of 5 bits take the first 130 bits of the digest, most significant first.
        let mut bits: u32 = 0;
        let mut n_bits = 0;
        let mut bytes = digest.iter();
        for _ in 0..ADDRESS_HASH_CHARS {
            if n_bits < 5 {
                bits = (bits << 8) | u32::from(bytes.next().copied().unwrap_or(0));
                n_bits += 8;
            }
            n_bits -= 5;
            let index = ((bits >> n_bits) & 31) as usize;
            out.push(char::from(BASE32.get(index).copied().unwrap_or(b'a')));
        }
        if let Some(at) = address.rfind('@') {
            out.push_str(address.get(at..).unwrap_or_default());
        }
        out
    }

    /// The pseudonym of a Message-ID or parent id: 32 lowercase hex characters of
    /// HMAC-SHA256(key, `id:` + id).
    pub fn message_id(&self, id: &str) -> String {
        self.hex_mac(b"id:", id)
    }

    /// Replaces every address and id of a mail record by its pseudonym, after folding the
    /// engine's automated-sender rule into the copy's flag (the rule reads the sender's local
    /// part, which the pseudonym no longer has). `cache` remembers recent addresses: the same
    /// few thousand people write most of a mailbox.
    pub fn mail_record(&self, record: &mut MailRecord, cache: &mut PseudonymCache) {
        if let MailRecord::Email(copy) = record {
            self.email_copy(copy, cache);
        }
    }

    /// [`Pseudonymizer::mail_record`] for one copy.
    pub fn email_copy(&self, copy: &mut EmailCopy, cache: &mut PseudonymCache) {
        if let Some(sender) = &mut copy.sender {
            copy.automated |= identity::is_automated_sender(sender);
            *sender = cache.address(self, sender);
        }
        for recipient in &mut copy.recipients {
            *recipient = cache.address(self, recipient);
        }
        if let Some(id) = &mut copy.message_id {
            *id = self.message_id(id);
        }
        if let Some(id) = &mut copy.parent_id {
            *id = self.message_id(id);
        }
    }

    /// Replaces the organizer's and the participants' addresses of a meeting copy by their
    /// pseudonyms, so that meetings meet the pseudonymised org users and contacts. (A run through
    /// the ledger pseudonymises whole calendars instead, with [`Pseudonymizer::calendar_file`].)
    pub fn meeting_copy(&self, copy: &mut MeetingCopy, cache: &mut PseudonymCache) {
        self.people(&mut copy.organizer, &mut copy.participants, cache);
    }

    /// The pseudonym of a calendar UID: 32 lowercase hex characters of HMAC-SHA256(key, `uid:` +
    /// UID). UIDs often hold an address or a host name; the keyed hash keeps only their identity,
    /// which is all versioning and the meeting merge need (the same UID in two files gets the
    /// same pseudonym).
    pub fn uid(&self, uid: &str) -> String {
        self.hex_mac(b"uid:", uid)
    }

    /// Replaces every UID, organizer and participant of a parsed calendar by its pseudonym,
    /// before the calendar is kept in the ledger or expanded. Everything else (times, zones,
    /// rules, flags) stays: the calendar rules of metrics.md §8 read nothing else of an address
    /// or a UID than its identity, and the engine matches addresses by their domain, kept in
    /// clear.
    pub fn calendar_file(&self, file: &mut CalendarFile, cache: &mut PseudonymCache) {
        for group in &mut file.groups {
            if let Some(uid) = &mut group.uid {
                *uid = self.uid(uid);
            }
            for component in &mut group.components {
                let EventComponent::Event(event) = component else { continue };
                self.people(&mut event.organizer, &mut event.participants, cache);
            }
        }
    }

    /// Replaces an organizer's and participants' addresses by their pseudonyms.
    fn people(
        &self,
        organizer: &mut Option<String>,
        participants: &mut [String],
        cache: &mut PseudonymCache,
    ) {
        if let Some(organizer) = organizer {
            *organizer = cache.address(self, organizer);
        }
        for participant in participants {
            *participant = cache.address(self, participant);
        }
    }

    /// The first [`ID_HASH_CHARS`] lowercase hex characters of HMAC-SHA256(key, `prefix` +
    /// `text`).
    fn hex_mac(&self, prefix: &[u8], text: &str) -> String {
        let digest = self.mac(prefix, text.as_bytes());
        let mut pseudonym = String::with_capacity(ID_HASH_CHARS);
        for byte in digest.iter().take(ID_HASH_CHARS / 2) {
            pseudonym.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
            pseudonym.push(char::from(HEX_DIGITS[usize::from(byte & 15)]));
        }
        pseudonym
    }

    /// HMAC-SHA256(key, first + second).
    fn mac(&self, first: &[u8], second: &[u8]) -> [u8; 32] {
        let mut mac = self.keyed.clone();
        mac.update(first);
        mac.update(second);
        mac.finalize().into_bytes().into()
    }
}

/// Recently pseudonymised addresses, one per worker thread.
#[derive(Debug, Default)]
pub struct PseudonymCache {
    addresses: HashMap<String, String>,
}

impl PseudonymCache {
    /// The pseudonym of `address`, from the cache or computed and remembered.
    pub fn address(&mut self, pseudonymizer: &Pseudonymizer, address: &str) -> String {
        if let Some(pseudonym) = self.addresses.get(address) {
            return pseudonym.clone();
        }
        if self.addresses.len() >= MAX_CACHED_ADDRESSES {
            self.addresses.clear();
        }
        let pseudonym = pseudonymizer.address(address);
        self.addresses.insert(address.to_owned(), pseudonym.clone());
        pseudonym
    }
}

#[cfg(test)]
mod tests;
