//! Request heads: [`parse_head`] runs httparse over a buffer, then applies RFC 9112's framing
//! rules (the ones httparse leaves to its caller) and records what the server needs.

use std::fmt;
use std::mem::MaybeUninit;
use std::ops::Range;

use super::Limits;

/// The header array handed to httparse lives on the stack; `Limits::max_headers` above
/// this is capped to it.
pub const HEADER_ARRAY: usize = 256;

/// How a request's body is delimited (RFC 9112 §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Framing {
    /// No body (no `Content-Length`, no `Transfer-Encoding`).
    #[default]
    None,
    /// `Content-Length: n`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// Why a request was refused; every one answers with [`status`](FramingError::status) and
/// closes the connection, and nothing after it is read as a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FramingError {
    /// The head passed `Limits::max_head_bytes` (431).
    HeadTooLarge,
    /// More than `Limits::max_headers` fields (431).
    TooManyHeaders,
    /// The declared or received body passed `Limits::max_body_bytes` (413).
    BodyTooLarge,
    /// A transfer coding other than chunked (501).
    UnsupportedCoding,
    /// Anything else malformed (400), with what it was.
    Malformed(&'static str),
}

impl FramingError {
    /// The status code to answer with.
    pub fn status(self) -> u16 {
        match self {
            FramingError::HeadTooLarge | FramingError::TooManyHeaders => 431,
            FramingError::BodyTooLarge => 413,
            FramingError::UnsupportedCoding => 501,
            FramingError::Malformed(_) => 400,
        }
    }
}

impl fmt::Display for FramingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FramingError::HeadTooLarge => f.write_str("request head too large"),
            FramingError::TooManyHeaders => f.write_str("too many header fields"),
            FramingError::BodyTooLarge => f.write_str("request body too large"),
            FramingError::UnsupportedCoding => f.write_str("unsupported transfer coding"),
            FramingError::Malformed(what) => write!(f, "malformed request: {what}"),
        }
    }
}

impl std::error::Error for FramingError {}

/// What [`parse_head`] found, as offsets into the buffer it was given. Reused from request
/// to request (its `headers` keeps its capacity).
#[derive(Clone, Debug, Default)]
pub struct Head {
    /// Bytes of the head, the final empty line included.
    pub len: usize,
    /// The method.
    pub method: Range<usize>,
    /// The request target as sent.
    pub target: Range<usize>,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor: u8,
    /// Each field's name and value.
    pub headers: Vec<(Range<usize>, Range<usize>)>,
    /// How the body is delimited.
    pub framing: Framing,
    /// The connection may carry another request after this one.
    pub keep_alive: bool,
    /// `Expect: 100-continue` was sent.
    pub expect_continue: bool,
}

/// Where the end of a head (an empty line after the request line) is in `buf`, scanning
/// from `from`: the index just past it. Lets a caller skip httparse until a whole head is
/// there, so a head that arrives one byte at a time costs O(n), not O(n²). Empty lines
/// before the request line (which httparse skips, as RFC 9112 §2.2 allows) do not count
/// as an end.
///
/// # Examples
///
/// ```
/// use torsion::web::http::find_head_end;
/// assert_eq!(find_head_end(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nrest", 0), Some(27));
/// assert_eq!(find_head_end(b"\r\n\r\nGET / HTTP/1.1\r\n", 0), None);
/// ```
pub fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut skip = 0;
    loop {
        match &buf[skip..] {
            [b'\n', ..] => skip += 1,
            [b'\r', b'\n', ..] => skip += 2,
            _ => break,
        }
    }
    let mut i = from.saturating_sub(2).max(skip);
    while let Some(p) = buf
        .get(i..)
        .and_then(|b| b.iter().position(|&c| c == b'\n'))
    {
        let nl = i + p;
        match buf.get(nl + 1..) {
            Some([b'\n', ..]) => return Some(nl + 2),
            Some([b'\r', b'\n', ..]) => return Some(nl + 3),
            _ => i = nl + 1,
        }
    }
    None
}

fn offset(buf: &[u8], part: &[u8]) -> Range<usize> {
    let start = part.as_ptr() as usize - buf.as_ptr() as usize;
    start..start + part.len()
}

fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// Parses a decimal `Content-Length` value: digits only, no sign, no overflow.
pub fn parse_content_length(value: &[u8]) -> Option<u64> {
    if value.is_empty() || value.len() > 19 {
        return None;
    }
    let mut n = 0u64;
    for &c in value {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(n)
}

/// Parses the head at the start of `buf` into `head`: `Ok(None)` if it is not complete yet
/// (and still within the limits), `Ok(Some(len))` with its length once it is.
///
/// Beyond httparse's own checks (token characters, CRLF line ends, no NUL, no bare CR, no
/// obs-fold, no whitespace before a colon, anything before the request line), it refuses,
/// as RFC 9112 asks: both `Content-Length` and `Transfer-Encoding`; differing or malformed
/// (signed, non-numeric, overflowing) `Content-Length`s; `Transfer-Encoding` not ending in
/// `chunked`, or at all in HTTP/1.0; a missing or duplicated `Host` in HTTP/1.1.
///
/// # Examples
///
/// ```
/// use torsion::web::http::{parse_head, Framing, Head, Limits};
///
/// let mut head = Head::default();
/// let req = b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc";
/// assert_eq!(parse_head(req, &Limits::default(), &mut head), Ok(Some(req.len() - 3)));
/// assert_eq!(head.framing, Framing::Length(3));
/// assert_eq!(&req[head.target.clone()], b"/x");
///
/// let bad = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n";
/// assert!(parse_head(bad, &Limits::default(), &mut head).is_err());
/// ```
///
/// # Errors
///
/// A [`FramingError`]; the connection must answer it and close.
pub fn parse_head(
    buf: &[u8],
    limits: &Limits,
    head: &mut Head,
) -> Result<Option<usize>, FramingError> {
    // Uninitialised storage: zeroing 256 headers per request would cost more than the
    // parse itself.
    let mut storage: [MaybeUninit<httparse::Header<'_>>; HEADER_ARRAY] =
        [const { MaybeUninit::uninit() }; HEADER_ARRAY];
    let max = limits.max_headers.min(HEADER_ARRAY);
    let mut req = httparse::Request::new(&mut []);
    let window = &buf[..buf.len().min(limits.max_head_bytes)];
    let len = match req.parse_with_uninit_headers(window, &mut storage[..max]) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if window.len() < buf.len() => {
            return Err(FramingError::HeadTooLarge)
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(FramingError::TooManyHeaders),
        Err(e) => return Err(FramingError::Malformed(error_name(e))),
    };
    let method = req.method.ok_or(FramingError::Malformed("method"))?;
    let target = req.path.ok_or(FramingError::Malformed("target"))?;
    let minor = match req.version {
        Some(v @ (0 | 1)) => v,
        _ => return Err(FramingError::Malformed("version")),
    };
    head.len = len;
    head.method = offset(buf, method.as_bytes());
    head.target = offset(buf, target.as_bytes());
    head.minor = minor;
    head.headers.clear();
    head.expect_continue = false;
    let (mut hosts, mut length, mut te_seen, mut chunked_last) = (0, None, false, false);
    let (mut close, mut keep_alive) = (false, false);
    for h in req.headers.iter() {
        let name = h.name.as_bytes();
        head.headers.push((offset(buf, name), offset(buf, h.value)));
        if name.eq_ignore_ascii_case(b"host") {
            hosts += 1;
        } else if name.eq_ignore_ascii_case(b"content-length") {
            let n = parse_content_length(trim_ows(h.value))
                .ok_or(FramingError::Malformed("content-length"))?;
            if length.is_some_and(|l| l != n) {
                return Err(FramingError::Malformed("differing content-length"));
            }
            length = Some(n);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            for coding in h.value.split(|&c| c == b',').map(trim_ows) {
                if coding.is_empty() {
                    continue;
                }
                if chunked_last {
                    // chunked must be the last coding, and only once.
                    return Err(FramingError::Malformed("transfer-encoding after chunked"));
                }
                chunked_last = coding.eq_ignore_ascii_case(b"chunked");
            }
            te_seen = true;
        } else if name.eq_ignore_ascii_case(b"connection") {
            for token in h.value.split(|&c| c == b',').map(trim_ows) {
                close |= token.eq_ignore_ascii_case(b"close");
                keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if name.eq_ignore_ascii_case(b"expect") {
            head.expect_continue = trim_ows(h.value).eq_ignore_ascii_case(b"100-continue");
        }
    }
    head.framing = match (te_seen, length) {
        (true, Some(_)) => {
            return Err(FramingError::Malformed(
                "content-length with transfer-encoding",
            ))
        }
        (true, None) if minor == 0 => {
            return Err(FramingError::Malformed("transfer-encoding in HTTP/1.0"))
        }
        (true, None) if !chunked_last => {
            return Err(FramingError::Malformed(
                "transfer-encoding not ending in chunked",
            ))
        }
        (true, None) => Framing::Chunked,
        (false, Some(n)) if n > limits.max_body_bytes => return Err(FramingError::BodyTooLarge),
        (false, Some(n)) => Framing::Length(n),
        (false, None) => Framing::None,
    };
    if head.framing == Framing::Chunked && te_has_other_coding(buf, head) {
        return Err(FramingError::UnsupportedCoding);
    }
    if hosts > 1 || (minor == 1 && hosts == 0) {
        return Err(FramingError::Malformed("host"));
    }
    head.keep_alive = if minor == 1 {
        !close
    } else {
        keep_alive && !close
    };
    Ok(Some(len))
}

/// A coding other than chunked (and identity) before the final chunked: we decode none.
fn te_has_other_coding(buf: &[u8], head: &Head) -> bool {
    head.headers
        .iter()
        .filter(|(n, _)| buf[n.clone()].eq_ignore_ascii_case(b"transfer-encoding"))
        .flat_map(|(_, v)| buf[v.clone()].split(|&c| c == b','))
        .map(trim_ows)
        .any(|c| {
            !c.is_empty()
                && !c.eq_ignore_ascii_case(b"chunked")
                && !c.eq_ignore_ascii_case(b"identity")
        })
}

fn error_name(e: httparse::Error) -> &'static str {
    match e {
        httparse::Error::HeaderName => "header name",
        httparse::Error::HeaderValue => "header value",
        httparse::Error::NewLine => "line ending",
        httparse::Error::Status => "status",
        httparse::Error::Token => "request line",
        httparse::Error::TooManyHeaders => "too many headers",
        httparse::Error::Version => "version",
    }
}
