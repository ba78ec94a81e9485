//! Host names of remote candidates and ICE servers: `*.local` through mDNS (feature
//! `mdns`, with mdns-sd's responder-less querier), others through the system resolver.
//! Each lookup runs in its own task and reports back to the connection's task.
//!
//! Chromium's mDNS responder ignores queries with more than one question (its DNS query
//! parser takes exactly one), and mdns-sd asks for A and AAAA in one packet. So each
//! mDNS lookup also sends one-question queries (A, then AAAA) itself, from an ephemeral
//! port to 224.0.0.251:5353; Chromium answers them by multicast, and mdns-sd's daemon,
//! which has joined the group and waits for that name, takes the answer.

use std::net::IpAddr;
#[cfg(feature = "mdns")]
use std::net::{Ipv4Addr, SocketAddr};
#[cfg(feature = "mdns")]
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// How long an mDNS lookup may take (browsers answer within milliseconds on a LAN).
#[cfg(feature = "mdns")]
pub(super) const MDNS_TIMEOUT: Duration = Duration::from_secs(3);

/// The IPv4 mDNS group and port (RFC 6762 §3).
#[cfg(feature = "mdns")]
const MDNS_V4: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(224, 0, 0, 251)), 5353);

/// When our one-question queries go out, from the start of a lookup: after mdns-sd's
/// daemon has registered the name (it takes the answer only then), and again while it waits.
#[cfg(feature = "mdns")]
const NUDGES: [Duration; 3] = [
    Duration::from_millis(30),
    Duration::from_millis(1000),
    Duration::from_millis(2000),
];

/// A finished lookup: the name and what it resolved to (empty: it did not).
pub(super) type Resolved = (String, Vec<IpAddr>);

/// The lookups of one peer connection and, once a `*.local` name came, its mDNS querier.
#[derive(Default)]
pub(super) struct Resolver {
    tasks: JoinSet<()>,
    #[cfg(feature = "mdns")]
    mdns: Option<mdns_sd::ServiceDaemon>,
}

impl Resolver {
    /// Starts resolving `name`; the answer comes on `done`.
    pub(super) fn resolve(&mut self, name: String, done: mpsc::UnboundedSender<Resolved>) {
        // Reap finished lookups.
        while self.tasks.try_join_next().is_some() {}
        let is_mdns = name
            .trim_end_matches('.')
            .to_ascii_lowercase()
            .ends_with(".local");
        if is_mdns {
            self.resolve_mdns(name, done);
        } else {
            self.tasks.spawn(async move {
                let addrs = match tokio::net::lookup_host((name.as_str(), 9)).await {
                    Ok(a) => a.map(|a| a.ip()).collect(),
                    Err(e) => {
                        tracing::debug!(%name, error = %e, "host name not resolved");
                        Vec::new()
                    }
                };
                let _ = done.send((name, addrs));
            });
        }
    }

    #[cfg(feature = "mdns")]
    fn resolve_mdns(&mut self, name: String, done: mpsc::UnboundedSender<Resolved>) {
        if self.mdns.is_none() {
            match mdns_sd::ServiceDaemon::new() {
                Ok(d) => self.mdns = Some(d),
                Err(e) => tracing::debug!(error = %e, "mdns querier not started"),
            }
        }
        let fqdn = if name.ends_with('.') {
            name.clone()
        } else {
            format!("{name}.")
        };
        let receiver = self.mdns.as_ref().and_then(|d| {
            d.resolve_hostname(&fqdn, Some(MDNS_TIMEOUT.as_millis() as u64))
                .map_err(|e| tracing::debug!(%name, error = %e, "mdns lookup not started"))
                .ok()
        });
        let queries = [1u16, 28].map(|qtype| one_question_query(&fqdn, qtype));
        self.tasks.spawn(async move {
            let mut addrs = Vec::new();
            if let Some(rx) = receiver {
                let wait = async {
                    while let Ok(event) = rx.recv_async().await {
                        match event {
                            mdns_sd::HostnameResolutionEvent::AddressesFound(_, found) => {
                                return found.iter().map(|a| a.to_ip_addr()).collect();
                            }
                            mdns_sd::HostnameResolutionEvent::SearchTimeout(_)
                            | mdns_sd::HostnameResolutionEvent::SearchStopped(_) => break,
                            _ => {}
                        }
                    }
                    Vec::new()
                };
                let wait = async {
                    tokio::select! {
                        found = wait => found,
                        () = nudge(queries) => std::future::pending().await,
                    }
                };
                addrs = tokio::time::timeout(MDNS_TIMEOUT + Duration::from_millis(200), wait)
                    .await
                    .unwrap_or_default();
            }
            if addrs.is_empty() {
                tracing::debug!(%name, "mdns candidate did not resolve; dropped");
            }
            let _ = done.send((name, addrs));
        });
    }

