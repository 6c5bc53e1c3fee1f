//! The `rapport` command line.
fn main() {}
