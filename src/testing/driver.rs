//! [`Driver`]: owns a protocol and its [`StringTransport`] and delivers events to it, the
//! way a connection does in the reactor.
//!
//! Tests: `tests/testing_driver.rs`.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::rc::{Rc, Weak};

use super::StringTransport;
use crate::protocol::{ConnectionLost, Protocol};
use crate::transport::{Producer, Transport};

/// Most turns [`Driver::run_pending`] makes before deciding something loops forever.
const MAX_TURNS: usize = 1000;

/// What travels from one in-memory connection to the other.
pub(crate) enum Wire {
    Data(Vec<u8>),
    /// The peer shut down its writing side (a FIN).
    Eof,
    /// The peer aborted (an RST): unread data is dropped.
    Reset,
}

/// An in-memory connection seen without its protocol's type: what an
/// [`IoPump`](super::IoPump) works with.
pub(crate) trait Side {
    fn string_transport(&self) -> &Rc<StringTransport>;
    /// Queues something from the peer (delivered by the next turn, never now).
    fn push_wire(&self, wire: Wire);
    /// One pass of what a loop turn delivers; true if anything happened.
    fn turn(&self) -> bool;
}

/// Called after the protocol's `connection_lost` (a client connector's bookkeeping).
pub(crate) type LostHook = Box<dyn FnOnce(&ConnectionLost)>;

/// The connection behind a [`Driver`].
pub(crate) struct Endpoint<P> {
    protocol: RefCell<P>,
    transport: Rc<StringTransport>,
    handle: Transport,
    /// From the peer (or the test), not delivered yet: held while reading is paused.
    inbox: RefCell<VecDeque<Wire>>,
    peer: RefCell<Option<Weak<dyn Side>>>,
    lost: RefCell<Option<ConnectionLost>>,
    after_lost: RefCell<Option<LostHook>>,
}

/// What the peer of an aborted connection sees.
pub(crate) fn connection_reset() -> ConnectionLost {
    ConnectionLost::from_io(io::ErrorKind::ConnectionReset.into())
}

impl<P: Protocol> Endpoint<P> {
    /// A connection whose protocol has not been told yet (see `make_connection`).
    pub(crate) fn new(protocol: P, transport: Rc<StringTransport>) -> Rc<Endpoint<P>> {
        let handle = transport.transport();
        Rc::new(Endpoint {
            protocol: RefCell::new(protocol),
            transport,
            handle,
            inbox: RefCell::new(VecDeque::new()),
            peer: RefCell::new(None),
            lost: RefCell::new(None),
            after_lost: RefCell::new(None),
        })
    }

    pub(crate) fn make_connection(&self) {
        self.call(|p, t| p.connection_made(t));
    }

    pub(crate) fn set_peer(&self, peer: Weak<dyn Side>) {
        *self.peer.borrow_mut() = Some(peer);
    }

    pub(crate) fn set_after_lost(&self, hook: LostHook) {
        *self.after_lost.borrow_mut() = Some(hook);
    }

    /// Runs `f` on the protocol. The protocol's own cell is the only borrow held.
    fn call<R>(&self, f: impl FnOnce(&mut P, &Transport) -> R) -> R {
        let mut protocol = self.protocol.try_borrow_mut().unwrap_or_else(|_| {
            panic!(
                "re-entrant call into the protocol on {:?}: a driver or pump was used from \
                 inside one of this protocol's own callbacks",
                self.transport.transport().get_host()
            )
        });
        f(&mut protocol, &self.handle)
    }

    fn half_closeable(&self) -> bool {
        self.call(|p, _| p.half_closeable())
    }

    fn send(&self, wire: Wire) {
        let peer = self.peer.borrow().as_ref().and_then(Weak::upgrade);
        if let Some(peer) = peer {
            peer.push_wire(wire);
        }
    }

