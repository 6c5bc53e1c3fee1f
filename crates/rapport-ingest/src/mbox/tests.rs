//! Tests of mbox splitting and of cutting an mbox into chunks at message boundaries.

use super::{chunk_boundaries, messages};

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

#[test]
fn chunks_cover_the_same_messages() {
    for crlf in [false, true] {
        let mbox = sample_mbox(200, crlf);
        let whole: Vec<&[u8]> = messages(&mbox).collect();
        assert_eq!(whole.len(), 200);
        for n_chunks in [1, 2, 3, 7, 50, 199, 200, 1000] {
            let offsets = chunk_boundaries(&mbox, n_chunks);
            assert_eq!(offsets.first(), Some(&0));
            assert_eq!(offsets.last(), Some(&mbox.len()));
            assert!(offsets.windows(2).all(|pair| pair[0] < pair[1]), "{offsets:?}");
            assert!(offsets.len() <= n_chunks + 1);
            let pieces: Vec<&[u8]> =
                offsets.windows(2).flat_map(|pair| messages(&mbox[pair[0]..pair[1]])).collect();
            assert_eq!(pieces, whole, "n_chunks {n_chunks}");
            for &offset in &offsets[1..offsets.len() - 1] {
                assert!(mbox[offset..].starts_with(b"From s"), "offset {offset}");
            }
        }
    }
}

#[test]
fn chunks_are_roughly_equal() {
    let mbox = sample_mbox(2000, false);
    let offsets = chunk_boundaries(&mbox, 4);
    assert_eq!(offsets.len(), 5);
    let sizes: Vec<usize> = offsets.windows(2).map(|pair| pair[1] - pair[0]).collect();
    let largest = sizes.iter().max().copied().unwrap_or(0);
    let smallest = sizes.iter().min().copied().unwrap_or(0);
    assert!(largest - smallest < 1000, "{sizes:?}");
}

#[test]
fn chunks_of_degenerate_inputs() {
    assert_eq!(chunk_boundaries(b"", 4), [0]);
    assert_eq!(chunk_boundaries(b"From a\n", 0), [0, 7]);
    assert_eq!(chunk_boundaries(b"From a\n", 4), [0, 7]);
    assert_eq!(chunk_boundaries(b"no messages at all here", 3), [0, 23]);
}
