//! [`LineReceiver`] and its adapter [`LineProtocol`]: lines, raw mode, pausing.
//!
//! Tests: `tests/basic_line_receiver.rs`, `tests/basic_line_modes.rs`,
//! `tests/basic_alloc.rs`.

use std::fmt;
use std::mem;

use super::line_buffer::{set_delimiter, LineBuffer, Scan};
use super::{DEFAULT_DELIMITER, DEFAULT_MAX_LENGTH};
use crate::protocol::{ConnectionLost, Protocol};
use crate::transport::Transport;

/// What a line protocol does with its lines (Twisted's `LineReceiver` subclass). Wrap it in
/// a [`LineProtocol`] to get a [`Protocol`].
///
/// Every callback gets [`Lines`]: the transport plus the receiver's controls
/// ([`send_line`](Lines::send_line), [`set_raw_mode`](Lines::set_raw_mode),
/// [`set_line_mode`](Lines::set_line_mode), [`pause_producing`](Lines::pause_producing),
/// [`clear_line_buffer`](Lines::clear_line_buffer), ...), which take effect as soon as the
/// callback returns.
///
/// # Examples
///
/// A protocol that reads a `SIZE n` line, then `n` raw bytes, then lines again (the shape
/// of an IMAP literal):
///
/// ```
/// use torsion::protocols::basic::{LineProtocol, LineReceiver, Lines};
/// use torsion::testing::{assert_same_for_every_chunking, Driver};
///
/// #[derive(Default)]
/// struct Upload {
///     left: usize,
///     body: Vec<u8>,
/// }
///
/// impl LineReceiver for Upload {
///     fn line_received(&mut self, lines: &mut Lines<'_>, line: &[u8]) {
///         if let Some(n) = line.strip_prefix(b"SIZE ") {
///             self.left = std::str::from_utf8(n).unwrap().parse().unwrap();
///             lines.set_raw_mode();
///         } else {
///             lines.send_line(&[b"echo: ", line].concat());
///         }
///     }
///
///     fn raw_data_received(&mut self, lines: &mut Lines<'_>, data: &[u8]) {
///         let take = self.left.min(data.len());
///         self.body.extend_from_slice(&data[..take]);
///         self.left -= take;
///         if self.left == 0 {
///             lines.send_line(format!("got {} bytes", self.body.len()).as_bytes());
///             lines.set_line_mode(&data[take..]); // the rest is lines again
///         }
///     }
/// }
///
/// let out = assert_same_for_every_chunking(
///     b"hi\r\nSIZE 5\r\n12\r\n4bye\r\n",
///     || LineProtocol::new(Upload::default()),
///     |d: &Driver<_>| d.written(),
/// );
/// assert_eq!(out, b"echo: hi\r\ngot 5 bytes\r\necho: bye\r\n");
/// ```
pub trait LineReceiver: 'static {
    /// The connection is up.
    fn connection_made(&mut self, lines: &mut Lines<'_>) {
        let _ = lines;
    }

    /// A line arrived, without its delimiter (Twisted's `lineReceived`).
    fn line_received(&mut self, lines: &mut Lines<'_>, line: &[u8]);

    /// Bytes arrived in raw mode (Twisted's `rawDataReceived`): everything received so
    /// far and not yet delivered, in one call. The default drops them; a receiver that
    /// calls [`Lines::set_raw_mode`] implements this.
    fn raw_data_received(&mut self, lines: &mut Lines<'_>, data: &[u8]) {
        let _ = (lines, data);
    }

    /// A line was longer than [`Lines::max_length`] (Twisted's `lineLengthExceeded`).
    /// `data` is everything buffered from the start of that line on (it may hold more
    /// than one line, or only the start of the long one); it has been dropped from the
    /// buffer. The default closes the connection.
    fn line_length_exceeded(&mut self, lines: &mut Lines<'_>, data: &[u8]) {
        let _ = data;
        lines.transport().lose_connection();
    }

    /// The connection is closed; the last call.
    fn connection_lost(&mut self, lines: &mut Lines<'_>, reason: ConnectionLost) {
        let _ = (lines, reason);
    }

    /// See [`Protocol::half_closeable`].
    fn half_closeable(&self) -> bool {
        false
    }

    /// See [`Protocol::read_connection_lost`]. Lines not yet delivered (the receiver is
    /// paused) stay buffered.
    fn read_connection_lost(&mut self, lines: &mut Lines<'_>) {
        lines.transport().lose_connection();
    }
}

