//! [`StringReceiver`] and its adapter [`StringProtocol`] (netstrings and `Int8` / `Int16` /
//! `Int32` prefixed strings), and [`StatefulStringProtocol`].
//!
//! Tests: `tests/basic_strings.rs`, `tests/basic_alloc.rs`.

use std::fmt;
use std::mem;

use super::int_string::{send_int_string, IntParser, IntWidth, StringTooLong};
use super::netstring::{send_netstring, NetstringParser};
use super::{FrameScan, StringError};
use crate::protocol::{ConnectionLost, Protocol};
use crate::transport::Transport;

/// What a string protocol does with its strings (Twisted's `NetstringReceiver` and
/// `IntNStringReceiver` subclasses). Wrap it in a [`StringProtocol`] of the framing you
/// want.
///
/// # Examples
///
/// ```
/// use torsion::protocols::basic::{StringProtocol, StringReceiver, Strings};
/// use torsion::testing::Driver;
///
/// struct Reverse;
/// impl StringReceiver for Reverse {
///     fn string_received(&mut self, strings: &mut Strings<'_>, string: &[u8]) {
///         let reversed: Vec<u8> = string.iter().rev().copied().collect();
///         strings.send_string(&reversed).unwrap();
///     }
/// }
///
/// let d = Driver::new(StringProtocol::netstring(Reverse));
/// d.data_received(b"3:abc,2:x");
/// d.data_received(b"y,");
/// assert_eq!(d.written(), b"3:cba,2:yx,");
///
/// let d = Driver::new(StringProtocol::int16(Reverse));
/// d.data_received(b"\x00\x03abc");
/// assert_eq!(d.written(), b"\x00\x03cba");
/// ```
pub trait StringReceiver: 'static {
    /// The connection is up.
    fn connection_made(&mut self, strings: &mut Strings<'_>) {
        let _ = strings;
    }

    /// A complete string arrived, framing removed (Twisted's `stringReceived`).
    fn string_received(&mut self, strings: &mut Strings<'_>, string: &[u8]);

    /// A length over [`Strings::max_length`] arrived (Twisted's `lengthLimitExceeded`).
    /// Nothing more is parsed on this connection. The default closes it.
    fn length_limit_exceeded(&mut self, strings: &mut Strings<'_>, length: u64) {
        let _ = length;
        strings.transport().lose_connection();
    }

    /// A malformed netstring arrived (a bad length or a missing comma; Twisted's
    /// `NetstringParseError`). Nothing more is parsed on this connection. The default
    /// closes it.
    fn parse_error(&mut self, strings: &mut Strings<'_>, error: StringError) {
        let _ = error;
        strings.transport().lose_connection();
    }

    /// The connection is closed; the last call.
    fn connection_lost(&mut self, strings: &mut Strings<'_>, reason: ConnectionLost) {
        let _ = (strings, reason);
    }
}

/// How strings are framed on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Netstring,
    Int(IntWidth),
}

/// The parser of a [`StringProtocol`].
#[derive(Debug)]
enum Framer {
    Netstring(NetstringParser),
    Int(IntParser),
}

impl Framer {
    fn kind(&self) -> Kind {
        match self {
            Framer::Netstring(_) => Kind::Netstring,
            Framer::Int(p) => Kind::Int(p.width()),
        }
    }

    fn scan(&mut self, input: &[u8]) -> Result<FrameScan, StringError> {
        match self {
            Framer::Netstring(p) => p.scan(input),
            Framer::Int(p) => p.scan(input),
        }
    }

    /// The limit (to change) and the buffer (to read a buffered frame from).
    fn parts(&mut self) -> (&mut usize, &[u8]) {
        match self {
            Framer::Netstring(p) => (&mut p.max_length, &p.buffer),
            Framer::Int(p) => (&mut p.max_length, &p.buffer),
        }
    }
}

