//! [`MemoryReactor`]: a stand-in for the reactor that records every listen and connect
//! and keeps time with a manual [`Clock`] (Twisted's `MemoryReactorClock`), and completes
//! or fails the connects it recorded when the test says so (Twisted's
//! `ConnectionCompleter`).
//!
//! Tests: `tests/testing_memory_reactor.rs`.

mod complete;
mod handles;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use crate::protocol::{do_start, Address, ClientFactory, Factory};
use crate::tcp::{Connector, Destination, ListeningPort, ReactorTcp};
use crate::time::{Clock, DelayedCall, LocalFn, ReactorTime};

pub use handles::{ConnectorState, MemoryConnector, MemoryPort};

/// The first port number handed out for port 0 and for clients' own addresses.
pub const FIRST_FAKE_PORT: u16 = 40000;

/// What a listen asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListenOn {
    /// `listen_tcp(port, .., interface)`; `port` as asked (0 included).
    Tcp {
        /// The port asked for.
        port: u16,
        /// The interface asked for (`""` for every IPv4 interface).
        interface: String,
    },
    /// `listen_unix(path, .., mode)`.
    Unix {
        /// The socket path.
        path: PathBuf,
        /// The permission bits asked for.
        mode: u32,
    },
}

/// One recorded `listen_tcp` / `listen_unix` call (an entry of Twisted's `tcpServers` or
/// `unixServers`).
///
/// # Examples
///
/// ```
/// use torsion::protocol::{for_protocol, Protocol};
/// use torsion::tcp::ReactorTcp;
/// use torsion::testing::{ListenOn, MemoryReactor};
/// use torsion::transport::Transport;
///
/// struct Quiet;
/// impl Protocol for Quiet {
///     fn data_received(&mut self, _: &Transport, _: &[u8]) {}
/// }
///
/// let reactor = MemoryReactor::new();
/// reactor.listen_tcp_dyn(0, for_protocol(|| Quiet), 128, "127.0.0.1").unwrap();
/// let call = &reactor.listens()[0];
/// assert_eq!(call.on, ListenOn::Tcp { port: 0, interface: "127.0.0.1".into() });
/// assert_eq!(call.backlog, 128);
/// assert!(call.port.get_host().port().unwrap() > 0); // a fake free port
/// ```
#[derive(Clone)]
pub struct ListenCall {
    /// What was asked for.
    pub on: ListenOn,
    /// The factory given.
    pub factory: Rc<dyn Factory>,
    /// The backlog given.
    pub backlog: i32,
    /// The port handed back (the same one the caller holds).
    pub port: Rc<MemoryPort>,
}

impl fmt::Debug for ListenCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListenCall")
            .field("on", &self.on)
            .field("backlog", &self.backlog)
            .field("port", &self.port)
            .finish()
    }
}

/// One recorded `connect_tcp` / `connect_unix` call (an entry of Twisted's `tcpClients`
/// or `unixClients`).
///
/// # Examples
///
/// ```
/// use std::path::Path;
/// use std::time::Duration;
/// use torsion::protocol::{for_protocol, Protocol};
/// use torsion::tcp::{Destination, ReactorTcp};
/// use torsion::testing::MemoryReactor;
/// use torsion::transport::Transport;
///
/// struct Quiet;
/// impl Protocol for Quiet {
///     fn data_received(&mut self, _: &Transport, _: &[u8]) {}
/// }
///
/// let reactor = MemoryReactor::new();
/// let timeout = Some(Duration::from_secs(5));
/// reactor.connect_unix_dyn(Path::new("/run/app.sock"), for_protocol(|| Quiet), timeout);
/// let call = &reactor.connects()[0];
/// assert_eq!(call.destination, Destination::Unix("/run/app.sock".into()));
/// assert_eq!(call.timeout, timeout);
/// assert_eq!(call.connector.attempts(), 1);
/// ```
#[derive(Clone)]
pub struct ConnectCall {
    /// Where to.
    pub destination: Destination,
    /// The factory given.
    pub factory: Rc<dyn ClientFactory>,
    /// The timeout given.
    pub timeout: Option<Duration>,
    /// The local address to bind, if given (TCP only).
    pub bind_address: Option<SocketAddr>,
    /// The connector handed back (the same one the caller holds).
    pub connector: Rc<MemoryConnector>,
}

impl fmt::Debug for ConnectCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectCall")
            .field("destination", &self.destination)
            .field("timeout", &self.timeout)
            .field("bind_address", &self.bind_address)
            .field("connector", &self.connector)
            .finish()
    }
}

/// What the reactor's handles share.
pub(crate) struct Shared {
    clock: Clock,
    listens: RefCell<Vec<ListenCall>>,
    connects: RefCell<Vec<ConnectCall>>,
    /// Attempts waiting to be completed or failed, oldest first.
    pending: RefCell<VecDeque<Rc<MemoryConnector>>>,
    next_port: Cell<u16>,
    listen_error: Cell<Option<io::ErrorKind>>,
}

