//! Parse errors: every error names the 1-based line it was found on and why.

/// An SDP that could not be parsed.
///
/// `line` is the 1-based line number of the offending line (counting every line of the
/// input, blank ones included); it is 0 when the error is not tied to one line (for example
/// an [`Attribute`](crate::Attribute) parsed on its own, or the input is not UTF-8).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sdp line {line}: {kind}")]
pub struct Error {
    /// 1-based line number, 0 when not tied to a line.
    pub line: usize,
    /// What is wrong.
    pub kind: ErrorKind,
}

impl Error {
    pub(crate) fn new(line: usize, kind: ErrorKind) -> Self {
        Self { line, kind }
    }
}

/// Why an SDP could not be parsed.
///
/// Sorted by who is at fault: malformed input first, then unsupported, then local limits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input is not UTF-8 (RFC 8866 §5: SDP text is UTF-8).
    #[error("not valid utf-8")]
    NotUtf8,
    /// A line is not `<type>=<value>` with a lower-case letter as type, or holds NUL or a
    /// bare CR.
    #[error("line is not of the form <type>=<value>")]
    MalformedLine,
    /// A line type this crate does not know (RFC 8866 §5 lets a parser reject these).
    #[error("unknown line type {0:?}")]
    UnknownLineType(char),
    /// A required line is missing (`v=`, `o=`, `s=`, `t=`).
    #[error("missing {0}= line")]
    MissingLine(char),
    /// A line appears where the grammar does not allow it (e.g. `o=` inside a media
    /// description, `r=` before any `t=`, `v=` not first).
    #[error("{0}= line not allowed here")]
    UnexpectedLine(char),
    /// A line that may appear once appears twice.
    #[error("duplicate {0}= line")]
    DuplicateLine(char),
    /// A field of a line does not follow its grammar.
    #[error("invalid {field}: {reason}")]
    InvalidField {
        /// The field, named as in RFC 8866 §5 (e.g. `"origin"`, `"media"`).
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A typed attribute does not follow its grammar.
    #[error("invalid a={attribute}: {reason}")]
    InvalidAttribute {
        /// The attribute name (e.g. `"rtpmap"`).
        attribute: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `v=` is not 0, the only version RFC 8866 defines.
    #[error("unsupported protocol version")]
    UnsupportedVersion,
    /// The input has more lines than [`Limits::max_lines`](crate::Limits::max_lines).
    #[error("more than {0} lines")]
    TooManyLines(usize),
    /// A line is longer than [`Limits::max_line_length`](crate::Limits::max_line_length)
    /// bytes.
    #[error("line longer than {0} bytes")]
    LineTooLong(usize),
    /// More media descriptions than
    /// [`Limits::max_media_descriptions`](crate::Limits::max_media_descriptions).
    #[error("more than {0} media descriptions")]
    TooManyMediaDescriptions(usize),
}

pub(crate) fn attr(attribute: &'static str, reason: &'static str) -> ErrorKind {
    ErrorKind::InvalidAttribute { attribute, reason }
}

pub(crate) fn field(field: &'static str, reason: &'static str) -> ErrorKind {
    ErrorKind::InvalidField { field, reason }
}