    /// Delivers what arrived, in order, while the transport reads. Data for a transport
    /// that no longer reads is dropped (as TCP does); a reset is never held.
    fn deliver_inbox(&self) -> bool {
        let mut any = false;
        loop {
            let wire = {
                let mut inbox = self.inbox.borrow_mut();
                let held =
                    !matches!(inbox.front(), Some(Wire::Reset)) && self.transport.read_held();
                if held {
                    break;
                }
                let Some(wire) = inbox.pop_front() else { break };
                wire
            };
            any = true;
            match wire {
                Wire::Data(data) => {
                    if self.transport.reading() {
                        self.call(|p, t| p.data_received(t, &data));
                    }
                }
                Wire::Eof => self.read_eof(),
                Wire::Reset => self.transport.close_now(connection_reset()),
            }
        }
        any
    }

    fn read_eof(&self) {
        if !self.transport.set_read_eof() {
            return;
        }
        if self.half_closeable() {
            self.call(|p, t| p.read_connection_lost(t));
        } else {
            // Send what was written before closing, as TCP does.
            self.transport.begin_close(ConnectionLost::Done);
        }
    }

    fn finish_write_shutdown(&self) -> bool {
        if !self.transport.take_due_write_shutdown() {
            return false;
        }
        self.send(Wire::Eof);
        if self.half_closeable() {
            self.call(|p, t| p.write_connection_lost(t));
        }
        true
    }

    fn finish_close(&self) -> bool {
        let Some((reason, producer)) = self.transport.take_due_close() else {
            return false;
        };
        match reason {
            ConnectionLost::Done if !self.transport.write_side_shut() => self.send(Wire::Eof),
            ConnectionLost::Aborted => self.send(Wire::Reset),
            _ => {}
        }
        self.deliver_lost(reason, producer);
        true
    }

    fn deliver_lost(&self, reason: ConnectionLost, producer: Option<Producer>) {
        *self.lost.borrow_mut() = Some(reason.clone());
        self.inbox.borrow_mut().clear();
        if let Some(producer) = producer {
            producer.stop_producing();
        }
        self.call(|p, t| p.connection_lost(t, reason.clone()));
        let hook = self.after_lost.borrow_mut().take();
        if let Some(hook) = hook {
            hook(&reason);
        }
    }
}

impl<P: Protocol> Side for Endpoint<P> {
    fn string_transport(&self) -> &Rc<StringTransport> {
        &self.transport
    }

    fn push_wire(&self, wire: Wire) {
        let mut inbox = self.inbox.borrow_mut();
        if matches!(wire, Wire::Reset) {
            inbox.clear();
        }
        inbox.push_back(wire);
    }

    fn turn(&self) -> bool {
        // As on TCP: the resume is told (pending phase) before new input is read.
        let mut any = false;
        if self.transport.take_resume_owed() {
            self.call(|p, t| p.reading_resumed(t));
            any = true;
        }
        any |= self.deliver_inbox();
        any |= self.transport.run_pending();
        any |= self.finish_write_shutdown();
        any |= self.finish_close();
        any
    }
}

