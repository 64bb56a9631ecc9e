//! [`MemoryPort`] and [`MemoryConnector`]: the listening ports and connectors a
//! [`MemoryReactor`](super::MemoryReactor) hands out, which record what is done to them.
//!
//! Tests: `tests/testing_memory_reactor.rs`.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::{Rc, Weak};
use std::time::Duration;

use super::Shared;
use crate::defer::{succeed, Cancelled, Deferred, Failure, TimedOut};
use crate::protocol::{do_start, do_stop, Address, ClientFactory, ConnectionLost, Factory};
use crate::tcp::{Connector, ConnectorCore, Destination, PortCore};
use crate::time::DelayedCall;
use crate::transport::Transport;

/// A listening port that listens on nothing (Twisted's `_FakePort`): it reports its
/// address, records `stop_listening` calls, and keeps its factory started until stopped.
///
/// # Examples
///
/// ```
/// use torsion::protocol::{for_protocol, Protocol};
/// use torsion::tcp::ReactorTcp;
/// use torsion::testing::MemoryReactor;
/// use torsion::transport::Transport;
///
/// struct Echo;
/// impl Protocol for Echo {
///     fn data_received(&mut self, t: &Transport, data: &[u8]) {
///         t.write(data);
///     }
/// }
///
/// let reactor = MemoryReactor::new();
/// let port = reactor.listen_tcp_dyn(8080, for_protocol(|| Echo), 50, "").unwrap();
/// assert_eq!(port.get_host().to_string(), "tcp:0.0.0.0:8080");
/// port.stop_listening();
/// let recorded = &reactor.listens()[0].port;
/// assert!(!recorded.is_listening());
/// assert_eq!(recorded.stop_listening_calls(), 1);
/// ```
pub struct MemoryPort {
    host: Address,
    factory: Rc<dyn Factory>,
    listening: Cell<bool>,
    stop_calls: Cell<usize>,
}

impl MemoryPort {
    pub(super) fn new(host: Address, factory: Rc<dyn Factory>) -> Self {
        MemoryPort {
            host,
            factory,
            listening: Cell::new(true),
            stop_calls: Cell::new(0),
        }
    }

    /// How many times `stop_listening` was called.
    pub fn stop_listening_calls(&self) -> usize {
        self.stop_calls.get()
    }

    /// True until `stop_listening`.
    pub fn is_listening(&self) -> bool {
        self.listening.get()
    }

    /// The address it pretends to listen on.
    pub fn get_host(&self) -> Address {
        self.host.clone()
    }

    /// The factory it serves.
    pub fn factory(&self) -> Rc<dyn Factory> {
        self.factory.clone()
    }
}

impl PortCore for MemoryPort {
    fn get_host(&self) -> Address {
        self.host.clone()
    }

    /// Stops "listening" (the factory is stopped if no other port or connector uses it);
    /// the Deferred has already fired.
    fn stop_listening(&self) -> Deferred<()> {
        self.stop_calls.set(self.stop_calls.get() + 1);
        if self.listening.replace(false) {
            do_stop(&self.factory);
        }
        succeed(())
    }

    fn is_listening(&self) -> bool {
        self.listening.get()
    }
}

impl fmt::Debug for MemoryPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryPort")
            .field("host", &self.host)
            .field("listening", &self.listening.get())
            .finish()
    }
}

/// Where a [`MemoryConnector`] stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectorState {
    /// Not connecting: the attempt failed or was stopped, or the connection ended.
    Disconnected,
    /// An attempt waits for the test to complete it
    /// ([`MemoryReactor::succeed_once`](super::MemoryReactor::succeed_once)) or fail it
    /// ([`fail_once`](super::MemoryReactor::fail_once), or its timeout on the reactor's
    /// clock).
    Connecting,
    /// Connected (to a [`StringTransport`](crate::testing::StringTransport)).
    Connected,
}

enum Conn {
    Disconnected,
    /// `started`: the factory's `started_connecting` was called.
    Connecting {
        attempt: u64,
        started: bool,
    },
    Connected(Transport),
}

