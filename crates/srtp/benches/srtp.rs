//! SRTP protect/unprotect per profile for 160-byte (audio) and 1200-byte (video) RTP
//! packets, beside the raw primitives they are built from, in one run:
//! ring AES-GCM seal/open, and RustCrypto AES-128-CTR + HMAC-SHA1.
//!
//! Every benchmark processes chunks of 256 fresh packets; preparing a chunk (copying the
//! template, or protecting packets for the receiver to unprotect) is not timed, so ours
//! and the raw primitives are measured alike. Throughput is one element per packet.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use aes::cipher::{InnerIvInit, StreamCipher, StreamCipherCoreWrapper};
use aes::Aes128Enc;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hmac::{Hmac, KeyInit, Mac};
use oxrtc_srtp::{Context, Policy, SrtpProfile};
use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use sha1::Sha1;
use subtle::ConstantTimeEq;

const CHUNK: usize = 256;
const SSRC: u32 = 0x1234_5678;

fn rtp(seq: u16, len: usize) -> Vec<u8> {
    let mut p = vec![0x80, 0x60];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0x10, 0]);
    p.extend_from_slice(&SSRC.to_be_bytes());
    p.resize(len, 0xa5);
    p
}

fn context(profile: SrtpProfile) -> Context {
    let key = [0x2bu8; 32];
    let salt = [0x5au8; 14];
    Context::new(
        profile,
        &key[..profile.master_key_len()],
        &salt[..profile.master_salt_len()],
        Policy::default(),
    )
    .unwrap()
}

/// Runs `iters` packets through `run` in chunks, each chunk prepared by `setup`
/// (untimed). Returns the time spent in `run`.
fn chunked(
    iters: u64,
    bufs: &mut [Vec<u8>],
    mut setup: impl FnMut(&mut Vec<u8>),
    mut run: impl FnMut(&mut Vec<u8>),
) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = (left as usize).min(bufs.len());
        for b in &mut bufs[..n] {
            setup(b);
        }
        let t = Instant::now();
        for b in &mut bufs[..n] {
            run(b);
        }
        total += t.elapsed();
        left -= n as u64;
    }
    total
}

