//! [`IntParser`]: the sans-IO splitter for strings prefixed by their length as a 1, 2 or 4
//! byte big-endian integer, under [`StringProtocol::int8`](super::StringProtocol::int8),
//! [`int16`](super::StringProtocol::int16) and [`int32`](super::StringProtocol::int32).
//!
//! Tests: `tests/basic_strings.rs`.

use std::fmt;

use super::{FrameScan, Status, StringError, DEFAULT_MAX_STRING_LENGTH};
use crate::transport::Transport;

/// The size of the length prefix (Twisted's `Int8StringReceiver`, `Int16StringReceiver`,
/// `Int32StringReceiver`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IntWidth {
    /// One byte: payloads up to 255 bytes.
    Int8,
    /// Two bytes, network order: up to 65535.
    Int16,
    /// Four bytes, network order: up to 4294967295.
    Int32,
}

impl IntWidth {
    /// Bytes in the prefix.
    pub fn bytes(self) -> usize {
        match self {
            IntWidth::Int8 => 1,
            IntWidth::Int16 => 2,
            IntWidth::Int32 => 4,
        }
    }

    /// The longest payload the prefix can describe.
    pub fn max_encodable(self) -> u64 {
        (1u64 << (8 * self.bytes())) - 1
    }
}

/// A string too long for its length prefix was given to `send_string` (Twisted's
/// `StringTooLongError`); nothing was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StringTooLong {
    /// The string's length.
    pub length: usize,
    /// The longest the prefix can describe.
    pub max_length: u64,
}

impl fmt::Display for StringTooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a string of {} bytes is longer than its length prefix allows ({})",
            self.length, self.max_length
        )
    }
}

impl std::error::Error for StringTooLong {}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// `have` bytes of the prefix are in `bytes`.
    Prefix { have: usize, bytes: [u8; 4] },
    /// Reading the payload into the buffer.
    Payload { length: usize },
}

const START: State = State::Prefix {
    have: 0,
    bytes: [0; 4],
};

/// Splits a byte stream into strings prefixed by their length (big-endian, 1, 2 or 4
/// bytes). A length over [`max_length`](IntParser::max_length) is an error after which
/// the parser refuses all input.
///
/// Payloads that lie whole inside one input are returned borrowed from it; one cut across
/// inputs is put together in a buffer reused from one string to the next.
///
/// # Examples
///
/// ```
/// use torsion::protocols::basic::{IntParser, IntWidth, Status, StringError};
///
/// let mut parser = IntParser::with_max_length(IntWidth::Int16, 1000);
/// let mut input = &b"\x00\x02hi\x00\x05hel"[..];
/// assert_eq!(parser.next_string(&mut input), Ok(Status::Complete(&b"hi"[..])));
/// assert_eq!(parser.next_string(&mut input), Ok(Status::Partial));
/// let mut input = &b"lo"[..];
/// assert_eq!(parser.next_string(&mut input), Ok(Status::Complete(&b"hello"[..])));
///
/// let mut input = &b"\xff\xff"[..];
/// assert_eq!(
///     parser.next_string(&mut input),
///     Err(StringError::LengthLimitExceeded { length: 65535, max_length: 1000 })
/// );
/// ```
#[derive(Clone)]
pub struct IntParser {
    width: IntWidth,
    pub(crate) max_length: usize,
    state: State,
    pub(crate) buffer: Vec<u8>,
    failed: Option<StringError>,
}

impl IntParser {
    /// A parser for `width` prefixes, accepting payloads up to
    /// [`DEFAULT_MAX_STRING_LENGTH`] bytes (Twisted's `MAX_LENGTH`, even for 32-bit
    /// prefixes).
    pub fn new(width: IntWidth) -> IntParser {
        IntParser::with_max_length(width, DEFAULT_MAX_STRING_LENGTH)
    }

    /// A parser for `width` prefixes accepting payloads up to `max_length` bytes.
    pub fn with_max_length(width: IntWidth, max_length: usize) -> IntParser {
        IntParser {
            width,
            max_length,
            state: START,
            buffer: Vec::new(),
            failed: None,
        }
    }

    /// The prefix width.
    pub fn width(&self) -> IntWidth {
        self.width
    }

