//! The allocation-free record path: `seal_application_data` into the caller's buffer,
//! `poll_transmit_into` reusing spent buffers, `handle_receive_bytes` opening records in
//! place and handing out slices of the datagram's buffer.
#![allow(clippy::unwrap_used)]

mod common;

use bytes::BytesMut;
use common::{certs, configs, Net, Pair};
use oxrtc_dtls::wire::{ContentType, Records};
use oxrtc_dtls::{Error, Event, State};
use std::time::Duration;

fn connected_pair(seed: u64) -> Pair {
    let mut p = Pair::default_pair(seed);
    assert!(p.drive_handshake(Duration::from_secs(5)));
    p.collect();
    p.client_events.clear();
    p.server_events.clear();
    p
}

fn events(conn: &mut oxrtc_dtls::Connection) -> Vec<Event> {
    std::iter::from_fn(|| conn.poll_event()).collect()
}

#[test]
fn sealed_records_append_to_the_callers_buffer() {
    let mut p = connected_pair(1);
    // A 4-byte prefix of the caller's own (say, a TURN ChannelData header) stays put.
    let mut out = vec![0x40, 0, 0, 0];
    p.client.seal_application_data(b"one", &mut out).unwrap();
    p.client.seal_application_data(b"", &mut out).unwrap();
    p.client.seal_application_data(b"three", &mut out).unwrap();
    assert_eq!(out[..4], [0x40, 0, 0, 0]);
    assert!(p.client.poll_transmit().is_none(), "nothing queued");
    let records: Vec<_> = Records::new(&out[4..]).map(|r| r.unwrap()).collect();
    assert_eq!(records.len(), 3);
    assert!(records
        .iter()
        .all(|r| r.header.content_type == ContentType::APPLICATION_DATA && r.header.epoch == 1));
    p.server.handle_receive(p.now, &out[4..]).unwrap();
    assert_eq!(
        events(&mut p.server),
        vec![
            Event::ApplicationData(b"one".to_vec()),
            Event::ApplicationData(Vec::new()),
            Event::ApplicationData(b"three".to_vec()),
        ]
    );
    // Errors leave the buffer as it was.
    let before = out.clone();
    assert_eq!(
        p.client.seal_application_data(&[0; 16385], &mut out),
        Err(Error::RecordTooLarge)
    );
    assert_eq!(out, before);
    p.client.close();
    assert_eq!(
        p.client.seal_application_data(b"x", &mut out),
        Err(Error::Closed)
    );
    assert_eq!(out, before);
}

#[test]
fn seal_before_connected_is_refused() {
    let (cc, sc) = certs();
    let (c, s) = configs(&cc, &sc);
    let mut p = Pair::new(c, s, Net::perfect(), 2);
    let mut out = Vec::new();
    assert_eq!(
        p.client.seal_application_data(b"x", &mut out),
        Err(Error::NotConnected)
    );
    assert!(out.is_empty());
}

#[test]
fn poll_transmit_into_reuses_buffers() {
    let mut p = connected_pair(3);
    let mut out = Vec::new();
    let mut seen = Vec::new();
    for i in 0..50u8 {
        p.client.send_application_data(&[i; 1000]).unwrap();
        assert!(p.client.poll_transmit_into(&mut out));
        assert!(!p.client.poll_transmit_into(&mut out), "one datagram each");
        p.server.handle_receive(p.now, &out).unwrap();
        assert_eq!(
            events(&mut p.server),
            vec![Event::ApplicationData(vec![i; 1000])]
        );
        seen.push(out.as_ptr());
    }
    // Two buffers take turns once the first spent one came back: no new allocation.
    seen.drain(..2);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 2, "buffers were not reused");
}

