//! A minimal HTTP/1.1 server and client (RFC 9112): exactly what the signaling needs.
//!
//! One request per connection (`Connection: close`), bodies framed by `Content-Length` or
//! `Transfer-Encoding: chunked`, `Expect: 100-continue` answered (curl sends it for bodies
//! over 1 KiB), heads capped at [`MAX_HEAD`] bytes and [`MAX_HEADERS`] fields, bodies at
//! [`MAX_BODY`] bytes. Only `http://` URLs: the signaling runs on loopback or behind a
//! proxy that terminates TLS.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Largest request or response head (start line and header fields) accepted, in bytes.
pub const MAX_HEAD: usize = 16 * 1024;
/// Most header fields accepted in one head.
pub const MAX_HEADERS: usize = 64;
/// Largest body accepted, in bytes (an SDP is a few KiB).
pub const MAX_BODY: usize = 1 << 20;

/// Why a message could not be read or a request could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The bytes are not HTTP/1.x (what is wrong is named).
    #[error("malformed http message: {0}")]
    Malformed(&'static str),
    /// The head is longer than [`MAX_HEAD`] or has more than [`MAX_HEADERS`] fields.
    #[error("http head too large")]
    HeadTooLarge,
    /// The body is longer than [`MAX_BODY`].
    #[error("http body larger than {MAX_BODY} bytes")]
    BodyTooLarge,
    /// The peer closed the connection before the message was complete.
    #[error("connection closed before the message was complete")]
    Closed,
    /// A URL this client cannot use.
    #[error("bad url {url:?}: {why}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The host name did not resolve.
    #[error("cannot resolve {host}: {error}")]
    Resolve {
        /// The host name.
        host: String,
        /// The resolver's message.
        error: String,
    },
    /// The TCP connection could not be made.
    #[error("cannot connect to {addr}: {error}{hint}")]
    Connect {
        /// `host:port`.
        addr: String,
        /// What the OS said.
        error: std::io::Error,
        /// A hint for people (e.g. which program should listen there).
        hint: &'static str,
    },
    /// Nothing arrived within the time limit.
    #[error("no response within {0:?}")]
    Timeout(Duration),
    /// Another socket error.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Header fields in the order received; names compare case-insensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(pub Vec<(String, String)>);

impl Headers {
    /// The first value of field `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of field `name`.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Appends a field.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.push((name.into(), value.into()));
    }
}

/// The head of a request: `METHOD TARGET HTTP/1.x` and the header fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    /// Method token (`GET`, `POST`...).
    pub method: String,
    /// Request target (origin form, e.g. `/offer?x=1`).
    pub target: String,
    /// Minor version: 0 or 1.
    pub minor: u8,
    /// Header fields.
    pub headers: Headers,
}

/// The head of a response: `HTTP/1.x STATUS REASON` and the header fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    /// Minor version: 0 or 1.
    pub minor: u8,
    /// Status code, 100..=999.
    pub status: u16,
    /// Reason phrase (may be empty).
    pub reason: String,
    /// Header fields.
    pub headers: Headers,
}

/// A complete request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The head.
    pub head: RequestHead,
    /// The body (de-chunked).
    pub body: Vec<u8>,
}

impl Request {
    /// The path of the target, without the query.
    pub fn path(&self) -> &str {
        let t = self.head.target.as_str();
        t.split_once('?').map_or(t, |(p, _)| p)
    }

    /// The method.
    pub fn method(&self) -> &str {
        &self.head.method
    }

    /// The `Content-Type` without parameters, lower case.
    pub fn content_type(&self) -> String {
        media_type(self.head.headers.get("content-type"))
    }
}

/// A complete response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The head.
    pub head: ResponseHead,
    /// The body (de-chunked).
    pub body: Vec<u8>,
}

