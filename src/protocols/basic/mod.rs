//! Line and string framing (Twisted's `twisted.protocols.basic`): [`LineReceiver`],
//! [`LineOnlyReceiver`], netstrings, `Int8` / `Int16` / `Int32` length-prefixed strings and
//! [`StatefulStringProtocol`].
//!
//! # Two layers
//!
//! ```text
//!   your receiver          LineReceiver / LineOnlyReceiver / StringReceiver (a trait you implement)
//!        ▲ line_received(lines, line)       │ lines.send_line / set_raw_mode / pause_producing ...
//!   the adapter            LineProtocol<R> / LineOnlyProtocol<R> / StringProtocol<R>  (impl Protocol)
//!        ▲ scan(input) → line or frame, borrowed
//!   the sans-IO parser     LineBuffer / NetstringParser / IntParser  (no transport, no callbacks)
//! ```
//!
//! - The **parsers** are plain push parsers in httparse's style: bytes in, and
//!   [`Status::Complete`] with a borrowed line or string, or [`Status::Partial`] when more
//!   input is needed. They know nothing of transports, so they are fuzzed and benchmarked
//!   on their own and can be used from any I/O model.
//! - The **adapters** implement [`Protocol`](crate::protocol::Protocol). They own the
//!   parser and the state Twisted keeps on the protocol object (mode, pause, queued
//!   bytes), and call your receiver.
//! - **Your receiver** is a trait with Twisted's method names. Each callback gets a
//!   control object ([`Lines`], [`LineWriter`], [`Strings`]) that wraps the
//!   [`Transport`](crate::transport::Transport) and the adapter's state, so the calls a
//!   Twisted subclass makes on `self` (`self.sendLine`, `self.setRawMode()`,
//!   `self.clearLineBuffer()`, `self.pauseProducing()`) are made on it instead.
//!
//! ```
//! use std::cell::RefCell;
//! use std::collections::HashSet;
//! use std::rc::Rc;
//! use torsion::protocol::ConnectionLost;
//! use torsion::protocols::basic::{LineProtocol, LineReceiver, Lines};
//! use torsion::testing::Driver;
//! use torsion::transport::Transport;
//!
//! /// Twisted's chat room: every line goes to every client.
//! struct Chat {
//!     clients: Rc<RefCell<HashSet<Transport>>>,
//! }
//!
//! impl LineReceiver for Chat {
//!     fn connection_made(&mut self, lines: &mut Lines<'_>) {
//!         self.clients.borrow_mut().insert(lines.transport().clone());
//!     }
//!     fn line_received(&mut self, lines: &mut Lines<'_>, line: &[u8]) {
//!         for client in self.clients.borrow().iter() {
//!             client.write_sequence(&[b"> ", line, lines.delimiter()]);
//!         }
//!     }
//!     fn connection_lost(&mut self, lines: &mut Lines<'_>, _: ConnectionLost) {
//!         self.clients.borrow_mut().remove(lines.transport());
//!     }
//! }
//!
//! let clients = Rc::new(RefCell::new(HashSet::new()));
//! let alice = Driver::new(LineProtocol::new(Chat { clients: clients.clone() }));
//! let bob = Driver::new(LineProtocol::new(Chat { clients: clients.clone() }));
//! alice.data_received(b"hi bob\r\n");
//! assert_eq!(bob.written(), b"> hi bob\r\n");
//! assert_eq!(alice.written(), b"> hi bob\r\n");
//! ```
//!
//! # Design notes
//!
//! - **Why a trait plus an adapter, not a `Protocol` with helper methods.** A protocol
//!   is called with `&mut self` and never stores its transport
//!   ([`manual::programming_model`](crate::manual::programming_model)). The adapter
//!   borrows its parser and your receiver separately, so a line borrowed from the
//!   parser's buffer can be handed to `line_received` together with a `&mut` control
//!   object: no copy, no `RefCell`, and no way to call the parser re-entrantly.
//! - **Zero copy where possible.** A line or string lying whole inside one read is
//!   handed out as a slice of that read. Only one cut across reads is put together, in
//!   one buffer per connection that is reused, so the steady state allocates nothing
//!   (`tests/basic_alloc.rs` proves it with a counting allocator).
//! - **Requests take effect when the callback returns.** `set_raw_mode`,
//!   `set_line_mode(extra)`, `clear_line_buffer`, `pause_producing` only record what to
//!   do; the adapter acts on them before delivering anything else. `extra` is queued, not
//!   parsed inside the call (Twisted parses it re-entrantly and needs its
//!   `_busyReceiving` guard for that); the order of delivery is the same.
//! - **Closing stops delivery.** Once the transport is closing, nothing more is
//!   delivered: the rest of a read after `lose_connection` is dropped (Twisted's
//!   `LineReceiver` does this; we do it for every adapter).
//! - **Limits are bounded memory.** A line longer than its limit
//!   ([`DEFAULT_MAX_LENGTH`], or a partial line of `max_length + delimiter length` bytes
//!   without a delimiter) calls `line_length_exceeded` and empties the buffer; a string
//!   length over its limit ([`DEFAULT_MAX_STRING_LENGTH`]) is refused as soon as the
//!   prefix or the digits say so, before any payload is buffered.
//! - **Pausing from outside.** Twisted's `resumeProducing` re-enters `dataReceived(b"")`
//!   to deliver lines buffered during the pause. Here a resume from outside the
//!   receiver's callbacks (`transport.resume_producing()` from a timer, another
//!   connection, a Deferred) makes the transport call
//!   [`Protocol::reading_resumed`](crate::protocol::Protocol::reading_resumed) from the
//!   top of the loop, and the adapters deliver what they held there. Resuming from inside
//!   a callback delivers them when that callback returns.
//!
//! # Twisted names
//!
//! | Twisted | torsion |
//! |---|---|
//! | `class P(LineReceiver)`, `lineReceived`, `rawDataReceived`, `lineLengthExceeded` | `impl `[`LineReceiver`]` for P`, wrapped in [`LineProtocol`] |
//! | `self.sendLine(l)`, `self.setRawMode()`, `self.setLineMode(extra)`, `self.clearLineBuffer()` | [`Lines::send_line`], [`Lines::set_raw_mode`], [`Lines::set_line_mode`], [`Lines::clear_line_buffer`] |
//! | `self.pauseProducing()`, `self.resumeProducing()`, `self.paused` | [`Lines::pause_producing`], [`Lines::resume_producing`], [`Lines::is_paused`] |
//! | `delimiter`, `MAX_LENGTH` | [`LineProtocol::with_delimiter`], [`LineProtocol::with_max_length`], [`Lines::set_delimiter`], [`Lines::set_max_length`] |
//! | `LineOnlyReceiver` | [`LineOnlyReceiver`] in a [`LineOnlyProtocol`] |
//! | `NetstringReceiver`, `Int8StringReceiver`, `Int16StringReceiver`, `Int32StringReceiver` | a [`StringReceiver`] in [`StringProtocol::netstring`], [`int8`](StringProtocol::int8), [`int16`](StringProtocol::int16), [`int32`](StringProtocol::int32) |
//! | `stringReceived`, `sendString`, `lengthLimitExceeded`, `StringTooLongError` | [`StringReceiver::string_received`], [`Strings::send_string`], [`StringReceiver::length_limit_exceeded`], [`StringTooLong`] |
//! | `NetstringParseError` | [`StringReceiver::parse_error`] with a [`StringError`] |
//! | `StatefulStringProtocol`, `proto_<state>`, `'done'` | [`StatefulStringProtocol::proto`], [`Next::Done`], run by [`Stateful`] |
//!
//! Tests: `tests/basic_line_buffer.rs`, `tests/basic_line_receiver.rs`,
//! `tests/basic_line_modes.rs`, `tests/basic_line_only.rs`, `tests/basic_strings.rs`,
//! `tests/basic_alloc.rs`, `tests/fuzz_corpus.rs`.

