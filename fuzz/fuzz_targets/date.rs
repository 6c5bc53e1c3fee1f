//! Fuzzes RFC 5322 date-time parsing (`Date:` and `Received:` values).
//!
//! Besides not panicking: a parsed instant lies in the years 0 to 9999 (four-digit years are
//! taken as written, `0020` is the year 20), give or take the largest zone offset.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rapport_ingest::date;

/// 0000-01-01T00:00:00Z minus one day of zone offset, and 10000-01-01T00:00:00Z plus one.
const EARLIEST: i64 = -62_167_219_200 - 86_400;
const LATEST: i64 = 253_402_300_800 + 86_400;

fuzz_target!(|data: &[u8]| {
    for instant in [date::parse_rfc5322(data), date::parse_received(data)].into_iter().flatten() {
        assert!((EARLIEST..=LATEST).contains(&instant), "{instant}");
    }
});
