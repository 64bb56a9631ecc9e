//! The handles a listen or a connect returns, as interfaces so in-memory stand-ins (the
//! testing kit's `MemoryReactor`) can hand out the same types: [`ListeningPort`] over
//! [`PortCore`], [`Connector`] over [`ConnectorCore`], and the [`ReactorTcp`] interface
//! itself (Twisted's `IListeningPort`, `IConnector`, `IReactorTCP` + `IReactorUNIX`).

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use crate::defer::Deferred;
use crate::protocol::{Address, ClientFactory, Factory};

/// Where a connector connects to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Destination {
    /// A host name or IP address, and a port.
    Tcp {
        /// Name or address literal.
        host: String,
        /// Port.
        port: u16,
    },
    /// A Unix socket path.
    Unix(PathBuf),
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Destination::Tcp { host, port } => write!(f, "tcp:{host}:{port}"),
            Destination::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

/// What a listening port does (implemented by real ports and by the testing kit's).
pub trait PortCore {
    /// The address listened on.
    fn get_host(&self) -> Address;
    /// Stops accepting; the Deferred fires once the port is closed.
    fn stop_listening(&self) -> Deferred<()>;
    /// True until stopped.
    fn is_listening(&self) -> bool;
}

/// A listening port (Twisted's `IListeningPort`). Cheap to clone.
#[derive(Clone)]
pub struct ListeningPort {
    core: Rc<dyn PortCore>,
}

impl ListeningPort {
    /// Wraps an implementation.
    pub fn new(core: Rc<dyn PortCore>) -> ListeningPort {
        ListeningPort { core }
    }

    /// The address the port listens on (with the real port number if 0 was asked for).
    pub fn get_host(&self) -> Address {
        self.core.get_host()
    }

    /// Stops accepting and closes the socket; connections already accepted go on. The
    /// Deferred fires once the port is closed. Stopping twice is harmless.
    pub fn stop_listening(&self) -> Deferred<()> {
        self.core.stop_listening()
    }

    /// True until [`stop_listening`](ListeningPort::stop_listening).
    pub fn is_listening(&self) -> bool {
        self.core.is_listening()
    }
}

impl fmt::Debug for ListeningPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListeningPort")
            .field("host", &self.get_host())
            .field("listening", &self.is_listening())
            .finish()
    }
}

/// What a connector does (implemented by real connectors and by the testing kit's).
pub trait ConnectorCore {
    /// Starts connecting (again); ignored unless disconnected.
    fn connect(&self);
    /// Closes the connection, or stops the attempt.
    fn disconnect(&self);
    /// Abandons an attempt in progress.
    fn stop_connecting(&self);
    /// Where it connects to.
    fn get_destination(&self) -> Destination;
    /// True while connected.
    fn is_connected(&self) -> bool;
}

/// One client connection, from the attempt to its end (Twisted's `IConnector`). Cheap to
/// clone; a [`ClientFactory`] gets it in every callback and may `connect()` again from
/// `client_connection_failed` or `client_connection_lost` to retry or reconnect.
#[derive(Clone)]
pub struct Connector {
    core: Rc<dyn ConnectorCore>,
}

impl Connector {
    /// Wraps an implementation.
    pub fn new(core: Rc<dyn ConnectorCore>) -> Connector {
        Connector { core }
    }

    /// Starts connecting (again). Ignored unless disconnected.
    pub fn connect(&self) {
        self.core.connect()
    }

    /// Closes the connection (cleanly), or stops the attempt if still connecting.
    pub fn disconnect(&self) {
        self.core.disconnect()
    }

    /// Abandons a connection attempt in progress; the factory's `client_connection_failed`
    /// gets a `Cancelled` failure. Does nothing once connected.
    pub fn stop_connecting(&self) {
        self.core.stop_connecting()
    }

    /// Where this connector connects to.
    pub fn get_destination(&self) -> Destination {
        self.core.get_destination()
    }

    /// True while a connection is established.
    pub fn is_connected(&self) -> bool {
        self.core.is_connected()
    }
}

impl PartialEq for Connector {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::addr_eq(Rc::as_ptr(&self.core), Rc::as_ptr(&other.core))
    }
}

impl Eq for Connector {}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connector")
            .field("destination", &self.get_destination())
            .field("connected", &self.is_connected())
            .finish()
    }
}

/// Listening and connecting over TCP and Unix sockets (Twisted's `IReactorTCP` and
/// `IReactorUNIX`). The [`Reactor`](crate::Reactor) implements it for real; the testing
/// kit's `MemoryReactor` records the calls. Code that only needs to listen and connect
/// (endpoints, say) takes a `&dyn ReactorTcp` so it can be tested without sockets.
pub trait ReactorTcp {
    /// See [`Reactor::listen_tcp`](crate::Reactor::listen_tcp).
    ///
    /// # Errors
    ///
    /// As there.
    fn listen_tcp_dyn(
        &self,
        port: u16,
        factory: Rc<dyn Factory>,
        backlog: i32,
        interface: &str,
    ) -> io::Result<ListeningPort>;

    /// See [`Reactor::connect_tcp`](crate::Reactor::connect_tcp).
    fn connect_tcp_dyn(
        &self,
        host: &str,
        port: u16,
        factory: Rc<dyn ClientFactory>,
        timeout: Option<Duration>,
        bind_address: Option<SocketAddr>,
    ) -> Connector;

    /// See [`Reactor::listen_unix`](crate::Reactor::listen_unix).
    ///
    /// # Errors
    ///
    /// As there.
    fn listen_unix_dyn(
        &self,
        path: &Path,
        factory: Rc<dyn Factory>,
        backlog: i32,
        mode: u32,
    ) -> io::Result<ListeningPort>;

    /// See [`Reactor::connect_unix`](crate::Reactor::connect_unix).
    fn connect_unix_dyn(
        &self,
        path: &Path,
        factory: Rc<dyn ClientFactory>,
        timeout: Option<Duration>,
    ) -> Connector;
}