impl Response {
    /// A response with a body of `content_type`.
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        let mut headers = Headers::default();
        headers.push("Content-Type", content_type);
        Response {
            head: ResponseHead {
                minor: 1,
                status,
                reason: reason_phrase(status).to_owned(),
                headers,
            },
            body: body.into(),
        }
    }

    /// A `text/plain` response.
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Response::new(
            status,
            "text/plain; charset=utf-8",
            body.into().into_bytes(),
        )
    }

    /// Adds a header field.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.head.headers.push(name, value);
        self
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.head.status
    }

    /// The `Content-Type` without parameters, lower case.
    pub fn content_type(&self) -> String {
        media_type(self.head.headers.get("content-type"))
    }

    /// The bytes on the wire: the head with `Content-Length` and `Connection: close`
    /// added, then the body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut head = self.head.clone();
        head.headers.0.retain(|(k, _)| {
            !k.eq_ignore_ascii_case("content-length")
                && !k.eq_ignore_ascii_case("transfer-encoding")
                && !k.eq_ignore_ascii_case("connection")
        });
        head.headers
            .push("Content-Length", self.body.len().to_string());
        head.headers.push("Connection", "close");
        let mut out = Vec::with_capacity(256 + self.body.len());
        head.write(&mut out);
        out.extend_from_slice(&self.body);
        out
    }
}

fn media_type(v: Option<&str>) -> String {
    v.unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The standard reason phrase of the codes used here.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "",
    }
}

// ------------------------------------------------------------------------------ parsing

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

/// Field values: visible ASCII, space, tab and obs-text; no controls (RFC 9110 §5.5).
fn is_field_value(s: &str) -> bool {
    s.bytes()
        .all(|b| b == b'\t' || b == b' ' || (0x21..=0x7e).contains(&b) || b >= 0x80)
}

/// Where the head ends: (index of the first body byte). Accepts bare LF line ends
/// (RFC 9112 §2.2).
fn head_end(buf: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < buf.len() {
        if buf.get(i) == Some(&b'\n') {
            match (buf.get(i + 1), buf.get(i + 2)) {
                (Some(b'\n'), _) => return Some(i + 2),
                (Some(b'\r'), Some(b'\n')) => return Some(i + 3),
                _ => {}
            }
        }
        i += 1;
    }
    None
}

/// Splits a head into lines (CRLF or LF), the last empty line excluded.
fn head_lines(head: &[u8]) -> Result<Vec<&str>, HttpError> {
    let text = std::str::from_utf8(head).map_err(|_| HttpError::Malformed("head is not utf-8"))?;
    let mut lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    if lines.len() > MAX_HEADERS + 1 {
        return Err(HttpError::HeadTooLarge);
    }
    Ok(lines)
}

fn parse_version(v: &str) -> Result<u8, HttpError> {
    match v {
        "HTTP/1.1" => Ok(1),
        "HTTP/1.0" => Ok(0),
        _ => Err(HttpError::Malformed("not HTTP/1.0 or HTTP/1.1")),
    }
}

fn parse_fields(lines: &[&str]) -> Result<Headers, HttpError> {
    let mut headers = Headers::default();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            return Err(HttpError::Malformed("obsolete line folding"));
        }
        let (name, value) = line
            .split_once(':')
            .ok_or(HttpError::Malformed("header field without a colon"))?;
        if !is_token(name) {
            return Err(HttpError::Malformed("bad header field name"));
        }
        let value = value.trim_matches([' ', '\t']);
        if !is_field_value(value) {
            return Err(HttpError::Malformed("bad header field value"));
        }
        headers.push(name, value);
    }
    Ok(headers)
}

