//! Public-API tests: round trips for every profile, rollover with reordering, replay,
//! SRTCP, stream policy, keying material split, malformed input.
#![allow(clippy::unwrap_used)]

use oxrtc_srtp::{Context, ContextPair, Error, Policy, SrtpProfile};
use proptest::prelude::*;

const SSRC: u32 = 0xcafe_babe;

fn keys(profile: SrtpProfile, seed: u8) -> (Vec<u8>, Vec<u8>) {
    let key = (0..profile.master_key_len())
        .map(|i| seed.wrapping_add(i as u8).wrapping_mul(31))
        .collect();
    let salt = (0..profile.master_salt_len())
        .map(|i| seed.wrapping_add(i as u8).wrapping_mul(17) ^ 0x5a)
        .collect();
    (key, salt)
}

/// A sender and a receiver keyed alike.
fn pair(profile: SrtpProfile, policy: Policy) -> (Context, Context) {
    let (k, s) = keys(profile, 7);
    (
        Context::new(profile, &k, &s, policy.clone()).unwrap(),
        Context::new(profile, &k, &s, policy).unwrap(),
    )
}

fn rtp(seq: u16, ssrc: u32, payload_len: usize) -> Vec<u8> {
    let mut p = vec![0x80, 0x60];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&u32::from(seq).wrapping_mul(960).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend((0..payload_len).map(|i| (i as u8) ^ (seq as u8)));
    p
}

fn rtcp_sr(ssrc: u32, fill: u8) -> Vec<u8> {
    let mut p = vec![0x80, 200, 0, 6];
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(&[fill; 20]);
    p
}

fn protect(ctx: &mut Context, plain: &[u8]) -> Vec<u8> {
    let mut v = plain.to_vec();
    ctx.protect_rtp_vec(&mut v).unwrap();
    v
}

fn unprotect(ctx: &mut Context, packet: &[u8]) -> Result<Vec<u8>, Error> {
    let mut v = packet.to_vec();
    let n = ctx.unprotect_rtp(&mut v)?;
    v.truncate(n);
    Ok(v)
}

#[test]
fn round_trip_every_profile_with_csrcs_and_extension() {
    for profile in SrtpProfile::ALL {
        let (mut tx, mut rx) = pair(profile, Policy::default());
        // V=2, X=1, CC=2; two CSRCs, a one-word one-byte-header extension.
        let mut p = vec![0x92, 0x60, 0x12, 0x34, 0, 0, 0, 9];
        p.extend_from_slice(&SSRC.to_be_bytes());
        p.extend_from_slice(&[1, 1, 1, 1, 2, 2, 2, 2]);
        p.extend_from_slice(&[0xbe, 0xde, 0x00, 0x01, 0x10, 0xaa, 0, 0]);
        let header_len = p.len();
        p.extend_from_slice(b"the payload, not the header");
        let s = protect(&mut tx, &p);
        assert_eq!(s.len(), p.len() + profile.rtp_auth_tag_len(), "{profile}");
        // Header (CSRCs, extension) in clear, payload not.
        assert_eq!(s[..header_len], p[..header_len]);
        assert_ne!(s[header_len..p.len()], p[header_len..]);
        assert_eq!(unprotect(&mut rx, &s).unwrap(), p, "{profile}");
    }
}

#[test]
fn empty_payload_round_trips() {
    for profile in SrtpProfile::ALL {
        let (mut tx, mut rx) = pair(profile, Policy::default());
        let p = rtp(1, SSRC, 0);
        let s = protect(&mut tx, &p);
        assert_eq!(unprotect(&mut rx, &s).unwrap(), p);
    }
}