/// A connector whose attempts the test completes or fails (Twisted's `_FakeConnector`,
/// plus what `ConnectionCompleter` needs). It tells its factory what a real connector
/// would: `started_connecting` when an attempt begins, `client_connection_failed` when it
/// fails (with `Cancelled` after `stop_connecting`, `TimedOut` after the timeout on the
/// reactor's clock), `client_connection_lost` after the connection's `connection_lost`;
/// `connect()` from those callbacks starts a new attempt.
///
/// As on the real reactor, an attempt is queued at once but begins (its factory's
/// `started_connecting`) from the top of the loop, never from inside the `connect` call:
/// at the next advance of the reactor's clock (`advance(Duration::ZERO)` is enough), or
/// just before the test completes or fails it. So a factory may reconnect from inside its
/// own callbacks while holding a borrow of its state. Its factory is started and stopped
/// through [`do_start`] / [`do_stop`], the count real ports and connectors share.
///
/// # Examples
///
/// ```
/// use torsion::protocol::{for_protocol, Protocol};
/// use torsion::tcp::ReactorTcp;
/// use torsion::testing::{ConnectorState, MemoryReactor};
/// use torsion::transport::Transport;
///
/// struct Quiet;
/// impl Protocol for Quiet {
///     fn data_received(&mut self, _: &Transport, _: &[u8]) {}
/// }
///
/// let reactor = MemoryReactor::new();
/// let connector = reactor.connect_tcp_dyn("example.com", 80, for_protocol(|| Quiet), None, None);
/// let recorded = reactor.connects()[0].connector.clone();
/// assert_eq!(recorded.state(), ConnectorState::Connecting);
/// connector.stop_connecting();
/// assert_eq!(recorded.state(), ConnectorState::Disconnected);
/// assert_eq!(recorded.stop_connecting_calls(), 1);
/// assert_eq!(reactor.pending_connects(), 0);
/// ```
pub struct MemoryConnector {
    me: Weak<MemoryConnector>,
    reactor: Weak<Shared>,
    destination: Destination,
    factory: Rc<dyn ClientFactory>,
    timeout: Option<Duration>,
    state: RefCell<Conn>,
    attempts: Cell<u64>,
    connect_calls: Cell<usize>,
    disconnect_calls: Cell<usize>,
    stop_connecting_calls: Cell<usize>,
    factory_held: Cell<bool>,
    /// The call that starts the current attempt from the top of the "loop" (the clock).
    start_call: RefCell<Option<DelayedCall>>,
    timer: RefCell<Option<DelayedCall>>,
}

impl MemoryConnector {
    pub(super) fn new(
        reactor: Weak<Shared>,
        destination: Destination,
        factory: Rc<dyn ClientFactory>,
        timeout: Option<Duration>,
    ) -> Rc<MemoryConnector> {
        Rc::new_cyclic(|me| MemoryConnector {
            me: me.clone(),
            reactor,
            destination,
            factory,
            timeout,
            state: RefCell::new(Conn::Disconnected),
            attempts: Cell::new(0),
            connect_calls: Cell::new(0),
            disconnect_calls: Cell::new(0),
            stop_connecting_calls: Cell::new(0),
            factory_held: Cell::new(false),
            start_call: RefCell::new(None),
            timer: RefCell::new(None),
        })
    }

    /// Where it stands now.
    pub fn state(&self) -> ConnectorState {
        match &*self.state.borrow() {
            Conn::Disconnected => ConnectorState::Disconnected,
            Conn::Connecting { .. } => ConnectorState::Connecting,
            Conn::Connected(_) => ConnectorState::Connected,
        }
    }

    /// Attempts started so far (the first by the reactor's connect, more by `connect()`).
    pub fn attempts(&self) -> u64 {
        self.attempts.get()
    }

    /// How many times `connect()` was called (by the factory or the test).
    pub fn connect_calls(&self) -> usize {
        self.connect_calls.get()
    }

    /// How many times `disconnect()` was called.
    pub fn disconnect_calls(&self) -> usize {
        self.disconnect_calls.get()
    }

    /// How many times `stop_connecting()` was called (Twisted's `stoppedConnecting`).
    pub fn stop_connecting_calls(&self) -> usize {
        self.stop_connecting_calls.get()
    }

    /// The transport of the current connection, while connected.
    pub fn transport(&self) -> Option<Transport> {
        match &*self.state.borrow() {
            Conn::Connected(t) => Some(t.clone()),
            _ => None,
        }
    }

    /// The factory it connects for.
    pub fn factory(&self) -> Rc<dyn ClientFactory> {
        self.factory.clone()
    }

    pub(super) fn get_destination_ref(&self) -> &Destination {
        &self.destination
    }

    fn handle(&self) -> Connector {
        Connector::new(self.me.upgrade().expect("alive while its methods run"))
    }

    fn as_factory(&self) -> Rc<dyn Factory> {
        self.factory.clone()
    }

    /// The address the connection goes to, as the client's transport reports it.
    pub(super) fn peer_address(&self) -> Address {
        match &self.destination {
            Destination::Tcp { host, port } => match host.parse::<std::net::IpAddr>() {
                Ok(ip) => Address::Tcp((ip, *port).into()),
                Err(_) => Address::Memory(format!("{host}:{port}")),
            },
            Destination::Unix(path) => Address::Unix(Some(path.clone())),
        }
    }