/// Owns a protocol connected to a [`StringTransport`] and delivers events to it, standing
/// in for the reactor (Twisted tests call `makeConnection` and `dataReceived` on the
/// protocol themselves; here the driver does, so the protocol stays owned and called with
/// `&mut self`, as in a real connection).
///
/// - Events the test causes are delivered at once: [`data_received`](Driver::data_received),
///   [`eof`](Driver::eof), [`connection_lost`](Driver::connection_lost).
/// - What the reactor would deliver later is delivered by
///   [`run_pending`](Driver::run_pending): producer pauses and resumes, input held while
///   the transport was paused, and `connection_lost` once the protocol's own close
///   completes. A close started with `lose_connection` completes once the written bytes
///   have been taken ([`take_written`](Driver::take_written)) and no producer is registered,
///   as TCP waits for its buffer to drain; `abort_connection` completes at once.
/// - Like a connection, it only reads while the transport reads: data arriving while the
///   protocol paused the transport waits (and is delivered when it resumes), data arriving
///   after it closed is dropped.
///
/// A `Driver` is a cheap handle (`Clone`); drivers made by
/// [`connected_server_and_client`](super::connected_server_and_client) share their
/// connection with the [`IoPump`](super::IoPump).
///
/// # Panics
///
/// Methods that call the protocol panic if the protocol is already running (a driver used
/// from inside its own protocol's callback). A panic in the protocol propagates to the test.
///
/// # Examples
///
/// A protocol that answers, then closes its transport from inside `data_received`:
///
/// ```
/// use torsion::protocol::{ConnectionLost, Protocol};
/// use torsion::testing::Driver;
/// use torsion::transport::Transport;
///
/// #[derive(Default)]
/// struct Bye {
///     closed: bool,
/// }
///
/// impl Protocol for Bye {
///     fn data_received(&mut self, transport: &Transport, _: &[u8]) {
///         transport.write(b"bye\r\n");
///         transport.lose_connection();
///     }
///     fn connection_lost(&mut self, _: &Transport, reason: ConnectionLost) {
///         self.closed = reason.is_clean();
///     }
/// }
///
/// let driver = Driver::new(Bye::default());
/// driver.data_received(b"hi");
/// assert!(driver.transport().disconnecting());
/// assert_eq!(driver.take_written(), b"bye\r\n");
/// driver.run_pending(); // the buffer drained: the close completes
/// assert!(driver.with_protocol(|p| p.closed));
/// ```
pub struct Driver<P: Protocol> {
    endpoint: Rc<Endpoint<P>>,
}

impl<P: Protocol> Driver<P> {
    /// Connects `protocol` to a new [`StringTransport`] and calls its `connection_made`.
    pub fn new(protocol: P) -> Driver<P> {
        Driver::with_transport(protocol, StringTransport::new())
    }

    /// Connects `protocol` to `transport` (set up addresses or watermarks first) and calls
    /// its `connection_made`.
    ///
    /// # Examples
    ///
    /// ```
    /// use torsion::protocol::{Address, Protocol};
    /// use torsion::testing::{Driver, StringTransport};
    /// use torsion::transport::Transport;
    ///
    /// struct Greeter;
    /// impl Protocol for Greeter {
    ///     fn connection_made(&mut self, transport: &Transport) {
    ///         transport.write(format!("hello {}", transport.get_peer()).as_bytes());
    ///     }
    ///     fn data_received(&mut self, _: &Transport, _: &[u8]) {}
    /// }
    ///
    /// let st = StringTransport::new();
    /// st.set_peer(Address::Memory("alice".into()));
    /// let driver = Driver::with_transport(Greeter, st);
    /// assert_eq!(driver.written(), b"hello memory:alice");
    /// ```
    pub fn with_transport(protocol: P, transport: Rc<StringTransport>) -> Driver<P> {
        let endpoint = Endpoint::new(protocol, transport);
        endpoint.make_connection();
        Driver { endpoint }
    }

    pub(crate) fn from_endpoint(endpoint: Rc<Endpoint<P>>) -> Driver<P> {
        Driver { endpoint }
    }

    /// The transport, to inspect (`value()`, `disconnecting()`, `producer_state()` ...).
    pub fn transport(&self) -> &Rc<StringTransport> {
        &self.endpoint.transport
    }

    /// The [`Transport`] handle the protocol gets (equal to the one it is called with).
    pub fn handle(&self) -> Transport {
        self.endpoint.handle.clone()
    }

    /// Delivers `data` as the peer's bytes: `data_received` now, or later if the protocol
    /// paused its transport (see [`run_pending`](Driver::run_pending)); dropped if the
    /// transport no longer reads. Empty data is ignored.
    pub fn data_received(&self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        self.endpoint.push_wire(Wire::Data(data.to_vec()));
        self.endpoint.deliver_inbox();
    }