#[test]
fn rollover_with_reordering_every_profile() {
    for profile in SrtpProfile::ALL {
        let (mut tx, mut rx) = pair(profile, Policy::default());
        // Sequence numbers 65000..=65535, a whole cycle, then into a third: ROC 0, 1, 2.
        let seqs: Vec<u16> = (0..70_000u32).map(|i| (65000 + i) as u16).collect();
        let packets: Vec<(Vec<u8>, Vec<u8>)> = seqs
            .iter()
            .map(|&seq| {
                let p = rtp(seq, SSRC, 40);
                let s = protect(&mut tx, &p);
                (p, s)
            })
            .collect();
        assert_eq!(tx.rollover_counter(SSRC), Some(2));
        // Deliver in blocks of 50 reversed: reordering right across each wrap.
        let mut order: Vec<usize> = Vec::with_capacity(packets.len());
        for chunk in (0..packets.len()).collect::<Vec<_>>().chunks(50) {
            order.extend(chunk.iter().rev());
        }
        for i in order {
            let (plain, protected) = &packets[i];
            assert_eq!(
                unprotect(&mut rx, protected).as_ref(),
                Ok(plain),
                "{profile} packet {i}"
            );
        }
        assert_eq!(rx.rollover_counter(SSRC), Some(2));
        // Every one again is a replay or too old.
        for (_, protected) in packets.iter().rev().take(300) {
            let e = unprotect(&mut rx, protected).unwrap_err();
            assert!(
                matches!(e, Error::ReplayDuplicate | Error::ReplayTooOld),
                "{e}"
            );
        }
    }
}

#[test]
fn late_packet_from_before_the_wrap_uses_the_old_roc() {
    let (mut tx, mut rx) = pair(SrtpProfile::Aes128CmHmacSha1_80, Policy::default());
    let seqs = [65530u16, 65531, 65532, 65533, 65534, 65535, 0, 1, 2, 3];
    let s: Vec<Vec<u8>> = seqs
        .iter()
        .map(|&q| protect(&mut tx, &rtp(q, SSRC, 20)))
        .collect();
    // 65530, then 0..3 (ROC 1), then the late 65531..65535 (ROC 0).
    for i in [0usize, 6, 7, 8, 9, 1, 2, 3, 4, 5] {
        assert_eq!(unprotect(&mut rx, &s[i]), Ok(rtp(seqs[i], SSRC, 20)), "{i}");
    }
    assert_eq!(rx.rollover_counter(SSRC), Some(1));
}

#[test]
fn replay_cases() {
    for profile in SrtpProfile::ALL {
        let (mut tx, mut rx) = pair(profile, Policy::default().with_replay_window(128));
        let s: Vec<Vec<u8>> = (0..400u16)
            .map(|q| protect(&mut tx, &rtp(q, SSRC, 8)))
            .collect();
        unprotect(&mut rx, &s[300]).unwrap();
        assert_eq!(unprotect(&mut rx, &s[300]), Err(Error::ReplayDuplicate));
        // Inside the window, unseen: accepted once.
        unprotect(&mut rx, &s[173]).unwrap();
        assert_eq!(unprotect(&mut rx, &s[173]), Err(Error::ReplayDuplicate));
        // Just outside the window.
        assert_eq!(unprotect(&mut rx, &s[172]), Err(Error::ReplayTooOld));
        assert_eq!(unprotect(&mut rx, &s[0]), Err(Error::ReplayTooOld));
        // Newer packets slide it.
        unprotect(&mut rx, &s[399]).unwrap();
        assert_eq!(unprotect(&mut rx, &s[271]), Err(Error::ReplayTooOld));
        unprotect(&mut rx, &s[272]).unwrap();
    }
}

#[test]
fn larger_replay_window_is_honoured() {
    let (mut tx, mut rx) = pair(
        SrtpProfile::AeadAes128Gcm,
        Policy::default().with_replay_window(1024),
    );
    let s: Vec<Vec<u8>> = (0..1100u16)
        .map(|q| protect(&mut tx, &rtp(q, SSRC, 8)))
        .collect();
    unprotect(&mut rx, &s[1099]).unwrap();
    unprotect(&mut rx, &s[76]).unwrap();
    assert_eq!(unprotect(&mut rx, &s[75]), Err(Error::ReplayTooOld));
}

