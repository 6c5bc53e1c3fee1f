//! Fuzzes mbox splitting and block reading.
//!
//! Besides not panicking: the messages are contiguous and cover the input from the first one to
//! the end, and reading the input in blocks of any size yields the same messages.

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
    for block_bytes in [1, 2, 3, 5, 8, 13, 64, 1024] {
        let mut reader = mbox::Blocks::new(data);
        let mut blocks = Vec::new();
        while let Some(block) = reader.next_block(block_bytes, Vec::new()).expect("in memory") {
            blocks.push(block);
        }
        assert_eq!(blocks.concat(), data);
        let pieces: Vec<&[u8]> = blocks.iter().flat_map(|block| mbox::messages(block)).collect();
        assert_eq!(pieces, whole);
    }
});
