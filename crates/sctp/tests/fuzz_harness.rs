//! Runs the cargo-fuzz harnesses on the seed corpus and on pseudo-random inputs, so the
//! harnesses themselves are exercised by `cargo test --all-features`.
#![cfg(feature = "fuzzing")]
#![allow(clippy::unwrap_used)]

use rand_chacha::rand_core::{RngCore, SeedableRng};

fn corpus(name: &str) -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(name);
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| std::fs::read(e.path()).unwrap())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn harnesses_accept_seeds_and_noise() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(99);
    let mut inputs = corpus("sctp_packet");
    inputs.extend(corpus("sctp_association"));
    for _ in 0..300 {
        let mut v = vec![0u8; (rng.next_u32() % 400) as usize];
        rng.fill_bytes(&mut v);
        inputs.push(v);
    }
    // Mutations of real packets reach deeper than noise.
    for seed in corpus("sctp_packet") {
        for _ in 0..50 {
            let mut v = seed.clone();
            let i = rng.next_u32() as usize % v.len();
            v[i] ^= 1 << (rng.next_u32() % 8);
            inputs.push(v);
        }
    }
    for i in &inputs {
        oxrtc_sctp::fuzzing::sctp_packet(i);
        oxrtc_sctp::fuzzing::sctp_association(i);
    }
}