/// Line or raw mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Line,
    Raw,
}

/// What callbacks ask of the adapter, applied when they return.
#[derive(Debug)]
struct Control {
    mode: Mode,
    paused: bool,
    /// `clear_line_buffer` was called: drop the rest of the input.
    clear: bool,
    /// Bytes given to `set_line_mode(extra)`, parsed after the rest of the input.
    extra: Vec<u8>,
}

/// A line receiver's handle on its connection and its own parsing state, given to every
/// [`LineReceiver`] callback. Changes of mode, pauses and clears take effect when the
/// callback returns; nothing here calls back into the receiver.
pub struct Lines<'a> {
    transport: &'a Transport,
    delimiter: &'a mut Vec<u8>,
    max_length: &'a mut usize,
    control: &'a mut Control,
    /// Received and not yet delivered, after the current line.
    rest: &'a [u8],
}

impl<'a> Lines<'a> {
    /// The connection's transport.
    pub fn transport(&self) -> &'a Transport {
        self.transport
    }

    /// Writes `line` followed by the delimiter (Twisted's `sendLine`), as one gathered
    /// write.
    pub fn send_line(&self, line: &[u8]) {
        self.transport.write_sequence(&[line, self.delimiter]);
    }

    /// The delimiter lines end with (default `\r\n`).
    pub fn delimiter(&self) -> &[u8] {
        self.delimiter
    }

    /// Changes the delimiter for the lines after this one, and for `send_line`.
    ///
    /// # Panics
    ///
    /// If `delimiter` is empty.
    pub fn set_delimiter(&mut self, delimiter: &[u8]) {
        set_delimiter(self.delimiter, delimiter);
    }

    /// The longest line accepted, delimiter excluded (Twisted's `MAX_LENGTH`).
    pub fn max_length(&self) -> usize {
        *self.max_length
    }

    /// Changes the longest line accepted, from the next line on.
    pub fn set_max_length(&mut self, max_length: usize) {
        *self.max_length = max_length;
    }

    /// From now on, hands everything received to
    /// [`raw_data_received`](LineReceiver::raw_data_received), starting with the rest of
    /// the current input (Twisted's `setRawMode`).
    pub fn set_raw_mode(&mut self) {
        self.control.mode = Mode::Raw;
    }

    /// From now on, splits what is received into lines. `extra` (typically the part of a
    /// raw chunk the receiver did not use) is parsed first, as if it had just arrived
    /// (Twisted's `setLineMode(extra)`); from `line_received` it is parsed after the rest
    /// of the current input. Nothing is delivered from inside this call: the lines come
    /// once the current callback has returned.
    pub fn set_line_mode(&mut self, extra: &[u8]) {
        self.control.mode = Mode::Line;
        self.control.extra.extend_from_slice(extra);
    }

    /// True in line mode (the initial mode).
    pub fn is_line_mode(&self) -> bool {
        self.control.mode == Mode::Line
    }

    /// Drops everything received and not yet delivered after the current line, and
    /// returns it (Twisted's `clearLineBuffer`).
    pub fn clear_line_buffer(&mut self) -> &'a [u8] {
        self.control.clear = true;
        mem::take(&mut self.rest)
    }

    /// Stops delivering lines, those already received included, and stops reading the
    /// transport, until [`resume_producing`](Lines::resume_producing) (Twisted's
    /// `pauseProducing` on a `LineReceiver`).
    pub fn pause_producing(&mut self) {
        self.control.paused = true;
        self.transport.pause_producing();
    }

    /// Resumes reading and delivering; lines received while paused are delivered once
    /// the current callback returns.
    ///
    /// A receiver paused here can also be resumed from outside its callbacks with
    /// `transport.resume_producing()` (a clone of [`transport`](Lines::transport)): the
    /// transport then calls `reading_resumed` from the top of the loop and the lines it
    /// buffered are delivered there.
    pub fn resume_producing(&mut self) {
        self.control.paused = false;
        self.transport.resume_producing();
    }

    /// True between `pause_producing` and `resume_producing`.
    pub fn is_paused(&self) -> bool {
        self.control.paused
    }
}

impl fmt::Debug for Lines<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lines")
            .field("transport", self.transport)
            .field("delimiter", &self.delimiter.escape_ascii().to_string())
            .field("max_length", &self.max_length)
            .field("control", &self.control)
            .field("rest", &self.rest.len())
            .finish()
    }
}

