//! Finding the mail and calendar files of the `--source` paths, and reading the mail ones in
//! parallel while handing their records out in input order.
//!
//! Walking follows metrics.md §8 (Sources). Reading streams big mbox files in blocks cut at
//! message boundaries (never the whole file in memory, and no memory map whose pages would count
//! against the run's memory), parses the blocks on worker threads and reorders the results, so
//! that records come out exactly as a single-threaded read would give them: sources in the given
//! order, files in walk order, messages in file order.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::thread;

use rapport_core::model::MailRecord;

use crate::error::Error;
use crate::{mail, mbox};

/// What a source file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SourceKind {
    /// An mbox file: messages separated by `From ` lines.
    Mbox,
    /// One message (`.eml`, a Maildir file, or a file named directly as a source).
    Message,
    /// An iCalendar file (`.ics`).
    Calendar,
}

/// One input file found by [`walk`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceItem {
    /// The file's path (as reached from the source path).
    pub path: PathBuf,
    /// What the file holds.
    pub kind: SourceKind,
    /// Its size in bytes when it was walked.
    pub len: u64,
}

/// The result of walking the source paths.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Walk {
    /// The input files, in input order.
    pub items: Vec<SourceItem>,
    /// Files that are neither mail nor calendars (the summary's `files_ignored`).
    pub files_ignored: u64,
}

/// Finds the input files of `sources`, in input order (metrics.md §8, Sources).
///
/// Sources are taken in the given order. Folders are walked recursively in sorted name order
/// (byte order of the file name). A folder with `cur/` and `new/` folders is a Maildir: the files
/// of `cur` then `new` are messages, `tmp` is skipped, other subfolders are walked too. `.ics`
/// files are calendars and `.eml` files messages (extensions in any case); any other file that
/// starts with `From ` is an mbox, else it is ignored and counted in `files_ignored`. Symbolic
/// links to folders are not followed. A file named directly as a source that is none of these is
/// read as one message. A path that does not exist or cannot be read is an `Error::Io`.
pub fn walk(sources: &[PathBuf]) -> Result<Walk, Error> {
    let mut walk = Walk::default();
    for source in sources {
        let metadata = fs::metadata(source).map_err(io_error(source))?;
        if metadata.is_dir() {
            walk_folder(source, &mut walk)?;
        } else {
            let kind = classify_file(source)?.unwrap_or(SourceKind::Message);
            walk.items.push(SourceItem { path: source.clone(), kind, len: metadata.len() });
        }
    }
    Ok(walk)
}

/// Reads every `Mbox` and `Message` item into mail records (`Calendar` items are skipped), on
/// `threads` worker threads, and calls `on_record` on the calling thread in input order: items in
/// order, messages in file order.
///
/// Big mbox files are read in blocks of about 32 MiB cut at message boundaries; small
/// files are read in groups. At most two units per thread are in flight, so memory stays bounded
/// whatever the input size. `on_bytes(n)` reports progress: the bytes of each unit once its
/// records have been handed out (they add up to the sizes of the mail items). An item that
/// cannot be opened or read is an `Error::Io` naming it; the records of the items before it have
/// been handed out by then.
pub fn read_mail(
    items: &[SourceItem],
    threads: usize,
    on_record: &mut dyn FnMut(MailRecord),
    on_bytes: &dyn Fn(u64),
) -> Result<(), Error> {
    read_mail_with(items, threads, LIMITS, &AtomicBool::new(false), on_record, on_bytes)
}

/// `read_mail` that stops within one work unit (at most a few tens of MiB) once `cancel` is set,
/// with `Error::Cancelled`. The records handed out before that are whole and in input order.
pub fn read_mail_until(
    items: &[SourceItem],
    threads: usize,
    cancel: &AtomicBool,
    on_record: &mut dyn FnMut(MailRecord),
    on_bytes: &dyn Fn(u64),
) -> Result<(), Error> {
    read_mail_with(items, threads, LIMITS, cancel, on_record, on_bytes)
}

