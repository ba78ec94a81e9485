//! Handshakes over a lossy, duplicating, reordering network; retransmission timing;
//! fragmentation to small MTUs; replay; garbage floods.
#![allow(clippy::unwrap_used)]

mod common;

use common::{certs, configs, Net, Pair};
use oxrtc_dtls::{Connection, Error, Event, State};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Duration;

#[test]
fn completes_under_loss_duplication_and_reordering() {
    let (cc, sc) = certs();
    let mut retransmissions = 0;
    for seed in 0..40 {
        let (c, s) = configs(&cc, &sc);
        let mut p = Pair::new(c, s, Net::bad(), seed);
        assert!(
            p.drive_handshake(Duration::from_secs(25)),
            "seed {seed}: {:?} {:?}",
            p.client_events,
            p.server_events
        );
        retransmissions += p.client.stats().retransmissions + p.server.stats().retransmissions;
        // Data still flows, in spite of the impairments (send until something arrives).
        for i in 0..20u8 {
            p.client.send_application_data(&[i]).unwrap();
        }
        p.settle(Duration::from_secs(2));
        assert!(!p.server_data().is_empty(), "seed {seed}");
        assert!(p.server_data().iter().all(|d| d.len() == 1));
        let mut seen = p.server_data();
        seen.dedup();
        assert_eq!(
            seen.len(),
            p.server_data().len(),
            "duplicates delivered twice"
        );
        assert_eq!(
            p.client.srtp_keying_material().unwrap(),
            p.server.srtp_keying_material().unwrap()
        );
    }
    assert!(retransmissions > 0, "the impairments were never felt");
}

#[test]
fn same_seed_same_flow() {
    let (cc, sc) = certs();
    let run = |seed| {
        let (c, s) = configs(&cc, &sc);
        let mut p = Pair::new(c, s, Net::bad(), seed);
        assert!(p.drive_handshake(Duration::from_secs(25)));
        (
            p.delivered,
            p.now - p.start,
            p.client.stats(),
            p.server.stats(),
        )
    };
    assert_eq!(run(3), run(3));
}

#[test]
fn small_mtu_fragments_every_flight() {
    let (cc, sc) = certs();
    let (mut c, mut s) = configs(&cc, &sc);
    c.mtu = 256;
    s.mtu = 256;
    let mut p = Pair::new(c, s, Net::bad(), 21);
    assert!(p.drive_handshake(Duration::from_secs(25)));
    assert!(p.max_datagram <= 256, "{}", p.max_datagram);
}

#[test]
fn lost_final_flight_is_resent_on_client_retransmission() {
    let mut p = Pair::default_pair(22);
    // Run until the server is connected, then drop its final flight.
    while p.server.state() != State::Connected {
        assert!(p.step());
    }
    p.drop_in_flight();
    assert_eq!(p.client.state(), State::Handshaking);
    assert!(p.drive_handshake(Duration::from_secs(5)));
    assert_eq!(p.client.stats().retransmissions, 1);
    assert_eq!(p.server.stats().retransmissions, 1);
}

#[test]
fn retransmission_timer_doubles_then_gives_up() {
    let (cc, _) = certs();
    let (mut c, _) = configs(&cc, &cc);
    c.handshake_timeout = Duration::from_secs(20);
    let start = std::time::Instant::now();
    let mut client = Connection::new(c, start, ChaCha8Rng::seed_from_u64(0)).unwrap();
    let first = client.poll_transmit().unwrap();
    let mut deadlines = Vec::new();
    let mut record_seq = 0;
    while let Some(t) = client.poll_timeout() {
        deadlines.push(t - start);
        client.handle_timeout(t);
        if let Some(d) = client.poll_transmit() {
            // The same ClientHello in a record with the next sequence number.
            assert_eq!(d[13..], first[13..]);
            record_seq += 1;
            assert_eq!(d[10], record_seq);
        }
    }
    let secs: Vec<u64> = deadlines.iter().map(|d| d.as_secs()).collect();
    assert_eq!(secs, [1, 3, 7, 15, 20]);
    assert_eq!(client.state(), State::Failed);
    assert_eq!(
        client.poll_event(),
        Some(Event::Failed(Error::HandshakeTimeout))
    );
    // An early timeout is a no-op.
    let (c, _) = configs(&cc, &cc);
    let mut client = Connection::new(c, start, ChaCha8Rng::seed_from_u64(0)).unwrap();
    let _ = client.poll_transmit();
    client.handle_timeout(start + Duration::from_millis(500));
    assert!(client.poll_transmit().is_none());
}