/// Why [`LineProtocol::process`] stopped before the end of its input.
enum Stop {
    /// Everything was delivered (or dropped).
    Done,
    /// Paused at this offset: the rest waits.
    Paused(usize),
    /// `set_line_mode(extra)` was called: the rest and the extra bytes were queued.
    Requeue,
}

/// The [`Protocol`] that splits input into lines for a [`LineReceiver`] (Twisted's
/// `LineReceiver.dataReceived`).
///
/// - Lines that lie whole inside one read are handed out borrowed from it; one reused
///   buffer per connection holds a line cut across reads, so steady-state input makes no
///   allocation.
/// - Re-entrancy: no callback is ever made from inside another; `set_line_mode(extra)`
///   queues `extra` instead of parsing it at once (Twisted's `_busyReceiving` guard).
/// - Once the transport is closing (or closed), nothing more is delivered: the lines after
///   a line whose callback called `lose_connection` are dropped.
/// - While paused (see [`Lines::pause_producing`]), nothing is delivered.
///
/// # Examples
///
/// ```
/// use torsion::protocols::basic::{LineProtocol, LineReceiver, Lines};
/// use torsion::testing::Driver;
///
/// struct Shout;
/// impl LineReceiver for Shout {
///     fn line_received(&mut self, lines: &mut Lines<'_>, line: &[u8]) {
///         lines.send_line(&line.to_ascii_uppercase());
///     }
/// }
///
/// let d = Driver::new(LineProtocol::new(Shout).with_delimiter(b"\n"));
/// d.data_received(b"hello\nwor");
/// d.data_received(b"ld\n");
/// assert_eq!(d.written(), b"HELLO\nWORLD\n");
/// ```
pub struct LineProtocol<R> {
    receiver: R,
    parser: LineBuffer,
    control: Control,
    /// Received (or given to `set_line_mode`) and not yet parsed: held while paused.
    queue: Vec<u8>,
    /// A second buffer swapped with `queue`, so re-queueing reuses memory.
    spare: Vec<u8>,
}

impl<R: LineReceiver> LineProtocol<R> {
    /// Wraps `receiver`, with delimiter `\r\n` and lines up to [`DEFAULT_MAX_LENGTH`]
    /// bytes.
    pub fn new(receiver: R) -> LineProtocol<R> {
        LineProtocol {
            receiver,
            parser: LineBuffer::with_delimiter(DEFAULT_DELIMITER, DEFAULT_MAX_LENGTH),
            control: Control {
                mode: Mode::Line,
                paused: false,
                clear: false,
                extra: Vec::new(),
            },
            queue: Vec::new(),
            spare: Vec::new(),
        }
    }

    /// Sets the delimiter (Twisted's `delimiter` class attribute).
    ///
    /// # Panics
    ///
    /// If `delimiter` is empty.
    pub fn with_delimiter(mut self, delimiter: &[u8]) -> LineProtocol<R> {
        self.parser.set_delimiter(delimiter);
        self
    }