    /// Starts an attempt (ignored unless disconnected): queued with the reactor at once,
    /// begun (`started_connecting`) from the top of the loop, as the real connector does.
    /// The timeout runs from now: no time passes before a real loop begins an attempt.
    pub(super) fn start_attempt(&self) {
        if !matches!(*self.state.borrow(), Conn::Disconnected) {
            return;
        }
        let Some(reactor) = self.reactor.upgrade() else {
            return;
        };
        if !self.factory_held.replace(true) {
            do_start(&self.as_factory());
        }
        let attempt = self.attempts.get() + 1;
        self.attempts.set(attempt);
        *self.state.borrow_mut() = Conn::Connecting {
            attempt,
            started: false,
        };
        let me = self.me.upgrade().expect("alive while its methods run");
        reactor.pending.borrow_mut().push_back(me);
        let me = self.me.clone();
        let start = reactor.clock.call_later(Duration::ZERO, move || {
            if let Some(me) = me.upgrade() {
                me.begin(attempt);
            }
        });
        *self.start_call.borrow_mut() = Some(start);
        if let Some(timeout) = self.timeout {
            let me = self.me.clone();
            let timer = reactor.clock.call_later(timeout, move || {
                let Some(me) = me.upgrade() else { return };
                if me.current_attempt() == Some(attempt) {
                    me.fail_attempt(Failure::new(TimedOut));
                }
            });
            *self.timer.borrow_mut() = Some(timer);
        }
    }

    /// The attempt in progress, if any.
    fn current_attempt(&self) -> Option<u64> {
        match *self.state.borrow() {
            Conn::Connecting { attempt, .. } => Some(attempt),
            _ => None,
        }
    }

    /// Begins attempt `attempt` if it is current and not begun: tells the factory.
    fn begin(&self, attempt: u64) {
        {
            let mut state = self.state.borrow_mut();
            match &mut *state {
                Conn::Connecting {
                    attempt: a,
                    started,
                } if *a == attempt && !*started => *started = true,
                _ => return,
            }
        }
        if let Some(call) = self.start_call.borrow_mut().take() {
            let _ = call.cancel();
        }
        self.factory.started_connecting(&self.handle());
    }

    /// Begins the current attempt now if the loop has not yet (the test is about to
    /// complete or fail it).
    pub(super) fn begin_now(&self) {
        let waiting = match *self.state.borrow() {
            Conn::Connecting {
                attempt,
                started: false,
            } => Some(attempt),
            _ => None,
        };
        if let Some(attempt) = waiting {
            self.begin(attempt);
        }
    }

    fn cancel_timers(&self) {
        for slot in [&self.start_call, &self.timer] {
            if let Some(call) = slot.borrow_mut().take() {
                let _ = call.cancel();
            }
        }
    }

    fn leave_pending(&self) {
        if let Some(reactor) = self.reactor.upgrade() {
            let me = self.me.as_ptr();
            reactor
                .pending
                .borrow_mut()
                .retain(|c| !std::ptr::eq(Rc::as_ptr(c), me));
        }
    }

    /// The current attempt failed: tell the factory.
    pub(super) fn fail_attempt(&self, reason: Failure) {
        self.cancel_timers();
        self.leave_pending();
        *self.state.borrow_mut() = Conn::Disconnected;
        self.factory
            .client_connection_failed(&self.handle(), reason);
        self.maybe_release_factory();
    }

    /// The current attempt succeeded, over `transport`.
    pub(super) fn connected(&self, transport: Transport) {
        self.cancel_timers();
        self.leave_pending();
        *self.state.borrow_mut() = Conn::Connected(transport);
    }

    /// The connection ended (after its protocol's `connection_lost`).
    pub(super) fn lost(&self, reason: &ConnectionLost) {
        *self.state.borrow_mut() = Conn::Disconnected;
        self.factory.client_connection_lost(&self.handle(), reason);
        self.maybe_release_factory();
    }

    fn maybe_release_factory(&self) {
        if matches!(*self.state.borrow(), Conn::Disconnected) && self.factory_held.replace(false) {
            do_stop(&self.as_factory());
        }
    }
}

impl ConnectorCore for MemoryConnector {
    fn connect(&self) {
        self.connect_calls.set(self.connect_calls.get() + 1);
        self.start_attempt();
    }

    fn disconnect(&self) {
        self.disconnect_calls.set(self.disconnect_calls.get() + 1);
        let transport = self.transport();
        match transport {
            Some(t) => t.lose_connection(),
            None => self.stop_connecting_now(),
        }
    }

    fn stop_connecting(&self) {
        self.stop_connecting_calls
            .set(self.stop_connecting_calls.get() + 1);
        self.stop_connecting_now();
    }

    fn get_destination(&self) -> Destination {
        self.destination.clone()
    }

    fn is_connected(&self) -> bool {
        matches!(*self.state.borrow(), Conn::Connected(_))
    }
}

impl MemoryConnector {
    fn stop_connecting_now(&self) {
        if matches!(*self.state.borrow(), Conn::Connecting { .. }) {
            self.fail_attempt(Failure::new(Cancelled));
        }
    }
}

impl fmt::Debug for MemoryConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryConnector")
            .field("destination", &self.destination)
            .field("state", &self.state())
            .field("attempts", &self.attempts.get())
            .finish()
    }
}
