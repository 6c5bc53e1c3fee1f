//! Fuzzes the iCalendar reader and the recurrence expansion over one file.
//!
//! Besides not panicking: every occurrence copy starts inside the window it was expanded for, and
//! nothing ends before it starts.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rapport_core::calendar;
use rapport_ingest::ics;

/// 2000-01-01T00:00:00Z and 2001-01-01T00:00:00Z: a leap year, so DST changes and Feb 29 are in.
const WINDOW_START: i64 = 946_684_800;
const WINDOW_END: i64 = 978_307_200;

fuzz_target!(|data: &[u8]| {
    let file = ics::parse_ics(data);
    let (copies, _skips) = calendar::expand(std::slice::from_ref(&file), WINDOW_START, WINDOW_END);
    for copy in &copies {
        assert!((WINDOW_START..WINDOW_END).contains(&copy.start), "{copy:?}");
        assert!(copy.end >= copy.start, "{copy:?}");
    }
});