#[test]
fn invalid_replay_windows_are_refused() {
    let (k, s) = keys(SrtpProfile::AeadAes128Gcm, 1);
    for w in [0, 1, 63, 32769, u32::MAX] {
        assert_eq!(
            Context::new(
                SrtpProfile::AeadAes128Gcm,
                &k,
                &s,
                Policy::default().with_replay_window(w)
            )
            .unwrap_err(),
            Error::InvalidReplayWindow(w)
        );
    }
}

#[test]
fn authentication_failure_changes_nothing() {
    for profile in SrtpProfile::ALL {
        let (mut tx, mut rx) = pair(profile, Policy::default());
        let first = protect(&mut tx, &rtp(65535, SSRC, 30));
        let next = protect(&mut tx, &rtp(0, SSRC, 30));
        // A forgery of an unknown SSRC creates no stream.
        let mut forged = next.clone();
        forged[11] ^= 1;
        assert_eq!(
            unprotect(&mut rx, &forged),
            Err(Error::AuthenticationFailed)
        );
        assert_eq!(rx.stream_count(), 0);
        unprotect(&mut rx, &first).unwrap();
        assert_eq!(rx.rollover_counter(SSRC), Some(0));
        // Every single-bit flip anywhere fails and moves neither ROC nor window.
        for byte in 0..next.len() {
            let mut bad = next.clone();
            bad[byte] ^= 0x04;
            let e = unprotect(&mut rx, &bad).unwrap_err();
            assert!(
                matches!(
                    e,
                    Error::AuthenticationFailed
                        | Error::BadVersion
                        | Error::TooShort
                        | Error::UnknownSsrc(_)
                ),
                "{profile} byte {byte}: {e}"
            );
            assert_eq!(rx.rollover_counter(SSRC), Some(0));
        }
        // Truncated tags fail too.
        assert!(unprotect(&mut rx, &next[..next.len() - 1]).is_err());
        // The genuine packet still goes through, with the ROC advanced.
        assert_eq!(unprotect(&mut rx, &next), Ok(rtp(0, SSRC, 30)));
        assert_eq!(rx.rollover_counter(SSRC), Some(1));
        assert_eq!(rx.stream_count(), 1);
    }
}

#[test]
fn wrong_key_fails_authentication() {
    for profile in SrtpProfile::ALL {
        let (mut tx, _) = pair(profile, Policy::default());
        let (k, s) = keys(profile, 8);
        let mut other = Context::new(profile, &k, &s, Policy::default()).unwrap();
        let p = protect(&mut tx, &rtp(5, SSRC, 100));
        assert_eq!(unprotect(&mut other, &p), Err(Error::AuthenticationFailed));
    }
}

