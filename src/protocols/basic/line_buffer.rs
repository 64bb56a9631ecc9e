//! [`LineBuffer`]: the sans-IO line splitter under [`LineProtocol`](super::LineProtocol)
//! and [`LineOnlyProtocol`](super::LineOnlyProtocol).
//!
//! Tests: `tests/basic_line_buffer.rs`.

use std::fmt;

use super::{Status, DEFAULT_DELIMITER, DEFAULT_MAX_LENGTH};

/// A line was longer than the limit (Twisted calls `lineLengthExceeded`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineTooLong {
    /// Bytes of the offending line seen so far (at least `max_length + 1`, or the whole
    /// buffered partial line with part of a delimiter).
    pub length: usize,
    /// The limit in force.
    pub max_length: usize,
}

impl fmt::Display for LineTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line of at least {} bytes is longer than the limit of {}",
            self.length, self.max_length
        )
    }
}

impl std::error::Error for LineTooLong {}

/// Where [`LineBuffer::scan`] found the next line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scan {
    /// No complete line: the input was kept as the start of one.
    Partial,
    /// A line of `len` bytes, in the buffer (`buffered`, at its start) or in the input at
    /// `start`; `consumed` input bytes, delimiter included, are used up.
    Line {
        buffered: bool,
        start: usize,
        len: usize,
        consumed: usize,
    },
    /// Over the limit: everything buffered plus all the input is the too-long data (the
    /// caller reads the buffer, then clears it).
    TooLong { length: usize },
}

/// Splits a byte stream into lines ending with a delimiter, keeping at most one partial
/// line between inputs, with no allocation per line once its buffer has grown to the
/// longest partial line seen.
///
/// Lines that lie whole inside one input are returned borrowed from that input; a line
/// cut across inputs is put together in the buffer. A line longer than
/// [`max_length`](LineBuffer::max_length), or a partial line that cannot end within the
/// limit (`max_length + delimiter length` bytes without a delimiter, Twisted's rule), is
/// an error: the buffer is emptied and the input dropped, so memory stays bounded
/// whatever the peer sends.
///
/// # Examples
///
/// ```
/// use torsion::protocols::basic::{LineBuffer, Status};
///
/// let mut lines = LineBuffer::new();
/// let mut got = Vec::new();
/// for chunk in [&b"hel"[..], b"lo\r", b"\nworld\r\npart"] {
///     let mut input = chunk;
///     while let Status::Complete(line) = lines.next_line(&mut input).unwrap() {
///         got.push(line.to_vec());
///     }
///     assert!(input.is_empty()); // Partial: the rest is kept inside
/// }
/// assert_eq!(got, [&b"hello"[..], b"world"]);
/// assert_eq!(lines.buffered(), b"part");
/// ```
#[derive(Clone)]
pub struct LineBuffer {
    pub(crate) delimiter: Vec<u8>,
    pub(crate) max_length: usize,
    /// A partial line, never holding a whole delimiter; or the line being delivered.
    pub(crate) buffer: Vec<u8>,
    /// `next_line` returned the line in `buffer`: clear it on the next call.
    delivered: bool,
}

impl LineBuffer {
    /// A buffer splitting on `\r\n`, with lines up to [`DEFAULT_MAX_LENGTH`] bytes.
    pub fn new() -> LineBuffer {
        LineBuffer::with_delimiter(DEFAULT_DELIMITER, DEFAULT_MAX_LENGTH)
    }

    /// A buffer splitting on `delimiter`, with lines up to `max_length` bytes.
    ///
    /// # Panics
    ///
    /// If `delimiter` is empty.
    pub fn with_delimiter(delimiter: &[u8], max_length: usize) -> LineBuffer {
        assert!(
            !delimiter.is_empty(),
            "a line delimiter needs at least one byte"
        );
        LineBuffer {
            delimiter: delimiter.to_vec(),
            max_length,
            buffer: Vec::new(),
            delivered: false,
        }
    }

    /// The delimiter.
    pub fn delimiter(&self) -> &[u8] {
        &self.delimiter
    }

    /// Changes the delimiter; a partial line already buffered is kept and continued.
    ///
    /// # Panics
    ///
    /// If `delimiter` is empty.
    pub fn set_delimiter(&mut self, delimiter: &[u8]) {
        set_delimiter(&mut self.delimiter, delimiter);
    }

    /// The longest line accepted, delimiter excluded.
    pub fn max_length(&self) -> usize {
        self.max_length
    }

    /// Changes the longest line accepted.
    pub fn set_max_length(&mut self, max_length: usize) {
        self.max_length = max_length;
    }

    /// The partial line kept from earlier input.
    pub fn buffered(&self) -> &[u8] {
        if self.delivered {
            &[]
        } else {
            &self.buffer
        }
    }

    /// Forgets the partial line and returns how many bytes it had.
    pub fn clear(&mut self) -> usize {
        let n = if self.delivered { 0 } else { self.buffer.len() };
        self.delivered = false;
        self.buffer.clear();
        n
    }