#[test]
fn replayed_records_are_dropped_and_counted() {
    let mut p = Pair::default_pair(23);
    assert!(p.drive_handshake(Duration::from_secs(5)));
    p.client.send_application_data(b"once").unwrap();
    let d = p.client.poll_transmit().unwrap();
    p.server.handle_receive(p.now, &d).unwrap();
    p.server.handle_receive(p.now, &d).unwrap();
    p.collect();
    assert_eq!(p.server_data(), vec![b"once".to_vec()]);
    assert_eq!(p.server.stats().replayed_records, 1);
    // A flipped bit fails authentication and is dropped.
    p.client.send_application_data(b"twice").unwrap();
    let mut d = p.client.poll_transmit().unwrap();
    let last = d.len() - 1;
    d[last] ^= 1;
    p.server.handle_receive(p.now, &d).unwrap();
    assert_eq!(p.server.stats().bad_mac_records, 1);
    assert_eq!(p.server.state(), State::Connected);
}

#[test]
fn garbage_is_dropped_without_growth() {
    let mut p = Pair::default_pair(24);
    let mut rng = ChaCha8Rng::seed_from_u64(24);
    // Garbage before, during and after the handshake: random bytes and well-framed
    // records of random epochs and types.
    let garbage = |rng: &mut ChaCha8Rng| {
        let mut d = vec![0u8; (rng.next_u32() % 1500) as usize];
        rng.fill_bytes(&mut d);
        if rng.next_u32() % 2 == 0 && d.len() > 13 {
            d[0] = 20 + (rng.next_u32() % 4) as u8;
            d[1] = 0xfe;
            d[2] = 0xfd;
            let len = (d.len() - 13) as u16;
            d[11..13].copy_from_slice(&len.to_be_bytes());
        }
        d
    };
    for _ in 0..2000 {
        let g = garbage(&mut rng);
        let _ = p.server.handle_receive(p.now, &g);
        let g = garbage(&mut rng);
        let _ = p.client.handle_receive(p.now, &g);
    }
    assert_eq!(p.server.state(), State::Handshaking);
    assert!(p.drive_handshake(Duration::from_secs(5)));
    for _ in 0..2000 {
        let g = garbage(&mut rng);
        p.server.handle_receive(p.now, &g).unwrap();
    }
    p.collect();
    assert_eq!(p.server.state(), State::Connected);
    let s = p.server.stats();
    assert!(
        s.malformed_records + s.unknown_epoch_records + s.bad_mac_records + s.dropped_records
            > 1000
    );
    // No output was produced in answer to the garbage once connected.
    assert!(p.server.poll_transmit().is_none());
}

#[test]
fn application_data_before_finished_is_held_not_lost() {
    let mut p = Pair::default_pair(25);
    while p.server.state() != State::Connected {
        assert!(p.step());
    }
    // The server's final flight is still queued or in flight; grab everything it has,
    // add application data, and deliver it in reverse order.
    p.drop_in_flight();
    assert_eq!(p.client.state(), State::Handshaking);
    // Make the server resend its final flight by replaying the client's flight.
    let client_flight: Vec<Vec<u8>> = std::iter::from_fn(|| p.client.poll_transmit()).collect();
    assert!(client_flight.is_empty());
    p.client.handle_timeout(p.now + Duration::from_secs(1));
    let client_flight: Vec<Vec<u8>> = std::iter::from_fn(|| p.client.poll_transmit()).collect();
    let later = p.now + Duration::from_secs(1);
    for d in &client_flight {
        p.server.handle_receive(later, d).unwrap();
    }
    let mut server_out: Vec<Vec<u8>> = std::iter::from_fn(|| p.server.poll_transmit()).collect();
    assert!(!server_out.is_empty(), "final flight resent");
    p.server.send_application_data(b"early").unwrap();
    server_out.push(p.server.poll_transmit().unwrap());
    server_out.reverse();
    for d in &server_out {
        p.client.handle_receive(later, d).unwrap();
    }
    p.collect();
    assert_eq!(p.client.state(), State::Connected);
    assert_eq!(p.client_data(), vec![b"early".to_vec()]);
    let connected_at = p
        .client_events
        .iter()
        .position(|e| matches!(e, Event::Connected { .. }))
        .unwrap();
    let data_at = p
        .client_events
        .iter()
        .position(|e| matches!(e, Event::ApplicationData(_)))
        .unwrap();
    assert!(connected_at < data_at, "data is delivered after Connected");
}
