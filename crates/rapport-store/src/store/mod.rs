//! The SQLite store: connections, transactions and error mapping; the operations live in the
//! submodules (`enrichments`, `runs`, `results`, `ledger`, `graph`, `erasure`), the schema and its
//! migrations in `schema`.
//!
//! One writer connection behind a mutex takes every write in an IMMEDIATE transaction, so writers
//! never deadlock on a lock upgrade and a second process waits up to the busy timeout. Reads of a
//! file database use a small pool of read-only connections, each read in one transaction, so
//! readers run beside the writer and see one committed state (WAL snapshot isolation).

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags, Transaction, TransactionBehavior};

use crate::error::Error;

mod enrichments;
mod erasure;
mod graph;
mod ledger;
mod results;
mod runs;
mod schema;

pub use self::schema::SCHEMA_VERSION;

/// How long a statement waits for another connection's lock before failing with `Busy`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// The most idle read connections kept open; more readers open and close their own.
const MAX_IDLE_READERS: usize = 8;

/// The store: one SQLite database file (or an in-memory database for tests).
///
/// `Store` is `Send + Sync`: threads may share one, and other processes may open the same file.
pub struct Store {
    /// The database file as shown in messages (`:memory:` for an in-memory database).
    database: String,
    /// Read connections of a file database; `None` in memory, where reads use the writer.
    /// Declared before `writer` so that they close first: the last connection to close
    /// checkpoints and removes the WAL, which a read-only one cannot do, and a WAL left behind
    /// (tens of megabytes after a first run) is read back by the next process to open the file.
    readers: Option<ReaderPool>,
    /// The connection every write (and, in memory, every read) goes through.
    writer: Mutex<Connection>,
}

/// Idle read-only connections to the database file.
struct ReaderPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Store {
    /// Opens the database file `path`, creating it (and its folder) with the current schema on
    /// first use and upgrading a database made by an older version. A database made by a newer
    /// version is refused with [`Error::NewerSchema`].
    pub fn open(path: &Path) -> Result<Store, Error> {
        if let Some(folder) = path.parent().filter(|folder| !folder.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder)
                .map_err(|source| Error::Io { path: folder.to_path_buf(), source })?;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut connection = Connection::open_with_flags(path, flags)
            .map_err(|source| Error::Open { path: path.to_path_buf(), source })?;
        let database = path.display().to_string();
        let classify = |error| classify(&database, error);
        configure(&connection, true)
            .map_err(sql("could not configure the database"))
            .map_err(classify)?;
        schema::migrate(&mut connection, schema::MIGRATIONS).map_err(classify)?;
        Ok(Store {
            readers: Some(ReaderPool { path: path.to_path_buf(), idle: Mutex::new(Vec::new()) }),
            database,
            writer: Mutex::new(connection),
        })
    }

    /// Opens the database file `path` for reading only: every write fails with
    /// [`Error::ReadOnly`]. The file must exist and have the current schema.
    pub fn open_read_only(path: &Path) -> Result<Store, Error> {
        let connection = open_reader(path)?;
        let database = path.display().to_string();
        configure(&connection, false)
            .map_err(sql("could not configure the database"))
            .map_err(|error| classify(&database, error))?;
        schema::check_version(&connection).map_err(|error| classify(&database, error))?;
        Ok(Store {
            readers: Some(ReaderPool { path: path.to_path_buf(), idle: Mutex::new(Vec::new()) }),
            database,
            writer: Mutex::new(connection),
        })
    }

    /// Opens a new, empty in-memory database with the current schema, for tests. It lives as
    /// long as the `Store`, and every operation goes through one connection.
    pub fn open_in_memory() -> Result<Store, Error> {
        let database = ":memory:".to_owned();
        let mut connection = Connection::open_in_memory()
            .map_err(|source| Error::Open { path: PathBuf::from(&database), source })?;
        configure(&connection, true)
            .map_err(sql("could not configure the database"))
            .map_err(|error| classify(&database, error))?;
        schema::migrate(&mut connection, schema::MIGRATIONS)
            .map_err(|error| classify(&database, error))?;
        Ok(Store { database, writer: Mutex::new(connection), readers: None })
    }

