//! [`Limits`]: the named, configurable bounds of one HTTP/1.1 connection.

use std::time::Duration;

/// Request line and headers together, at most (Twisted's `totalHeadersSize`).
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// Header fields per request, at most (Twisted allows 500; 100 is what most servers use).
pub const MAX_HEADERS: usize = 100;
/// Request body, at most, whether framed by `Content-Length` or chunked.
pub const MAX_BODY_BYTES: u64 = 16 * 1024 * 1024;
/// A chunk-size line (size, extensions, CRLF) or a trailer line, at most (Twisted: 1024).
pub const MAX_CHUNK_LINE: usize = 1024;
/// Bytes of later (pipelined) requests buffered while one request is answered; reading
/// pauses beyond it (Twisted's `_optimisticEagerReadSize` is 16 KiB; ours covers 16
/// pipelined requests of a typical benchmark head with room to spare).
pub const MAX_PIPELINED_BYTES: usize = 64 * 1024;
/// How long a connection may sit idle between requests (Twisted's `timeOut`, 60 s).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a client has to send a whole request head, from its first byte (or from the
/// connection's start): stalled senders (slowloris) are closed after it.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Output queued on the transport above which pipelined requests wait before being
/// answered (so a client that sends but never reads cannot grow our memory).
pub const MAX_OUTPUT_BACKLOG: usize = 256 * 1024;

/// The bounds of one connection; `Limits::default()` has the named constants of this module.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use torsion::web::http::Limits;
///
/// let limits = Limits { max_body_bytes: 1 << 20, header_timeout: Some(Duration::from_secs(5)), ..Limits::default() };
/// assert_eq!(limits.max_headers, 100);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// See [`MAX_HEAD_BYTES`]; beyond it the answer is 431 and the connection closes.
    pub max_head_bytes: usize,
    /// See [`MAX_HEADERS`]; beyond it the answer is 431 and the connection closes.
    pub max_headers: usize,
    /// See [`MAX_BODY_BYTES`]; beyond it the answer is 413 and the connection closes.
    pub max_body_bytes: u64,
    /// See [`MAX_CHUNK_LINE`].
    pub max_chunk_line: usize,
    /// See [`MAX_PIPELINED_BYTES`].
    pub max_pipelined_bytes: usize,
    /// See [`IDLE_TIMEOUT`]; `None` never times out.
    pub idle_timeout: Option<Duration>,
    /// See [`HEADER_TIMEOUT`]; `None` never times out.
    pub header_timeout: Option<Duration>,
    /// See [`MAX_OUTPUT_BACKLOG`].
    pub max_output_backlog: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_head_bytes: MAX_HEAD_BYTES,
            max_headers: MAX_HEADERS,
            max_body_bytes: MAX_BODY_BYTES,
            max_chunk_line: MAX_CHUNK_LINE,
            max_pipelined_bytes: MAX_PIPELINED_BYTES,
            idle_timeout: Some(IDLE_TIMEOUT),
            header_timeout: Some(HEADER_TIMEOUT),
            max_output_backlog: MAX_OUTPUT_BACKLOG,
        }
    }
}
