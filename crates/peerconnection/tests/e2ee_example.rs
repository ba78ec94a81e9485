//! Runs `examples/e2ee_transform.rs`: frames sealed by a sender transform with AES-GCM and
//! opened by the receiver's transform arrive intact, nothing clear crosses the wire, a
//! wrong key opens nothing (the example asserts it).
#![allow(clippy::unwrap_used)]

#[path = "../examples/e2ee_transform.rs"]
#[allow(dead_code)]
mod example;

#[test]
fn the_e2ee_example_runs() {
    example::run(example::CLIP);
}