    /// The peer ends its input (a FIN), after any held data: a
    /// [half-closeable](Protocol::half_closeable) protocol gets `read_connection_lost`;
    /// otherwise the transport starts a clean close, which completes (with
    /// `connection_lost(Done)`) in [`run_pending`](Driver::run_pending) once the written
    /// bytes are taken.
    ///
    /// # Examples
    ///
    /// ```
    /// use torsion::protocol::Protocol;
    /// use torsion::testing::Driver;
    /// use torsion::transport::Transport;
    ///
    /// /// Answers once the request is complete, that is at the end of input.
    /// #[derive(Default)]
    /// struct Upload(usize);
    /// impl Protocol for Upload {
    ///     fn data_received(&mut self, _: &Transport, data: &[u8]) {
    ///         self.0 += data.len();
    ///     }
    ///     fn half_closeable(&self) -> bool {
    ///         true
    ///     }
    ///     fn read_connection_lost(&mut self, t: &Transport) {
    ///         t.write(format!("got {} bytes", self.0).as_bytes());
    ///         t.lose_connection();
    ///     }
    /// }
    ///
    /// let d = Driver::new(Upload::default());
    /// d.data_received(b"12345");
    /// d.eof();
    /// assert_eq!(d.take_written(), b"got 5 bytes");
    /// d.run_pending();
    /// assert!(d.lost_reason().unwrap().is_clean());
    /// ```
    pub fn eof(&self) {
        self.endpoint.push_wire(Wire::Eof);
        self.endpoint.deliver_inbox();
    }

    /// Closes the connection for `reason` and delivers `connection_lost` now (after
    /// stopping a registered producer, as TCP does). Whatever was written stays readable
    /// with [`written`](Driver::written). A peer connected through an
    /// [`IoPump`](super::IoPump) is not told.
    ///
    /// # Panics
    ///
    /// If `connection_lost` was already delivered (a connection is lost once): see
    /// [`lost_reason`](Driver::lost_reason).
    ///
    /// # Examples
    ///
    /// ```
    /// use torsion::defer::Failure;
    /// use torsion::protocol::{ConnectionLost, Protocol};
    /// use torsion::testing::Driver;
    /// use torsion::transport::Transport;
    ///
    /// #[derive(Default)]
    /// struct Log(Vec<String>);
    /// impl Protocol for Log {
    ///     fn data_received(&mut self, _: &Transport, _: &[u8]) {}
    ///     fn connection_lost(&mut self, _: &Transport, reason: ConnectionLost) {
    ///         if let ConnectionLost::Lost(failure) = reason {
    ///             self.0.push(failure.error().to_string());
    ///         }
    ///     }
    /// }
    ///
    /// let driver = Driver::new(Log::default());
    /// driver.connection_lost(ConnectionLost::Lost(Failure::msg("cable cut")));
    /// assert_eq!(driver.with_protocol(|p| p.0.clone()), ["cable cut"]);
    /// assert!(driver.transport().disconnected());
    /// ```
    #[track_caller]
    pub fn connection_lost(&self, reason: ConnectionLost) {
        if let Some(earlier) = &*self.endpoint.lost.borrow() {
            panic!("connection_lost was already delivered ({earlier})");
        }
        let producer = self.endpoint.transport.close_delivered();
        self.endpoint.deliver_lost(reason, producer);
    }

    /// Delivers what the reactor would deliver next, until nothing is left: owed producer
    /// calls, input held while reading was paused, a write shutdown or close that can
    /// complete (`write_connection_lost`, `connection_lost`). Returns whether anything
    /// happened.
    ///
    /// # Examples
    ///
    /// ```
    /// use torsion::protocol::Protocol;
    /// use torsion::testing::Driver;
    /// use torsion::transport::Transport;
    ///
    /// struct Hangup;
    /// impl Protocol for Hangup {
    ///     fn data_received(&mut self, t: &Transport, _: &[u8]) {
    ///         t.abort_connection();
    ///     }
    /// }
    ///
    /// let d = Driver::new(Hangup);
    /// d.data_received(b"x");
    /// assert!(!d.is_closed()); // closed, but not told yet
    /// assert!(d.run_pending());
    /// assert!(d.is_closed());
    /// assert!(!d.run_pending());
    /// ```
    ///
    /// # Panics
    ///
    /// If it is still busy after 1000 passes (something re-arms itself forever).
    pub fn run_pending(&self) -> bool {
        let mut any = false;
        for _ in 0..MAX_TURNS {
            if !self.endpoint.turn() {
                return any;
            }
            any = true;
        }
        panic!("Driver::run_pending: still busy after {MAX_TURNS} passes");
    }

