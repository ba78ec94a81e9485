//! Placeholder, replaced below.
#![allow(clippy::unwrap_used)]
fn main() {}