fn write_fields(headers: &Headers, out: &mut Vec<u8>) {
    for (k, v) in &headers.0 {
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

impl RequestHead {
    /// Parses a request head at the start of `buf`: `Ok(None)` while incomplete,
    /// `Ok(Some((head, n)))` with `n` the bytes it took.
    ///
    /// # Errors
    /// [`HttpError::Malformed`]; [`HttpError::HeadTooLarge`] past [`MAX_HEAD`] bytes or
    /// [`MAX_HEADERS`] fields.
    pub fn parse(buf: &[u8]) -> Result<Option<(RequestHead, usize)>, HttpError> {
        let Some(end) = head_end(buf) else {
            return if buf.len() > MAX_HEAD {
                Err(HttpError::HeadTooLarge)
            } else {
                Ok(None)
            };
        };
        if end > MAX_HEAD {
            return Err(HttpError::HeadTooLarge);
        }
        let lines = head_lines(buf.get(..end).unwrap_or_default())?;
        let (first, rest) = lines
            .split_first()
            .ok_or(HttpError::Malformed("empty request"))?;
        let mut parts = first.split(' ');
        let (Some(method), Some(target), Some(version), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(HttpError::Malformed(
                "request line is not METHOD TARGET VERSION",
            ));
        };
        if !is_token(method) {
            return Err(HttpError::Malformed("bad method"));
        }
        if target.is_empty() || !target.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            return Err(HttpError::Malformed("bad request target"));
        }
        let minor = parse_version(version)?;
        let headers = parse_fields(rest)?;
        Ok(Some((
            RequestHead {
                method: method.to_owned(),
                target: target.to_owned(),
                minor,
                headers,
            },
            end,
        )))
    }

    /// Writes the head (start line, fields, empty line) to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(
            format!("{} {} HTTP/1.{}\r\n", self.method, self.target, self.minor).as_bytes(),
        );
        write_fields(&self.headers, out);
    }
}

impl ResponseHead {
    /// Parses a response head at the start of `buf`, as [`RequestHead::parse`].
    ///
    /// # Errors
    /// As [`RequestHead::parse`].
    pub fn parse(buf: &[u8]) -> Result<Option<(ResponseHead, usize)>, HttpError> {
        let Some(end) = head_end(buf) else {
            return if buf.len() > MAX_HEAD {
                Err(HttpError::HeadTooLarge)
            } else {
                Ok(None)
            };
        };
        if end > MAX_HEAD {
            return Err(HttpError::HeadTooLarge);
        }
        let lines = head_lines(buf.get(..end).unwrap_or_default())?;
        let (first, rest) = lines
            .split_first()
            .ok_or(HttpError::Malformed("empty response"))?;
        let mut parts = first.splitn(3, ' ');
        let version = parts.next().unwrap_or_default();
        let code = parts.next().unwrap_or_default();
        let reason = parts.next().unwrap_or_default();
        let minor = parse_version(version)?;
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(HttpError::Malformed("status code is not three digits"));
        }
        let status: u16 = code
            .parse()
            .map_err(|_| HttpError::Malformed("bad status code"))?;
        if status < 100 || !is_field_value(reason) {
            return Err(HttpError::Malformed("bad status line"));
        }
        let headers = parse_fields(rest)?;
        Ok(Some((
            ResponseHead {
                minor,
                status,
                reason: reason.to_owned(),
                headers,
            },
            end,
        )))
    }

    /// Writes the head (status line, fields, empty line) to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(
            format!("HTTP/1.{} {} {}\r\n", self.minor, self.status, self.reason).as_bytes(),
        );
        write_fields(&self.headers, out);
    }
}

/// How a body is framed (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `Content-Length: n` (0 when absent on a request).
    Length(usize),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Until the connection closes (responses without length).
    UntilClose,
}