#[test]
fn srtcp_round_trip_index_and_replay() {
    for profile in SrtpProfile::ALL {
        let (mut tx, mut rx) = pair(profile, Policy::default());
        let mut sent = Vec::new();
        for i in 0..300u32 {
            let plain = rtcp_sr(SSRC, i as u8);
            assert_eq!(tx.srtcp_index(SSRC), if i == 0 { None } else { Some(i) });
            let mut p = plain.clone();
            tx.protect_rtcp_vec(&mut p).unwrap();
            assert_eq!(p.len(), plain.len() + profile.rtcp_overhead());
            // E flag set, index i, at the profile's place.
            let at = if profile.is_aead() {
                p.len() - 4
            } else {
                plain.len()
            };
            assert_eq!(p[at..at + 4], (0x8000_0000u32 | i).to_be_bytes());
            assert_ne!(p[8..plain.len()], plain[8..], "body encrypted");
            sent.push((plain, p));
        }
        // Out of order within the window.
        for i in (172..300).rev() {
            let (plain, p) = &sent[i];
            let mut b = p.clone();
            let n = rx.unprotect_rtcp(&mut b).unwrap();
            assert_eq!(&b[..n], &plain[..], "{profile} {i}");
        }
        let mut again = sent[299].1.clone();
        assert_eq!(rx.unprotect_rtcp(&mut again), Err(Error::ReplayDuplicate));
        let mut old = sent[100].1.clone();
        assert_eq!(rx.unprotect_rtcp(&mut old), Err(Error::ReplayTooOld));
        // Tampering with the index word or the body fails authentication.
        let mut bad = sent[10].1.clone();
        let at = if profile.is_aead() {
            bad.len() - 3
        } else {
            sent[10].0.len() + 1
        };
        bad[at] ^= 0x01; // index 10 becomes 65546, in the future
        assert_eq!(
            rx.unprotect_rtcp(&mut bad),
            Err(Error::AuthenticationFailed)
        );
        let mut bad = sent[298].1.clone();
        bad[5] ^= 1; // the SSRC: an unknown stream, and a forgery
        assert_eq!(
            rx.unprotect_rtcp(&mut bad),
            Err(Error::AuthenticationFailed)
        );
        assert_eq!(rx.stream_count(), 1);
    }
}

#[test]
fn srtcp_and_srtp_share_a_stream_but_not_indices() {
    let (mut tx, mut rx) = pair(SrtpProfile::Aes128CmHmacSha1_32, Policy::default());
    let s = protect(&mut tx, &rtp(9, SSRC, 10));
    let mut c = rtcp_sr(SSRC, 1);
    tx.protect_rtcp_vec(&mut c).unwrap();
    // 32-bit tag on RTP, 80-bit on RTCP.
    assert_eq!(s.len(), 12 + 10 + 4);
    assert_eq!(c.len(), 28 + 14);
    unprotect(&mut rx, &s).unwrap();
    let n = rx.unprotect_rtcp(&mut c).unwrap();
    assert_eq!(n, 28);
    assert_eq!(rx.stream_count(), 1);
}

#[test]
fn unknown_ssrc_when_the_policy_forbids_creation() {
    for profile in SrtpProfile::ALL {
        let policy = Policy::default().with_accept_new_ssrc(false);
        let (mut tx, mut rx) = pair(profile, policy);
        let mut buf = rtp(1, SSRC, 10);
        buf.resize(100, 0);
        assert_eq!(tx.protect_rtp(&mut buf, 22), Err(Error::UnknownSsrc(SSRC)));
        tx.add_stream(SSRC).unwrap();
        let p = protect(&mut tx, &rtp(1, SSRC, 10));
        assert_eq!(unprotect(&mut rx, &p), Err(Error::UnknownSsrc(SSRC)));
        let mut c = rtcp_sr(SSRC, 0);
        tx.protect_rtcp_vec(&mut c).unwrap();
        assert_eq!(
            rx.unprotect_rtcp(&mut c.clone()),
            Err(Error::UnknownSsrc(SSRC))
        );
        rx.add_stream(SSRC).unwrap();
        assert_eq!(unprotect(&mut rx, &p), Ok(rtp(1, SSRC, 10)));
        assert!(rx.unprotect_rtcp(&mut c).is_ok());
        assert!(rx.remove_stream(SSRC));
        assert!(!rx.remove_stream(SSRC));
    }
}

#[test]
fn stream_limit() {
    let (mut tx, mut rx) = pair(
        SrtpProfile::AeadAes256Gcm,
        Policy::default().with_max_streams(2),
    );
    let a = protect(&mut tx, &rtp(1, 1, 10));
    let b = protect(&mut tx, &rtp(1, 2, 10));
    let mut buf = rtp(1, 3, 10);
    buf.resize(60, 0);
    assert_eq!(tx.protect_rtp(&mut buf, 22), Err(Error::TooManyStreams));
    unprotect(&mut rx, &a).unwrap();
    unprotect(&mut rx, &b).unwrap();
    tx.remove_stream(1);
    let c = protect(&mut tx, &rtp(1, 3, 10));
    assert_eq!(unprotect(&mut rx, &c), Err(Error::TooManyStreams));
}

