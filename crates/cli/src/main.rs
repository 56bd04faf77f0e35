//! The `baton` binary.

mod eval;

fn main() {}
