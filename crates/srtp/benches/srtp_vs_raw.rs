//! Interleaved comparison of oxrtc-srtp against the raw primitives, robust on a loaded
//! machine: each round times a chunk of 256 packets through ours (protect, unprotect) and
//! through the raw primitive (ring AES-GCM seal; RustCrypto AES-128-CTR + HMAC-SHA1) back
//! to back, and the table reports the fastest round of each, so interference from other
//! processes cancels out of the ratio. Both directions are set against the raw primitive's
//! protect side (GCM seal; CTR + HMAC), whose cost the reverse direction mirrors; the
//! criterion bench `srtp` also measures ring's open. `cargo bench -p oxrtc-srtp --bench srtp_vs_raw`
//! (`-- --rounds N`, default 300); other arguments are ignored.
#![allow(clippy::unwrap_used, missing_docs)]

use aes::cipher::{InnerIvInit, StreamCipher, StreamCipherCoreWrapper};
use aes::Aes128Enc;
use hmac::{Hmac, KeyInit, Mac};
use oxrtc_srtp::{Context, Policy, SrtpProfile};
use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use sha1::Sha1;
use std::hint::black_box;
use std::time::Instant;

const CH: usize = 256;
fn rtp(len: usize) -> Vec<u8> {
    let mut p = vec![0x80, 0x60, 0, 0, 0, 0, 0x10, 0, 0x12, 0x34, 0x56, 0x78];
    p.resize(len, 0xa5);
    p
}
fn ctx(p: SrtpProfile) -> Context {
    Context::new(
        p,
        &[0x2b; 32][..p.master_key_len()],
        &[0x5a; 14][..p.master_salt_len()],
        Policy::default(),
    )
    .unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rounds: usize = args
        .iter()
        .position(|a| a == "--rounds")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    println!("fastest of {rounds} interleaved rounds, ns per packet (M packets/s)");
    for len in [160usize, 1200] {
        let t = rtp(len);
        let mut bufs = vec![vec![0u8; len + 16]; CH];
        let gkey = |alg: &'static aead::Algorithm| {
            LessSafeKey::new(UnboundKey::new(alg, &[0x2b; 32][..alg.key_len()]).unwrap())
        };
        let aes = Aes128Enc::new_from_slice(&[0x2b; 16]).unwrap();
        let hm = <Hmac<Sha1> as KeyInit>::new_from_slice(&[0x3c; 20]).unwrap();
        for profile in SrtpProfile::ALL {
            let mut c = ctx(profile);
            let mut rx = ctx(profile);
            let mut tx = ctx(profile);
            let key = gkey(if profile == SrtpProfile::AeadAes256Gcm {
                &aead::AES_256_GCM
            } else {
                &aead::AES_128_GCM
            });
            let mut seq = 0u16;
            let mut seq2 = 0u16;
            let mut n = 0u64;
            let (mut best_ours, mut best_raw, mut best_un) = (f64::MAX, f64::MAX, f64::MAX);
            let tag = profile.rtp_auth_tag_len();
            for _ in 0..rounds {
                // ours protect
                for b in bufs.iter_mut() {
                    b.resize(len + 16, 0);
                    b[..len].copy_from_slice(&t);
                    b[2..4].copy_from_slice(&seq.to_be_bytes());
                    seq = seq.wrapping_add(1);
                }
                let s = Instant::now();
                for b in bufs.iter_mut() {
                    black_box(c.protect_rtp(b, len).unwrap());
                }
                best_ours = best_ours.min(s.elapsed().as_secs_f64() / CH as f64);
                // ours unprotect
                for b in bufs.iter_mut() {
                    b.resize(len + 16, 0);
                    b[..len].copy_from_slice(&t);
                    b[2..4].copy_from_slice(&seq2.to_be_bytes());
                    seq2 = seq2.wrapping_add(1);
                    tx.protect_rtp(b, len).unwrap();
                    b.truncate(len + tag);
                }
                let s = Instant::now();
                for b in bufs.iter_mut() {
                    black_box(rx.unprotect_rtp(b).unwrap());
                }
                best_un = best_un.min(s.elapsed().as_secs_f64() / CH as f64);
                // raw
                for b in bufs.iter_mut() {
                    b.resize(len + 16, 0);
                    b[..len].copy_from_slice(&t);
                }
                let s = Instant::now();
                if profile.is_aead() {
                    for b in bufs.iter_mut() {
                        n += 1;
                        let mut nonce = [0u8; 12];
                        nonce[4..].copy_from_slice(&n.to_be_bytes());
                        let (h, rest) = b.split_at_mut(12);
                        let (p, tail) = rest.split_at_mut(len - 12);
                        let tg = key
                            .seal_in_place_separate_tag(
                                Nonce::assume_unique_for_key(nonce),
                                Aad::from(&*h),
                                p,
                            )
                            .unwrap();
                        tail[..16].copy_from_slice(tg.as_ref());
                    }
                } else {
                    for b in bufs.iter_mut() {
                        n += 1;
                        let mut iv = [0u8; 16];
                        iv[6..14].copy_from_slice(&n.to_be_bytes());
                        let core =
                            ctr::CtrCore::<&Aes128Enc, ctr::flavors::Ctr128BE>::inner_iv_init(
                                &aes,
                                &iv.into(),
                            );
                        StreamCipherCoreWrapper::from_core(core).apply_keystream(&mut b[12..len]);
                        let mut m = hm.clone();
                        m.update(&b[..len]);
                        m.update(&[0; 4]);
                        let tg = m.finalize().into_bytes();
                        b[len..len + tag].copy_from_slice(&tg[..tag]);
                    }
                }
                best_raw = best_raw.min(s.elapsed().as_secs_f64() / CH as f64);
            }
            println!(
                "{len:5}B {:28} protect {:7.1} ({:4.2})  unprotect {:7.1} ({:4.2})  raw {:7.1} ({:4.2})  of raw: {:5.1}% / {:5.1}%",
                profile.name(),
                best_ours * 1e9,
                1e-6 / best_ours,
                best_un * 1e9,
                1e-6 / best_un,
                best_raw * 1e9,
                1e-6 / best_raw,
                100.0 * best_raw / best_ours,
                100.0 * best_raw / best_un
            );
        }
    }
}
