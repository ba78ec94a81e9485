//! `--ice-server`, `--ice-user`, `--ice-pass`, `--relay`: the peer connection's
//! `RTCConfiguration`.

use crate::error::CliError;
use oxrtc::{Config, IceServer, IceServerScheme, IceServerUrl, IceTransportPolicy};

/// The ICE options shared by `answer`, `offer` and `serve`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct IceArgs {
    /// STUN or TURN server: `stun:HOST[:PORT]`, `turn:HOST[:PORT][?transport=udp|tcp]`,
    /// `turns:HOST[:PORT]` (TURN over TLS, port 5349 by default) (repeatable).
    #[arg(long = "ice-server", value_name = "URL")]
    pub ice_servers: Vec<String>,
    /// Username for the TURN servers.
    #[arg(long, value_name = "NAME")]
    pub ice_user: Option<String>,
    /// Password for the TURN servers.
    #[arg(long, value_name = "SECRET")]
    pub ice_pass: Option<String>,
    /// Use relayed candidates only (ICE transport policy "relay").
    #[arg(long)]
    pub relay: bool,
}

impl IceArgs {
    /// The configuration these options describe, on top of `base`.
    ///
    /// # Errors
    /// [`CliError::Usage`] for a URL that does not parse, a TURN server without
    /// credentials, `--relay` without a TURN server, or `stuns:` (STUN over TLS, which
    /// neither the runtime nor browsers use).
    pub fn config(&self, base: Config) -> Result<Config, CliError> {
        let mut config = base;
        let mut has_turn = false;
        for url in &self.ice_servers {
            let parsed: IceServerUrl = url
                .parse()
                .map_err(|e| CliError::Usage(format!("--ice-server {url}: {e}")))?;
            if parsed.scheme == IceServerScheme::Stuns {
                return Err(CliError::Usage(format!(
                    "--ice-server {url}: stuns: (STUN over TLS) is not supported; use stun: \
                     (UDP), or turns: for TURN over TLS"
                )));
            }
            if parsed.scheme.is_turn() {
                has_turn = true;
                let (Some(user), Some(pass)) = (&self.ice_user, &self.ice_pass) else {
                    return Err(CliError::Usage(format!(
                        "--ice-server {url}: a TURN server needs --ice-user and --ice-pass"
                    )));
                };
                config.ice_servers.push(IceServer::with_credentials(
                    url.clone(),
                    user.clone(),
                    pass.clone(),
                ));
            } else {
                config.ice_servers.push(IceServer::new(url.clone()));
            }
        }
        if self.relay {
            if !has_turn {
                return Err(CliError::Usage(
                    "--relay needs a TURN server (--ice-server turn:HOST:PORT --ice-user NAME \
                     --ice-pass SECRET)"
                        .into(),
                ));
            }
            config.ice_transport_policy = IceTransportPolicy::Relay;
        }
        config
            .validate()
            .map_err(|e| CliError::Usage(e.to_string()))?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(servers: &[&str], user: Option<&str>, relay: bool) -> IceArgs {
        IceArgs {
            ice_servers: servers.iter().map(|s| s.to_string()).collect(),
            ice_user: user.map(str::to_owned),
            ice_pass: user.map(|_| "secret".to_owned()),
            relay,
        }
    }

    #[test]
    fn stun_and_turn_servers() {
        let c = args(
            &["stun:127.0.0.1:3478", "turn:127.0.0.1:3479?transport=udp"],
            Some("u"),
            true,
        )
        .config(Config::default())
        .unwrap();
        assert_eq!(c.ice_servers.len(), 2);
        assert_eq!(c.ice_servers[0].username, None);
        assert_eq!(c.ice_servers[1].username.as_deref(), Some("u"));
        assert_eq!(c.ice_servers[1].credential.as_deref(), Some("secret"));
        assert_eq!(c.ice_transport_policy, IceTransportPolicy::Relay);
    }

    #[test]
    fn refusals_say_why() {
        let e = |a: IceArgs| a.config(Config::default()).unwrap_err().to_string();
        assert!(e(args(&["turn:127.0.0.1"], None, false)).contains("--ice-user"));
        assert!(e(args(&["stun:127.0.0.1"], None, true)).contains("--relay needs a TURN server"));
        assert!(e(args(&["http://x"], None, false)).contains("scheme"));
        let stuns = e(args(&["stuns:h"], None, false));
        assert!(
            stuns.contains("stuns:") && stuns.contains("not supported"),
            "{stuns}"
        );
    }

    #[test]
    fn turn_over_tcp_and_tls_pass_through() {
        let c = args(
            &[
                "turn:127.0.0.1:3478?transport=tcp",
                "turns:turn.example.org",
                "turns:[::1]:443?transport=tcp",
            ],
            Some("u"),
            true,
        )
        .config(Config::default())
        .unwrap();
        let urls: Vec<&str> = c.ice_servers.iter().map(|s| s.urls[0].as_str()).collect();
        assert_eq!(
            urls,
            [
                "turn:127.0.0.1:3478?transport=tcp",
                "turns:turn.example.org",
                "turns:[::1]:443?transport=tcp"
            ]
        );
        assert!(c
            .ice_servers
            .iter()
            .all(|s| s.username.as_deref() == Some("u")));
        assert_eq!(c.ice_transport_policy, IceTransportPolicy::Relay);
        // turns: without credentials is still refused.
        let e = args(&["turns:turn.example.org"], None, false)
            .config(Config::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("--ice-user"), "{e}");
    }
}
