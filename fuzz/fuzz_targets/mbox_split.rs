//! Fuzzes mbox splitting and chunking.
//!
//! Besides not panicking: the messages are contiguous and cover the input from the first one to
//! the end, and cutting the input into any number of chunks yields the same messages.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rapport_ingest::mbox;

fuzz_target!(|data: &[u8]| {
    let whole: Vec<&[u8]> = mbox::messages(data).collect();
    let covered: usize = whole.iter().map(|message| message.len()).sum();
    if let Some(first) = whole.first() {
        assert!(first.starts_with(b"From "));
        let first_offset = first.as_ptr() as usize - data.as_ptr() as usize;
        assert_eq!(first_offset + covered, data.len());
    }
    for n_chunks in 1..=8 {
        let offsets = mbox::chunk_boundaries(data, n_chunks);
        assert!(offsets.windows(2).all(|pair| pair[0] < pair[1]));
        let pieces: Vec<&[u8]> =
            offsets.windows(2).flat_map(|pair| mbox::messages(&data[pair[0]..pair[1]])).collect();
        assert_eq!(pieces, whole);
    }
});
