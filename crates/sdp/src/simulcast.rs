//! `a=rid` (RFC 8851) and `a=simulcast` (RFC 8853).

use core::fmt;

use crate::attribute::{parse_pt, split_params, split_word, write_joined};
use crate::error::{attr, ErrorKind};

/// `a=rid` (RFC 8851 §4): one RTP stream identifier and its restrictions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rid {
    /// The rid-id: letters, digits, `-` and `_`.
    pub id: String,
    /// Whether the stream is sent or received by the side writing the SDP.
    pub direction: RidDirection,
    /// The `pt=` list: payload types this stream may use (empty: any).
    pub payload_types: Vec<u8>,
    /// The other restrictions (`max-width=1280`, `max-fps=30`, `depend=a`...), in order.
    pub restrictions: Vec<RidRestriction>,
}

/// Direction of an `a=rid` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RidDirection {
    /// `send`.
    Send,
    /// `recv`.
    Recv,
}

impl RidDirection {
    /// `"send"` or `"recv"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Send => "send",
            Self::Recv => "recv",
        }
    }
}

/// One `key[=value]` restriction of an `a=rid` line (RFC 8851 §4).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RidRestriction {
    /// Restriction name: `max-width`, `max-height`, `max-fps`, `max-fs`, `max-br`,
    /// `max-pps`, `max-bpp`, `depend`, or another token.
    pub name: String,
    /// Its value, if one was given.
    pub value: Option<String>,
}

impl Rid {
    /// `a=rid:<id> <direction>` without restrictions.
    pub fn new(id: impl Into<String>, direction: RidDirection) -> Self {
        Self {
            id: id.into(),
            direction,
            payload_types: Vec::new(),
            restrictions: Vec::new(),
        }
    }

    /// The value of restriction `name` (e.g. `"max-width"`).
    pub fn restriction(&self, name: &str) -> Option<&str> {
        self.restrictions
            .iter()
            .find(|r| r.name == name)
            .and_then(|r| r.value.as_deref())
    }

    pub(crate) fn parse(value: &str) -> Result<Self, ErrorKind> {
        const A: &str = "rid";
        let (id, rest) = split_word(value).ok_or(attr(A, "missing direction"))?;
        if !is_rid_id(id) {
            return Err(attr(A, "rid-id not letters, digits, '-' or '_'"));
        }
        let (dir, params) = match split_word(rest) {
            Some((d, p)) => (d, p),
            None => (rest, ""),
        };
        let direction = match dir {
            "send" => RidDirection::Send,
            "recv" => RidDirection::Recv,
            _ => return Err(attr(A, "direction not send or recv")),
        };
        let mut rid = Self::new(id, direction);
        for (i, (name, val)) in split_params(params).enumerate() {
            if name == "pt" {
                let (0, Some(list)) = (i, val) else {
                    return Err(attr(A, "pt= not first or empty"));
                };
                rid.payload_types = list
                    .split(',')
                    .map(|p| parse_pt(p.trim()))
                    .collect::<Option<_>>()
                    .ok_or(attr(A, "payload type not 0-127"))?;
            } else if name.is_empty() {
                return Err(attr(A, "empty restriction name"));
            } else {
                rid.restrictions.push(RidRestriction {
                    name: name.to_owned(),
                    value: val.map(str::to_owned),
                });
            }
        }
        Ok(rid)
    }
}

impl fmt::Display for Rid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.id, self.direction.as_str())?;
        let mut sep = " ";
        if !self.payload_types.is_empty() {
            f.write_str(" pt=")?;
            write_joined(f, &self.payload_types, ",")?;
            sep = ";";
        }
        for r in &self.restrictions {
            write!(f, "{sep}{}", r.name)?;
            if let Some(v) = &r.value {
                write!(f, "={v}")?;
            }
            sep = ";";
        }
        Ok(())
    }
}

/// `a=simulcast` (RFC 8853 §5.1): the simulcast streams sent and received.
///
/// Each list is a list of streams; each stream a list of alternative rids (written
/// `a,b`), streams are separated by `;`. An empty list means that direction is absent; at
/// least one must be present for the attribute to be valid.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Simulcast {
    /// `send` streams.
    pub send: Vec<Vec<SimulcastId>>,
    /// `recv` streams.
    pub recv: Vec<Vec<SimulcastId>>,
}

/// One rid in a simulcast list, possibly paused (`~`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SimulcastId {
    /// The rid-id (matches an `a=rid` line).
    pub rid: String,
    /// Written `~rid`: the stream is offered but paused.
    pub paused: bool,
}

impl SimulcastId {
    /// An active (not paused) rid.
    pub fn new(rid: impl Into<String>) -> Self {
        Self {
            rid: rid.into(),
            paused: false,
        }
    }
}

