//! rapport-ingest: connectors that read mail and calendar files into the activity model of
//! `rapport-core` (headers and calendar metadata only; bodies are never decoded).

pub mod customers;
pub mod date;
pub mod error;
pub mod ics;
pub mod mail;
pub mod mbox;
pub mod source;
pub mod windows_zones;
