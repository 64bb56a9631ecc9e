//! A client and a server connected in memory: [`connected_server_and_client`],
//! [`PumpBuilder`] and the [`IoPump`] that moves bytes between them (Twisted's
//! `twisted.test.iosim`).
//!
//! Tests: `tests/testing_iosim.rs`.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use super::driver::{Endpoint, Side, Wire};
use super::{Driver, StringTransport};
use crate::protocol::{Address, Protocol};
use crate::time::Clock;

/// Rounds [`IoPump::flush`] allows before deciding the two sides talk forever.
pub const MAX_FLUSH_ROUNDS: usize = 1000;

/// A server and a client connected through an [`IoPump`], as made by
/// [`connected_server_and_client`] or
/// [`MemoryReactor::succeed_once_with_server`](super::MemoryReactor::succeed_once_with_server).
///
/// # Examples
///
/// ```
/// use torsion::protocol::Protocol;
/// use torsion::testing::{connected_server_and_client, Connected};
/// use torsion::transport::Transport;
///
/// struct Quiet;
/// impl Protocol for Quiet {
///     fn data_received(&mut self, _: &Transport, _: &[u8]) {}
/// }
///
/// let Connected { server, client, pump } = connected_server_and_client(Quiet, Quiet);
/// client.handle().lose_connection();
/// pump.flush();
/// assert!(server.is_closed() && client.is_closed());
/// ```
pub struct Connected<S: Protocol, C: Protocol> {
    /// The accepting side.
    pub server: Driver<S>,
    /// The connecting side.
    pub client: Driver<C>,
    /// Moves bytes and disconnects between them.
    pub pump: IoPump,
}

impl<S: Protocol, C: Protocol> fmt::Debug for Connected<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connected")
            .field("server", &self.server)
            .field("client", &self.client)
            .field("pump", &self.pump)
            .finish()
    }
}

/// Connects `server` and `client` in memory, calls their `connection_made` (server first)
/// and [flushes](IoPump::flush) once so both are past their greetings (Twisted's
/// `connectedServerAndClient`). Use [`PumpBuilder`] for a clock, addresses, traffic
/// printing or no greeting flush.
///
/// # Examples
///
/// ```
/// use torsion::protocol::Protocol;
/// use torsion::testing::{connected_server_and_client, Connected};
/// use torsion::transport::Transport;
///
/// struct Echo;
/// impl Protocol for Echo {
///     fn data_received(&mut self, transport: &Transport, data: &[u8]) {
///         transport.write(data);
///     }
/// }
///
/// #[derive(Default)]
/// struct Client {
///     heard: Vec<u8>,
/// }
/// impl Protocol for Client {
///     fn connection_made(&mut self, transport: &Transport) {
///         transport.write(b"marco");
///     }
///     fn data_received(&mut self, transport: &Transport, data: &[u8]) {
///         self.heard.extend_from_slice(data);
///         transport.lose_connection();
///     }
/// }
///
/// let Connected { server, client, pump } = connected_server_and_client(Echo, Client::default());
/// assert_eq!(client.with_protocol(|c| c.heard.clone()), b"marco");
/// assert!(client.is_closed() && server.is_closed());
/// assert!(server.lost_reason().unwrap().is_clean());
/// assert_eq!(pump.bytes_from_client(), b"marco");
/// ```
pub fn connected_server_and_client<S: Protocol, C: Protocol>(
    server: S,
    client: C,
) -> Connected<S, C> {
    PumpBuilder::new().connect(server, client)
}

/// Options for connecting two protocols in memory.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use torsion::protocol::Protocol;
/// use torsion::testing::PumpBuilder;
/// use torsion::time::Clock;
/// use torsion::transport::Transport;
///
/// /// Says hello one second after connecting.
/// struct Slow {
///     clock: Clock,
/// }
/// impl Protocol for Slow {
///     fn connection_made(&mut self, transport: &Transport) {
///         let t = transport.clone();
///         self.clock.call_later(Duration::from_secs(1), move || t.write(b"hello"));
///     }
///     fn data_received(&mut self, _: &Transport, _: &[u8]) {}
/// }
///
/// #[derive(Default)]
/// struct Sink(Vec<u8>);
/// impl Protocol for Sink {
///     fn data_received(&mut self, _: &Transport, data: &[u8]) {
///         self.0.extend_from_slice(data);
///     }
/// }
///
/// let clock = Clock::new();
/// let c = PumpBuilder::new()
///     .clock(clock.clone())
///     .connect(Slow { clock: clock.clone() }, Sink::default());
/// assert!(c.client.with_protocol(|s| s.0.is_empty()));
/// clock.advance(Duration::from_secs(1));
/// c.pump.flush();
/// assert_eq!(c.client.with_protocol(|s| s.0.clone()), b"hello");
/// ```
#[derive(Clone, Debug)]
pub struct PumpBuilder {
    clock: Option<Clock>,
    debug: bool,
    greet: bool,
    server_address: Address,
    client_address: Address,
}

