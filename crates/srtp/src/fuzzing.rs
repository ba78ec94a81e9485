//! Harness functions for the cargo-fuzz targets in `/fuzz` (feature `fuzzing`).

use crate::{Context, Error, Policy, SrtpProfile};

const SSRC: u32 = 0x1234_5678;

fn context(profile: SrtpProfile) -> Option<Context> {
    let key = [0x11u8; 32];
    let salt = [0x22u8; 14];
    Context::new(
        profile,
        key.get(..profile.master_key_len())?,
        salt.get(..profile.master_salt_len())?,
        Policy::default(),
    )
    .ok()
}

/// `srtp_unprotect`: the first byte picks the profile (bits 0-1), RTP or RTCP (bit 2),
/// and whether a genuine packet is received first (bit 3); the rest is unprotected as an
/// arbitrary packet by a context keyed like the genuine sender. Asserts that nothing
/// panics, that a failed packet changes no state (stream count, rollover counter), that
/// a success never grows the packet, and that after a refused
/// packet a genuine fresh one still unprotects to exactly its plaintext (no state
/// corruption).
pub fn srtp_unprotect(data: &[u8]) {
    let Some((&selector, packet)) = data.split_first() else {
        return;
    };
    let profile = SrtpProfile::ALL[usize::from(selector & 3)];
    let rtcp = selector & 4 != 0;
    let (Some(mut sender), Some(mut receiver)) = (context(profile), context(profile)) else {
        panic!("keying a context with valid lengths failed");
    };

    let genuine = |sender: &mut Context, seq: u16| -> (Vec<u8>, Vec<u8>) {
        let mut plain = if rtcp {
            // A sender report header with an empty body.
            let mut p = vec![0x80, 200, 0, 6];
            p.extend_from_slice(&SSRC.to_be_bytes());
            p.extend_from_slice(&[0u8; 20]);
            p
        } else {
            let mut p = vec![0x80, 96];
            p.extend_from_slice(&seq.to_be_bytes());
            p.extend_from_slice(&[0, 0, 0, 1]);
            p.extend_from_slice(&SSRC.to_be_bytes());
            p.extend_from_slice(b"payload bytes");
            p
        };
        let clear = plain.clone();
        let r = if rtcp {
            sender.protect_rtcp_vec(&mut plain)
        } else {
            sender.protect_rtp_vec(&mut plain)
        };
        assert_eq!(r, Ok(()));
        (clear, plain)
    };

    if selector & 8 != 0 {
        let (clear, mut p) = genuine(&mut sender, 1000);
        let n = unprotect(&mut receiver, rtcp, &mut p).expect("genuine packet");
        assert_eq!(p.get(..n), Some(&clear[..]));
    }

    let streams = receiver.stream_count();
    let roc = receiver.rollover_counter(SSRC);
    let mut buf = packet.to_vec();
    match unprotect(&mut receiver, rtcp, &mut buf) {
        Ok(n) => {
            // Only a genuine packet (from the seed corpus, keyed alike) gets here.
            assert!(n <= packet.len());
        }
        Err(_) => {
            assert_eq!(receiver.stream_count(), streams);
            assert_eq!(receiver.rollover_counter(SSRC), roc);
            // The refused packet left no trace: a genuine fresh packet goes through.
            let (clear, mut p) = genuine(&mut sender, 1001);
            match unprotect(&mut receiver, rtcp, &mut p) {
                Ok(n) => assert_eq!(p.get(..n), Some(&clear[..])),
                Err(e) => panic!("genuine packet refused after arbitrary input: {e}"),
            }
        }
    }
}
fn unprotect(ctx: &mut Context, rtcp: bool, buf: &mut [u8]) -> Result<usize, Error> {
    if rtcp {
        ctx.unprotect_rtcp(buf)
    } else {
        ctx.unprotect_rtp(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The harness on the committed seed corpus, every single-bit flip of each seed
    /// and every truncation.
    #[test]
    fn harness_on_seeds_flips_and_truncations() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fuzz/corpus/srtp_unprotect"
        );
        let mut seeds = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let data = std::fs::read(entry.unwrap().path()).unwrap();
            seeds += 1;
            srtp_unprotect(&data);
            for i in 1..data.len() {
                srtp_unprotect(&data[..i]);
                let mut m = data.clone();
                m[i] ^= 1 << (i % 8);
                srtp_unprotect(&m);
            }
        }
        assert!(seeds >= 8, "seed corpus present");
    }
}