/// A string receiver's handle on its connection, given to every [`StringReceiver`]
/// callback.
pub struct Strings<'a> {
    transport: &'a Transport,
    kind: Kind,
    max_length: &'a mut usize,
    paused: &'a mut bool,
}

impl<'a> Strings<'a> {
    /// The connection's transport.
    pub fn transport(&self) -> &'a Transport {
        self.transport
    }

    /// Writes `string` framed as this protocol frames strings, as one gathered write
    /// (Twisted's `sendString`).
    ///
    /// # Errors
    ///
    /// [`StringTooLong`] if the string is longer than the length prefix can describe
    /// (over 255 bytes for `Int8`, 65535 for `Int16`, 4294967295 for `Int32`); nothing
    /// is written. Netstrings have no such limit.
    pub fn send_string(&self, string: &[u8]) -> Result<(), StringTooLong> {
        match self.kind {
            Kind::Netstring => {
                send_netstring(self.transport, string);
                Ok(())
            }
            Kind::Int(width) => send_int_string(self.transport, width, string),
        }
    }

    /// The longest string accepted (Twisted's `MAX_LENGTH`, 99999 by default).
    pub fn max_length(&self) -> usize {
        *self.max_length
    }

    /// Changes the longest string accepted, from the next length read on.
    pub fn set_max_length(&mut self, max_length: usize) {
        *self.max_length = max_length;
    }

    /// Stops delivering strings, those already received included, and stops reading the
    /// transport; see [`Lines::pause_producing`](super::Lines::pause_producing).
    pub fn pause_producing(&mut self) {
        *self.paused = true;
        self.transport.pause_producing();
    }

    /// Resumes; see [`Lines::resume_producing`](super::Lines::resume_producing).
    pub fn resume_producing(&mut self) {
        *self.paused = false;
        self.transport.resume_producing();
    }

    /// True between `pause_producing` and `resume_producing`.
    pub fn is_paused(&self) -> bool {
        *self.paused
    }
}

impl fmt::Debug for Strings<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Strings")
            .field("transport", self.transport)
            .field("kind", &self.kind)
            .field("max_length", &self.max_length)
            .field("paused", &self.paused)
            .finish()
    }
}

/// The [`Protocol`] that cuts input into strings for a [`StringReceiver`]: netstrings
/// ([`netstring`](StringProtocol::netstring), Twisted's `NetstringReceiver`) or strings
/// with a big-endian length prefix ([`int8`](StringProtocol::int8),
/// [`int16`](StringProtocol::int16), [`int32`](StringProtocol::int32), Twisted's
/// `Int8StringReceiver` ...).
///
/// Strings that lie whole in one read are handed out borrowed from it, and no allocation
/// is made per string in steady state. Nothing is delivered once the transport is closing
/// (Twisted's string receivers go on to the end of the read) or while the receiver is
/// paused; after a framing error nothing more is parsed.
pub struct StringProtocol<R> {
    receiver: R,
    framer: Framer,
    paused: bool,
    /// Received while paused, not yet parsed.
    queue: Vec<u8>,
}

impl<R: StringReceiver> StringProtocol<R> {
    fn with_framer(receiver: R, framer: Framer) -> StringProtocol<R> {
        StringProtocol {
            receiver,
            framer,
            paused: false,
            queue: Vec::new(),
        }
    }

    /// Netstrings (`5:hello,`).
    pub fn netstring(receiver: R) -> StringProtocol<R> {
        StringProtocol::with_framer(receiver, Framer::Netstring(NetstringParser::new()))
    }

    /// Strings with a one-byte length prefix.
    pub fn int8(receiver: R) -> StringProtocol<R> {
        StringProtocol::int(receiver, IntWidth::Int8)
    }

    /// Strings with a two-byte big-endian length prefix.
    pub fn int16(receiver: R) -> StringProtocol<R> {
        StringProtocol::int(receiver, IntWidth::Int16)
    }