impl PumpBuilder {
    /// A new clock, no traffic printing, greeting flush on, addresses
    /// `Address::Memory("server")` and `Address::Memory("client")`.
    pub fn new() -> PumpBuilder {
        PumpBuilder {
            clock: None,
            debug: false,
            greet: true,
            server_address: Address::Memory("server".into()),
            client_address: Address::Memory("client".into()),
        }
    }

    /// The clock the pump advances by zero at each round (share it with the protocols'
    /// timers, or pass a [`MemoryReactor`](super::MemoryReactor)'s clock).
    pub fn clock(mut self, clock: Clock) -> PumpBuilder {
        self.clock = Some(clock);
        self
    }

    /// Print every move of bytes to stderr.
    pub fn debug(mut self, on: bool) -> PumpBuilder {
        self.debug = on;
        self
    }

    /// Flush once after connecting (the default), so greetings are exchanged.
    pub fn greet(mut self, on: bool) -> PumpBuilder {
        self.greet = on;
        self
    }

    /// The server's and the client's own addresses (each is the other's peer).
    pub fn addresses(mut self, server: Address, client: Address) -> PumpBuilder {
        self.server_address = server;
        self.client_address = client;
        self
    }

    /// Connects `server` and `client`: see [`connected_server_and_client`].
    pub fn connect<S: Protocol, C: Protocol>(self, server: S, client: C) -> Connected<S, C> {
        let server_transport = StringTransport::with_addresses(
            self.server_address.clone(),
            self.client_address.clone(),
        );
        let client_transport = StringTransport::with_addresses(
            self.client_address.clone(),
            self.server_address.clone(),
        );
        let server = Endpoint::new(server, server_transport);
        let client = Endpoint::new(client, client_transport);
        let pump = self.link(server.clone(), client.clone());
        Connected {
            server: Driver::from_endpoint(server),
            client: Driver::from_endpoint(client),
            pump,
        }
    }

    /// Connects two endpoints not yet told they are connected.
    pub(crate) fn link<S: Protocol, C: Protocol>(
        self,
        server: Rc<Endpoint<S>>,
        client: Rc<Endpoint<C>>,
    ) -> IoPump {
        let server_side: Rc<dyn Side> = server.clone();
        let client_side: Rc<dyn Side> = client.clone();
        server.set_peer(Rc::downgrade(&client_side));
        client.set_peer(Rc::downgrade(&server_side));
        let pump = IoPump {
            inner: Rc::new(PumpInner {
                server: server_side,
                client: client_side,
                clock: self.clock.unwrap_or_default(),
                debug: Cell::new(self.debug),
                from_server: RefCell::new(Vec::new()),
                from_client: RefCell::new(Vec::new()),
                pumping: Cell::new(false),
            }),
        };
        server.make_connection();
        client.make_connection();
        if self.greet {
            pump.flush();
        }
        pump
    }
}

impl Default for PumpBuilder {
    fn default() -> Self {
        PumpBuilder::new()
    }
}

struct PumpInner {
    server: Rc<dyn Side>,
    client: Rc<dyn Side>,
    clock: Clock,
    debug: Cell<bool>,
    from_server: RefCell<Vec<u8>>,
    from_client: RefCell<Vec<u8>>,
    pumping: Cell<bool>,
}

/// Moves bytes and disconnects between two in-memory connections (Twisted's `IOPump`).
///
/// Each [`pump`](IoPump::pump) is one round of a pretend network with no latency:
///
/// 1. the clock advances by zero, running calls that are due;
/// 2. everything each side has written moves to the other side (unless the receiver
///    paused reading: then it stays in the sender's buffer, so the sender's producer is
///    paused at its high-water mark as over TCP; bytes for a side that no longer reads
///    are dropped);
/// 3. each side gets what a loop turn would deliver: `data_received` for the bytes that
///    arrived, owed producer calls, and the end of a write shutdown or of a close.
///
/// Disconnects travel like TCP's: a `lose_connection` completes once the sender's buffer
/// has moved (and no producer is registered): that side gets `connection_lost(Done)`, and
/// the other side sees the end of input (`read_connection_lost` if
/// [half-closeable](Protocol::half_closeable), else a clean close, `Done`, once its own
/// buffer drains). `abort_connection` drops the buffer: that side gets `Aborted`, the other
/// a reset (`Lost` with an `io::ErrorKind::ConnectionReset` error). `lose_write_connection`
/// delivers the end of input to the other side and `write_connection_lost` to its own.
///
/// Cheap to clone; a protocol's timer may hold one, but pumping from inside a pumped
/// callback panics.
///
/// # Examples
///
/// Step by step, then an abort:
///
/// ```
/// use std::io;
/// use torsion::protocol::{ConnectionLost, Protocol};
/// use torsion::testing::PumpBuilder;
/// use torsion::transport::Transport;
///
/// /// Answers every read with "ok"; remembers why it closed.
/// #[derive(Default)]
/// struct Ok(Option<ConnectionLost>);
/// impl Protocol for Ok {
///     fn data_received(&mut self, t: &Transport, _: &[u8]) {
///         t.write(b"ok");
///     }
///     fn connection_lost(&mut self, _: &Transport, reason: ConnectionLost) {
///         self.0 = Some(reason);
///     }
/// }
///
/// #[derive(Default)]
/// struct Ask(Vec<u8>, Option<ConnectionLost>);
/// impl Protocol for Ask {
///     fn connection_made(&mut self, t: &Transport) {
///         t.write(b"?");
///     }
///     fn data_received(&mut self, t: &Transport, data: &[u8]) {
///         self.0.extend_from_slice(data);
///         t.abort_connection();
///     }
///     fn connection_lost(&mut self, _: &Transport, reason: ConnectionLost) {
///         self.1 = Some(reason);
///     }
/// }
///
/// let c = PumpBuilder::new().greet(false).connect(Ok::default(), Ask::default());
/// assert!(c.pump.pump()); // "?" reaches the server, which answers
/// assert!(c.client.with_protocol(|a| a.0.is_empty()));
/// assert!(c.pump.pump()); // "ok" reaches the client, which aborts
/// assert_eq!(c.client.with_protocol(|a| a.0.clone()), b"ok");
/// c.pump.flush();
/// assert!(matches!(c.client.lost_reason(), Some(ConnectionLost::Aborted)));
/// let server_saw = c.server.lost_reason().unwrap();
/// assert_eq!(server_saw.io_error().unwrap().kind(), io::ErrorKind::ConnectionReset);
/// ```
#[derive(Clone)]
pub struct IoPump {
    inner: Rc<PumpInner>,
}