pub mod fuzzing;
mod int_string;
mod line;
mod line_buffer;
mod line_only;
mod netstring;
mod string;

use std::fmt;

pub use int_string::{IntParser, IntWidth, StringTooLong};
pub use line::{LineProtocol, LineReceiver, Lines};
pub use line_buffer::{LineBuffer, LineTooLong};
pub use line_only::{LineOnlyProtocol, LineOnlyReceiver, LineWriter};
pub use netstring::NetstringParser;
pub use string::{Next, Stateful, StatefulStringProtocol, StringProtocol, StringReceiver, Strings};

/// The default line delimiter, `\r\n` (Twisted's `LineReceiver.delimiter`).
pub const DEFAULT_DELIMITER: &[u8] = b"\r\n";

/// The default longest line, delimiter excluded: 16384 bytes (Twisted's
/// `LineReceiver.MAX_LENGTH`).
pub const DEFAULT_MAX_LENGTH: usize = 16384;

/// The default longest netstring or length-prefixed string: 99999 bytes (Twisted's
/// `NetstringReceiver.MAX_LENGTH` and `IntNStringReceiver.MAX_LENGTH`).
pub const DEFAULT_MAX_STRING_LENGTH: usize = 99999;

/// What a parser found: a whole item, or the need for more input (never an error).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status<T> {
    /// A complete line or string.
    Complete(T),
    /// Not enough input yet: what was given is kept.
    Partial,
}