    /// Strings with a four-byte big-endian length prefix.
    pub fn int32(receiver: R) -> StringProtocol<R> {
        StringProtocol::int(receiver, IntWidth::Int32)
    }

    /// Strings with a `width` length prefix.
    pub fn int(receiver: R, width: IntWidth) -> StringProtocol<R> {
        StringProtocol::with_framer(receiver, Framer::Int(IntParser::new(width)))
    }

    /// Sets the longest string accepted (default [`DEFAULT_MAX_STRING_LENGTH`](super::DEFAULT_MAX_STRING_LENGTH)).
    pub fn with_max_length(mut self, max_length: usize) -> StringProtocol<R> {
        *self.framer.parts().0 = max_length;
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

    fn call<T>(&mut self, t: &Transport, f: impl FnOnce(&mut R, &mut Strings<'_>) -> T) -> T {
        let kind = self.framer.kind();
        let mut strings = Strings {
            transport: t,
            kind,
            max_length: self.framer.parts().0,
            paused: &mut self.paused,
        };
        f(&mut self.receiver, &mut strings)
    }

    /// Delivers the strings in `input`; returns the offset where a pause stopped it.
    fn process(&mut self, t: &Transport, input: &[u8]) -> Option<usize> {
        let mut pos = 0;
        while pos < input.len() {
            if self.paused {
                return Some(pos);
            }
            if t.is_disconnecting() || !t.is_connected() {
                return None;
            }
            match self.framer.scan(&input[pos..]) {
                Ok(FrameScan::Partial) => return None,
                Ok(FrameScan::Frame {
                    buffered,
                    start,
                    len,
                    consumed,
                }) => {
                    let kind = self.framer.kind();
                    let (max_length, buffer) = self.framer.parts();
                    let string = if buffered {
                        &buffer[..len]
                    } else {
                        &input[pos + start..pos + start + len]
                    };
                    pos += consumed;
                    let mut strings = Strings {
                        transport: t,
                        kind,
                        max_length,
                        paused: &mut self.paused,
                    };
                    self.receiver.string_received(&mut strings, string);
                }
                Err(error) => {
                    match error {
                        StringError::LengthLimitExceeded { length, .. } => {
                            self.call(t, |r, s| r.length_limit_exceeded(s, length))
                        }
                        _ => self.call(t, |r, s| r.parse_error(s, error)),
                    }
                    return None;
                }
            }
        }
        None
    }
}

impl<R: StringReceiver> Protocol for StringProtocol<R> {
    fn connection_made(&mut self, transport: &Transport) {
        self.call(transport, |r, s| r.connection_made(s));
    }

    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        // Bytes arrive only while reading: a pause was lifted from outside.
        self.paused = false;
        if self.queue.is_empty() {
            if let Some(pos) = self.process(transport, data) {
                self.queue.extend_from_slice(&data[pos..]);
            }
        } else {
            self.queue.extend_from_slice(data);
            let mut input = mem::take(&mut self.queue);
            match self.process(transport, &input) {
                Some(pos) => {
                    input.drain(..pos);
                }
                None => input.clear(),
            }
            self.queue = input;
        }
    }

    fn connection_lost(&mut self, transport: &Transport, reason: ConnectionLost) {
        self.call(transport, |r, s| r.connection_lost(s, reason));
    }

    fn reading_resumed(&mut self, transport: &Transport) {
        // Deliver what was held while paused.
        self.data_received(transport, &[]);
    }
}

impl<R: fmt::Debug> fmt::Debug for StringProtocol<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StringProtocol")
            .field("receiver", &self.receiver)
            .field("framer", &self.framer)
            .field("paused", &self.paused)
            .field("queued", &self.queue.len())
            .finish()
    }
}

/// What a [`StatefulStringProtocol`] state handler says comes next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next<S> {
    /// Handle the next string in this state.
    To(S),
    /// Close the connection (Twisted's `'done'` state).
    Done,
}

