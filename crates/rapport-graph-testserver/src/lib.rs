//! A Microsoft Graph-compatible server for tests and benchmarks, written from Microsoft's
//! documentation: the token endpoint (client secret or certificate assertion), users, groups
//! and transitive members, mail folders, message delta per folder and calendarView delta, with
//! `@odata.nextLink`/`@odata.deltaLink` rounds and `@removed`, generated mailboxes at scale,
//! latency, a request log, in-flight counters and faults on demand.
//!
//! It runs in-process on loopback ([`TestServer::start`]) or as the `rapport-graph-testserver`
//! binary. It is not a Graph implementation: it serves what rapport reads, in the documented
//! shapes, and rejects what a client should not send.

mod config;
mod dataset;
mod datetime;
mod export;
mod json;
mod odata;
mod server;
pub mod test_credentials;
mod token;

pub use config::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_ROLES, DEFAULT_TENANT_ID, Fault, ServerConfig,
};
pub use dataset::{
    Attendee, AttendeeType, CustomerAccount, CustomerContact, Dataset, DatasetError, EmailAddress,
    Event, EventType, FolderInfo, GenSpec, Group, GroupKind, Member, Message, MessageKind,
    ResponseType, User,
};
pub use datetime::{twelve_months_before, utc};
pub use export::ExportedFiles;
pub use server::{RecordedRequest, TestServer};
