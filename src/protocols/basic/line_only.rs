//! [`LineOnlyReceiver`] and its adapter [`LineOnlyProtocol`]: lines only, no raw mode, no
//! pausing, the shortest path per line.
//!
//! Tests: `tests/basic_line_only.rs`, `tests/basic_alloc.rs`.

use std::fmt;

use super::line_buffer::{LineBuffer, Scan};
use super::{DEFAULT_DELIMITER, DEFAULT_MAX_LENGTH};
use crate::protocol::{ConnectionLost, Protocol};
use crate::transport::Transport;

/// What a lines-only protocol does with its lines (Twisted's `LineOnlyReceiver`
/// subclass: "purely a speed optimisation over LineReceiver, for the cases that raw mode
/// is known to be unnecessary"). Wrap it in a [`LineOnlyProtocol`].
///
/// # Examples
///
/// ```
/// use torsion::protocols::basic::{LineOnlyProtocol, LineOnlyReceiver, LineWriter};
/// use torsion::testing::Driver;
///
/// #[derive(Default)]
/// struct Count(usize);
/// impl LineOnlyReceiver for Count {
///     fn line_received(&mut self, lines: &LineWriter<'_>, line: &[u8]) {
///         self.0 += 1;
///         lines.send_line(format!("{} {}", self.0, line.len()).as_bytes());
///     }
/// }
///
/// let d = Driver::new(LineOnlyProtocol::new(Count::default()));
/// d.data_received(b"a\r\nbb\r\nccc");
/// assert_eq!(d.written(), b"1 1\r\n2 2\r\n");
/// ```
pub trait LineOnlyReceiver: 'static {
    /// The connection is up.
    fn connection_made(&mut self, lines: &LineWriter<'_>) {
        let _ = lines;
    }

    /// A line arrived, without its delimiter.
    fn line_received(&mut self, lines: &LineWriter<'_>, line: &[u8]);

    /// A line was longer than the limit. `data` is everything received from the start of
    /// that line to the end of the current input; the rest of that input is dropped. The
    /// default closes the connection.
    fn line_length_exceeded(&mut self, lines: &LineWriter<'_>, data: &[u8]) {
        let _ = data;
        lines.transport().lose_connection();
    }

    /// The connection is closed; the last call.
    fn connection_lost(&mut self, lines: &LineWriter<'_>, reason: ConnectionLost) {
        let _ = (lines, reason);
    }
}

/// A lines-only receiver's handle on its connection: the transport and `send_line`.
#[derive(Clone, Copy)]
pub struct LineWriter<'a> {
    transport: &'a Transport,
    delimiter: &'a [u8],
}

impl<'a> LineWriter<'a> {
    /// A writer of lines ending with `delimiter` on `transport` (to send lines from
    /// outside a callback, keep a transport clone and make one of these).
    pub fn new(transport: &'a Transport, delimiter: &'a [u8]) -> LineWriter<'a> {
        LineWriter {
            transport,
            delimiter,
        }
    }

    /// The connection's transport.
    pub fn transport(&self) -> &'a Transport {
        self.transport
    }

    /// Writes `line` followed by the delimiter, as one gathered write.
    pub fn send_line(&self, line: &[u8]) {
        self.transport.write_sequence(&[line, self.delimiter]);
    }

    /// The delimiter.
    pub fn delimiter(&self) -> &'a [u8] {
        self.delimiter
    }
}

impl fmt::Debug for LineWriter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LineWriter")
            .field("transport", self.transport)
            .field("delimiter", &self.delimiter.escape_ascii().to_string())
            .finish()
    }
}