/// Parses the bytes of one mail file of `kind` (or one block of a big mbox, as `Mbox`) into
/// `records`, in message order; a `Calendar` adds nothing. [`read_mail`] parses every file and
/// block this way, so a caller that reads files itself gets the same records.
pub fn parse_mail(kind: SourceKind, bytes: &[u8], records: &mut Vec<MailRecord>) {
    match kind {
        SourceKind::Mbox => records.extend(mbox::messages(bytes).map(mail::parse_message)),
        SourceKind::Message => records.push(mail::parse_message(bytes)),
        SourceKind::Calendar => {}
    }
}

/// Sizes that decide how input is cut into units and how files are loaded.
#[derive(Clone, Copy, Debug)]
struct Limits {
    /// The size of the work units that big mbox files are cut into.
    unit_bytes: u64,
    /// Mbox files above this size are cut into units; smaller ones are one unit (or share one).
    split_above_bytes: u64,
    /// Small files are grouped into one unit up to this many bytes...
    group_bytes: u64,
    /// ...or this many files, so that a Maildir of small messages does not cost a channel round
    /// trip per message.
    group_files: usize,
}

/// The limits of a real run: units big enough that channel traffic is negligible, small enough
/// that two threads get several units of a single large mbox.
const LIMITS: Limits = Limits {
    unit_bytes: 32 << 20,
    split_above_bytes: 48 << 20,
    group_bytes: 4 << 20,
    group_files: 256,
};

/// `read_mail` with explicit limits (tests use small ones).
fn read_mail_with(
    items: &[SourceItem],
    threads: usize,
    limits: Limits,
    cancel: &AtomicBool,
    on_record: &mut dyn FnMut(MailRecord),
    on_bytes: &dyn Fn(u64),
) -> Result<(), Error> {
    let threads = threads.max(1);
    let max_in_flight = threads * 2;
    // The channels outlive the scope so that the workers may borrow the shared receiver; the
    // senders are moved into the scope and dropped there to let everyone finish.
    let (unit_sender, unit_receiver) = mpsc::channel::<Unit<'_>>();
    let unit_receiver = Mutex::new(unit_receiver);
    let (result_sender, result_receiver) = mpsc::channel::<UnitResult>();
    // Block buffers go back to the planner once parsed: reusing them spares the kernel zeroing
    // fresh pages for every block (a sixth of a run's time before they were reused).
    let (free_sender, free_receiver) = mpsc::channel::<Vec<u8>>();
    thread::scope(|scope| {
        for _ in 0..threads {
            let result_sender = result_sender.clone();
            let unit_receiver = &unit_receiver;
            let free_blocks = free_sender.clone();
            scope.spawn(move || work(unit_receiver, &result_sender, &free_blocks));
        }
        drop(result_sender);

        let mut reorder = Reorder { pending: BTreeMap::new(), next_index: 0, failure: None };
        drop(free_sender);
        let mut planner = Planner {
            items,
            limits,
            position: 0,
            n_units: 0,
            big_mbox: None,
            free_blocks: free_receiver,
        };
        let mut plan_failure = None;
        // Units are numbered when planned (a big mbox plans all its units at once) but counted
        // in flight only once sent.
        let mut n_sent = 0;
        let mut cancelled = false;
        while reorder.failure.is_none() {
            if cancel.load(Ordering::Relaxed) {
                cancelled = true;
                break;
            }
            while n_sent - reorder.next_index >= max_in_flight {
                let Ok(result) = result_receiver.recv() else { break };
                reorder.insert(result, on_record, on_bytes);
            }
            match planner.next_unit() {
                Ok(Some(unit)) => {
                    if unit_sender.send(unit).is_err() {
                        break;
                    }
                    n_sent += 1;
                }
                Ok(None) => break,
                Err(error) => {
                    plan_failure = Some(error);
                    break;
                }
            }
        }
        // Closing the channel lets the workers stop once the units already sent are done.
        drop(unit_sender);
        while reorder.next_index < n_sent && reorder.failure.is_none() {
            let Ok(result) = result_receiver.recv() else { break };
            if cancelled {
                // The units in flight finish, but their records are not handed out.
                continue;
            }
            reorder.insert(result, on_record, on_bytes);
        }
        if cancelled {
            return Err(Error::Cancelled);
        }
        match reorder.failure.or(plan_failure) {
            Some(error) => Err(error),
            None => Ok(()),
        }
    })
}

