//! The sans-IO IMAP4 response parser: bytes in, [`Response`]s out, no I/O and no
//! knowledge of commands.
//!
//! # Design
//!
//! Two stages:
//!
//! 1. **Framing** (this file). A response is a line, or a line ending in a literal
//!    announcement `{n}`, then `n` raw bytes, then more line, and so on. The framer scans
//!    only the bytes it has not seen for `\n` (never the whole buffer again), appends the
//!    line to the current segment and, after `{n}`, copies the next `n` bytes straight
//!    from the caller's slice into that literal's buffer: every byte is copied once,
//!    whatever the chunking (one byte at a time included), so a literal of any size costs
//!    linear time. The literal buffer starts at most [`LITERAL_PREALLOCATION`] bytes big
//!    and grows by doubling as bytes arrive, so a server that announces a huge literal and
//!    sends nothing costs nothing. As in Twisted, any line ending in `{n}` announces a
//!    literal, free text included (servers do not end text that way).
//! 2. **Grammar** (`grammar.rs`). The finished segments are tokenized into tagged,
//!    untagged and continuation responses of [`Value`]s: atoms, numbers, quoted strings
//!    with `\"` / `\\` escapes, literals, `NIL`, nested lists (parsed with an explicit
//!    stack, no recursion), response codes (`[UIDVALIDITY 3]`) and fetch item names with
//!    sections (`BODY[HEADER.FIELDS (SUBJECT)]<0>` is one atom). Literal bytes are moved
//!    into the values, not copied.
//!
//! # Limits
//!
//! [`Limits`] bounds what one response may cost; going over is a [`ParseError`]:
//!
//! | limit | default | what |
//! |---|---|---|
//! | `max_line_length` | [`DEFAULT_MAX_LINE_LENGTH`] (1 MiB) | the text of one line, literals excluded |
//! | `max_literal_size` | [`DEFAULT_MAX_LITERAL_SIZE`] (256 MiB) | one literal `{n}` |
//! | `max_response_size` | [`DEFAULT_MAX_RESPONSE_SIZE`] (512 MiB) | one response, lines and literals together |
//! | `max_literals` | [`DEFAULT_MAX_LITERALS`] (4096) | literals in one response |
//! | `max_depth` | [`DEFAULT_MAX_DEPTH`] (64) | nesting of parenthesized lists |
//!
//! Literals of any size are allowed by raising `max_literal_size` and
//! `max_response_size` (both `u64`).
//!
//! After an error the parser stays failed: every later [`feed`](ResponseParser::feed)
//! returns the same error (the stream cannot be resynchronized).

mod grammar;
mod value;

use std::fmt;

pub use value::{Response, ResponseCode, Status, StatusText, Untagged, Value};

/// The default longest line (literals excluded): 1 MiB.
pub const DEFAULT_MAX_LINE_LENGTH: usize = 1 << 20;
/// The default largest literal: 256 MiB.
pub const DEFAULT_MAX_LITERAL_SIZE: u64 = 256 << 20;
/// The default largest response (lines and literals): 512 MiB.
pub const DEFAULT_MAX_RESPONSE_SIZE: u64 = 512 << 20;
/// The default most literals in one response: 4096.
pub const DEFAULT_MAX_LITERALS: usize = 4096;
/// The default deepest nesting of lists: 64.
pub const DEFAULT_MAX_DEPTH: usize = 64;
/// The most bytes reserved for a literal before its bytes arrive: 64 KiB.
pub const LITERAL_PREALLOCATION: usize = 64 << 10;

/// What one response may cost (see the [module docs](self)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The longest line, literals excluded.
    pub max_line_length: usize,
    /// The largest literal.
    pub max_literal_size: u64,
    /// The largest response, lines and literals together.
    pub max_response_size: u64,
    /// The most literals in one response.
    pub max_literals: usize,
    /// The deepest nesting of parenthesized lists.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_line_length: DEFAULT_MAX_LINE_LENGTH,
            max_literal_size: DEFAULT_MAX_LITERAL_SIZE,
            max_response_size: DEFAULT_MAX_RESPONSE_SIZE,
            max_literals: DEFAULT_MAX_LITERALS,
            max_depth: DEFAULT_MAX_DEPTH,
        }
    }
}

/// The server sent something that is not an IMAP4 response, or one over a [`Limits`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    message: String,
}

impl ParseError {
    pub(crate) fn new(message: impl Into<String>) -> ParseError {
        ParseError {
            message: message.into(),
        }
    }

    /// What was wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad IMAP4 response from the server: {}", self.message)
    }
}

impl std::error::Error for ParseError {}

/// One line of a response, and the literal it announces at its end (if any).
#[derive(Debug, Default)]
pub(crate) struct Segment {
    pub(crate) text: Vec<u8>,
    pub(crate) literal: Option<Vec<u8>>,
}

#[derive(Debug)]
enum State {
    Line,
    Literal { remaining: u64 },
    Failed(ParseError),
}

/// The sans-IO response parser (see the [module docs](self)).
///
/// # Examples
///
/// ```
/// use torsion::mail::imap4::{Response, ResponseParser, Untagged, Value};
///
/// let mut parser = ResponseParser::new();
/// let mut got = parser.feed(b"* 1 FETCH (BODY[] {5}\r\nhel").unwrap();
/// assert!(got.is_empty()); // the literal is not complete yet
/// got = parser.feed(b"lo)\r\na1 OK done\r\n").unwrap();
/// assert_eq!(got.len(), 2);
/// let Response::Untagged(Untagged::Numbered { number, name, values }) = &got[0] else {
///     panic!()
/// };
/// assert_eq!((*number, name.as_str()), (1, "FETCH"));
/// assert_eq!(
///     values[0],
///     Value::List(vec![Value::Atom("BODY[]".into()), Value::String(b"hello".to_vec())])
/// );
/// ```
#[derive(Debug)]
pub struct ResponseParser {
    limits: Limits,
    state: State,
    line: Vec<u8>,
    segments: Vec<Segment>,
    size: u64,
}

