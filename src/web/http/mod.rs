//! HTTP/1.1 wire format, sans-IO: request framing ([`Framer`], [`parse_head`],
//! [`ChunkedDecoder`]), [`Limits`], dates and reason phrases. No sockets and no reactor:
//! bytes in, events out, so every piece is tested whole, at every prefix and byte by byte,
//! and fuzzed (`fuzz/fuzz_targets/http_*.rs`).
//!
//! # Design choices
//!
//! * **Heads are parsed by [httparse](https://docs.rs/httparse)**, the field's standard
//!   parser (hyper's): zero-copy, never allocates, fuzzed upstream. Our layer adds what it
//!   leaves to the caller, RFC 9112's message framing (§6.3): see [`parse_head`].
//! * **Strict.** Everything ambiguous is refused with an error status and a close, and
//!   nothing after the error is read as a request: conflicting `Content-Length` and
//!   `Transfer-Encoding`, differing or malformed lengths, `Transfer-Encoding` not ending in
//!   `chunked`, malformed chunk sizes, obs-fold, bare CR, NUL, a missing or duplicated
//!   `Host` in HTTP/1.1, a header line before the request line. These are the ambiguities
//!   request smuggling lives on.
//! * **Named limits** ([`Limits`]): 16 KiB of head, 100 fields, a body cap, bounded
//!   chunk-size and trailer lines, bounded pipelined input, an idle timeout and a header
//!   timeout.
//!
//! Tests: `tests/web_parser.rs`, `tests/web_framing.rs`; fuzzing entry points in
//! [`crate::web::fuzzing`].

mod chunked;
pub(crate) mod date;
mod framer;
mod head;
mod limits;
mod status;

pub use chunked::{ChunkError, ChunkedDecoder};
pub use date::{date_now, format_http_date, parse_http_date, unix_now, DateBatch, HTTP_DATE_LEN};
pub use framer::{Framer, Progress};
pub use head::{
    find_head_end, parse_content_length, parse_head, Framing, FramingError, Head, HEADER_ARRAY,
};
pub use limits::{
    Limits, HEADER_TIMEOUT, IDLE_TIMEOUT, MAX_BODY_BYTES, MAX_CHUNK_LINE, MAX_HEADERS,
    MAX_HEAD_BYTES, MAX_OUTPUT_BACKLOG, MAX_PIPELINED_BYTES,
};
pub use status::{bodiless, reason_phrase};
