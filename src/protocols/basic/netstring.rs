//! [`NetstringParser`]: the sans-IO netstring splitter (`12:hello world!,`) under
//! [`StringProtocol::netstring`](super::StringProtocol::netstring).
//!
//! Tests: `tests/basic_strings.rs`.

use std::fmt;

use super::{FrameScan, Status, StringError, DEFAULT_MAX_STRING_LENGTH};
use crate::transport::Transport;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Reading the decimal length: its value and how many digits were seen.
    Length { value: usize, digits: usize },
    /// Reading the payload into the buffer.
    Payload { length: usize },
    /// The payload is in the buffer; the comma is next.
    Comma { length: usize },
}

/// Splits a byte stream into netstrings (<https://cr.yp.to/proto/netstrings.txt>:
/// `<decimal length>:<payload>,`), with Twisted's rules: no leading zeros, a length over
/// [`max_length`](NetstringParser::max_length) is refused as soon as its digits say so,
/// and anything malformed is an error after which the parser refuses all input (the
/// stream cannot be resynchronised).
///
/// Payloads that lie whole inside one input are returned borrowed from it; one cut across
/// inputs is put together in a buffer reused from one string to the next.
///
/// # Examples
///
/// ```
/// use torsion::protocols::basic::{NetstringParser, Status, StringError};
///
/// let mut parser = NetstringParser::new();
/// let mut input = &b"5:hello,0:,3:ab"[..];
/// assert_eq!(parser.next_string(&mut input), Ok(Status::Complete(&b"hello"[..])));
/// assert_eq!(parser.next_string(&mut input), Ok(Status::Complete(&b""[..])));
/// assert_eq!(parser.next_string(&mut input), Ok(Status::Partial));
/// let mut input = &b"c,"[..];
/// assert_eq!(parser.next_string(&mut input), Ok(Status::Complete(&b"abc"[..])));
///
/// let mut input = &b"007:"[..];
/// assert_eq!(parser.next_string(&mut input), Err(StringError::BadLength));
/// ```
#[derive(Clone)]
pub struct NetstringParser {
    pub(crate) max_length: usize,
    state: State,
    pub(crate) buffer: Vec<u8>,
    failed: Option<StringError>,
}

impl NetstringParser {
    /// A parser accepting payloads up to [`DEFAULT_MAX_STRING_LENGTH`] bytes.
    pub fn new() -> NetstringParser {
        NetstringParser::with_max_length(DEFAULT_MAX_STRING_LENGTH)
    }

    /// A parser accepting payloads up to `max_length` bytes.
    pub fn with_max_length(max_length: usize) -> NetstringParser {
        NetstringParser {
            max_length,
            state: State::Length {
                value: 0,
                digits: 0,
            },
            buffer: Vec::new(),
            failed: None,
        }
    }

    /// The longest payload accepted (Twisted's `MAX_LENGTH`).
    pub fn max_length(&self) -> usize {
        self.max_length
    }

    /// Changes the longest payload accepted, from the next length read on.
    pub fn set_max_length(&mut self, max_length: usize) {
        self.max_length = max_length;
    }

    /// The error that stopped the parser, if one did.
    pub fn error(&self) -> Option<StringError> {
        self.failed
    }

    /// Forgets any partial netstring and error: the next input starts a new netstring.
    pub fn reset(&mut self) {
        *self = NetstringParser::with_max_length(self.max_length);
    }

    /// The next payload of the buffered bytes followed by `input`.
    ///
    /// `Ok(Status::Complete(payload))` advances `input` past the netstring's comma;
    /// `Ok(Status::Partial)` keeps what is left and empties `input`.
    ///
    /// # Errors
    ///
    /// A [`StringError`] for a malformed netstring or a length over the limit; `input` is
    /// emptied, and every later call returns the same error until [`reset`](Self::reset).
    pub fn next_string<'s, 'i: 's>(
        &'s mut self,
        input: &mut &'i [u8],
    ) -> Result<Status<&'s [u8]>, StringError> {
        let scanned = self.scan(input);
        FrameScan::take(scanned, &self.buffer, input)
    }

    fn fail(&mut self, error: StringError) -> Result<FrameScan, StringError> {
        self.failed = Some(error);
        self.buffer.clear();
        Err(error)
    }

    /// Finds the next payload (see [`FrameScan`]).
    pub(crate) fn scan(&mut self, input: &[u8]) -> Result<FrameScan, StringError> {
        if let Some(error) = self.failed {
            return Err(error);
        }
        let mut i = 0;
        loop {
            match self.state {
                State::Length {
                    mut value,
                    mut digits,
                } => loop {
                    let Some(&b) = input.get(i) else {
                        self.state = State::Length { value, digits };
                        return Ok(FrameScan::Partial);
                    };
                    i += 1;
                    match b {
                        b'0'..=b'9' if digits > 0 && value == 0 => {
                            return self.fail(StringError::BadLength);
                        }
                        b'0'..=b'9' => {
                            digits += 1;
                            match value
                                .checked_mul(10)
                                .and_then(|v| v.checked_add(usize::from(b - b'0')))
                            {
                                Some(v) if v <= self.max_length => value = v,
                                too_long => {
                                    let length = too_long.map_or(u64::MAX, |v| v as u64);
                                    return self.fail(StringError::LengthLimitExceeded {
                                        length,
                                        max_length: self.max_length,
                                    });
                                }
                            }
                        }
                        b':' if digits > 0 => {
                            self.state = State::Payload { length: value };
                            self.buffer.clear();
                            break;
                        }
                        _ => return self.fail(StringError::BadLength),
                    }
                },
                State::Payload { length } => {
                    let avail = input.len() - i;
                    if self.buffer.is_empty() && avail > length {
                        // Whole in the input: no copy.
                        if input[i + length] != b',' {
                            return self.fail(StringError::MissingComma);
                        }
                        self.state = State::Length {
                            value: 0,
                            digits: 0,
                        };
                        return Ok(FrameScan::Frame {
                            buffered: false,
                            start: i,
                            len: length,
                            consumed: i + length + 1,
                        });
                    }
                    let take = (length - self.buffer.len()).min(avail);
                    self.buffer.extend_from_slice(&input[i..i + take]);
                    i += take;
                    if self.buffer.len() < length {
                        return Ok(FrameScan::Partial);
                    }
                    self.state = State::Comma { length };
                }
                State::Comma { length } => {
                    let Some(&b) = input.get(i) else {
                        return Ok(FrameScan::Partial);
                    };
                    if b != b',' {
                        return self.fail(StringError::MissingComma);
                    }
                    self.state = State::Length {
                        value: 0,
                        digits: 0,
                    };
                    return Ok(FrameScan::Frame {
                        buffered: true,
                        start: 0,
                        len: length,
                        consumed: i + 1,
                    });
                }
            }
        }
    }
}

impl Default for NetstringParser {
    fn default() -> Self {
        NetstringParser::new()
    }
}

impl fmt::Debug for NetstringParser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetstringParser")
            .field("max_length", &self.max_length)
            .field("state", &self.state)
            .field("failed", &self.failed)
            .finish()
    }
}

/// Writes `payload` as a netstring, in one gathered write with no allocation.
pub(crate) fn send_netstring(transport: &Transport, payload: &[u8]) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = payload.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    transport.write_sequence(&[&digits[at..], b":", payload, b","]);
}