    /// Sets the longest line accepted (Twisted's `MAX_LENGTH`).
    pub fn with_max_length(mut self, max_length: usize) -> LineProtocol<R> {
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

    /// Runs one callback with a [`Lines`] over `rest`.
    fn call<T>(
        &mut self,
        transport: &Transport,
        rest: &[u8],
        f: impl FnOnce(&mut R, &mut Lines<'_>) -> T,
    ) -> T {
        let mut lines = Lines {
            transport,
            delimiter: &mut self.parser.delimiter,
            max_length: &mut self.parser.max_length,
            control: &mut self.control,
            rest,
        };
        f(&mut self.receiver, &mut lines)
    }

    /// Delivers what `input` holds, in the current mode, until it is used up, the
    /// receiver pauses or the transport closes.
    fn process(&mut self, t: &Transport, input: &[u8]) -> Stop {
        let mut pos = 0;
        while pos < input.len() {
            if self.control.paused {
                return Stop::Paused(pos);
            }
            if t.is_disconnecting() || !t.is_connected() {
                return Stop::Done;
            }
            match self.control.mode {
                Mode::Raw => {
                    let data = &input[pos..];
                    pos = input.len();
                    self.call(t, &[], |r, l| r.raw_data_received(l, data));
                }
                Mode::Line => match self.parser.scan(&input[pos..]) {
                    Scan::Partial => pos = input.len(),
                    Scan::Line {
                        buffered,
                        start,
                        len,
                        consumed,
                    } => {
                        let begin = pos;
                        pos += consumed;
                        let rest = &input[pos..];
                        let mut lines = Lines {
                            transport: t,
                            delimiter: &mut self.parser.delimiter,
                            max_length: &mut self.parser.max_length,
                            control: &mut self.control,
                            rest,
                        };
                        if buffered {
                            let line = &self.parser.buffer[..len];
                            self.receiver.line_received(&mut lines, line);
                            self.parser.buffer.clear();
                        } else {
                            let line = &input[begin + start..begin + start + len];
                            self.receiver.line_received(&mut lines, line);
                        }
                    }
                    Scan::TooLong { .. } => {
                        let data = &input[pos..];
                        pos = input.len();
                        if self.parser.buffer.is_empty() {
                            self.call(t, &[], |r, l| r.line_length_exceeded(l, data));
                        } else {
                            let mut buffer = mem::take(&mut self.parser.buffer);
                            buffer.extend_from_slice(data);
                            self.call(t, &[], |r, l| r.line_length_exceeded(l, &buffer));
                            buffer.clear();
                            self.parser.buffer = buffer;
                        }
                    }
                },
            }
            if mem::take(&mut self.control.clear) {
                pos = input.len();
            }
            if !self.control.extra.is_empty() {
                self.queue.extend_from_slice(&input[pos..]);
                self.queue.append(&mut self.control.extra);
                return Stop::Requeue;
            }
        }
        Stop::Done
    }

    /// Parses `data`, which is not the queue.
    fn run(&mut self, t: &Transport, data: &[u8]) {
        if !self.queue.is_empty() {
            self.queue.extend_from_slice(data);
            return self.run_queue(t);
        }
        match self.process(t, data) {
            Stop::Done => {}
            Stop::Paused(pos) => self.queue.extend_from_slice(&data[pos..]),
            Stop::Requeue => self.run_queue(t),
        }
    }

    /// Parses what is queued.
    fn run_queue(&mut self, t: &Transport) {
        while !self.queue.is_empty() {
            let spare = mem::take(&mut self.spare);
            let mut input = mem::replace(&mut self.queue, spare);
            let stop = self.process(t, &input);
            match stop {
                Stop::Done => {}
                Stop::Paused(pos) => {
                    // Nothing was re-queued (that stops with `Requeue`).
                    input.drain(..pos);
                    mem::swap(&mut self.queue, &mut input);
                }
                Stop::Requeue => {}
            }
            input.clear();
            self.spare = input;
            if matches!(stop, Stop::Done | Stop::Paused(_)) {
                break;
            }
        }
    }

    /// After a callback outside `data_received`: parse `extra` given to `set_line_mode`.
    fn after_callback(&mut self, t: &Transport) {
        if !self.control.extra.is_empty() {
            self.queue.append(&mut self.control.extra);
            self.run_queue(t);
        }
    }
}

impl<R: LineReceiver> Protocol for LineProtocol<R> {
    fn connection_made(&mut self, transport: &Transport) {
        self.call(transport, &[], |r, l| r.connection_made(l));
        self.after_callback(transport);
    }

    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        // Bytes arrive only while the transport reads: if the receiver paused itself, it
        // has been resumed from outside (`transport.resume_producing()`).
        self.control.paused = false;
        self.run(transport, data);
    }

    fn connection_lost(&mut self, transport: &Transport, reason: ConnectionLost) {
        self.call(transport, &[], |r, l| r.connection_lost(l, reason));
    }

    fn half_closeable(&self) -> bool {
        self.receiver.half_closeable()
    }

    fn read_connection_lost(&mut self, transport: &Transport) {
        self.call(transport, &[], |r, l| r.read_connection_lost(l));
        self.after_callback(transport);
    }

    fn reading_resumed(&mut self, transport: &Transport) {
        // Deliver what was held while paused (Twisted's `dataReceived(b"")` on resume).
        self.data_received(transport, &[]);
    }
}

impl<R: fmt::Debug> fmt::Debug for LineProtocol<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LineProtocol")
            .field("receiver", &self.receiver)
            .field("parser", &self.parser)
            .field("control", &self.control)
            .field("queued", &self.queue.len())
            .finish()
    }
}