impl Shared {
    fn fake_port(&self) -> u16 {
        let port = self.next_port.get();
        self.next_port
            .set(port.checked_add(1).unwrap_or(FIRST_FAKE_PORT));
        port
    }
}

/// A reactor stand-in for code that takes a [`ReactorTcp`] and a [`ReactorTime`]
/// (endpoints, client factories, timeouts): listens and connects are recorded and never
/// touch a socket, and time moves only when the test advances the embedded [`Clock`]
/// (Twisted's `MemoryReactorClock`).
///
/// - [`listens`](MemoryReactor::listens) and [`connects`](MemoryReactor::connects) list
///   every call with its arguments and the [`MemoryPort`] / [`MemoryConnector`] handed
///   back, which record `stop_listening`, `connect`, `disconnect`, `stop_connecting`.
/// - A connect stays pending until the test completes it:
///   [`succeed_once`](MemoryReactor::succeed_once) connects the client protocol to a
///   [`StringTransport`](super::StringTransport) and returns its [`Driver`](super::Driver);
///   [`succeed_once_with_server`](MemoryReactor::succeed_once_with_server) connects it
///   through an [`IoPump`](super::IoPump) to a protocol from a matching recorded listen;
///   [`fail_once`](MemoryReactor::fail_once) fails it. A connect with a timeout fails with
///   `TimedOut` when the clock passes it.
/// - Factories get `start_factory` / `stop_factory` as from the real reactor, through
///   [`do_start`] / [`do_stop`](crate::protocol::do_stop) (once, however many ports, connectors and endpoints share
///   one).
/// - A connect's attempt begins (`started_connecting`) from the top of the loop, as on the
///   real reactor: at the next advance of the clock, or when the test completes or fails
///   it.
///
/// Clones share one reactor.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use torsion::protocol::{for_protocol, Protocol};
/// use torsion::tcp::{Destination, ReactorTcp};
/// use torsion::testing::MemoryReactor;
/// use torsion::time::ReactorTime;
/// use torsion::transport::Transport;
///
/// struct Hello;
/// impl Protocol for Hello {
///     fn connection_made(&mut self, t: &Transport) {
///         t.write(b"hello");
///     }
///     fn data_received(&mut self, _: &Transport, _: &[u8]) {}
/// }
///
/// /// Code under test: takes any reactor.
/// fn start(reactor: &dyn ReactorTcp) {
///     reactor.connect_tcp_dyn("10.0.0.7", 25, for_protocol(|| Hello), None, None);
/// }
///
/// let reactor = MemoryReactor::new();
/// start(&reactor);
/// let call = &reactor.connects()[0];
/// assert_eq!(call.destination, Destination::Tcp { host: "10.0.0.7".into(), port: 25 });
///
/// let client = reactor.succeed_once().expect("a pending connect");
/// assert_eq!(client.written(), b"hello");
/// assert_eq!(client.handle().get_peer().to_string(), "tcp:10.0.0.7:25");
///
/// reactor.advance(Duration::from_secs(3));
/// assert_eq!(reactor.seconds(), 3.0);
/// ```
#[derive(Clone)]
pub struct MemoryReactor {
    shared: Rc<Shared>,
}

impl MemoryReactor {
    /// A reactor with nothing recorded and its clock at zero.
    pub fn new() -> MemoryReactor {
        MemoryReactor::with_clock(Clock::new())
    }

    /// A reactor keeping time with `clock` (shared with other code under test).
    pub fn with_clock(clock: Clock) -> MemoryReactor {
        MemoryReactor {
            shared: Rc::new(Shared {
                clock,
                listens: RefCell::new(Vec::new()),
                connects: RefCell::new(Vec::new()),
                pending: RefCell::new(VecDeque::new()),
                next_port: Cell::new(FIRST_FAKE_PORT),
                listen_error: Cell::new(None),
            }),
        }
    }

    /// The clock.
    pub fn clock(&self) -> &Clock {
        &self.shared.clock
    }

    /// Moves the clock forward by `amount`, running what falls due (see [`Clock::advance`]).
    pub fn advance(&self, amount: Duration) {
        self.shared.clock.advance(amount)
    }

    /// Every listen so far, in order.
    pub fn listens(&self) -> Vec<ListenCall> {
        self.shared.listens.borrow().clone()
    }

    /// Every connect so far, in order (reconnects through `Connector::connect` are not
    /// new calls: see [`MemoryConnector::attempts`]).
    pub fn connects(&self) -> Vec<ConnectCall> {
        self.shared.connects.borrow().clone()
    }

    /// Connection attempts waiting to be completed or failed.
    pub fn pending_connects(&self) -> usize {
        self.shared.pending.borrow().len()
    }

