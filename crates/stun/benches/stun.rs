//! Benchmarks: parse + verify MESSAGE-INTEGRITY + FINGERPRINT of a typical ICE binding
//! request (USERNAME, PRIORITY, ICE-CONTROLLING, USE-CANDIDATE), and building one.
#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use oxrtc_stun::*;

fn ice_request(key: &IntegrityKey) -> Vec<u8> {
    let mut out = Vec::new();
    let mut b = MessageBuilder::new(
        &mut out,
        Class::Request,
        Method::Binding,
        TransactionId([0x5a; 12]),
    );
    b.add(&Username("Vz3t:9Wn/GjHx")).unwrap();
    b.add(&Priority(0x6e7f_1eff)).unwrap();
    b.add(&IceControlling(0x1234_5678_9abc_def0)).unwrap();
    b.add(&UseCandidate).unwrap();
    b.add_message_integrity(key).unwrap();
    b.add_fingerprint().unwrap();
    out
}

/// What an ICE agent does with an incoming check: frame it, read the attributes it needs,
/// check FINGERPRINT and MESSAGE-INTEGRITY.
fn parse_and_verify(bytes: &[u8], key: &IntegrityKey) -> (u32, bool) {
    let msg = Message::new_checked(bytes).unwrap();
    let mut priority = 0;
    let mut nominated = false;
    let mut user_ok = false;
    for a in msg.attributes() {
        match a.unwrap() {
            Attribute::Username(Username(u)) => user_ok = u.starts_with("Vz3t:"),
            Attribute::Priority(Priority(p)) => priority = p,
            Attribute::UseCandidate(_) => nominated = true,
            _ => {}
        }
    }
    msg.verify(key).unwrap();
    assert!(user_ok);
    (priority, nominated)
}

fn bench(c: &mut Criterion) {
    let key = IntegrityKey::short_term("Hq3tJaLkP0v9XzR2uWcE1yNb");
    let request = ice_request(&key);
    let mut g = c.benchmark_group("stun");
    g.throughput(Throughput::Elements(1));
    g.bench_function("parse_verify_ice_binding_request", |b| {
        b.iter(|| parse_and_verify(black_box(&request), black_box(&key)))
    });
    let mut out = Vec::with_capacity(256);
    g.bench_function("build_sign_ice_binding_request", |b| {
        b.iter(|| {
            out.clear();
            let mut m = MessageBuilder::new(
                &mut out,
                Class::Request,
                Method::Binding,
                TransactionId([0x5a; 12]),
            );
            m.add(&Username("Vz3t:9Wn/GjHx")).unwrap();
            m.add(&Priority(0x6e7f_1eff)).unwrap();
            m.add(&IceControlling(0x1234_5678_9abc_def0)).unwrap();
            m.add(&UseCandidate).unwrap();
            m.add_message_integrity(black_box(&key)).unwrap();
            m.add_fingerprint().unwrap();
            black_box(m.finish().len())
        })
    });
    g.bench_function("is_stun", |b| b.iter(|| is_stun(black_box(&request))));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
