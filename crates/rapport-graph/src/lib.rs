//! Microsoft Graph activity source: app-only authentication, org users and groups from the
//! directory, and mail and calendarView delta sync, reading only the metadata the metrics need.
//!
//! Modules, in the order a run uses them: [`config`] (the TOML contract of issue 4), [`auth`]
//! (client-credentials tokens, granted roles), [`http`] (the one request executor: caps, retries,
//! throttling, counters), [`directory`] (org-user lines to Entra users), [`mail`] and
//! [`calendar`] (delta pages mapped to the activity model), [`sync`] (the resumable,
//! concurrent orchestration the CLI drives).
//!
//! This crate does not decide what counts: it maps Graph items onto `rapport_core::model` and
//! leaves the metrics to the engine.

pub mod auth;
pub mod calendar;
pub mod config;
pub mod directory;
mod error;
pub mod http;
pub mod mail;
pub mod sync;
mod wire;

pub use config::{GraphConfig, consent_url};
pub use error::GraphError;
pub use http::{ClientOptions, GraphClient};
pub use wire::DeltaPage;