impl Default for ResponseParser {
    fn default() -> ResponseParser {
        ResponseParser::new()
    }
}

impl ResponseParser {
    /// A parser with the default [`Limits`].
    pub fn new() -> ResponseParser {
        ResponseParser::with_limits(Limits::default())
    }

    /// A parser with `limits`.
    pub fn with_limits(limits: Limits) -> ResponseParser {
        ResponseParser {
            limits,
            state: State::Line,
            line: Vec::new(),
            segments: Vec::new(),
            size: 0,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Whether a response has started and is not finished (bytes are held).
    pub fn is_partial(&self) -> bool {
        !self.line.is_empty() || !self.segments.is_empty()
    }

    /// Feeds bytes; gives every response they complete, in order.
    pub fn feed(&mut self, data: &[u8]) -> Result<Vec<Response>, ParseError> {
        let mut out = Vec::new();
        self.feed_with(data, |r| out.push(r))?;
        Ok(out)
    }

    /// Feeds bytes, calling `each` with every response they complete, in order. On an
    /// error, the responses before it have been given.
    pub fn feed_with(
        &mut self,
        mut data: &[u8],
        mut each: impl FnMut(Response),
    ) -> Result<(), ParseError> {
        while !data.is_empty() {
            match &mut self.state {
                State::Failed(e) => return Err(e.clone()),
                State::Literal { remaining } => {
                    let take = (*remaining).min(data.len() as u64) as usize;
                    let literal = self
                        .segments
                        .last_mut()
                        .and_then(|s| s.literal.as_mut())
                        .expect("a literal segment");
                    literal.extend_from_slice(&data[..take]);
                    *remaining -= take as u64;
                    if *remaining == 0 {
                        self.state = State::Line;
                    }
                    data = &data[take..];
                }
                State::Line => {
                    let newline = data.iter().position(|&b| b == b'\n');
                    let end = newline.map_or(data.len(), |i| i + 1);
                    if self.line.len() + end > self.limits.max_line_length + 2 {
                        return Err(self.fail(format!(
                            "line longer than {} bytes",
                            self.limits.max_line_length
                        )));
                    }
                    self.line.extend_from_slice(&data[..end]);
                    data = &data[end..];
                    if newline.is_some() {
                        if let Some(response) = self.end_of_line()? {
                            each(response);
                        }
                    }
                }
            }
        }
        if let State::Failed(e) = &self.state {
            return Err(e.clone());
        }
        Ok(())
    }

    fn fail(&mut self, message: String) -> ParseError {
        let e = ParseError::new(message);
        self.state = State::Failed(e.clone());
        self.line = Vec::new();
        self.segments = Vec::new();
        e
    }

    /// A whole line is in `self.line` (with its `\n`).
    fn end_of_line(&mut self) -> Result<Option<Response>, ParseError> {
        let mut text = std::mem::take(&mut self.line);
        text.pop();
        if text.last() == Some(&b'\r') {
            text.pop();
        }
        self.size += text.len() as u64 + 2;
        if self.size > self.limits.max_response_size {
            let max = self.limits.max_response_size;
            return Err(self.fail(format!("response larger than {max} bytes")));
        }
        let literal = match literal_announcement(&text) {
            Err(e) => return Err(self.fail(e)),
            Ok(literal) => literal,
        };
        if let Some(n) = literal {
            if n > self.limits.max_literal_size {
                let max = self.limits.max_literal_size;
                return Err(self.fail(format!("literal of {n} bytes (the limit is {max})")));
            }
            self.size += n;
            if self.size > self.limits.max_response_size {
                let max = self.limits.max_response_size;
                return Err(self.fail(format!("response larger than {max} bytes")));
            }
            if self.segments.len() >= self.limits.max_literals {
                let max = self.limits.max_literals;
                return Err(self.fail(format!("more than {max} literals in one response")));
            }
            let reserve = n.min(LITERAL_PREALLOCATION as u64) as usize;
            self.segments.push(Segment {
                text,
                literal: Some(Vec::with_capacity(reserve)),
            });
            if n > 0 {
                self.state = State::Literal { remaining: n };
            }
            return Ok(None);
        }
        self.segments.push(Segment {
            text,
            literal: None,
        });
        let segments = std::mem::take(&mut self.segments);
        self.size = 0;
        match grammar::parse(segments, self.limits.max_depth) {
            Ok(response) => Ok(Some(response)),
            Err(e) => Err(self.fail(e.message)),
        }
    }
}

/// `Some(n)` if `text` ends with a literal announcement `{n}` (or `{n+}`).
fn literal_announcement(text: &[u8]) -> Result<Option<u64>, String> {
    if text.last() != Some(&b'}') {
        return Ok(None);
    }
    let Some(open) = text.iter().rposition(|&b| b == b'{') else {
        return Ok(None);
    };
    let mut digits = &text[open + 1..text.len() - 1];
    if digits.last() == Some(&b'+') {
        digits = &digits[..digits.len() - 1];
    }
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Ok(None);
    }
    std::str::from_utf8(digits)
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .map(Some)
        .ok_or_else(|| "literal size does not fit in 64 bits".to_string())
}