    /// The database file as shown in messages.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// Runs `body` in one IMMEDIATE write transaction, committed when `body` succeeds and rolled
    /// back otherwise.
    fn write<T>(
        &self,
        context: &'static str,
        body: impl FnOnce(&Transaction<'_>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut connection = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let outcome = (|| {
            let transaction = connection
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql(context))?;
            let value = body(&transaction)?;
            transaction.commit().map_err(sql(context))?;
            Ok(value)
        })();
        outcome.map_err(|error| classify(&self.database, error))
    }

    /// Runs `body` in one read transaction: everything it reads comes from one committed state.
    fn read<T>(
        &self,
        context: &'static str,
        body: impl FnOnce(&Transaction<'_>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let outcome = match &self.readers {
            None => {
                let mut connection = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
                read_in(&mut connection, context, body)
            }
            Some(pool) => {
                let taken = pool.idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
                let mut connection = match taken {
                    Some(connection) => connection,
                    None => open_reader(&pool.path)?,
                };
                let outcome = read_in(&mut connection, context, body);
                let mut idle = pool.idle.lock().unwrap_or_else(PoisonError::into_inner);
                if outcome.is_ok() && idle.len() < MAX_IDLE_READERS {
                    idle.push(connection);
                }
                outcome
            }
        };
        outcome.map_err(|error| classify(&self.database, error))
    }
}

/// Runs `body` in a deferred transaction on `connection`, which is then ended.
fn read_in<T>(
    connection: &mut Connection,
    context: &'static str,
    body: impl FnOnce(&Transaction<'_>) -> Result<T, Error>,
) -> Result<T, Error> {
    let transaction = connection.transaction().map_err(sql(context))?;
    let value = body(&transaction)?;
    // Nothing was written; ending the transaction releases the snapshot.
    transaction.rollback().map_err(sql(context))?;
    Ok(value)
}

/// Opens a read-only connection to the database file.
fn open_reader(path: &Path) -> Result<Connection, Error> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(path, flags)
        .map_err(|source| Error::Open { path: path.to_path_buf(), source })?;
    connection
        .busy_timeout(BUSY_TIMEOUT)
        .map_err(sql("could not configure the database"))
        .map_err(|error| classify(&path.display().to_string(), error))?;
    Ok(connection)
}

/// Sets the busy timeout and foreign keys; for a writable database also WAL mode and full
/// synchronous commits (every state change survives a power loss, not only a crash).
fn configure(connection: &Connection, writable: bool) -> rusqlite::Result<()> {
    connection.busy_timeout(BUSY_TIMEOUT)?;
    if writable {
        // Returns the mode now in force ("memory" for an in-memory database).
        let _mode: String =
            connection.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
        connection.pragma_update(None, "synchronous", "FULL")?;
    }
    connection.pragma_update(None, "foreign_keys", true)?;
    Ok(())
}

/// Wraps a SQLite error with what the store was doing.
pub(crate) fn sql(context: &'static str) -> impl Fn(rusqlite::Error) -> Error {
    move |source| Error::Sqlite { context, source }
}

/// Turns SQLite errors that a user can act on (read-only file, full disk, lock held too long,
/// not a database) into their own variants naming the database file.
fn classify(database: &str, error: Error) -> Error {
    let Error::Sqlite { context, source } = error else {
        return error;
    };
    let database = database.to_owned();
    match source.sqlite_error_code() {
        Some(ErrorCode::ReadOnly) => Error::ReadOnly { database, source },
        Some(ErrorCode::DiskFull) => Error::DiskFull { database, source },
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            Error::Busy { database, source }
        }
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
            Error::NotADatabase { database, source }
        }
        _ => Error::Sqlite { context, source },
    }
}

/// A count or size as SQLite's signed integer, saturating.
fn to_sql_integer(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A stored integer as a count, negative values read as 0.
fn from_sql_integer(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

#[cfg(test)]
mod tests;
