//! [`Connector`]: one client connection, from resolving the name to the connection's end
//! (Twisted's `IConnector`).
//!
//! A connect never blocks the loop: host names are resolved on the reactor's thread pool,
//! the socket connects in non-blocking mode and the connector waits for it to become
//! writable (then reads `SO_ERROR`), with an optional timeout.
//!
//! Tests: `tests/tcp_connect.rs`.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::OwnedFd;
use std::rc::{Rc, Weak};
use std::time::Duration;

use torsion_sys::{socket, Interest, Readiness};

use crate::defer::{Cancelled, Failure, TimedOut};
use crate::protocol::{Address, ClientFactory, ConnectionLost, Factory};
use crate::reactor::{IoHandler, Reactor, SourceKey};
use crate::time::DelayedCall;

use super::connection::Connection;
use super::handles::{Connector, ConnectorCore, Destination};

enum State {
    Disconnected,
    /// Waiting for the name; the number tells a stale answer from the current attempt.
    Resolving,
    Connecting {
        fd: OwnedFd,
        key: SourceKey,
        peer: Address,
    },
    Connected(Weak<Connection>),
}

pub(crate) struct ConnectorInner {
    reactor: Reactor,
    me: Weak<ConnectorInner>,
    factory: Rc<dyn ClientFactory>,
    dest: Destination,
    timeout: Option<Duration>,
    bind: Option<SocketAddr>,
    state: RefCell<State>,
    timer: RefCell<Option<DelayedCall>>,
    attempt: Cell<u64>,
    factory_started: Cell<bool>,
}

impl ConnectorInner {
    /// A connector for `dest` (not connecting yet).
    pub(crate) fn create(
        reactor: &Reactor,
        dest: Destination,
        factory: Rc<dyn ClientFactory>,
        timeout: Option<Duration>,
        bind: Option<SocketAddr>,
    ) -> Rc<ConnectorInner> {
        Rc::new_cyclic(|me| ConnectorInner {
            reactor: reactor.clone(),
            me: me.clone(),
            factory,
            dest,
            timeout,
            bind,
            state: RefCell::new(State::Disconnected),
            timer: RefCell::new(None),
            attempt: Cell::new(0),
            factory_started: Cell::new(false),
        })
    }
}

impl ConnectorCore for ConnectorInner {
    fn connect(&self) {
        self.start_connecting();
    }

    fn disconnect(&self) {
        let connected = match &*self.state.borrow() {
            State::Connected(conn) => Some(conn.upgrade()),
            _ => None,
        };
        match connected {
            Some(Some(conn)) => crate::transport::TransportCore::lose_connection(&*conn),
            Some(None) => {}
            None => self.stop_connecting(),
        }
    }

    fn stop_connecting(&self) {
        let connecting = matches!(
            *self.state.borrow(),
            State::Resolving | State::Connecting { .. }
        );
        if connecting {
            self.failed(Failure::new(Cancelled));
        }
    }

    fn get_destination(&self) -> Destination {
        self.dest.clone()
    }

    fn is_connected(&self) -> bool {
        matches!(*self.state.borrow(), State::Connected(_))
    }
}

impl ConnectorInner {
    fn this(&self) -> Rc<ConnectorInner> {
        self.me.upgrade().expect("alive while its methods run")
    }

    fn handle(&self) -> Connector {
        Connector::new(self.this())
    }

    fn as_factory(&self) -> Rc<dyn Factory> {
        self.factory.clone()
    }

    pub(crate) fn start_connecting(&self) {
        if !matches!(*self.state.borrow(), State::Disconnected) {
            return;
        }
        if !self.factory_started.replace(true) {
            crate::protocol::do_start(&self.as_factory());
        }
        *self.state.borrow_mut() = State::Resolving;
        let attempt = self.attempt.get() + 1;
        self.attempt.set(attempt);
        // The attempt itself runs from the top of the loop: a connect made inside a
        // protocol callback must not call factories or protocols back from inside it (a
        // Unix or loopback connect can complete at once).
        let me = self.this();
        self.reactor.call_soon(move || me.run_attempt(attempt));
    }

