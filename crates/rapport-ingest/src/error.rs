//! The error type of rapport-ingest's file reading: only I/O on the inputs fails; bad content is
//! data (an unparseable record or a counted skip), never an error.

use std::path::PathBuf;

/// An input that could not be read.
///
/// The `Display` text names the path only; the underlying I/O error is the `source` and is
/// printed by the caller with the chain (STYLE.md §3).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A source path, a folder inside it or a file could not be opened, listed or read.
    #[error("cannot read source {}", path.display())]
    Io {
        /// The path that could not be read.
        path: PathBuf,
        /// What the operating system reported.
        #[source]
        source: std::io::Error,
    },
    /// Reading was cancelled (`source::read_mail_until`).
    #[error("reading was cancelled")]
    Cancelled,
}