/// A string protocol written as a state machine (Twisted's `StatefulStringProtocol`, whose
/// `proto_<state>` methods become the arms of a `match` in [`proto`](Self::proto)). Wrap
/// it in [`Stateful`], then in a [`StringProtocol`].
///
/// # Examples
///
/// ```
/// use torsion::protocols::basic::{Next, Stateful, StatefulStringProtocol, StringProtocol, Strings};
/// use torsion::testing::Driver;
///
/// #[derive(Clone, Copy, Debug, PartialEq)]
/// enum Login {
///     User,
///     Password,
/// }
///
/// #[derive(Default)]
/// struct Auth {
///     user: Vec<u8>,
/// }
///
/// impl StatefulStringProtocol for Auth {
///     type State = Login;
///     fn init(&self) -> Login {
///         Login::User
///     }
///     fn proto(&mut self, strings: &mut Strings<'_>, state: Login, string: &[u8]) -> Next<Login> {
///         match state {
///             Login::User => {
///                 self.user = string.to_vec();
///                 Next::To(Login::Password)
///             }
///             Login::Password => {
///                 let ok = string == b"secret";
///                 strings.send_string(if ok { b"welcome" } else { b"denied" }).unwrap();
///                 Next::Done
///             }
///         }
///     }
/// }
///
/// let d = Driver::new(StringProtocol::netstring(Stateful::new(Auth::default())));
/// d.data_received(b"5:alice,6:secret,5:extra,");
/// assert_eq!(d.written(), b"7:welcome,");
/// assert!(d.transport().disconnecting()); // "done" closes; "extra" was not delivered
/// ```
pub trait StatefulStringProtocol: 'static {
    /// The states (Twisted's `state` strings).
    type State: Copy + fmt::Debug + 'static;

    /// The first state (Twisted's `'init'`).
    fn init(&self) -> Self::State;

    /// Handles `string` in `state` (Twisted's `proto_<state>`) and says what comes next.
    fn proto(
        &mut self,
        strings: &mut Strings<'_>,
        state: Self::State,
        string: &[u8],
    ) -> Next<Self::State>;

    /// The connection is up.
    fn connection_made(&mut self, strings: &mut Strings<'_>) {
        let _ = strings;
    }

    /// The connection is closed.
    fn connection_lost(&mut self, strings: &mut Strings<'_>, reason: ConnectionLost) {
        let _ = (strings, reason);
    }
}

/// The [`StringReceiver`] running a [`StatefulStringProtocol`]: each string goes to the
/// handler of the current state, which names the next one.
#[derive(Debug)]
pub struct Stateful<P: StatefulStringProtocol> {
    inner: P,
    state: Option<P::State>,
}

impl<P: StatefulStringProtocol> Stateful<P> {
    /// Starts `inner` in its [`init`](StatefulStringProtocol::init) state.
    pub fn new(inner: P) -> Stateful<P> {
        let state = Some(inner.init());
        Stateful { inner, state }
    }

    /// The current state; `None` once a handler returned [`Next::Done`].
    pub fn state(&self) -> Option<P::State> {
        self.state
    }

    /// The state machine.
    pub fn inner(&self) -> &P {
        &self.inner
    }

    /// The state machine, to change it.
    pub fn inner_mut(&mut self) -> &mut P {
        &mut self.inner
    }
}

impl<P: StatefulStringProtocol> StringReceiver for Stateful<P> {
    fn connection_made(&mut self, strings: &mut Strings<'_>) {
        self.inner.connection_made(strings);
    }

    fn string_received(&mut self, strings: &mut Strings<'_>, string: &[u8]) {
        let Some(state) = self.state else { return };
        match self.inner.proto(strings, state, string) {
            Next::To(next) => self.state = Some(next),
            Next::Done => {
                self.state = None;
                strings.transport().lose_connection();
            }
        }
    }

    fn connection_lost(&mut self, strings: &mut Strings<'_>, reason: ConnectionLost) {
        self.inner.connection_lost(strings, reason);
    }
}
