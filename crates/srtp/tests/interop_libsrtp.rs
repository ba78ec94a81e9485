//! Interop with libsrtp, the reference implementation (used by Chromium), through
//! pylibsrtp in the interop virtualenv (`cargo xtask interop` installs it): for each
//! profile, libsrtp protects a few thousand RTP packets of two SSRCs crossing a sequence
//! number rollover, and we unprotect them delivered out of order; then the reverse; and
//! the same for SRTCP. These tests fail, not skip, when the oracle is missing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use oxrtc_srtp::{Context, Error, Policy, SrtpProfile};

const SSRCS: [u32; 2] = [0x1122_3344, 0xdead_beef];
/// RTP packets per SSRC; sequence numbers start 1500 before the wrap.
const PACKETS: usize = 2500;
const FIRST_SEQ: u16 = 65535 - 1500;

/// Kills the oracle if a test panics midway.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn python() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let py = root.join("target/interop/venv/bin/python");
    assert!(
        py.exists(),
        "{} missing: run `cargo xtask interop` (or `cargo xtask setup`) to install pylibsrtp",
        py.display()
    );
    py
}

/// Runs the libsrtp oracle over `packets`; one result per packet.
fn libsrtp(
    profile: SrtpProfile,
    key_salt: &[u8],
    mode: &str,
    kind: &str,
    packets: &[Vec<u8>],
) -> Vec<Result<Vec<u8>, String>> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop/libsrtp_oracle.py");
    let child = Command::new(python())
        .arg("-u")
        .arg(script)
        .arg(format!("{:#06x}", profile.id()))
        .arg(hex::encode(key_salt))
        .arg(mode)
        .arg(kind)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the libsrtp oracle");
    let mut guard = ChildGuard(child);
    let mut stdin = guard.0.stdin.take().unwrap();
    let input: String = packets.iter().map(|p| hex::encode(p) + "\n").collect();
    // Write from another thread so a full stdout pipe cannot deadlock us.
    let writer = std::thread::spawn(move || {
        stdin.write_all(input.as_bytes()).unwrap();
    });
    let stdout = BufReader::new(guard.0.stdout.take().unwrap());
    let mut out = Vec::with_capacity(packets.len());
    for line in stdout.lines() {
        let line = line.unwrap();
        out.push(match line.split_once(' ') {
            Some(("OK", h)) => Ok(hex::decode(h).unwrap()),
            Some(("ERR", e)) => Err(e.to_string()),
            _ => panic!("oracle said {line:?}"),
        });
    }
    writer.join().unwrap();
    let status = guard.0.wait().unwrap();
    assert!(status.success(), "libsrtp oracle failed: {status}");
    assert_eq!(out.len(), packets.len(), "oracle answered every packet");
    out
}

/// Deterministic xorshift, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn key_salt(profile: SrtpProfile, rng: &mut Rng) -> (Vec<u8>, Vec<u8>) {
    (
        rng.bytes(profile.master_key_len()),
        rng.bytes(profile.master_salt_len()),
    )
}

/// RTP packets of both SSRCs interleaved, in sending order: varied sizes, some with
/// CSRCs, some with a header extension, marker bits.
fn rtp_stream(rng: &mut Rng) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for i in 0..PACKETS {
        for (s, ssrc) in SSRCS.iter().enumerate() {
            let seq = FIRST_SEQ.wrapping_add(i as u16);
            let cc = if i % 7 == 0 { 2 } else { 0 };
            let ext = i % 5 == 0;
            let mut p = vec![
                0x80 | cc | if ext { 0x10 } else { 0 },
                (96 + s as u8) | if i % 30 == 0 { 0x80 } else { 0 },
            ];
            p.extend_from_slice(&seq.to_be_bytes());
            p.extend_from_slice(&((i as u32) * 3000).to_be_bytes());
            p.extend_from_slice(&ssrc.to_be_bytes());
            for _ in 0..cc {
                p.extend_from_slice(&rng.bytes(4));
            }
            if ext {
                p.extend_from_slice(&[0xbe, 0xde, 0x00, 0x02]);
                p.extend_from_slice(&rng.bytes(8));
            }
            let payload = if s == 0 { 160 } else { rng.below(1200) };
            p.extend_from_slice(&rng.bytes(payload));
            out.push(p);
        }
    }
    out
}

fn rtcp_stream(rng: &mut Rng) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for i in 0..400 {
        let ssrc = SSRCS[i % 2];
        // A sender report (6 words after the header) and a receiver report block.
        let mut p = vec![0x81, 200, 0, 12];
        p.extend_from_slice(&ssrc.to_be_bytes());
        p.extend_from_slice(&rng.bytes(20 + 24));
        out.push(p);
    }
    out
}

/// Local reordering: each packet is delayed by up to `reach` places (sorting by
/// position plus a random delay bounds how far any packet moves).
fn reorder(n: usize, reach: usize, rng: &mut Rng) -> Vec<usize> {
    let mut keyed: Vec<(usize, usize)> = (0..n).map(|i| (i + rng.below(reach), i)).collect();
    keyed.sort_unstable();
    let order: Vec<usize> = keyed.into_iter().map(|(_, i)| i).collect();
    assert!(order.iter().enumerate().any(|(k, &i)| k != i), "reordered");
    order
}