/// A batch of work handed to one worker.
struct Unit<'a> {
    /// The unit's place in input order.
    index: usize,
    /// What to read, in order.
    pieces: Vec<Piece<'a>>,
    /// The bytes reported to `on_bytes` when the unit is done.
    n_bytes: u64,
}

/// One part of a unit.
enum Piece<'a> {
    /// A whole mail file (never a calendar: the planner skips those), opened by the worker.
    File(&'a SourceItem),
    /// A block of a big mbox read by the planner, cut at message boundaries.
    Block(Vec<u8>),
}

/// What a worker sends back: the unit's index, its bytes, and what reading gave (or the payload
/// of a panic, re-raised on the calling thread).
type UnitResult = (usize, u64, thread::Result<UnitOutput>);

/// The records of a unit's pieces, up to the first piece that could not be read, and its error.
struct UnitOutput {
    /// The records, in order.
    records: Vec<MailRecord>,
    /// The error of the piece that stopped the unit, if any.
    failure: Option<Error>,
}

/// A worker: takes units until the channel closes, sends back each unit's records.
fn work(
    units: &Mutex<Receiver<Unit<'_>>>,
    results: &mpsc::Sender<UnitResult>,
    free_blocks: &mpsc::Sender<Vec<u8>>,
) {
    loop {
        // The lock is released at the end of this statement, before the unit is parsed.
        // Workers stop only when the channel closes: the lock cannot be poisoned by a panic while
        // parsing (panics are caught below, outside the lock), and a poisoned lock would still
        // guard a sound receiver.
        let unit = units.lock().unwrap_or_else(std::sync::PoisonError::into_inner).recv();
        let Ok(unit) = unit else { return };
        // A panic is a bug; it is carried to the calling thread instead of leaving it waiting
        // for a result that would never come.
        let records = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_unit(&unit)));
        let (index, n_bytes) = (unit.index, unit.n_bytes);
        for piece in unit.pieces {
            if let Piece::Block(block) = piece {
                // The planner may be gone already; then the buffer is simply freed.
                let _ = free_blocks.send(block);
            }
        }
        if results.send((index, n_bytes, records)).is_err() {
            return;
        }
    }
}

/// Reads and parses every piece of a unit, stopping at the first piece that cannot be read.
fn read_unit(unit: &Unit<'_>) -> UnitOutput {
    let mut records = Vec::new();
    let failure = read_pieces(&unit.pieces, &mut records).err();
    UnitOutput { records, failure }
}

/// Reads and parses `pieces` into `records`.
fn read_pieces(pieces: &[Piece<'_>], records: &mut Vec<MailRecord>) -> Result<(), Error> {
    for piece in pieces {
        match piece {
            Piece::File(item) => {
                let data = fs::read(&item.path).map_err(io_error(&item.path))?;
                parse_mail(item.kind, &data, records);
            }
            Piece::Block(block) => parse_mail(SourceKind::Mbox, block, records),
        }
    }
    Ok(())
}

/// Cuts the mail items into units, in input order.
struct Planner<'a> {
    items: &'a [SourceItem],
    limits: Limits,
    /// The next item to plan.
    position: usize,
    /// Units handed out so far (the next unit's index).
    n_units: usize,
    /// The big mbox being read block by block, if any.
    big_mbox: Option<BigMbox>,
    /// Block buffers the workers are done with.
    free_blocks: Receiver<Vec<u8>>,
}

/// A big mbox file being read in blocks.
struct BigMbox {
    path: PathBuf,
    blocks: mbox::Blocks<File>,
}