/// Why a string parser stopped; it refuses all later input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StringError {
    /// The length is over the limit (for netstrings, as soon as the digits read so far
    /// say so; `length` is then the value of those digits, `u64::MAX` past that range).
    LengthLimitExceeded {
        /// The length received.
        length: u64,
        /// The limit in force.
        max_length: usize,
    },
    /// A netstring does not start with a length: a byte other than a digit before the
    /// colon, no digit at all, or a leading zero (`007:`).
    BadLength,
    /// A netstring's payload is not followed by a comma.
    MissingComma,
}

impl fmt::Display for StringError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StringError::LengthLimitExceeded { length, max_length } => write!(
                f,
                "string length {length} is longer than the limit of {max_length}"
            ),
            StringError::BadLength => f.write_str("the netstring does not start with a length"),
            StringError::MissingComma => f.write_str("the netstring is not terminated by a comma"),
        }
    }
}

impl std::error::Error for StringError {}

/// Where a string parser found the next payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FrameScan {
    /// Not complete: all the input was used.
    Partial,
    /// A payload of `len` bytes, at the start of the parser's buffer (`buffered`) or at
    /// `start` in the input; `consumed` input bytes are used up.
    Frame {
        buffered: bool,
        start: usize,
        len: usize,
        consumed: usize,
    },
}

impl FrameScan {
    /// Turns a scan of `*input` into what `next_string` returns: the payload (from
    /// `buffer` or from the input) and `input` advanced past what was used (emptied on a
    /// partial frame or an error).
    #[inline]
    pub(crate) fn take<'s, 'i: 's>(
        scanned: Result<FrameScan, StringError>,
        buffer: &'s [u8],
        input: &mut &'i [u8],
    ) -> Result<Status<&'s [u8]>, StringError> {
        let data: &'i [u8] = input;
        match scanned {
            Ok(FrameScan::Partial) => {
                *input = &data[data.len()..];
                Ok(Status::Partial)
            }
            Ok(FrameScan::Frame {
                buffered,
                start,
                len,
                consumed,
            }) => {
                *input = &data[consumed..];
                Ok(Status::Complete(if buffered {
                    &buffer[..len]
                } else {
                    &data[start..start + len]
                }))
            }
            Err(e) => {
                *input = &data[data.len()..];
                Err(e)
            }
        }
    }
}