fn ours(profile: SrtpProfile, key: &[u8], salt: &[u8]) -> Context {
    Context::new(profile, key, salt, Policy::default()).unwrap()
}

fn check_profile(profile: SrtpProfile, seed: u64) {
    let mut rng = Rng(seed);
    let (key, salt) = key_salt(profile, &mut rng);
    let key_salt = [key.clone(), salt.clone()].concat();
    let rtp = rtp_stream(&mut rng);
    let rtcp = rtcp_stream(&mut rng);

    // libsrtp protects, we unprotect (reordered across the wrap).
    let protected: Vec<Vec<u8>> = libsrtp(profile, &key_salt, "protect", "rtp", &rtp)
        .into_iter()
        .map(|r| r.expect("libsrtp protects"))
        .collect();
    let mut rx = ours(profile, &key, &salt);
    for i in reorder(protected.len(), 40, &mut rng) {
        let mut buf = protected[i].clone();
        let n = rx
            .unprotect_rtp(&mut buf)
            .unwrap_or_else(|e| panic!("{profile}: libsrtp packet {i}: {e}"));
        assert_eq!(buf[..n], rtp[i][..], "{profile}: packet {i}");
    }
    for ssrc in SSRCS {
        assert_eq!(rx.rollover_counter(ssrc), Some(1), "{profile}");
    }
    let mut again = protected[protected.len() - 3].clone();
    assert_eq!(rx.unprotect_rtp(&mut again), Err(Error::ReplayDuplicate));

    // We protect, libsrtp unprotects (reordered).
    let mut tx = ours(profile, &key, &salt);
    let ours_protected: Vec<Vec<u8>> = rtp
        .iter()
        .map(|p| {
            let mut v = p.clone();
            tx.protect_rtp_vec(&mut v).unwrap();
            v
        })
        .collect();
    // Byte-identical to libsrtp's output: same keys, same indices.
    assert_eq!(
        ours_protected, protected,
        "{profile}: same bytes as libsrtp"
    );
    let order = reorder(ours_protected.len(), 40, &mut rng);
    let shuffled: Vec<Vec<u8>> = order.iter().map(|&i| ours_protected[i].clone()).collect();
    let plain = libsrtp(profile, &key_salt, "unprotect", "rtp", &shuffled);
    for (k, &i) in order.iter().enumerate() {
        assert_eq!(
            plain[k].as_deref(),
            Ok(&rtp[i][..]),
            "{profile}: libsrtp unprotecting our packet {i}"
        );
    }

    // SRTCP, libsrtp → us (libsrtp's first SRTCP index is 1, ours 0).
    let protected = libsrtp(profile, &key_salt, "protect", "rtcp", &rtcp);
    let mut rx = ours(profile, &key, &salt);
    for i in reorder(rtcp.len(), 20, &mut rng) {
        let mut buf = protected[i].clone().expect("libsrtp protects rtcp");
        let n = rx
            .unprotect_rtcp(&mut buf)
            .unwrap_or_else(|e| panic!("{profile}: libsrtp rtcp {i}: {e}"));
        assert_eq!(buf[..n], rtcp[i][..], "{profile}: rtcp {i}");
    }
    // SRTCP, us → libsrtp.
    let mut tx = ours(profile, &key, &salt);
    let ours_protected: Vec<Vec<u8>> = rtcp
        .iter()
        .map(|p| {
            let mut v = p.clone();
            tx.protect_rtcp_vec(&mut v).unwrap();
            v
        })
        .collect();
    let plain = libsrtp(profile, &key_salt, "unprotect", "rtcp", &ours_protected);
    for (i, p) in plain.iter().enumerate() {
        assert_eq!(
            p.as_deref(),
            Ok(&rtcp[i][..]),
            "{profile}: libsrtp rtcp {i}"
        );
    }
    // libsrtp refuses a tampered packet of ours, as we refuse its.
    let mut bad = ours_protected[5].clone();
    bad[12] ^= 1;
    let r = libsrtp(profile, &key_salt, "unprotect", "rtcp", &[bad]);
    assert_eq!(r[0], Err("authentication_failure".to_string()), "{profile}");
}

#[test]
#[ignore = "interop: run by cargo xtask interop"]
fn interop_libsrtp_aes128_cm_hmac_sha1_80() {
    check_profile(SrtpProfile::Aes128CmHmacSha1_80, 0x0001_5eed);
}

#[test]
#[ignore = "interop: run by cargo xtask interop"]
fn interop_libsrtp_aes128_cm_hmac_sha1_32() {
    check_profile(SrtpProfile::Aes128CmHmacSha1_32, 0x0002_5eed);
}

#[test]
#[ignore = "interop: run by cargo xtask interop"]
fn interop_libsrtp_aead_aes_128_gcm() {
    check_profile(SrtpProfile::AeadAes128Gcm, 0x0007_5eed);
}

#[test]
#[ignore = "interop: run by cargo xtask interop"]
fn interop_libsrtp_aead_aes_256_gcm() {
    check_profile(SrtpProfile::AeadAes256Gcm, 0x0008_5eed);
}