/// Clears the pumping flag however `pump` ends.
struct Pumping<'a>(&'a Cell<bool>);

impl Drop for Pumping<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

impl IoPump {
    /// One round (see the type's documentation). Returns whether anything moved or was
    /// delivered.
    ///
    /// # Panics
    ///
    /// If called from inside a callback this pump is running.
    pub fn pump(&self) -> bool {
        let inner = &*self.inner;
        assert!(
            !inner.pumping.replace(true),
            "IoPump::pump called from inside a callback the pump is running"
        );
        let _pumping = Pumping(&inner.pumping);
        inner.clock.advance(Duration::ZERO);
        let mut any = self.transfer(&inner.server, &inner.client, "S -> C", &inner.from_server);
        any |= self.transfer(&inner.client, &inner.server, "C -> S", &inner.from_client);
        any |= inner.server.turn();
        any |= inner.client.turn();
        any
    }

    /// Pumps until a round does nothing (Twisted's `flush`). Returns whether anything
    /// happened.
    ///
    /// # Panics
    ///
    /// If still busy after [`MAX_FLUSH_ROUNDS`] rounds.
    pub fn flush(&self) -> bool {
        self.flush_within(MAX_FLUSH_ROUNDS)
    }

    /// [`flush`](IoPump::flush) with another limit, for long exchanges (a pull producer
    /// of many pieces takes a round per piece).
    ///
    /// # Panics
    ///
    /// If still busy after `max_rounds` rounds.
    pub fn flush_within(&self, max_rounds: usize) -> bool {
        let mut any = false;
        for _ in 0..max_rounds {
            if !self.pump() {
                return any;
            }
            any = true;
        }
        panic!("IoPump::flush: still busy after {max_rounds} rounds");
    }

    /// The clock advanced at each round.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// Turns printing of the bytes moved (to stderr) on or off.
    pub fn set_debug(&self, on: bool) {
        self.inner.debug.set(on);
    }

    /// Every byte the client sent so far (moved to the server, or dropped because it no
    /// longer read).
    pub fn bytes_from_client(&self) -> Vec<u8> {
        self.inner.from_client.borrow().clone()
    }

    /// Every byte the server sent so far.
    pub fn bytes_from_server(&self) -> Vec<u8> {
        self.inner.from_server.borrow().clone()
    }

    fn transfer(
        &self,
        from: &Rc<dyn Side>,
        to: &Rc<dyn Side>,
        arrow: &str,
        log: &RefCell<Vec<u8>>,
    ) -> bool {
        let receiver = to.string_transport();
        if receiver.read_held() {
            return false;
        }
        let data = from.string_transport().take_output();
        if data.is_empty() {
            return false;
        }
        log.borrow_mut().extend_from_slice(&data);
        let reading = receiver.reading();
        if self.inner.debug.get() {
            let note = if reading {
                ""
            } else {
                " (dropped: not reading)"
            };
            eprintln!(
                "{arrow} {} bytes{note}: \"{}\"",
                data.len(),
                data.escape_ascii()
            );
        }
        if reading {
            to.push_wire(Wire::Data(data));
        }
        true
    }
}

impl fmt::Debug for IoPump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IoPump")
            .field("clock", &self.inner.clock)
            .field("from_client", &self.inner.from_client.borrow().len())
            .field("from_server", &self.inner.from_server.borrow().len())
            .finish()
    }
}
