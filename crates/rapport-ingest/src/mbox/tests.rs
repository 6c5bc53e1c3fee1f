//! Tests of mbox splitting and of cutting an mbox into chunks at message boundaries.

use super::{Blocks, messages};

fn split(bytes: &[u8]) -> Vec<String> {
    messages(bytes).map(|message| String::from_utf8_lossy(message).into_owned()).collect()
}

#[test]
fn lf_messages() {
    let mbox = b"From a Mon\nA: 1\n\nbody\n\nFrom b Tue\nB: 2\n\nbody 2\n";
    assert_eq!(split(mbox), ["From a Mon\nA: 1\n\nbody\n\n", "From b Tue\nB: 2\n\nbody 2\n"]);
}

#[test]
fn crlf_messages() {
    let mbox = b"From a\r\nA: 1\r\n\r\nbody\r\n\r\nFrom b\r\nB: 2\r\n";
    assert_eq!(split(mbox), ["From a\r\nA: 1\r\n\r\nbody\r\n\r\n", "From b\r\nB: 2\r\n"]);
}

#[test]
fn from_needs_an_empty_line_before_it() {
    let mbox = b"From a\nA: 1\n\nline\nFrom inside the body\n>From escaped\n\n>From also\nFrom b\n";
    assert_eq!(split(mbox).len(), 1);
    let mbox = b"From a\nA: 1\n\n\nFrom b\nB: 2\n\n \nFrom not-after-empty\n";
    assert_eq!(split(mbox), ["From a\nA: 1\n\n\n", "From b\nB: 2\n\n \nFrom not-after-empty\n"]);
}

#[test]
fn from_must_be_followed_by_a_space() {
    assert_eq!(split(b"From a\n\nFrom:x\n\nFromage\n").len(), 1);
}

#[test]
fn text_before_the_first_separator_is_ignored() {
    let mbox = b"preamble\nnot a message\n\nFrom a\nA: 1\n";
    assert_eq!(split(mbox), ["From a\nA: 1\n"]);
    assert_eq!(split(b"\nFrom a\nA: 1\n"), ["From a\nA: 1\n"]);
    assert_eq!(split(b"\r\nFrom a\r\n"), ["From a\r\n"]);
    assert_eq!(split(b"preamble\nFrom a\n"), Vec::<String>::new());
}

#[test]
fn empty_and_separator_only_inputs() {
    assert_eq!(split(b""), Vec::<String>::new());
    assert_eq!(split(b"no separator at all\n"), Vec::<String>::new());
    assert_eq!(split(b"From "), ["From "]);
    assert_eq!(split(b"From a\n\nFrom b\n\nFrom c"), ["From a\n\n", "From b\n\n", "From c"]);
}

/// Builds an mbox of `n` messages of varying size.
fn sample_mbox(n: usize, crlf: bool) -> Vec<u8> {
    let eol = if crlf { "\r\n" } else { "\n" };
    let mut mbox = format!("junk before{eol}{eol}").into_bytes();
    for index in 0..n {
        // Never empty: `From in body` must not follow an empty line.
        let body = "x".repeat(index % 17 * 13 + 1);
        mbox.extend_from_slice(
            format!("From s{index} Mon{eol}Id: {index}{eol}{eol}{body}{eol}From in body{eol}{eol}")
                .as_bytes(),
        );
    }
    mbox
}

/// All blocks of `bytes` read `block_bytes` at a time.
fn blocks(bytes: &[u8], block_bytes: usize) -> Vec<Vec<u8>> {
    let mut reader = Blocks::new(bytes);
    let mut blocks = Vec::new();
    while let Some(block) = reader.next_block(block_bytes, Vec::new()).expect("read from memory") {
        blocks.push(block);
    }
    blocks
}

#[test]
fn blocks_hold_the_same_messages() {
    for crlf in [false, true] {
        let mbox = sample_mbox(200, crlf);
        let whole: Vec<&[u8]> = messages(&mbox).collect();
        assert_eq!(whole.len(), 200);
        for block_bytes in [1, 7, 100, 1_000, 10_000, mbox.len(), 10 * mbox.len()] {
            let blocks = blocks(&mbox, block_bytes);
            assert_eq!(blocks.concat(), mbox, "block_bytes {block_bytes}");
            let pieces: Vec<&[u8]> = blocks.iter().flat_map(|block| messages(block)).collect();
            assert_eq!(pieces, whole, "block_bytes {block_bytes}");
            for block in &blocks[1..] {
                assert!(block.starts_with(b"From s"), "a block starts inside a message");
            }
        }
    }
}

#[test]
fn blocks_are_at_least_the_asked_size() {
    let mbox = sample_mbox(2000, false);
    let blocks = blocks(&mbox, 4096);
    assert!(blocks.len() > 10, "{} blocks", blocks.len());
    let largest_message = messages(&mbox).map(<[u8]>::len).max().unwrap_or(0);
    // A block is cut before the last message start it holds: at most one message short, but for
    // the two blocks at the end of the file.
    let (last, full) = blocks.split_last().expect("blocks");
    let sizes: Vec<usize> = full[..full.len() - 1].iter().map(Vec::len).collect();
    assert!(
        sizes.iter().all(|&size| size + largest_message >= 4096),
        "{sizes:?}, {largest_message}"
    );
    assert!(!last.is_empty());
}

#[test]
fn blocks_of_degenerate_inputs() {
    assert!(blocks(b"", 4).is_empty());
    assert_eq!(blocks(b"From a\n", 4), [b"From a\n".to_vec()]);
    assert_eq!(blocks(b"no messages at all here", 3), [b"no messages at all here".to_vec()]);
}