#[test]
fn repeated_transmission_is_refused_unless_allowed() {
    for profile in SrtpProfile::ALL {
        let (mut tx, _) = pair(profile, Policy::default());
        let p = rtp(10, SSRC, 10);
        protect(&mut tx, &p);
        let mut again = p.clone();
        assert_eq!(tx.protect_rtp_vec(&mut again), Err(Error::ReplayDuplicate));
        assert_eq!(again, p, "vec unchanged on error");

        let (mut tx, mut rx) = pair(profile, Policy::default().with_allow_repeat_tx(true));
        let first = protect(&mut tx, &p);
        let second = protect(&mut tx, &p);
        assert_eq!(first, second, "same index, same bytes");
        unprotect(&mut rx, &first).unwrap();
        assert_eq!(unprotect(&mut rx, &second), Err(Error::ReplayDuplicate));
    }
}

#[test]
fn malformed_and_short_input() {
    for profile in SrtpProfile::ALL {
        let (_, mut rx) = pair(profile, Policy::default());
        let tag = profile.rtp_auth_tag_len();
        for len in 0..12 + tag {
            let mut b = vec![0x80u8; len];
            assert_eq!(rx.unprotect_rtp(&mut b), Err(Error::TooShort), "{len}");
        }
        // Version 1.
        let mut b = vec![0x40u8; 64];
        assert_eq!(rx.unprotect_rtp(&mut b), Err(Error::BadVersion));
        // CC = 15 with no room for CSRCs.
        let mut b = vec![0x8fu8; 12 + tag + 8];
        assert_eq!(rx.unprotect_rtp(&mut b), Err(Error::TooShort));
        // Extension claiming 65535 words.
        let mut b = vec![
            0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0xff, 0xff,
        ];
        b.resize(16 + tag + 4, 0);
        assert_eq!(rx.unprotect_rtp(&mut b), Err(Error::TooShort));
        for len in 0..8 + profile.rtcp_overhead() {
            let mut b = vec![0x80u8; len];
            assert_eq!(rx.unprotect_rtcp(&mut b), Err(Error::TooShort), "{len}");
        }
        let mut b = vec![0x00u8; 64];
        assert_eq!(rx.unprotect_rtcp(&mut b), Err(Error::BadVersion));
        assert_eq!(rx.stream_count(), 0);
    }
}

#[test]
fn protect_checks_the_caller_buffer() {
    let (mut tx, _) = pair(SrtpProfile::Aes128CmHmacSha1_80, Policy::default());
    let p = rtp(1, SSRC, 10);
    let mut exact = p.clone();
    assert_eq!(
        tx.protect_rtp(&mut exact, 22),
        Err(Error::BufferTooSmall {
            needed: 32,
            capacity: 22
        })
    );
    assert_eq!(exact, p);
    assert_eq!(
        tx.protect_rtp(&mut exact, 23),
        Err(Error::LengthOutOfBounds {
            len: 23,
            capacity: 22
        })
    );
    let mut short = vec![0x80u8; 40];
    assert_eq!(tx.protect_rtp(&mut short, 11), Err(Error::TooShort));
    let mut c = rtcp_sr(SSRC, 0);
    assert_eq!(
        tx.protect_rtcp(&mut c, 28),
        Err(Error::BufferTooSmall {
            needed: 42,
            capacity: 28
        })
    );
    assert_eq!(tx.stream_count(), 0);
}

#[test]
fn key_and_salt_lengths_are_checked() {
    for profile in SrtpProfile::ALL {
        let (k, s) = keys(profile, 1);
        assert!(matches!(
            Context::new(profile, &k[1..], &s, Policy::default()),
            Err(Error::InvalidKeyLength { .. })
        ));
        let mut long = s.clone();
        long.push(0);
        assert!(matches!(
            Context::new(profile, &k, &long, Policy::default()),
            Err(Error::InvalidSaltLength { .. })
        ));
    }
}