impl<'a> Planner<'a> {
    /// The next unit, `None` when every item is planned, or the error of reading a big mbox.
    fn next_unit(&mut self) -> Result<Option<Unit<'a>>, Error> {
        loop {
            if let Some(big_mbox) = &mut self.big_mbox {
                let recycled = self.free_blocks.try_recv().unwrap_or_default();
                let block_bytes = usize::try_from(self.limits.unit_bytes).unwrap_or(usize::MAX);
                let block = big_mbox
                    .blocks
                    .next_block(block_bytes, recycled)
                    .map_err(io_error(&big_mbox.path))?;
                match block {
                    Some(block) => {
                        let n_bytes = block.len() as u64;
                        return Ok(Some(self.unit(vec![Piece::Block(block)], n_bytes)));
                    }
                    None => self.big_mbox = None,
                }
            }
            let mut pieces = Vec::new();
            let mut group_bytes = 0;
            while let Some(item) = self.items.get(self.position) {
                if item.kind == SourceKind::Calendar {
                    self.position += 1;
                    continue;
                }
                if item.kind == SourceKind::Mbox && item.len > self.limits.split_above_bytes {
                    if pieces.is_empty() {
                        self.position += 1;
                        let file = File::open(&item.path).map_err(io_error(&item.path))?;
                        self.big_mbox = Some(BigMbox {
                            path: item.path.clone(),
                            blocks: mbox::Blocks::new(file),
                        });
                    }
                    break;
                }
                pieces.push(Piece::File(item));
                group_bytes += item.len;
                self.position += 1;
                if group_bytes >= self.limits.group_bytes || pieces.len() >= self.limits.group_files
                {
                    break;
                }
            }
            if !pieces.is_empty() {
                return Ok(Some(self.unit(pieces, group_bytes)));
            }
            if self.big_mbox.is_none() && self.position >= self.items.len() {
                return Ok(None);
            }
        }
    }

    /// Numbers a new unit.
    fn unit(&mut self, pieces: Vec<Piece<'a>>, n_bytes: u64) -> Unit<'a> {
        let index = self.n_units;
        self.n_units += 1;
        Unit { index, pieces, n_bytes }
    }
}

/// Puts unit results back into input order and hands them out.
struct Reorder {
    /// Results that arrived before an earlier unit's.
    pending: BTreeMap<usize, (u64, UnitOutput)>,
    /// The index of the next unit to hand out.
    next_index: usize,
    /// The first error in input order; nothing after it is handed out.
    failure: Option<Error>,
}

impl Reorder {
    /// Takes one worker result and hands out every result that is now next in order.
    fn insert(
        &mut self,
        (index, n_bytes, outcome): UnitResult,
        on_record: &mut dyn FnMut(MailRecord),
        on_bytes: &dyn Fn(u64),
    ) {
        let output = match outcome {
            Ok(output) => output,
            Err(panic_payload) => std::panic::resume_unwind(panic_payload),
        };
        self.pending.insert(index, (n_bytes, output));
        while self.failure.is_none()
            && let Some((n_bytes, output)) = self.pending.remove(&self.next_index)
        {
            self.next_index += 1;
            output.records.into_iter().for_each(&mut *on_record);
            match output.failure {
                None => on_bytes(n_bytes),
                Some(error) => self.failure = Some(error),
            }
        }
    }
}