    /// The longest payload accepted.
    pub fn max_length(&self) -> usize {
        self.max_length
    }

    /// Changes the longest payload accepted, from the next prefix read on.
    pub fn set_max_length(&mut self, max_length: usize) {
        self.max_length = max_length;
    }

    /// The error that stopped the parser, if one did.
    pub fn error(&self) -> Option<StringError> {
        self.failed
    }

    /// Forgets any partial string and error.
    pub fn reset(&mut self) {
        *self = IntParser::with_max_length(self.width, self.max_length);
    }

    /// The next payload of the buffered bytes followed by `input`; as
    /// [`NetstringParser::next_string`](super::NetstringParser::next_string).
    ///
    /// # Errors
    ///
    /// [`StringError::LengthLimitExceeded`]; `input` is emptied, and every later call
    /// returns the same error until [`reset`](Self::reset).
    pub fn next_string<'s, 'i: 's>(
        &'s mut self,
        input: &mut &'i [u8],
    ) -> Result<Status<&'s [u8]>, StringError> {
        let scanned = self.scan(input);
        FrameScan::take(scanned, &self.buffer, input)
    }

    fn decode(&self, prefix: &[u8]) -> u64 {
        prefix.iter().fold(0u64, |n, &b| (n << 8) | u64::from(b))
    }

    /// Checks a decoded length against the limit.
    fn accept(&mut self, length: u64) -> Result<usize, StringError> {
        match usize::try_from(length) {
            Ok(n) if n <= self.max_length => Ok(n),
            _ => {
                let error = StringError::LengthLimitExceeded {
                    length,
                    max_length: self.max_length,
                };
                self.failed = Some(error);
                self.buffer.clear();
                Err(error)
            }
        }
    }

    /// Finds the next payload (see [`FrameScan`]).
    pub(crate) fn scan(&mut self, input: &[u8]) -> Result<FrameScan, StringError> {
        if let Some(error) = self.failed {
            return Err(error);
        }
        let w = self.width.bytes();
        let mut i = 0;
        loop {
            match self.state {
                State::Prefix { have: 0, .. } if input.len() - i >= w => {
                    let length = self.accept(self.decode(&input[i..i + w]))?;
                    i += w;
                    if input.len() - i >= length {
                        // Whole in the input: no copy.
                        return Ok(FrameScan::Frame {
                            buffered: false,
                            start: i,
                            len: length,
                            consumed: i + length,
                        });
                    }
                    self.state = State::Payload { length };
                    self.buffer.clear();
                }
                State::Prefix {
                    mut have,
                    mut bytes,
                } => {
                    while have < w {
                        let Some(&b) = input.get(i) else {
                            self.state = State::Prefix { have, bytes };
                            return Ok(FrameScan::Partial);
                        };
                        bytes[have] = b;
                        have += 1;
                        i += 1;
                    }
                    let length = self.accept(self.decode(&bytes[..w]))?;
                    self.state = State::Payload { length };
                    self.buffer.clear();
                }
                State::Payload { length } => {
                    let take = (length - self.buffer.len()).min(input.len() - i);
                    self.buffer.extend_from_slice(&input[i..i + take]);
                    i += take;
                    if self.buffer.len() < length {
                        return Ok(FrameScan::Partial);
                    }
                    self.state = START;
                    return Ok(FrameScan::Frame {
                        buffered: true,
                        start: 0,
                        len: length,
                        consumed: i,
                    });
                }
            }
        }
    }
}

impl fmt::Debug for IntParser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntParser")
            .field("width", &self.width)
            .field("max_length", &self.max_length)
            .field("state", &self.state)
            .field("failed", &self.failed)
            .finish()
    }
}

/// Writes `payload` with its `width` prefix, in one gathered write with no allocation.
pub(crate) fn send_int_string(
    transport: &Transport,
    width: IntWidth,
    payload: &[u8],
) -> Result<(), StringTooLong> {
    let max_length = width.max_encodable();
    let length = payload.len() as u64;
    if length > max_length {
        return Err(StringTooLong {
            length: payload.len(),
            max_length,
        });
    }
    let prefix = length.to_be_bytes();
    transport.write_sequence(&[&prefix[8 - width.bytes()..], payload]);
    Ok(())
}