/// The body framing of a message with these fields.
///
/// # Errors
/// [`HttpError::Malformed`] for a transfer coding other than chunked, or a bad or
/// conflicting `Content-Length`; [`HttpError::BodyTooLarge`] past [`MAX_BODY`].
pub fn framing(headers: &Headers, is_request: bool) -> Result<Framing, HttpError> {
    if let Some(te) = headers.get("transfer-encoding") {
        return if te.trim().eq_ignore_ascii_case("chunked") {
            Ok(Framing::Chunked)
        } else {
            Err(HttpError::Malformed("unsupported transfer-encoding"))
        };
    }
    let mut length: Option<usize> = None;
    for v in headers.get_all("content-length") {
        let v = v.trim();
        if v.is_empty() || v.len() > 12 || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(HttpError::Malformed("bad content-length"));
        }
        let n: usize = v
            .parse()
            .map_err(|_| HttpError::Malformed("bad content-length"))?;
        if length.is_some_and(|l| l != n) {
            return Err(HttpError::Malformed("conflicting content-length"));
        }
        length = Some(n);
    }
    match length {
        Some(n) if n > MAX_BODY => Err(HttpError::BodyTooLarge),
        Some(n) => Ok(Framing::Length(n)),
        None if is_request => Ok(Framing::Length(0)),
        None => Ok(Framing::UntilClose),
    }
}

/// Decodes a chunked body at the start of `buf` (RFC 9112 §7.1): `Ok(None)` while
/// incomplete, else the data and the bytes taken (trailer fields are skipped).
///
/// # Errors
/// [`HttpError::Malformed`]; [`HttpError::BodyTooLarge`] past [`MAX_BODY`].
pub fn decode_chunked(buf: &[u8]) -> Result<Option<(Vec<u8>, usize)>, HttpError> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    loop {
        let rest = buf.get(pos..).unwrap_or_default();
        let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
            return if rest.len() > 1024 {
                Err(HttpError::Malformed("chunk size line too long"))
            } else {
                Ok(None)
            };
        };
        let line = rest.get(..nl).unwrap_or_default();
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let size_hex = line.split(|&b| b == b';').next().unwrap_or_default();
        let size_hex = std::str::from_utf8(size_hex)
            .map_err(|_| HttpError::Malformed("bad chunk size"))?
            .trim_matches([' ', '\t']);
        if size_hex.is_empty() || size_hex.len() > 8 {
            return Err(HttpError::Malformed("bad chunk size"));
        }
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|_| HttpError::Malformed("bad chunk size"))?;
        pos += nl + 1;
        if size == 0 {
            // Trailer section: fields up to an empty line.
            loop {
                let rest = buf.get(pos..).unwrap_or_default();
                let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
                    return if rest.len() > MAX_HEAD {
                        Err(HttpError::HeadTooLarge)
                    } else {
                        Ok(None)
                    };
                };
                let line = rest.get(..nl).unwrap_or_default();
                pos += nl + 1;
                if line.is_empty() || line == b"\r" {
                    return Ok(Some((out, pos)));
                }
            }
        }
        if out.len().saturating_add(size) > MAX_BODY {
            return Err(HttpError::BodyTooLarge);
        }
        let Some(data) = buf.get(pos..pos + size) else {
            return Ok(None);
        };
        out.extend_from_slice(data);
        pos += size;
        match (buf.get(pos), buf.get(pos + 1)) {
            (Some(b'\r'), Some(b'\n')) => pos += 2,
            (Some(b'\n'), _) => pos += 1,
            (Some(b'\r'), None) | (None, _) => return Ok(None),
            _ => return Err(HttpError::Malformed("chunk not followed by a line end")),
        }
    }
}