/// The [`Protocol`] that splits input into lines for a [`LineOnlyReceiver`]. Same
/// splitting and limits as [`LineProtocol`](super::LineProtocol) (lines borrowed from the
/// input where they lie whole in it, no allocation per line, nothing delivered once the
/// transport is closing), without the checks for modes and pauses.
///
/// # Examples
///
/// ```
/// use torsion::protocols::basic::{LineOnlyProtocol, LineOnlyReceiver, LineWriter};
/// use torsion::testing::Driver;
///
/// struct Quiet;
/// impl LineOnlyReceiver for Quiet {
///     fn line_received(&mut self, _: &LineWriter<'_>, _: &[u8]) {}
/// }
///
/// let d = Driver::new(LineOnlyProtocol::new(Quiet).with_max_length(4));
/// d.data_received(b"ok\r\ntoo long\r\n");
/// assert!(d.transport().disconnecting()); // the default line_length_exceeded
/// ```
pub struct LineOnlyProtocol<R> {
    receiver: R,
    parser: LineBuffer,
}

impl<R: LineOnlyReceiver> LineOnlyProtocol<R> {
    /// Wraps `receiver`, with delimiter `\r\n` and lines up to [`DEFAULT_MAX_LENGTH`]
    /// bytes.
    pub fn new(receiver: R) -> LineOnlyProtocol<R> {
        LineOnlyProtocol {
            receiver,
            parser: LineBuffer::with_delimiter(DEFAULT_DELIMITER, DEFAULT_MAX_LENGTH),
        }
    }

    /// Sets the delimiter.
    ///
    /// # Panics
    ///
    /// If `delimiter` is empty.
    pub fn with_delimiter(mut self, delimiter: &[u8]) -> LineOnlyProtocol<R> {
        self.parser.set_delimiter(delimiter);
        self
    }

    /// Sets the longest line accepted.
    pub fn with_max_length(mut self, max_length: usize) -> LineOnlyProtocol<R> {
        self.parser.set_max_length(max_length);
        self
    }

    /// The receiver.
    pub fn receiver(&self) -> &R {
        &self.receiver
    }

    /// The receiver, to change it.
    pub fn receiver_mut(&mut self) -> &mut R {
        &mut self.receiver
    }

    /// Unwraps the receiver.
    pub fn into_inner(self) -> R {
        self.receiver
    }
}

impl<R: LineOnlyReceiver> Protocol for LineOnlyProtocol<R> {
    fn connection_made(&mut self, transport: &Transport) {
        let w = LineWriter::new(transport, &self.parser.delimiter);
        self.receiver.connection_made(&w);
    }

    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        let mut pos = 0;
        while pos < data.len() {
            if transport.is_disconnecting() || !transport.is_connected() {
                return;
            }
            let scan = self.parser.scan(&data[pos..]);
            let w = LineWriter::new(transport, &self.parser.delimiter);
            match scan {
                Scan::Partial => return,
                Scan::Line {
                    buffered: false,
                    start,
                    len,
                    consumed,
                } => {
                    let line = &data[pos + start..pos + start + len];
                    pos += consumed;
                    self.receiver.line_received(&w, line);
                }
                Scan::Line { len, consumed, .. } => {
                    pos += consumed;
                    self.receiver.line_received(&w, &self.parser.buffer[..len]);
                    self.parser.buffer.clear();
                }
                Scan::TooLong { .. } => {
                    let mut buffer = std::mem::take(&mut self.parser.buffer);
                    if buffer.is_empty() {
                        self.receiver.line_length_exceeded(&w, &data[pos..]);
                    } else {
                        buffer.extend_from_slice(&data[pos..]);
                        self.receiver.line_length_exceeded(&w, &buffer);
                        buffer.clear();
                    }
                    self.parser.buffer = buffer;
                    return;
                }
            }
        }
    }

    fn connection_lost(&mut self, transport: &Transport, reason: ConnectionLost) {
        let w = LineWriter::new(transport, &self.parser.delimiter);
        self.receiver.connection_lost(&w, reason);
    }
}

impl<R: fmt::Debug> fmt::Debug for LineOnlyProtocol<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LineOnlyProtocol")
            .field("receiver", &self.receiver)
            .field("parser", &self.parser)
            .finish()
    }
}