    fn run_attempt(&self, attempt: u64) {
        if self.attempt.get() != attempt || !matches!(*self.state.borrow(), State::Resolving) {
            return; // stopped (or restarted) before it began
        }
        self.factory.started_connecting(&self.handle());
        if self.attempt.get() != attempt || !matches!(*self.state.borrow(), State::Resolving) {
            return; // the factory stopped it
        }
        if let Some(timeout) = self.timeout {
            let me = self.me.clone();
            let timer = self.reactor.call_later(timeout, move || {
                if let Some(me) = me.upgrade() {
                    if me.attempt.get() == attempt
                        && !matches!(*me.state.borrow(), State::Connected(_))
                    {
                        me.failed(Failure::new(TimedOut));
                    }
                }
            });
            *self.timer.borrow_mut() = Some(timer);
        }
        match self.dest.clone() {
            Destination::Unix(path) => {
                let result = socket::unix_connect(&path);
                self.started(result, Address::Unix(Some(path)));
            }
            Destination::Tcp { host, port } => {
                if let Ok(ip) = host.parse::<std::net::IpAddr>() {
                    self.attempt_addr(SocketAddr::new(ip, port));
                    return;
                }
                // Resolve off the reactor thread: getaddrinfo blocks. The lookup keeps the
                // connector alive until it answers (nothing else may hold it meanwhile).
                let me = self.this();
                let lookup = self
                    .reactor
                    .defer_to_thread(move || resolve(&host, port))
                    .add_both(move |result| {
                        if me.attempt.get() != attempt
                            || !matches!(*me.state.borrow(), State::Resolving)
                        {
                            return;
                        }
                        match result {
                            Ok(addr) => me.attempt_addr(addr),
                            Err(failure) => me.failed(failure),
                        }
                    });
                drop(lookup);
            }
        }
    }

    fn attempt_addr(&self, addr: SocketAddr) {
        let result = socket::tcp_connect_from(addr, self.bind);
        self.started(result, Address::Tcp(addr));
    }

    fn started(&self, result: io::Result<(OwnedFd, bool)>, peer: Address) {
        match result {
            Err(e) => self.failed(Failure::new(e)),
            Ok((fd, true)) => self.established(fd, peer),
            Ok((fd, false)) => {
                let handler: Rc<dyn IoHandler> = self.this();
                match self.reactor.add_source(&fd, Interest::WRITABLE, handler) {
                    Ok(key) => *self.state.borrow_mut() = State::Connecting { fd, key, peer },
                    Err(e) => self.failed(Failure::new(e)),
                }
            }
        }
    }

    fn cancel_timer(&self) {
        if let Some(timer) = self.timer.borrow_mut().take() {
            let _ = timer.cancel();
        }
    }

    fn established(&self, fd: OwnedFd, peer: Address) {
        self.cancel_timer();
        let host = match &peer {
            Address::Tcp(_) => socket::local_addr(&fd)
                .map(Address::Tcp)
                .unwrap_or(Address::Unix(None)),
            _ => Address::Unix(None),
        };
        let Some(protocol) = self.factory.build_protocol(&peer) else {
            *self.state.borrow_mut() = State::Disconnected;
            self.failed_now(Failure::msg("the factory refused to build a protocol"));
            return;
        };
        *self.state.borrow_mut() = State::Connected(Weak::new());
        match Connection::start(&self.reactor, fd, host, peer, protocol, Some(self.this())) {
            Ok(conn) => {
                // (Its connection_lost, even if connection_made closed it, comes later.)
                *self.state.borrow_mut() = State::Connected(Rc::downgrade(&conn));
            }
            Err(e) => {
                *self.state.borrow_mut() = State::Disconnected;
                self.failed_now(Failure::new(e));
            }
        }
    }

    /// The attempt failed: clean up, then tell the factory.
    fn failed(&self, reason: Failure) {
        self.cancel_timer();
        let state = std::mem::replace(&mut *self.state.borrow_mut(), State::Disconnected);
        if let State::Connecting { fd, key, .. } = state {
            let _ = self.reactor.remove_source(key, &fd);
        }
        self.failed_now(reason);
    }

    fn failed_now(&self, reason: Failure) {
        self.factory
            .client_connection_failed(&self.handle(), reason);
        self.maybe_stop_factory();
    }

    /// Called by the connection after its protocol's `connection_lost`.
    pub(crate) fn connection_lost(&self, reason: &ConnectionLost) {
        *self.state.borrow_mut() = State::Disconnected;
        self.factory.client_connection_lost(&self.handle(), reason);
        self.maybe_stop_factory();
    }

    fn maybe_stop_factory(&self) {
        if matches!(*self.state.borrow(), State::Disconnected)
            && self.factory_started.replace(false)
        {
            crate::protocol::do_stop(&self.as_factory());
        }
    }
}

impl IoHandler for ConnectorInner {
    fn ready(&self, _reactor: &Reactor, _readiness: Readiness) {
        let state = std::mem::replace(&mut *self.state.borrow_mut(), State::Disconnected);
        let State::Connecting { fd, key, peer } = state else {
            *self.state.borrow_mut() = state;
            return;
        };
        let _ = self.reactor.remove_source(key, &fd);
        match socket::take_error(&fd) {
            Ok(None) => self.established(fd, peer),
            Ok(Some(e)) | Err(e) => {
                *self.state.borrow_mut() = State::Resolving; // so `failed` cleans up once
                self.failed(Failure::new(e));
            }
        }
    }
}

/// The first address `host` resolves to.
fn resolve(host: &str, port: u16) -> io::Result<SocketAddr> {
    (host, port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("{host} has no address")))
}

impl fmt::Debug for ConnectorInner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectorInner")
            .field("dest", &self.dest)
            .finish()
    }
}