/// Encodes `data` as a chunked body (chunks of at most `chunk` bytes, then the last chunk).
pub fn encode_chunked(data: &[u8], chunk: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 32);
    for c in data.chunks(chunk.max(1)) {
        out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        out.extend_from_slice(c);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

// ------------------------------------------------------------------------------ server side

/// Reads one request from `stream`: `Ok(None)` if the peer closed before sending a byte.
/// Answers `Expect: 100-continue` before reading the body.
///
/// # Errors
/// [`HttpError`] for malformed or oversized requests and socket errors.
pub async fn read_request<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
) -> Result<Option<Request>, HttpError> {
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = [0u8; 8192];
    let (head, used) = loop {
        if let Some(h) = RequestHead::parse(&buf)? {
            break h;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return if buf.is_empty() {
                Ok(None)
            } else {
                Err(HttpError::Closed)
            };
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    };
    let framing = framing(&head.headers, true)?;
    let expects_continue = head
        .headers
        .get("expect")
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
    buf.drain(..used);
    if expects_continue && head.minor == 1 && framing != Framing::Length(0) && buf.is_empty() {
        stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await?;
    }
    let body = read_body(stream, buf, framing).await?;
    Ok(Some(Request { head, body }))
}

async fn read_body<S: AsyncRead + Unpin>(
    stream: &mut S,
    mut buf: Vec<u8>,
    framing: Framing,
) -> Result<Vec<u8>, HttpError> {
    let mut chunk = [0u8; 8192];
    loop {
        match framing {
            Framing::Length(n) if buf.len() >= n => {
                buf.truncate(n);
                return Ok(buf);
            }
            Framing::Chunked => {
                if let Some((body, _)) = decode_chunked(&buf)? {
                    return Ok(body);
                }
            }
            _ => {}
        }
        if buf.len() > MAX_BODY + MAX_HEAD {
            return Err(HttpError::BodyTooLarge);
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return if framing == Framing::UntilClose {
                Ok(buf)
            } else {
                Err(HttpError::Closed)
            };
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        if framing == Framing::UntilClose && buf.len() > MAX_BODY {
            return Err(HttpError::BodyTooLarge);
        }
    }
}

// ------------------------------------------------------------------------------ client side

/// An `http://host[:port]/path` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// Port (80 when not written).
    pub port: u16,
    /// Path and query, starting with `/`.
    pub target: String,
}

impl Url {
    /// `host:port` for connecting (IPv6 in brackets).
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}{}", self.authority(), self.target)
    }
}

impl FromStr for Url {
    type Err = HttpError;