    /// The next line of the buffered bytes followed by `input`, without its delimiter.
    ///
    /// - `Ok(Status::Complete(line))`: `input` is advanced past the line's delimiter; call
    ///   again for the next line.
    /// - `Ok(Status::Partial)`: no delimiter in what is left; it is kept in the buffer and
    ///   `input` is left empty.
    ///
    /// # Errors
    ///
    /// [`LineTooLong`] when the line is longer than the limit; the buffer is emptied and
    /// `input` left empty.
    pub fn next_line<'s, 'i: 's>(
        &'s mut self,
        input: &mut &'i [u8],
    ) -> Result<Status<&'s [u8]>, LineTooLong> {
        if self.delivered {
            // The previous call returned a line from the buffer: it has been read by now.
            self.delivered = false;
            self.buffer.clear();
        }
        let data: &'i [u8] = input;
        match self.scan(data) {
            Scan::Partial => {
                *input = &data[data.len()..];
                Ok(Status::Partial)
            }
            Scan::Line {
                buffered,
                start,
                len,
                consumed,
            } => {
                *input = &data[consumed..];
                if buffered {
                    self.delivered = true;
                    Ok(Status::Complete(&self.buffer[..len]))
                } else {
                    Ok(Status::Complete(&data[start..start + len]))
                }
            }
            Scan::TooLong { length } => {
                self.buffer.clear();
                *input = &data[data.len()..];
                Err(LineTooLong {
                    length,
                    max_length: self.max_length,
                })
            }
        }
    }

    /// Finds the next line in the buffered bytes followed by `input`. The buffer keeps a
    /// buffered line (`Scan::Line { buffered: true }`) until the caller clears it.
    pub(crate) fn scan(&mut self, input: &[u8]) -> Scan {
        let d = &self.delimiter[..];
        let dlen = d.len();
        let max = self.max_length;
        if self.buffer.is_empty() {
            return match find(input, d) {
                Some(i) if i > max => Scan::TooLong { length: i },
                Some(i) => Scan::Line {
                    buffered: false,
                    start: 0,
                    len: i,
                    consumed: i + dlen,
                },
                None if input.len() >= max.saturating_add(dlen) => Scan::TooLong {
                    length: input.len(),
                },
                None => {
                    self.buffer.extend_from_slice(input);
                    Scan::Partial
                }
            };
        }
        // The buffer holds no whole delimiter, so the first one either straddles the
        // boundary (it starts in the buffer) or lies wholly in the input. Of the
        // straddling ones, the longest head starts first.
        let blen = self.buffer.len();
        for head in (1..dlen).rev() {
            if head <= blen
                && dlen - head <= input.len()
                && self.buffer.ends_with(&d[..head])
                && input.starts_with(&d[head..])
            {
                let len = blen - head;
                if len > max {
                    return Scan::TooLong {
                        length: blen + input.len(),
                    };
                }
                self.buffer.truncate(len);
                return Scan::Line {
                    buffered: true,
                    start: 0,
                    len,
                    consumed: dlen - head,
                };
            }
        }
        match find(input, d) {
            Some(i) if blen + i > max => Scan::TooLong {
                length: blen + input.len(),
            },
            Some(i) => {
                self.buffer.extend_from_slice(&input[..i]);
                Scan::Line {
                    buffered: true,
                    start: 0,
                    len: blen + i,
                    consumed: i + dlen,
                }
            }
            None if blen + input.len() >= max.saturating_add(dlen) => Scan::TooLong {
                length: blen + input.len(),
            },
            None => {
                self.buffer.extend_from_slice(input);
                Scan::Partial
            }
        }
    }
}

impl Default for LineBuffer {
    fn default() -> Self {
        LineBuffer::new()
    }
}

impl fmt::Debug for LineBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LineBuffer")
            .field("delimiter", &self.delimiter.escape_ascii().to_string())
            .field("max_length", &self.max_length)
            .field("buffered", &self.buffered().len())
            .finish()
    }
}

/// Replaces a delimiter in place (no allocation when it is not longer).
pub(crate) fn set_delimiter(current: &mut Vec<u8>, delimiter: &[u8]) {
    assert!(
        !delimiter.is_empty(),
        "a line delimiter needs at least one byte"
    );
    current.clear();
    current.extend_from_slice(delimiter);
}

/// The start of the first occurrence of `needle` (not empty) in `haystack`.
pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let (&last, head) = needle.split_last()?;
    let k = head.len();
    let mut from = k;
    while from < haystack.len() {
        let end = from + memchr(last, &haystack[from..])?;
        if haystack[end - k..end].iter().zip(head).all(|(a, b)| a == b) {
            return Some(end - k);
        }
        from = end + 1;
    }
    None
}

/// The index of the first `byte` in `haystack`, sixteen bytes per step with the SWAR
/// zero-byte test (safe code; no SIMD intrinsics).
pub(crate) fn memchr(byte: u8, haystack: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let pattern = LO.wrapping_mul(u64::from(byte));
    // Bytes equal to `byte` become zero; the lowest flagged byte is the first zero one.
    let zeros = |word: u64| {
        let x = word ^ pattern;
        x.wrapping_sub(LO) & !x & HI
    };
    let word = |b: &[u8]| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
    let mut chunks = haystack.chunks_exact(16);
    let mut offset = 0;
    for chunk in &mut chunks {
        let (a, b) = (zeros(word(&chunk[..8])), zeros(word(&chunk[8..])));
        if a | b != 0 {
            let at = if a != 0 {
                a.trailing_zeros() / 8
            } else {
                8 + b.trailing_zeros() / 8
            };
            return Some(offset + at as usize);
        }
        offset += 16;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == byte)
        .map(|i| offset + i)
}