#[test]
fn received_data_is_a_slice_of_the_datagram_buffer() {
    let mut p = connected_pair(4);
    let mut wire = Vec::new();
    p.client.seal_application_data(b"first", &mut wire).unwrap();
    p.client
        .seal_application_data(&[7; 1200], &mut wire)
        .unwrap();
    p.client.seal_application_data(b"", &mut wire).unwrap();
    let mut buf = BytesMut::with_capacity(4096);
    buf.extend_from_slice(&wire);
    let range = buf.as_ptr() as usize..buf.as_ptr() as usize + buf.len();
    p.server.handle_receive_bytes(p.now, buf.split()).unwrap();
    let got = events(&mut p.server);
    assert_eq!(got.len(), 3);
    let mut payloads = Vec::new();
    for e in &got {
        let Event::ApplicationDataBytes(b) = e else {
            panic!("{e:?}")
        };
        if !b.is_empty() {
            assert!(range.contains(&(b.as_ptr() as usize)), "copied");
        }
        payloads.push(b.to_vec());
    }
    assert_eq!(payloads, vec![b"first".to_vec(), vec![7; 1200], Vec::new()]);
    // The same records again: replays, dropped and counted.
    p.server
        .handle_receive_bytes(p.now, BytesMut::from(&wire[..]))
        .unwrap();
    assert!(events(&mut p.server).is_empty());
    assert_eq!(p.server.stats().replayed_records, 3);
    // A flipped bit: dropped, counted, the connection lives on.
    let mut one = Vec::new();
    p.client
        .seal_application_data(b"tampered", &mut one)
        .unwrap();
    let last = one.len() - 1;
    one[last] ^= 1;
    p.server
        .handle_receive_bytes(p.now, BytesMut::from(&one[..]))
        .unwrap();
    assert!(events(&mut p.server).is_empty());
    assert_eq!(p.server.stats().bad_mac_records, 1);
    // Truncated framing: the records before it count, the rest is malformed.
    let mut two = Vec::new();
    p.client.seal_application_data(b"ok", &mut two).unwrap();
    p.client.seal_application_data(b"cut", &mut two).unwrap();
    two.truncate(two.len() - 2);
    p.server
        .handle_receive_bytes(p.now, BytesMut::from(&two[..]))
        .unwrap();
    assert_eq!(
        events(&mut p.server),
        vec![Event::ApplicationDataBytes(bytes::Bytes::from_static(
            b"ok"
        ))]
    );
    assert_eq!(p.server.stats().malformed_records, 1);
    assert_eq!(p.server.state(), State::Connected);
}

#[test]
fn data_then_close_notify_in_one_datagram_keep_their_order() {
    let mut p = connected_pair(5);
    let mut wire = Vec::new();
    p.client
        .seal_application_data(b"last words", &mut wire)
        .unwrap();
    p.client.close();
    wire.extend(p.client.poll_transmit().unwrap());
    p.server
        .handle_receive_bytes(p.now, BytesMut::from(&wire[..]))
        .unwrap();
    assert_eq!(
        events(&mut p.server),
        vec![
            Event::ApplicationDataBytes(bytes::Bytes::from_static(b"last words")),
            Event::Closed
        ]
    );
}

#[test]
fn whole_handshakes_through_the_bytes_path() {
    let (cc, sc) = certs();
    for seed in 0..15 {
        let (mut c, mut s) = configs(&cc, &sc);
        c.mtu = oxrtc_dtls::MIN_MTU;
        s.mtu = 300;
        let mut p = Pair::new(c, s, Net::bad(), seed);
        p.bytes_path = true;
        assert!(p.drive_handshake(Duration::from_secs(25)), "seed {seed}");
        for i in 0..20u8 {
            p.client.send_application_data(&[i; 3]).unwrap();
            p.server.send_application_data(&[i; 5]).unwrap();
        }
        p.settle(Duration::from_secs(2));
        assert!(!p.server_data().is_empty() && !p.client_data().is_empty());
        assert!(p.server_data().iter().all(|d| d.len() == 3));
        assert!(p.client_data().iter().all(|d| d.len() == 5));
        assert!(p
            .server_events
            .iter()
            .all(|e| !matches!(e, Event::ApplicationData(_))));
    }
}

#[test]
fn early_application_data_through_the_bytes_path_is_held_until_connected() {
    let mut p = Pair::default_pair(6);
    while p.server.state() != State::Connected {
        assert!(p.step());
    }
    // The server's final flight is lost; it sends data before the client has it.
    p.drop_in_flight();
    p.client.handle_timeout(p.now + Duration::from_secs(1));
    let later = p.now + Duration::from_secs(1);
    let client_flight: Vec<Vec<u8>> = std::iter::from_fn(|| p.client.poll_transmit()).collect();
    for d in &client_flight {
        p.server.handle_receive(later, d).unwrap();
    }
    let mut server_out: Vec<Vec<u8>> = std::iter::from_fn(|| p.server.poll_transmit()).collect();
    let mut early = Vec::new();
    p.server
        .seal_application_data(b"early", &mut early)
        .unwrap();
    server_out.insert(0, early);
    for d in &server_out {
        p.client
            .handle_receive_bytes(later, BytesMut::from(&d[..]))
            .unwrap();
    }
    assert_eq!(p.client.state(), State::Connected);
    let got = events(&mut p.client);
    let connected_at = got
        .iter()
        .position(|e| matches!(e, Event::Connected { .. }))
        .unwrap();
    assert_eq!(
        got[connected_at + 1..],
        [Event::ApplicationDataBytes(bytes::Bytes::from_static(
            b"early"
        ))]
    );
}