#[test]
fn keying_material_split_rfc5764() {
    for profile in SrtpProfile::ALL {
        let material: Vec<u8> = (0..profile.keying_material_len() as u8).collect();
        let mut client =
            ContextPair::from_keying_material(profile, &material, true, Policy::default()).unwrap();
        let mut server =
            ContextPair::from_keying_material(profile, &material, false, Policy::default())
                .unwrap();
        // client_write_key | server_write_key | client_write_salt | server_write_salt
        let (k, s) = (profile.master_key_len(), profile.master_salt_len());
        let mut client_writer = Context::new(
            profile,
            &material[..k],
            &material[2 * k..2 * k + s],
            Policy::default(),
        )
        .unwrap();
        let mut server_writer = Context::new(
            profile,
            &material[k..2 * k],
            &material[2 * k + s..],
            Policy::default(),
        )
        .unwrap();
        let p = rtp(3, SSRC, 50);
        let from_client = protect(&mut client.outbound, &p);
        assert_eq!(from_client, protect(&mut client_writer, &p));
        assert_eq!(unprotect(&mut server.inbound, &from_client), Ok(p.clone()));
        let from_server = protect(&mut server.outbound, &p);
        assert_eq!(from_server, protect(&mut server_writer, &p));
        assert_eq!(unprotect(&mut client.inbound, &from_server), Ok(p.clone()));
        // A side cannot read its own traffic.
        let own = protect(&mut client.outbound, &rtp(4, SSRC, 50));
        assert_eq!(
            unprotect(&mut client.inbound, &own),
            Err(Error::AuthenticationFailed)
        );
        assert!(matches!(
            ContextPair::from_keying_material(profile, &material[1..], true, Policy::default()),
            Err(Error::InvalidKeyingMaterialLength { .. })
        ));
    }
}

proptest! {
    /// unprotect(protect(p)) == p for arbitrary headers (CSRCs, extensions, marker,
    /// padding bit) and payloads, any profile.
    #[test]
    fn protect_unprotect_round_trip(
        profile in prop::sample::select(SrtpProfile::ALL.to_vec()),
        cc in 0u8..16,
        ext_words in prop::option::of(0u16..8),
        flags in any::<u8>(),
        seq in any::<u16>(),
        ssrc in any::<u32>(),
        payload in prop::collection::vec(any::<u8>(), 0..1500),
    ) {
        let (mut tx, mut rx) = pair(profile, Policy::default());
        let mut p = vec![0x80 | (flags & 0x20) | cc | if ext_words.is_some() { 0x10 } else { 0 }, flags];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&[1, 2, 3, 4]);
        p.extend_from_slice(&ssrc.to_be_bytes());
        for i in 0..cc { p.extend_from_slice(&[i; 4]); }
        if let Some(w) = ext_words {
            p.extend_from_slice(&[0x10, 0x00]);
            p.extend_from_slice(&w.to_be_bytes());
            p.extend((0..4 * w).map(|i| i as u8));
        }
        p.extend_from_slice(&payload);
        let s = protect(&mut tx, &p);
        prop_assert_eq!(s.len(), p.len() + profile.rtp_auth_tag_len());
        prop_assert_eq!(unprotect(&mut rx, &s), Ok(p.clone()));
        // Stable: protecting the unprotected packet with a fresh sender gives the same bytes.
        let (mut tx2, _) = pair(profile, Policy::default());
        prop_assert_eq!(protect(&mut tx2, &p), s);
    }

    /// Random delivery order within ±60 packets over a span that crosses a wrap: every
    /// packet is delivered once, correctly, and duplicates are refused.
    #[test]
    fn reordered_delivery_across_rollover(
        profile in prop::sample::select(SrtpProfile::ALL.to_vec()),
        start in 65000u32..65535,
        swaps in prop::collection::vec((0usize..1200, 1usize..60), 0..600),
    ) {
        let (mut tx, mut rx) = pair(profile, Policy::default());
        let n = 1200usize;
        let packets: Vec<(Vec<u8>, Vec<u8>)> = (0..n)
            .map(|i| {
                let p = rtp((start as usize + i) as u16, SSRC, 16);
                let s = protect(&mut tx, &p);
                (p, s)
            })
            .collect();
        let mut order: Vec<usize> = (0..n).collect();
        for (i, d) in swaps {
            let j = (i + d).min(n - 1);
            order.swap(i, j);
        }
        // Keep the first delivery the first packet so ROC 0 is the starting point,
        // as a real receiver sees the stream start.
        let first = order.iter().position(|&i| i == 0).unwrap();
        order.swap(0, first);
        // The swaps may move a packet more than the window behind the newest one; only
        // those may be refused, and only as too old.
        let mut newest = 0usize;
        for i in order {
            let (plain, protected) = &packets[i];
            match unprotect(&mut rx, protected) {
                Ok(p) => prop_assert_eq!(&p, plain),
                Err(e) => {
                    prop_assert_eq!(e, Error::ReplayTooOld);
                    prop_assert!(newest >= i + 128);
                }
            }
            newest = newest.max(i);
            prop_assert_eq!(unprotect(&mut rx, protected).unwrap_err(),
                if newest >= i + 128 { Error::ReplayTooOld } else { Error::ReplayDuplicate });
        }
    }
}

