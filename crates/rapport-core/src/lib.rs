//! rapport-core: the pure engine of rapport.
//!
//! It turns activity metadata (`model`) plus the org users and the customer data into the enriched
//! account table of metrics.md. It does no I/O and never reads the clock: the as-of instant `T`
//! is a parameter, and writers take any `impl Write`.

pub mod address;
pub mod calendar;
pub mod codec;
pub mod engine;
pub mod identity;
pub mod model;
pub mod output;
pub mod period;
pub mod score;