    fn from_str(s: &str) -> Result<Self, HttpError> {
        let bad = |why| HttpError::BadUrl {
            url: s.to_owned(),
            why,
        };
        let rest = if let Some(r) = s.strip_prefix("http://") {
            r
        } else if s.starts_with("https://") {
            return Err(bad(
                "https is not supported (use http://, e.g. through a local TLS proxy)",
            ));
        } else {
            return Err(bad("expected http://HOST[:PORT]/PATH"));
        };
        let (authority, target) = match rest.find(['/', '?']) {
            Some(i) => (
                rest.get(..i).unwrap_or_default(),
                rest.get(i..).unwrap_or_default(),
            ),
            None => (rest, "/"),
        };
        let target = if target.starts_with('?') {
            format!("/{target}")
        } else {
            target.to_owned()
        };
        if target.bytes().any(|b| !(0x21..=0x7e).contains(&b)) {
            return Err(bad("the path has spaces or control characters"));
        }
        if authority.contains('@') {
            return Err(bad("user information in urls is not supported"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(|| bad("unclosed ["))?;
            let port = match after {
                "" => 80,
                p => p
                    .strip_prefix(':')
                    .and_then(|p| p.parse().ok())
                    .ok_or_else(|| bad("bad port"))?,
            };
            (h.to_owned(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), p.parse().map_err(|_| bad("bad port"))?),
                None => (authority.to_owned(), 80),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        if port == 0 {
            return Err(bad("port 0"));
        }
        Ok(Url { host, port, target })
    }
}

/// Makes one request (`Connection: close`) and reads the response, skipping interim 1xx
/// responses. `timeout` bounds connecting and, separately, waiting for the response.
///
/// # Errors
/// [`HttpError::Resolve`], [`HttpError::Connect`] (with a hint when the connection was
/// refused), [`HttpError::Timeout`], and malformed or oversized responses.
pub async fn request(
    url: &Url,
    method: &str,
    content_type: Option<&str>,
    body: &[u8],
    timeout: Duration,
) -> Result<Response, HttpError> {
    let authority = url.authority();
    let addrs: Vec<std::net::SocketAddr> =
        match tokio::time::timeout(timeout, tokio::net::lookup_host(&authority)).await {
            Ok(Ok(a)) => a.collect(),
            Ok(Err(e)) => {
                return Err(HttpError::Resolve {
                    host: url.host.clone(),
                    error: e.to_string(),
                })
            }
            Err(_) => return Err(HttpError::Timeout(timeout)),
        };
    let mut last: Option<std::io::Error> = None;
    let mut stream = None;
    for a in &addrs {
        match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(a)).await {
            Ok(Ok(s)) => {
                stream = Some(s);
                break;
            }
            Ok(Err(e)) => last = Some(e),
            Err(_) => {
                last = Some(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no answer within {timeout:?}"),
                ))
            }
        }
    }
    let Some(mut stream) = stream else {
        let error = last.unwrap_or_else(|| std::io::Error::other("no address"));
        let hint = if error.kind() == std::io::ErrorKind::ConnectionRefused {
            " (nothing listens there: is the answerer running?)"
        } else {
            ""
        };
        return Err(HttpError::Connect {
            addr: authority,
            error,
            hint,
        });
    };
    let _ = stream.set_nodelay(true);
    let mut head = RequestHead {
        method: method.to_owned(),
        target: url.target.clone(),
        minor: 1,
        headers: Headers::default(),
    };
    head.headers.push("Host", authority.clone());
    head.headers
        .push("User-Agent", concat!("oxrtc/", env!("CARGO_PKG_VERSION")));
    if let Some(ct) = content_type {
        head.headers.push("Content-Type", ct);
    }
    if method != "GET" || !body.is_empty() {
        head.headers.push("Content-Length", body.len().to_string());
    }
    head.headers.push("Connection", "close");
    let mut out = Vec::with_capacity(512 + body.len());
    head.write(&mut out);
    out.extend_from_slice(body);
    stream.write_all(&out).await?;
    match tokio::time::timeout(timeout, read_response(&mut stream, method == "HEAD")).await {
        Ok(r) => r,
        Err(_) => Err(HttpError::Timeout(timeout)),
    }
}

/// Reads a response (after any 1xx interim responses).
///
/// # Errors
/// Malformed or oversized responses, socket errors, [`HttpError::Closed`].
pub async fn read_response<S: AsyncRead + Unpin>(
    stream: &mut S,
    head_only: bool,
) -> Result<Response, HttpError> {
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = [0u8; 8192];
    loop {
        if let Some((head, used)) = ResponseHead::parse(&buf)? {
            buf.drain(..used);
            if (100..200).contains(&head.status) {
                continue;
            }
            let framing = if head_only || head.status == 204 || head.status == 304 {
                Framing::Length(0)
            } else {
                framing(&head.headers, false)?
            };
            let body = read_body(stream, buf, framing).await?;
            return Ok(Response { head, body });
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(HttpError::Closed);
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_curl_post() {
        let raw = b"POST /offer HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\nContent-Type: application/sdp\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nv=0\r\n";
        let (head, used) = RequestHead::parse(raw).unwrap().unwrap();
        assert_eq!(head.method, "POST");
        assert_eq!(head.target, "/offer");
        assert_eq!(head.headers.get("content-type"), Some("application/sdp"));
        assert_eq!(framing(&head.headers, true).unwrap(), Framing::Length(5));
        assert_eq!(&raw[used..], b"v=0\r\n");
    }

    #[test]
    fn incomplete_and_oversized_heads() {
        assert!(RequestHead::parse(b"GET / HTTP/1.1\r\nHost: x\r\n")
            .unwrap()
            .is_none());
        let big = vec![b'a'; MAX_HEAD + 1];
        assert!(matches!(
            RequestHead::parse(&big),
            Err(HttpError::HeadTooLarge)
        ));
        let mut many = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..=MAX_HEADERS {
            many.extend_from_slice(format!("x{i}: y\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert!(matches!(
            RequestHead::parse(&many),
            Err(HttpError::HeadTooLarge)
        ));
    }

    #[test]
    fn bare_lf_and_bad_requests() {
        let (h, _) = RequestHead::parse(b"GET /health HTTP/1.0\nHost: x\n\n")
            .unwrap()
            .unwrap();
        assert_eq!((h.minor, h.target.as_str()), (0, "/health"));
        for bad in [
            &b"GET /health\r\n\r\n"[..],
            b"GET  / HTTP/1.1\r\n\r\n",
            b"GET / HTTP/2\r\n\r\n",
            b"GET / HTTP/1.1\r\nNo colon\r\n\r\n",
            b"GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",
            b"G(T / HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nA: b\x01\r\n\r\n",
        ] {
            assert!(
                RequestHead::parse(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn content_length_rules() {
        let h = |v: &[&str]| {
            let mut hs = Headers::default();
            for x in v {
                hs.push("Content-Length", *x);
            }
            hs
        };
        assert_eq!(
            framing(&h(&["10", "10"]), true).unwrap(),
            Framing::Length(10)
        );
        assert!(framing(&h(&["10", "11"]), true).is_err());
        assert!(framing(&h(&["-1"]), true).is_err());
        assert!(framing(&h(&["+1"]), true).is_err());
        assert!(matches!(
            framing(&h(&["99999999999"]), true),
            Err(HttpError::BodyTooLarge)
        ));
        assert_eq!(framing(&h(&[]), true).unwrap(), Framing::Length(0));
        assert_eq!(framing(&h(&[]), false).unwrap(), Framing::UntilClose);
    }

    #[test]
    fn chunked_bodies() {
        let enc = b"4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\nTrailer: x\r\n\r\nNEXT";
        let (body, used) = decode_chunked(enc).unwrap().unwrap();
        assert_eq!(body, b"Wikipedia");
        assert_eq!(&enc[used..], b"NEXT");
        for cut in 0..enc.len() - 4 {
            assert!(decode_chunked(&enc[..cut]).unwrap().is_none(), "cut {cut}");
        }
        assert!(decode_chunked(b"zz\r\n").is_err());
        assert!(decode_chunked(b"4\r\nWikiX").is_err());
        assert!(matches!(
            decode_chunked(b"fffffff\r\n"),
            Err(HttpError::BodyTooLarge)
        ));
        let data: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        let (back, _) = decode_chunked(&encode_chunked(&data, 77)).unwrap().unwrap();
        assert_eq!(back, data);
    }

    #[test]
    fn response_heads() {
        let (h, used) = ResponseHead::parse(
            b"HTTP/1.1 201 Created\r\nContent-Type: application/sdp\r\n\r\nv=0",
        )
        .unwrap()
        .unwrap();
        assert_eq!((h.status, h.reason.as_str(), used), (201, "Created", 55));
        let (h, _) = ResponseHead::parse(b"HTTP/1.1 200\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!((h.status, h.reason.as_str()), (200, ""));
        assert!(ResponseHead::parse(b"HTTP/1.1 20 OK\r\n\r\n").is_err());
        assert!(ResponseHead::parse(b"SIP/2.0 200 OK\r\n\r\n").is_err());
        let r = Response::text(404, "nope").with_header("X-A", "b");
        let bytes = r.to_bytes();
        let (h, used) = ResponseHead::parse(&bytes).unwrap().unwrap();
        assert_eq!(h.headers.get("content-length"), Some("4"));
        assert_eq!(&bytes[used..], b"nope");
    }

    #[test]
    fn urls() {
        let u: Url = "http://127.0.0.1:8080/offer".parse().unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.target.as_str()),
            ("127.0.0.1", 8080, "/offer")
        );
        assert_eq!(u.to_string(), "http://127.0.0.1:8080/offer");
        let u: Url = "http://[::1]/whip?x=1".parse().unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.target.as_str()),
            ("::1", 80, "/whip?x=1")
        );
        assert_eq!(u.authority(), "[::1]:80");
        let u: Url = "http://example.org".parse().unwrap();
        assert_eq!(u.target, "/");
        let u: Url = "http://h?q".parse().unwrap();
        assert_eq!(u.target, "/?q");
        for bad in [
            "https://x/offer",
            "ftp://x",
            "http://",
            "http://x:0/",
            "http://x:99999/",
            "http://u@x/",
            "http://[::1/",
            "http://x/a b",
        ] {
            assert!(bad.parse::<Url>().is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn reads_a_request_with_expect_continue() {
        let (mut client, mut server) = tokio::io::duplex(64 * 1024);
        let t = tokio::spawn(async move {
            client
                .write_all(b"POST /offer HTTP/1.1\r\nContent-Type: application/sdp\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n")
                .await
                .unwrap();
            let mut got = [0u8; 25];
            client.read_exact(&mut got).await.unwrap();
            assert_eq!(&got, b"HTTP/1.1 100 Continue\r\n\r\n");
            client.write_all(b"abc").await.unwrap();
            client
        });
        let req = read_request(&mut server).await.unwrap().unwrap();
        assert_eq!(req.body, b"abc");
        assert_eq!(req.content_type(), "application/sdp");
        drop(t.await.unwrap());
        let (mut c2, mut s2) = tokio::io::duplex(1024);
        drop(c2.shutdown().await);
        drop(c2);
        assert!(read_request(&mut s2).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn reads_responses() {
        let (mut a, mut b) = tokio::io::duplex(64 * 1024);
        a.write_all(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nv=0\r\n0\r\n\r\n")
            .await
            .unwrap();
        let r = read_response(&mut b, false).await.unwrap();
        assert_eq!((r.status(), r.body.as_slice()), (201, &b"v=0"[..]));
        let (mut a, mut b) = tokio::io::duplex(64 * 1024);
        a.write_all(b"HTTP/1.0 200 OK\r\n\r\nuntil close")
            .await
            .unwrap();
        drop(a);
        let r = read_response(&mut b, false).await.unwrap();
        assert_eq!(r.body, b"until close");
    }

    proptest::proptest! {
        #[test]
        fn request_head_round_trip(
            method in "[A-Z]{1,8}",
            target in "/[!-~]{0,40}",
            minor in 0u8..2,
            fields in proptest::collection::vec(("[A-Za-z0-9-]{1,16}", "[!-~]([ !-~]{0,30}[!-~])?"), 0..8),
        ) {
            let head = RequestHead { method, target, minor, headers: Headers(fields) };
            let mut out = Vec::new();
            head.write(&mut out);
            let (back, used) = RequestHead::parse(&out).unwrap().unwrap();
            proptest::prop_assert_eq!(used, out.len());
            proptest::prop_assert_eq!(&back, &head);
            let mut again = Vec::new();
            back.write(&mut again);
            proptest::prop_assert_eq!(again, out);
        }

        #[test]
        fn response_head_round_trip(
            status in 100u16..1000,
            reason in "([!-~][ !-~]{0,20})?",
            fields in proptest::collection::vec(("[A-Za-z0-9-]{1,16}", "[!-~]{0,30}"), 0..8),
        ) {
            let head = ResponseHead { minor: 1, status, reason, headers: Headers(fields) };
            let mut out = Vec::new();
            head.write(&mut out);
            let (back, _) = ResponseHead::parse(&out).unwrap().unwrap();
            proptest::prop_assert_eq!(back, head);
        }

        #[test]
        fn chunked_round_trip(data in proptest::collection::vec(proptest::num::u8::ANY, 0..3000), chunk in 1usize..500) {
            let enc = encode_chunked(&data, chunk);
            let (back, used) = decode_chunked(&enc).unwrap().unwrap();
            proptest::prop_assert_eq!(used, enc.len());
            proptest::prop_assert_eq!(back, data);
        }

        #[test]
        fn parsers_never_panic(data in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            crate::fuzzing::http_message(&data);
        }
    }
}
