//! Host names of remote candidates and ICE servers: `*.local` through mDNS (feature
//! `mdns`, with mdns-sd's responder-less querier), others through the system resolver.
//! Each lookup runs in its own task and reports back to the connection's task.

use std::net::IpAddr;
#[cfg(feature = "mdns")]
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// How long an mDNS lookup may take (browsers answer within milliseconds on a LAN).
#[cfg(feature = "mdns")]
pub(super) const MDNS_TIMEOUT: Duration = Duration::from_secs(3);

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

impl Drop for Resolver {
    fn drop(&mut self) {
        self.close();
    }
}