    #[cfg(not(feature = "mdns"))]
    fn resolve_mdns(&mut self, name: String, done: mpsc::UnboundedSender<Resolved>) {
        tracing::debug!(%name, "mdns candidate dropped: oxrtc built without feature mdns");
        let _ = done.send((name, Vec::new()));
    }

    /// Stops every lookup and the mDNS querier (its thread and sockets).
    pub(super) fn close(&mut self) {
        self.tasks.abort_all();
        #[cfg(feature = "mdns")]
        if let Some(d) = self.mdns.take() {
            let _ = d.shutdown();
        }
    }
}

/// Sends the one-question queries at [`NUDGES`] (by the multicast route: the default
/// route's interface, where a browser's responder listens), then stays pending.
#[cfg(feature = "mdns")]
async fn nudge(queries: [Option<Vec<u8>>; 2]) {
    let start = tokio::time::Instant::now();
    let sock = match tokio::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).await {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::debug!(error = %e, "no socket for one-question mdns queries");
            None
        }
    };
    if let Some(sock) = sock {
        // RFC 6762 §11: mDNS packets go out with IP TTL 255.
        let _ = sock.set_multicast_ttl_v4(255);
        for at in NUDGES {
            tokio::time::sleep_until(start + at).await;
            for q in queries.iter().flatten() {
                if let Err(e) = sock.send_to(q, MDNS_V4).await {
                    tracing::debug!(error = %e, "one-question mdns query not sent");
                }
            }
        }
    }
    std::future::pending::<()>().await;
}

/// An mDNS query (RFC 6762 §5.3, §18) for `fqdn` (`a.b.local.`) with one question of
/// type `qtype` (1: A, 28: AAAA), class IN, multicast response wanted; `None` when the
/// name is no valid DNS name (a label empty or over 63 bytes, the name over 255).
#[cfg(feature = "mdns")]
fn one_question_query(fqdn: &str, qtype: u16) -> Option<Vec<u8>> {
    // Header: id 0, flags 0, one question, no records.
    let mut out = vec![0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in fqdn.strip_suffix('.').unwrap_or(fqdn).split('.') {
        let len = u8::try_from(label.len())
            .ok()
            .filter(|l| (1..=63).contains(l))?;
        out.push(len);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    if out.len() - 12 > 255 {
        return None;
    }
    out.extend_from_slice(&qtype.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    Some(out)
}

impl Drop for Resolver {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(all(test, feature = "mdns"))]
mod tests {
    use super::one_question_query;

    #[test]
    fn one_question_query_bytes() {
        // As Chromium's responder answers it (seen on the wire): one A question, QM, IN.
        let q = one_question_query("ab-1.local.", 1).unwrap();
        let mut want = vec![0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        want.extend_from_slice(b"\x04ab-1\x05local\x00\x00\x01\x00\x01");
        assert_eq!(q, want);
        assert_eq!(one_question_query("ab-1.local", 1), Some(want));
        assert_eq!(
            &one_question_query("x.local.", 28).unwrap()[21..],
            [0, 28, 0, 1]
        );
    }

    #[test]
    fn one_question_query_rejects_bad_names() {
        assert_eq!(one_question_query("a..local.", 1), None);
        assert_eq!(one_question_query(".", 1), None);
        let long_label = format!("{}.local.", "a".repeat(64));
        assert_eq!(one_question_query(&long_label, 1), None);
        let ok_label = format!("{}.local.", "a".repeat(63));
        assert!(one_question_query(&ok_label, 1).is_some());
        let long_name = format!("{}local.", "abcdefghi.".repeat(26));
        assert_eq!(one_question_query(&long_name, 1), None);
    }
}
