//! [`ChunkedDecoder`]: the chunked transfer coding of request bodies (RFC 9112 §7.1),
//! sans-IO and cut-independent: the same bytes give the same data and the same verdict
//! however they are split.

use std::fmt;

/// A malformed chunked body; the connection answers 400 and closes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChunkError {
    /// A chunk size that is empty, not hex, or does not fit in a `u64`.
    BadSize,
    /// A line not ended by CRLF (a bare CR or LF), or data not followed by CRLF.
    BadLineEnd,
    /// A chunk-size or trailer line longer than the limit.
    LineTooLong,
    /// A NUL or other control byte in an extension or trailer.
    BadByte,
}

impl fmt::Display for ChunkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChunkError::BadSize => "malformed chunk size",
            ChunkError::BadLineEnd => "malformed line end in chunked body",
            ChunkError::LineTooLong => "chunk-size or trailer line too long",
            ChunkError::BadByte => "control byte in chunked body",
        })
    }
}

impl std::error::Error for ChunkError {}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Hex digits of a size; `digits` so far.
    Size { digits: u8 },
    /// After the size: extensions up to CR.
    Extension,
    /// CR seen at the end of a size line; LF expected.
    SizeLf,
    /// `left` bytes of chunk data to go.
    Data,
    /// CR expected after data.
    DataCr,
    /// LF expected after data.
    DataLf,
    /// At the start of a trailer line (or of the final empty line).
    TrailerStart,
    /// Inside a trailer line.
    Trailer,
    /// CR seen ending a trailer line.
    TrailerLf,
    /// CR seen on the final empty line.
    FinalLf,
    /// The body is complete.
    Done,
    /// An error was reported; everything after it is refused.
    Failed(ChunkError),
}

/// Decodes a chunked body. Feed it with [`decode`](ChunkedDecoder::decode) until
/// [`is_done`](ChunkedDecoder::is_done).
///
/// Strict: sizes are hex digits only (no sign, no leading whitespace, at most 16 digits),
/// every line ends with CRLF, extensions and trailers are skipped (bounded by the line
/// limit) and never reach the application.
///
/// # Examples
///
/// ```
/// use torsion::web::http::ChunkedDecoder;
///
/// let mut d = ChunkedDecoder::new(1024);
/// let mut body = Vec::new();
/// let used = d.decode(b"5\r\nhello\r\n0\r\n\r\nNEXT", |data| body.extend_from_slice(data)).unwrap();
/// assert_eq!((used, body.as_slice(), d.is_done()), (15, &b"hello"[..], true));
/// ```
#[derive(Clone, Debug)]
pub struct ChunkedDecoder {
    state: State,
    size: u64,
    line: usize,
    max_line: usize,
}

impl ChunkedDecoder {
    /// A decoder at the start of a body; `max_line` bounds chunk-size and trailer lines.
    pub fn new(max_line: usize) -> ChunkedDecoder {
        ChunkedDecoder {
            state: State::Size { digits: 0 },
            size: 0,
            line: 0,
            max_line,
        }
    }

    /// True once the last chunk and the trailers have been read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    fn fail(&mut self, e: ChunkError) -> Result<usize, ChunkError> {
        self.state = State::Failed(e);
        Err(e)
    }

    /// Decodes from `input`, passing chunk data to `data` (possibly in several pieces),
    /// and returns how many bytes it used: all of them, or fewer once the body is complete
    /// (the rest belongs to the next request).
    ///
    /// # Errors
    ///
    /// A [`ChunkError`], then the same error on every later call.
    pub fn decode(
        &mut self,
        input: &[u8],
        mut data: impl FnMut(&[u8]),
    ) -> Result<usize, ChunkError> {
        let mut i = 0;
        while i < input.len() {
            let c = input[i];
            match self.state {
                State::Failed(e) => return Err(e),
                State::Done => return Ok(i),
                State::Data => {
                    let n = (input.len() - i).min(usize::try_from(self.size).unwrap_or(usize::MAX));
                    data(&input[i..i + n]);
                    self.size -= n as u64;
                    i += n;
                    if self.size == 0 {
                        self.state = State::DataCr;
                    }
                    continue;
                }
                _ => {}
            }
            i += 1;
            if !matches!(self.state, State::DataCr | State::DataLf) {
                self.line += 1;
                if self.line > self.max_line {
                    return self.fail(ChunkError::LineTooLong);
                }
            }
            self.state = match (self.state, c) {
                (State::Size { digits }, b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F') => {
                    if digits == 16 {
                        return self.fail(ChunkError::BadSize);
                    }
                    let v = (c as char).to_digit(16).unwrap_or(0);
                    self.size = (self.size << 4) | u64::from(v);
                    State::Size { digits: digits + 1 }
                }
                (State::Size { digits: 0 }, _) => return self.fail(ChunkError::BadSize),
                (State::Size { .. }, b';' | b' ' | b'\t') => State::Extension,
                (State::Size { .. } | State::Extension, b'\r') => State::SizeLf,
                (State::Size { .. }, _) => return self.fail(ChunkError::BadSize),
                (State::Extension, b'\n') => return self.fail(ChunkError::BadLineEnd),
                (State::Extension, c) if c < 0x20 && c != b'\t' || c == 0x7f => {
                    return self.fail(ChunkError::BadByte)
                }
                (State::Extension, _) => State::Extension,
                (State::SizeLf, b'\n') => {
                    self.line = 0;
                    if self.size == 0 {
                        State::TrailerStart
                    } else {
                        State::Data
                    }
                }
                (State::SizeLf, _) => return self.fail(ChunkError::BadLineEnd),
                (State::DataCr, b'\r') => State::DataLf,
                (State::DataLf, b'\n') => {
                    self.line = 0;
                    State::Size { digits: 0 }
                }
                (State::DataCr | State::DataLf, _) => return self.fail(ChunkError::BadLineEnd),
                (State::TrailerStart, b'\r') => State::FinalLf,
                (State::FinalLf, b'\n') => {
                    self.state = State::Done;
                    return Ok(i);
                }
                (State::FinalLf, _) => return self.fail(ChunkError::BadLineEnd),
                (State::Trailer, b'\r') => State::TrailerLf,
                (State::TrailerStart | State::Trailer, b'\n') => {
                    return self.fail(ChunkError::BadLineEnd)
                }
                (State::TrailerStart | State::Trailer, c)
                    if c < 0x20 && c != b'\t' || c == 0x7f =>
                {
                    return self.fail(ChunkError::BadByte)
                }
                (State::TrailerStart | State::Trailer, _) => State::Trailer,
                (State::TrailerLf, b'\n') => {
                    self.line = 0;
                    State::TrailerStart
                }
                (State::TrailerLf, _) => return self.fail(ChunkError::BadLineEnd),
                (State::Data | State::Done | State::Failed(_), _) => unreachable!("handled above"),
            };
        }
        match self.state {
            State::Failed(e) => Err(e),
            _ => Ok(i),
        }
    }
}
