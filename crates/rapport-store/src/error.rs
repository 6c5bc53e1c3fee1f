//! The errors of the store.
//!
//! Each variant's text describes only what went wrong at this layer; the SQLite error it wraps is
//! its `source` and is not repeated in the text.

use std::path::PathBuf;

use crate::run::{RunId, RunStatus};

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A SQLite call failed; `context` says what the store was doing.
    #[error("{context}")]
    Sqlite {
        /// What the store was doing, e.g. "could not save the enrichment".
        context: &'static str,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// The database file could not be opened or created.
    #[error("could not open the database {}", path.display())]
    Open {
        /// The database file.
        path: PathBuf,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// The enrichment configuration has problems; each names its field (`users[3]: ...`).
    #[error("invalid enrichment: {}", .0.join("; "))]
    Invalid(Vec<String>),
    /// No enrichment or run with this id or name.
    #[error("{what} {id} not found")]
    NotFound {
        /// `"enrichment"` or `"run"`.
        what: &'static str,
        /// The id or the quoted name that was looked for.
        id: String,
    },
    /// The database was made by a newer rapport.
    #[error(
        "the database schema is version {found}, newer than version {supported} that this rapport \
         supports: use a newer rapport"
    )]
    NewerSchema {
        /// The schema version found in the file.
        found: i64,
        /// The newest schema version this build knows.
        supported: i64,
    },
    /// The database was made by an older rapport and was opened read-only, so it cannot be
    /// upgraded.
    #[error(
        "the database schema is version {found}, older than version {supported}: open it once \
         with write access to upgrade it"
    )]
    NeedsUpgrade {
        /// The schema version found in the file.
        found: i64,
        /// The schema version this build uses.
        supported: i64,
    },
    /// The enrichment has no administrator consent, so it may not run.
    #[error("enrichment {name:?} has no administrator consent: no run starts without it")]
    NoConsent {
        /// The enrichment's name.
        name: String,
    },
    /// A scheduled run was asked for an enrichment that is deactivated.
    #[error("enrichment {name:?} is inactive: it is not refreshed on its schedule")]
    Inactive {
        /// The enrichment's name.
        name: String,
    },
    /// The run is not in a status that allows this step (e.g. starting a cancelled run).
    #[error("run {run} is {}: cannot {action}", status.as_str())]
    RunState {
        /// The run.
        run: RunId,
        /// Its status.
        status: RunStatus,
        /// What was asked, e.g. "start it".
        action: &'static str,
    },
    /// A file or folder around the database could not be read or created.
    #[error("could not access {}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The database cannot be written.
    #[error(
        "the database {database} is read-only: check the permissions of the file and its folder \
         (nothing was changed)"
    )]
    ReadOnly {
        /// The database file.
        database: String,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// The disk (or the database's size limit) is full.
    #[error(
        "the disk holding the database {database} is full: free some space (nothing was changed)"
    )]
    DiskFull {
        /// The database file.
        database: String,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// Another process held the database locked for longer than the busy timeout.
    #[error("the database {database} is locked by another process: try again")]
    Busy {
        /// The database file.
        database: String,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// A stored value cannot be read back (a damaged or foreign row); the text says which.
    #[error("{0}")]
    Damaged(String),
    /// The file is not a SQLite database, or it is damaged.
    #[error("{database} is not a rapport database or it is damaged")]
    NotADatabase {
        /// The database file.
        database: String,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// The installation key file exists but may not be used.
    #[error("the installation key {} cannot be used: {problem}", path.display())]
    Key {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// A stored value could not be read back (e.g. a configuration JSON that does not parse).
    #[error("the stored {what} of {id} cannot be read: {detail}")]
    Corrupt {
        /// What was read, e.g. "configuration".
        what: &'static str,
        /// Whose, e.g. "enrichment 3".
        id: String,
        /// Why it cannot be read.
        detail: String,
    },
}
