//! Errors of the commands, worded for the person who ran them.

use crate::http::HttpError;
use std::net::SocketAddr;

/// What went wrong in a command.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// A bad option value or combination (exit status 2).
    #[error("{0}")]
    Usage(String),
    /// A listening socket could not be bound.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The address asked for.
        addr: SocketAddr,
        /// Why, in words.
        reason: String,
    },
    /// The signaling request failed (connect, status, body).
    #[error("{0}")]
    Signaling(String),
    /// The remote's description was refused.
    #[error("{0}")]
    RemoteDescription(String),
    /// The connection did not come up or failed.
    #[error("{0}")]
    Connection(String),
    /// A scenario check failed (an echo differs, a wait timed out).
    #[error("{0}")]
    Scenario(String),
    /// The peer connection refused a call.
    #[error("peer connection: {0}")]
    Peer(#[from] oxrtc::Error),
    /// A local I/O error.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl CliError {
    /// The process exit status for this error: 2 for usage errors, else 1.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Usage(_) => 2,
            _ => 1,
        }
    }

    /// A bind failure on `addr`, explained.
    pub fn listen(addr: SocketAddr, e: &std::io::Error) -> CliError {
        let reason = match e.kind() {
            std::io::ErrorKind::AddrInUse => {
                "the address is already in use (another program listens there; pick another port)"
                    .to_owned()
            }
            std::io::ErrorKind::AddrNotAvailable => {
                "no local interface has this address".to_owned()
            }
            std::io::ErrorKind::PermissionDenied => {
                "permission denied (ports below 1024 need privileges)".to_owned()
            }
            _ => e.to_string(),
        };
        CliError::Listen { addr, reason }
    }
}

impl From<HttpError> for CliError {
    fn from(e: HttpError) -> Self {
        CliError::Signaling(e.to_string())
    }
}

/// Explains why a remote description was refused; for SDP syntax errors, quotes the line.
pub fn describe_description_error(e: &oxrtc::Error, sdp: &str) -> String {
    match e {
        oxrtc::Error::Sdp(s) if s.line > 0 => {
            let text = sdp
                .split('\n')
                .nth(s.line - 1)
                .map(|l| l.trim_end_matches('\r'))
                .unwrap_or("");
            let mut shown: String = text.chars().take(100).collect();
            if shown.len() < text.len() {
                shown.push('…');
            }
            format!("invalid SDP at line {}: {} (`{shown}`)", s.line, s.kind)
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdp_errors_quote_the_line() {
        let sdp = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=application nine UDP/DTLS/SCTP webrtc-datachannel\r\n";
        let err = oxrtc::Error::Sdp(sdp.parse::<oxrtc::sdp::SessionDescription>().unwrap_err());
        let text = describe_description_error(&err, sdp);
        assert!(text.starts_with("invalid SDP at line 5:"), "{text}");
        assert!(text.contains("`m=application nine"), "{text}");
    }

    #[test]
    fn listen_errors_explain() {
        let addr: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let e = CliError::listen(addr, &std::io::Error::from(std::io::ErrorKind::AddrInUse));
        assert!(e.to_string().contains("already in use"));
        assert_eq!(e.exit_code(), 1);
        assert_eq!(CliError::Usage("x".into()).exit_code(), 2);
    }
}
