//! Fuzzes address-list parsing and single-address normalization.
//!
//! Besides not panicking: every address `parse_list` yields has exactly one `@`, and normalizing
//! it again gives it back unchanged.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rapport_core::address;

fuzz_target!(|data: &[u8]| {
    let mut addresses = Vec::new();
    address::parse_list(data, &mut addresses);
    for found in &addresses {
        assert_eq!(found.matches('@').count(), 1, "{found:?}");
        assert_eq!(address::normalize(found).as_ref(), Some(found), "{found:?}");
        assert!(!address::domain(found).is_empty(), "{found:?}");
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Some(normalized) = address::normalize(text)
    {
        assert_eq!(address::normalize(&normalized).as_ref(), Some(&normalized), "{text:?}");
    }
});