/// Walks one folder into `walk`.
fn walk_folder(folder: &Path, walk: &mut Walk) -> Result<(), Error> {
    let entries = sorted_entries(folder)?;
    let is_dir_named = |wanted: &str| {
        entries.iter().any(|(name, file_type)| file_type.is_dir() && name.as_os_str() == wanted)
    };
    let is_maildir = is_dir_named("cur") && is_dir_named("new");
    for (name, file_type) in &entries {
        let path = folder.join(name);
        if file_type.is_dir() {
            if is_maildir && (name == "cur" || name == "new") {
                maildir_messages(&path, walk)?;
            } else if !(is_maildir && name == "tmp") {
                walk_folder(&path, walk)?;
            }
        } else if let Some(len) = regular_file_len(&path, file_type)? {
            match classify_file(&path)? {
                Some(kind) => walk.items.push(SourceItem { path, kind, len }),
                None => walk.files_ignored += 1,
            }
        } else if !is_link_to_folder(&path, file_type) {
            // Sockets, pipes, devices and broken links: not mail, and not safe to read.
            walk.files_ignored += 1;
        }
    }
    Ok(())
}

/// Adds the files of a Maildir's `cur` or `new` folder as messages; folders inside are walked
/// like any folder.
fn maildir_messages(folder: &Path, walk: &mut Walk) -> Result<(), Error> {
    for (name, file_type) in sorted_entries(folder)? {
        let path = folder.join(&name);
        if file_type.is_dir() {
            walk_folder(&path, walk)?;
        } else if let Some(len) = regular_file_len(&path, &file_type)? {
            walk.items.push(SourceItem { path, kind: SourceKind::Message, len });
        } else if !is_link_to_folder(&path, &file_type) {
            walk.files_ignored += 1;
        }
    }
    Ok(())
}

/// The entries of a folder sorted by the bytes of their names, with their own types (symbolic
/// links are not followed).
fn sorted_entries(folder: &Path) -> Result<Vec<(OsString, fs::FileType)>, Error> {
    let mut entries = Vec::new();
    for entry in fs::read_dir(folder).map_err(io_error(folder))? {
        let entry = entry.map_err(io_error(folder))?;
        let file_type = entry.file_type().map_err(io_error(&entry.path()))?;
        entries.push((entry.file_name(), file_type));
    }
    entries.sort_by(|(left, _), (right, _)| left.as_encoded_bytes().cmp(right.as_encoded_bytes()));
    Ok(entries)
}

/// The size of a regular file, or of the regular file a symbolic link points to; `None` for
/// anything else.
fn regular_file_len(path: &Path, file_type: &fs::FileType) -> Result<Option<u64>, Error> {
    if file_type.is_file() {
        return fs::metadata(path).map(|metadata| Some(metadata.len())).map_err(io_error(path));
    }
    if file_type.is_symlink() {
        return Ok(fs::metadata(path)
            .ok()
            .filter(fs::Metadata::is_file)
            .map(|metadata| metadata.len()));
    }
    Ok(None)
}

/// True for a symbolic link to a folder (not followed, and not a file either).
fn is_link_to_folder(path: &Path, file_type: &fs::FileType) -> bool {
    file_type.is_symlink() && fs::metadata(path).is_ok_and(|metadata| metadata.is_dir())
}

/// The kind of a file by its extension, else by its first bytes; `None` when it is neither mail
/// nor a calendar.
fn classify_file(path: &Path) -> Result<Option<SourceKind>, Error> {
    let extension = path.extension().map(|extension| extension.as_encoded_bytes());
    if let Some(extension) = extension {
        if extension.eq_ignore_ascii_case(b"ics") {
            return Ok(Some(SourceKind::Calendar));
        }
        if extension.eq_ignore_ascii_case(b"eml") {
            return Ok(Some(SourceKind::Message));
        }
    }
    let mut start = [0_u8; 5];
    let mut n_read = 0;
    let mut file = File::open(path).map_err(io_error(path))?;
    // A short read is not the end of the file: keep reading until 5 bytes or the end.
    while n_read < start.len() {
        let buffer = start.get_mut(n_read..).unwrap_or_default();
        match file.read(buffer) {
            Ok(0) => break,
            Ok(n) => n_read += n,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(io_error(path)(error)),
        }
    }
    Ok((n_read == start.len() && start == *b"From ").then_some(SourceKind::Mbox))
}

/// Wraps an I/O error with the path it concerns.
fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io { path: path.to_path_buf(), source }
}

#[cfg(test)]
mod tests;