impl Simulcast {
    /// `a=simulcast:send <rids>` with one stream per rid, no alternatives.
    pub fn send<S: Into<String>>(rids: impl IntoIterator<Item = S>) -> Self {
        Self {
            send: rids
                .into_iter()
                .map(|r| vec![SimulcastId::new(r)])
                .collect(),
            recv: Vec::new(),
        }
    }

    pub(crate) fn parse(value: &str) -> Result<Self, ErrorKind> {
        const A: &str = "simulcast";
        let mut sc = Self::default();
        let mut it = value.split_ascii_whitespace();
        let mut seen = false;
        while let Some(dir) = it.next() {
            let list = it
                .next()
                .ok_or(attr(A, "direction without a stream list"))?;
            let target = match dir {
                "send" if sc.send.is_empty() => &mut sc.send,
                "recv" if sc.recv.is_empty() => &mut sc.recv,
                _ => return Err(attr(A, "expected send or recv, each once")),
            };
            // draft-ietf-mmusic-sdp-simulcast before -10 (old Firefox) wrote `rid=` first.
            let list = list.strip_prefix("rid=").unwrap_or(list);
            for stream in list.split(';') {
                let mut alts = Vec::new();
                for id in stream.split(',') {
                    let (paused, rid) = match id.strip_prefix('~') {
                        Some(r) => (true, r),
                        None => (false, id),
                    };
                    if !is_rid_id(rid) {
                        return Err(attr(A, "rid-id not letters, digits, '-' or '_'"));
                    }
                    alts.push(SimulcastId {
                        rid: rid.to_owned(),
                        paused,
                    });
                }
                target.push(alts);
            }
            seen = true;
        }
        if !seen {
            return Err(attr(A, "empty"));
        }
        Ok(sc)
    }
}

impl fmt::Display for Simulcast {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        for (name, list) in [("send", &self.send), ("recv", &self.recv)] {
            if list.is_empty() {
                continue;
            }
            write!(f, "{sep}{name} ")?;
            for (i, stream) in list.iter().enumerate() {
                if i > 0 {
                    f.write_str(";")?;
                }
                for (j, id) in stream.iter().enumerate() {
                    if j > 0 {
                        f.write_str(",")?;
                    }
                    if id.paused {
                        f.write_str("~")?;
                    }
                    f.write_str(&id.rid)?;
                }
            }
            sep = " ";
        }
        Ok(())
    }
}

/// RFC 8851 §10: `rid-id = 1*(alpha-numeric / "-" / "_")`.
fn is_rid_id(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use crate::Attribute;

    use super::*;

    fn rid(s: &str) -> Rid {
        match s.parse::<Attribute>().unwrap() {
            Attribute::Rid(r) => r,
            other => panic!("{other:?}"),
        }
    }

    fn sc(s: &str) -> Simulcast {
        match s.parse::<Attribute>().unwrap() {
            Attribute::Simulcast(r) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rid_with_restrictions() {
        // RFC 8851 §11.2 style
        let r = rid("rid:5 send pt=99,102;max-br=64000;max-width=1280;max-height=720;max-fps=30");
        assert_eq!(r.id, "5");
        assert_eq!(r.direction, RidDirection::Send);
        assert_eq!(r.payload_types, vec![99, 102]);
        assert_eq!(r.restriction("max-width"), Some("1280"));
        assert_eq!(r.restrictions.len(), 4);
        assert_eq!(
            r.to_string(),
            "5 send pt=99,102;max-br=64000;max-width=1280;max-height=720;max-fps=30"
        );
        assert_eq!(rid("rid:q recv").to_string(), "q recv");
        assert_eq!(
            rid("rid:h send max-width=640").to_string(),
            "h send max-width=640"
        );
        for bad in [
            "rid:a",
            "rid:a both",
            "rid:a send max-width=1;pt=96",
            "rid:a send pt=",
            "rid:a send pt=200",
            "rid:a.b send",
        ] {
            assert!(bad.parse::<Attribute>().is_err(), "{bad}");
        }
    }

    #[test]
    fn simulcast_lists() {
        // RFC 8853 §5.1 example: send 1;~4 recv 2,3 (alternatives and paused)
        let s = sc("simulcast:send 1;~4 recv 2,3");
        assert_eq!(s.send.len(), 2);
        assert!(s.send[1][0].paused);
        assert_eq!(
            s.recv,
            vec![vec![SimulcastId::new("2"), SimulcastId::new("3")]]
        );
        assert_eq!(s.to_string(), "send 1;~4 recv 2,3");
        assert_eq!(sc("simulcast:recv a send b").to_string(), "send b recv a");
        assert_eq!(
            sc("simulcast: send rid=a;b;c"),
            Simulcast::send(["a", "b", "c"])
        );
        for bad in [
            "simulcast:",
            "simulcast:send",
            "simulcast:send a send b",
            "simulcast:up a",
            "simulcast:send a;;b",
            "simulcast:send ~",
        ] {
            assert!(bad.parse::<Attribute>().is_err(), "{bad}");
        }
    }
}