    /// Makes every later listen fail with `kind` (Twisted's `RaisingMemoryReactor`), or
    /// succeed again with `None`. Failed listens are not recorded.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::ErrorKind;
    /// use torsion::protocol::{for_protocol, Protocol};
    /// use torsion::tcp::ReactorTcp;
    /// use torsion::testing::MemoryReactor;
    /// use torsion::transport::Transport;
    ///
    /// struct Quiet;
    /// impl Protocol for Quiet {
    ///     fn data_received(&mut self, _: &Transport, _: &[u8]) {}
    /// }
    ///
    /// let reactor = MemoryReactor::new();
    /// reactor.set_listen_error(Some(ErrorKind::AddrInUse));
    /// let err = reactor.listen_tcp_dyn(80, for_protocol(|| Quiet), 50, "").unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::AddrInUse);
    /// assert!(reactor.listens().is_empty());
    /// ```
    pub fn set_listen_error(&self, kind: Option<io::ErrorKind>) {
        self.shared.listen_error.set(kind);
    }

    fn listen(
        &self,
        on: ListenOn,
        host: Address,
        factory: Rc<dyn Factory>,
        backlog: i32,
    ) -> io::Result<ListeningPort> {
        let port = Rc::new(MemoryPort::new(host, factory.clone()));
        self.shared.listens.borrow_mut().push(ListenCall {
            on,
            factory: factory.clone(),
            backlog,
            port: port.clone(),
        });
        do_start(&factory);
        Ok(ListeningPort::new(port))
    }

    fn connect(
        &self,
        destination: Destination,
        factory: Rc<dyn ClientFactory>,
        timeout: Option<Duration>,
        bind_address: Option<SocketAddr>,
    ) -> Connector {
        let connector = MemoryConnector::new(
            Rc::downgrade(&self.shared),
            destination.clone(),
            factory.clone(),
            timeout,
        );
        self.shared.connects.borrow_mut().push(ConnectCall {
            destination,
            factory,
            timeout,
            bind_address,
            connector: connector.clone(),
        });
        connector.start_attempt();
        Connector::new(connector)
    }

    fn listen_error(&self) -> io::Result<()> {
        match self.shared.listen_error.get() {
            Some(kind) => Err(kind.into()),
            None => Ok(()),
        }
    }
}

impl Default for MemoryReactor {
    fn default() -> Self {
        MemoryReactor::new()
    }
}

impl fmt::Debug for MemoryReactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryReactor")
            .field("clock", &self.shared.clock)
            .field("listens", &self.shared.listens.borrow().len())
            .field("connects", &self.shared.connects.borrow().len())
            .field("pending_connects", &self.shared.pending.borrow().len())
            .finish()
    }
}

/// The interface to "bind", as the real reactor reads it.
fn interface_ip(interface: &str) -> io::Result<IpAddr> {
    if interface.is_empty() {
        return Ok(Ipv4Addr::UNSPECIFIED.into());
    }
    interface
        .trim_matches(|c| c == '[' || c == ']')
        .parse()
        .map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("interface {interface:?} is not an IP address"),
            )
        })
}

/// Records the calls; see [`MemoryReactor`]. Listening on port 0 gets a port number from
/// [`FIRST_FAKE_PORT`] up; a bad interface fails as on the real reactor.
impl ReactorTcp for MemoryReactor {
    fn listen_tcp_dyn(
        &self,
        port: u16,
        factory: Rc<dyn Factory>,
        backlog: i32,
        interface: &str,
    ) -> io::Result<ListeningPort> {
        self.listen_error()?;
        let ip = interface_ip(interface)?;
        let bound = if port == 0 {
            self.shared.fake_port()
        } else {
            port
        };
        let on = ListenOn::Tcp {
            port,
            interface: interface.to_string(),
        };
        let host = Address::Tcp(SocketAddr::new(ip, bound));
        self.listen(on, host, factory, backlog)
    }

    fn connect_tcp_dyn(
        &self,
        host: &str,
        port: u16,
        factory: Rc<dyn ClientFactory>,
        timeout: Option<Duration>,
        bind_address: Option<SocketAddr>,
    ) -> Connector {
        let destination = Destination::Tcp {
            host: host.to_string(),
            port,
        };
        self.connect(destination, factory, timeout, bind_address)
    }

    fn listen_unix_dyn(
        &self,
        path: &Path,
        factory: Rc<dyn Factory>,
        backlog: i32,
        mode: u32,
    ) -> io::Result<ListeningPort> {
        self.listen_error()?;
        let on = ListenOn::Unix {
            path: path.to_path_buf(),
            mode,
        };
        let host = Address::Unix(Some(path.to_path_buf()));
        self.listen(on, host, factory, backlog)
    }

    fn connect_unix_dyn(
        &self,
        path: &Path,
        factory: Rc<dyn ClientFactory>,
        timeout: Option<Duration>,
    ) -> Connector {
        let destination = Destination::Unix(path.to_path_buf());
        self.connect(destination, factory, timeout, None)
    }
}

/// Time from the embedded [`Clock`].
impl ReactorTime for MemoryReactor {
    fn now(&self) -> Duration {
        self.shared.clock.now()
    }

    fn call_later_fn(&self, delay: Duration, f: LocalFn) -> DelayedCall {
        ReactorTime::call_later_fn(&self.shared.clock, delay, f)
    }

    fn get_delayed_calls(&self) -> Vec<DelayedCall> {
        self.shared.clock.get_delayed_calls()
    }
}