/// SRTCP with authentication only (E = 0, RFC 3711 §3.4), as libsrtp produces it with
/// `sec_serv_auth` for RTCP (generated with pylibsrtp 1.0.0): master key || salt =
/// 00 01 02 ..., sender report from SSRC 0x12345678, SRTCP index 1.
#[test]
fn libsrtp_authentication_only_srtcp() {
    let plain = hex::decode("80c8000612345678000102030405060708090a0b0c0d0e0f10111213").unwrap();
    let cm = "80c8000612345678000102030405060708090a0b0c0d0e0f10111213000000015867d909ffe875501957";
    for (profile, srtcp) in [
        (SrtpProfile::Aes128CmHmacSha1_80, cm),
        (SrtpProfile::Aes128CmHmacSha1_32, cm),
        (
            SrtpProfile::AeadAes128Gcm,
            "80c8000612345678000102030405060708090a0b0c0d0e0f101112135d7d915c67f851952cf669202a1b972800000001",
        ),
        (
            SrtpProfile::AeadAes256Gcm,
            "80c8000612345678000102030405060708090a0b0c0d0e0f10111213a18af46c18d4d1245efc0e25c5daa50c00000001",
        ),
    ] {
        let material: Vec<u8> = (0..(profile.master_key_len() + profile.master_salt_len()) as u8).collect();
        let (key, salt) = material.split_at(profile.master_key_len());
        let mut rx = Context::new(profile, key, salt, Policy::default()).unwrap();
        let mut buf = hex::decode(srtcp).unwrap();
        let n = rx.unprotect_rtcp(&mut buf).unwrap();
        assert_eq!(buf[..n], plain[..], "{profile}");
        // Replayed: refused. Tampered clear body: refused.
        let mut again = hex::decode(srtcp).unwrap();
        assert_eq!(rx.unprotect_rtcp(&mut again), Err(Error::ReplayDuplicate));
        let mut rx = Context::new(profile, key, salt, Policy::default()).unwrap();
        let mut bad = hex::decode(srtcp).unwrap();
        bad[10] ^= 1;
        assert_eq!(rx.unprotect_rtcp(&mut bad), Err(Error::AuthenticationFailed), "{profile}");
    }
}

#[test]
fn contexts_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Context>();
    assert_send_sync::<ContextPair>();
    assert_send_sync::<Error>();
}