    /// Runs `f` with the protocol (to inspect or change it).
    ///
    /// # Panics
    ///
    /// If the protocol is running (called from inside one of its own callbacks).
    pub fn with_protocol<R>(&self, f: impl FnOnce(&mut P) -> R) -> R {
        let mut protocol = self
            .endpoint
            .protocol
            .try_borrow_mut()
            .expect("Driver::with_protocol called while the protocol is running");
        f(&mut protocol)
    }

    /// Everything the protocol wrote and the test has not taken (the transport's
    /// [`value`](StringTransport::value)).
    pub fn written(&self) -> Vec<u8> {
        self.endpoint.transport.value()
    }

    /// Takes everything written so far (the transport's [`take`](StringTransport::take)):
    /// the bytes count as sent.
    pub fn take_written(&self) -> Vec<u8> {
        self.endpoint.transport.take()
    }

    /// True once `connection_lost` was delivered.
    pub fn is_closed(&self) -> bool {
        self.endpoint.lost.borrow().is_some()
    }

    /// The reason delivered to `connection_lost`, once it was.
    pub fn lost_reason(&self) -> Option<ConnectionLost> {
        self.endpoint.lost.borrow().clone()
    }

    /// Bytes that arrived while reading was paused and wait to be delivered.
    pub fn held_input(&self) -> usize {
        self.endpoint
            .inbox
            .borrow()
            .iter()
            .map(|w| match w {
                Wire::Data(d) => d.len(),
                _ => 0,
            })
            .sum()
    }
}

impl<P: Protocol> Clone for Driver<P> {
    fn clone(&self) -> Self {
        Driver {
            endpoint: self.endpoint.clone(),
        }
    }
}

impl<P: Protocol> fmt::Debug for Driver<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver")
            .field("transport", &self.endpoint.transport)
            .field("lost", &*self.endpoint.lost.borrow())
            .finish()
    }
}

/// Connects `protocol` to a new [`StringTransport`] and calls its `connection_made`
/// (Twisted's `protocol.makeConnection(StringTransport())`); the same as [`Driver::new`].
///
/// # Examples
///
/// ```
/// use torsion::protocol::Protocol;
/// use torsion::testing::make_connection;
/// use torsion::transport::Transport;
///
/// struct Echo;
/// impl Protocol for Echo {
///     fn data_received(&mut self, transport: &Transport, data: &[u8]) {
///         transport.write(data);
///     }
/// }
///
/// let driver = make_connection(Echo);
/// driver.data_received(b"ping");
/// assert_eq!(driver.written(), b"ping");
/// ```
pub fn make_connection<P: Protocol>(protocol: P) -> Driver<P> {
    Driver::new(protocol)
}

/// Drivers of protocols built by a factory hold a `Box<dyn Protocol>`; these reach the
/// concrete type inside.
impl Driver<Box<dyn Protocol>> {
    /// Runs `f` on the protocol if it is a `T` (`None` otherwise).
    ///
    /// # Panics
    ///
    /// As [`with_protocol`](Driver::with_protocol).
    pub fn with_protocol_as<T: Protocol, R>(&self, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        self.with_protocol(|boxed| {
            let inner: &mut dyn Protocol = &mut **boxed;
            let any: &mut dyn std::any::Any = inner;
            any.downcast_mut::<T>().map(f)
        })
    }
}