fn bench_size(c: &mut Criterion, len: usize) {
    let mut g = c.benchmark_group(format!("srtp_{len}B"));
    g.throughput(Throughput::Elements(1));
    let template = rtp(0, len);

    // --- oxrtc-srtp, each profile ---
    for profile in SrtpProfile::ALL {
        g.bench_function(format!("{profile}/protect"), |b| {
            let mut ctx = context(profile);
            let mut seq = 0u16;
            let mut bufs = vec![vec![0u8; len + 16]; CHUNK];
            b.iter_custom(|iters| {
                chunked(
                    iters,
                    &mut bufs,
                    |buf| {
                        buf[..len].copy_from_slice(&template);
                        buf[2..4].copy_from_slice(&seq.to_be_bytes());
                        seq = seq.wrapping_add(1);
                    },
                    |buf| {
                        black_box(ctx.protect_rtp(buf, len).unwrap());
                    },
                )
            });
        });
        g.bench_function(format!("{profile}/unprotect"), |b| {
            let mut tx = context(profile);
            let mut rx = context(profile);
            let mut seq = 0u16;
            let tag = profile.rtp_auth_tag_len();
            let mut bufs = vec![vec![0u8; len + 16]; CHUNK];
            b.iter_custom(|iters| {
                chunked(
                    iters,
                    &mut bufs,
                    |buf| {
                        buf.resize(len + 16, 0);
                        buf[..len].copy_from_slice(&template);
                        buf[2..4].copy_from_slice(&seq.to_be_bytes());
                        seq = seq.wrapping_add(1);
                        tx.protect_rtp(buf, len).unwrap();
                        buf.truncate(len + tag);
                    },
                    |buf| {
                        black_box(rx.unprotect_rtp(buf).unwrap());
                    },
                )
            });
        });
    }

    // --- raw ring AES-GCM ---
    for (name, alg) in [
        ("raw_ring_aes128gcm", &aead::AES_128_GCM),
        ("raw_ring_aes256gcm", &aead::AES_256_GCM),
    ] {
        let key = LessSafeKey::new(UnboundKey::new(alg, &[0x2b; 32][..alg.key_len()]).unwrap());
        g.bench_function(format!("{name}/seal"), |b| {
            let mut n = 0u64;
            let mut bufs = vec![vec![0u8; len + 16]; CHUNK];
            b.iter_custom(|iters| {
                chunked(
                    iters,
                    &mut bufs,
                    |buf| buf[..len].copy_from_slice(&template),
                    |buf| {
                        n += 1;
                        let mut nonce = [0u8; 12];
                        nonce[4..].copy_from_slice(&n.to_be_bytes());
                        let (header, rest) = buf.split_at_mut(12);
                        let (payload, tail) = rest.split_at_mut(len - 12);
                        let tag = key
                            .seal_in_place_separate_tag(
                                Nonce::assume_unique_for_key(nonce),
                                Aad::from(&*header),
                                payload,
                            )
                            .unwrap();
                        tail[..16].copy_from_slice(tag.as_ref());
                    },
                )
            });
        });
        g.bench_function(format!("{name}/open"), |b| {
            let mut sealed = template.clone();
            sealed.resize(len + 16, 0);
            let nonce = [7u8; 12];
            {
                let (header, rest) = sealed.split_at_mut(12);
                let (payload, tail) = rest.split_at_mut(len - 12);
                let tag = key
                    .seal_in_place_separate_tag(
                        Nonce::assume_unique_for_key(nonce),
                        Aad::from(&*header),
                        payload,
                    )
                    .unwrap();
                tail.copy_from_slice(tag.as_ref());
            }
            let mut bufs = vec![vec![0u8; len + 16]; CHUNK];
            b.iter_custom(|iters| {
                chunked(
                    iters,
                    &mut bufs,
                    |buf| buf.copy_from_slice(&sealed),
                    |buf| {
                        let (header, rest) = buf.split_at_mut(12);
                        black_box(
                            key.open_in_place(
                                Nonce::assume_unique_for_key(nonce),
                                Aad::from(&*header),
                                rest,
                            )
                            .unwrap(),
                        );
                    },
                )
            });
        });
    }

    // --- raw RustCrypto AES-128-CTR + HMAC-SHA1 (80-bit tag) ---
    let aes = Aes128Enc::new_from_slice(&[0x2b; 16]).unwrap();
    let hmac = <Hmac<Sha1> as KeyInit>::new_from_slice(&[0x3c; 20]).unwrap();
    let ctr = |iv: [u8; 16], data: &mut [u8]| {
        let core =
            ctr::CtrCore::<&Aes128Enc, ctr::flavors::Ctr128BE>::inner_iv_init(&aes, &iv.into());
        StreamCipherCoreWrapper::from_core(core).apply_keystream(data);
    };
    let mac = |data: &[u8]| {
        let mut m = hmac.clone();
        m.update(data);
        m.update(&[0, 0, 0, 0]);
        m.finalize().into_bytes()
    };
    g.bench_function("raw_aes128ctr_hmacsha1/encrypt_mac", |b| {
        let mut n = 0u64;
        let mut bufs = vec![vec![0u8; len + 16]; CHUNK];
        b.iter_custom(|iters| {
            chunked(
                iters,
                &mut bufs,
                |buf| buf[..len].copy_from_slice(&template),
                |buf| {
                    n += 1;
                    let mut iv = [0u8; 16];
                    iv[6..14].copy_from_slice(&n.to_be_bytes());
                    ctr(iv, &mut buf[12..len]);
                    let tag = mac(&buf[..len]);
                    buf[len..len + 10].copy_from_slice(&tag[..10]);
                },
            )
        });
    });
    g.bench_function("raw_aes128ctr_hmacsha1/verify_decrypt", |b| {
        let mut sealed = template.clone();
        ctr([9; 16], &mut sealed[12..]);
        let tag = mac(&sealed);
        sealed.extend_from_slice(&tag[..10]);
        let mut bufs = vec![vec![0u8; len + 16]; CHUNK];
        b.iter_custom(|iters| {
            chunked(
                iters,
                &mut bufs,
                |buf| {
                    buf.truncate(len + 10);
                    buf.copy_from_slice(&sealed);
                },
                |buf| {
                    let tag = mac(&buf[..len]);
                    assert!(bool::from(tag[..10].ct_eq(&buf[len..])));
                    ctr([9; 16], &mut buf[12..len]);
                    black_box(&buf);
                },
            )
        });
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    bench_size(c, 160);
    bench_size(c, 1200);
}

criterion_group! {
    name = srtp;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
    targets = benches
}
criterion_main!(srtp);
