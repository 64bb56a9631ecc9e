//! Endpoints: where to listen or connect, as a value or as a string (Twisted's
//! `twisted.internet.endpoints`).
//!
//! A server endpoint [`listen`](StreamServerEndpoint::listen)s with a factory and gives a
//! `Deferred<ListeningPort>`; a client endpoint [`connect`](StreamClientEndpoint::connect)s
//! with a factory and gives a `Deferred<Transport>` that fires once the connection is made
//! (after the protocol's `connection_made`). Code written against the two traits works
//! with TCP, Unix sockets and, later, TLS alike, and a configuration file can say which:
//!
//! ```
//! use torsion::endpoints::{client_from_string, server_from_string};
//! use torsion::protocol::{for_protocol, Protocol};
//! use torsion::transport::Transport;
//! use torsion::Reactor;
//!
//! struct Echo;
//! impl Protocol for Echo {
//!     fn data_received(&mut self, transport: &Transport, data: &[u8]) {
//!         transport.write(data);
//!     }
//! }
//!
//! let reactor = Reactor::new()?;
//! let server = server_from_string(&reactor, "tcp:0:interface=127.0.0.1")?;
//! let port = server.listen(for_protocol(|| Echo)).take_result().unwrap().unwrap();
//! let number = port.get_host().port().unwrap();
//!
//! let client = client_from_string(&reactor, &format!("tcp:host=127.0.0.1:port={number}"))?;
//! let connected = client.connect(for_protocol(|| Echo));
//! for _ in 0..500 {
//!     if connected.called() {
//!         break;
//!     }
//!     reactor.iterate(std::time::Duration::from_millis(10))?;
//! }
//! let transport = connected.take_result().unwrap().unwrap();
//! assert_eq!(transport.get_peer(), port.get_host());
//! # reactor.close();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The description grammar
//!
//! `prefix:arg1:arg2:key=value:...`, as Twisted's strports:
//!
//! - The prefix names the endpoint type (any case).
//! - Segments are separated by `:`. A segment with an `=` is a `key=value` argument (only
//!   the first `=` counts: `address=foo=bar` sets `address` to `foo=bar`); the others are
//!   positional and fill the type's positional parameters in order, skipping those given
//!   by key (`tcp:host=h:80` and `tcp:h:port=80` both work).
//! - A backslash makes the next character literal: `\:`, `\=`, `\\`.
//!   [`quote_string_argument`] escapes a value for interpolation.
//! - Keys are case-sensitive, as in Twisted (`bindAddress`); a key that is unknown, given
//!   twice, or a value that does not parse is an [`EndpointError`] naming the part
//!   (`tcp: port "80a" is not a number`, `tcp: unknown parameter "intreface" (did you mean
//!   interface?)`, `unknown endpoint type "tpc" (expected tcp, tcp6, unix)`).
//!
//! # Endpoint types
//!
//! Server ([`server_from_string`]):
//!
//! | prefix | positional order | parameters (default) | endpoint |
//! |---|---|---|---|
//! | `tcp` | port, interface, backlog | `port` (required), `interface` (`""`: every IPv4 interface; an IP address), `backlog` (50) | [`TcpServerEndpoint::new`] |
//! | `tcp6` | port, backlog, interface | as `tcp`, `interface` defaults to `::` | [`TcpServerEndpoint::new_ipv6`] |
//! | `unix` | address, mode, backlog, lockfile | `address` (required), `mode` (octal, 666), `backlog` (50), `lockfile` (1; recorded, not implemented) | [`UnixServerEndpoint`] |
//!
//! Client ([`client_from_string`]):
//!
//! | prefix | positional order | parameters (default) | endpoint |
//! |---|---|---|---|
//! | `tcp`, `tcp6` | host, port | `host`, `port` (required), `timeout` (30 seconds; fractions allowed), `bindAddress` (an IP; the local port is left to the OS) | [`TcpClientEndpoint`] |
//! | `unix` | path | `path` (required), `timeout` (30), `lockfile` / `checkPID` (recorded, not implemented) | [`UnixClientEndpoint`] |
//!
//! `ssl:` and `tls:` (servers and clients) come with the `tls` feature (on by default):
//! see `torsion::tls` for their parameters. Without it they give
//! [`EndpointError::TlsUnavailable`]. Other types can be added to a [`Registry`].
//! `tcp6` clients resolve a host name as `tcp` ones do (first address of either family):
//! the connector has no family hint yet.
//!
//! # Connecting, failing, cancelling
//!
//! A client endpoint hands the reactor a wrapping factory per attempt: the user's
//! factory builds the protocol; the wrapper fires the Deferred with the [`Transport`]
//! right after the protocol's `connection_made`. A refused or unreachable connection, a
//! timeout ([`TimedOut`](crate::defer::TimedOut)), a name that does not resolve, or a
//! factory that builds no protocol ([`NoProtocol`]) errbacks it. Cancelling the Deferred
//! while connecting stops the connector and errbacks with [`ConnectingCancelled`]; once
//! it has fired, cancelling does nothing (close the connection through its transport), as
//! in Twisted. The user factory's `start_factory` / `stop_factory` are called once for
//! however many attempts use it at a time. A listen either gives the port or fails with
//! [`CannotListen`] (the OS error, and the port or path).
//!
//! # Twisted → torsion
//!
//! | Twisted (`twisted.internet.endpoints`) | torsion (`torsion::endpoints`) |
//! |---|---|
//! | `serverFromString(reactor, s)`, `clientFromString(reactor, s)` | [`server_from_string`]`(&reactor, s)`, [`client_from_string`] → `Result<_, EndpointError>` |
//! | `ValueError` / `TypeError` from a bad string | [`EndpointError`] |
//! | `quoteStringArgument` | [`quote_string_argument`] (also escapes `=`) |
//! | `_parse`, `_tokenize` | [`Description::parse`], [`Description::bind`] |
//! | endpoint plugins (`IStreamServerEndpointStringParser`, `IStreamClientEndpointStringParserWithReactor`) | [`Registry::add_server`], [`Registry::add_client`] |
//! | `IStreamServerEndpoint.listen(factory)` → `Deferred[IListeningPort]` | [`StreamServerEndpoint::listen`]`(Rc<dyn Factory>)` → `Deferred<ListeningPort>` |
//! | `IStreamClientEndpoint.connect(factory)` → `Deferred[protocol]` | [`StreamClientEndpoint::connect`] → `Deferred<Transport>` (the protocol belongs to its connection) |
//! | `TCP4ServerEndpoint`, `TCP6ServerEndpoint` | [`TcpServerEndpoint::new`], [`TcpServerEndpoint::new_ipv6`] |
//! | `TCP4ClientEndpoint`, `TCP6ClientEndpoint` | [`TcpClientEndpoint`] |
//! | `UNIXServerEndpoint`, `UNIXClientEndpoint` | [`UnixServerEndpoint`], [`UnixClientEndpoint`] |
//! | `connectProtocol(endpoint, protocol)` | [`connect_protocol`]`(&endpoint, protocol)` |
//! | `_WrappingFactory`, `_WrappingProtocol` | internal (`wrapping.rs`) |
//! | `CannotListenError`, `ConnectingCancelledError`, `NoProtocol` | [`CannotListen`], [`ConnectingCancelled`], [`NoProtocol`] |
//!
//! TLS (`SSL4ServerEndpoint`, `SSL4ClientEndpoint`, `wrapClientTLS`) is in `torsion::tls`.
//! Not here yet: `HostnameEndpoint`, `AdoptedStreamServerEndpoint`, `StandardIOEndpoint`,
//! `ProcessEndpoint`, the `systemd:` and `haproxy:` prefixes.
//!
//! Tests: unit tests in `error.rs` and `registry.rs`; `tests/endpoints_grammar.rs`,
//! `tests/endpoints_fake.rs`, `tests/endpoints_tcp.rs`, `tests/endpoints_unix.rs`.

mod error;
mod grammar;
mod registry;
mod tcp;
mod unix;
mod wrapping;

use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

use crate::defer::Deferred;
use crate::protocol::{Address, Factory, Protocol};
use crate::tcp::{ListeningPort, ReactorTcp};
use crate::transport::Transport;

pub use error::{CannotListen, ConnectingCancelled, EndpointError, NoProtocol};
pub use grammar::{quote_string_argument, Description, Param, Params};
pub use registry::{ClientParser, Registry, ServerParser};
pub use tcp::{TcpClientEndpoint, TcpServerEndpoint};
pub use unix::{UnixClientEndpoint, UnixServerEndpoint, DEFAULT_UNIX_MODE};

/// Something that listens with a factory (Twisted's `IStreamServerEndpoint`).
pub trait StreamServerEndpoint: fmt::Debug {
    /// Starts listening; every connection gets a protocol from `factory`. The Deferred
    /// gives the port, or fails with [`CannotListen`] (or another endpoint-specific
    /// failure).
    fn listen(&self, factory: Rc<dyn Factory>) -> Deferred<ListeningPort>;
}

/// Something that connects with a factory (Twisted's `IStreamClientEndpoint`).
pub trait StreamClientEndpoint: fmt::Debug {
    /// Starts connecting; the connection's protocol comes from `factory`. The Deferred
    /// fires with the transport once connected (after the protocol's `connection_made`),
    /// fails if the attempt fails, and cancelling it abandons the attempt.
    fn connect(&self, factory: Rc<dyn Factory>) -> Deferred<Transport>;
}

/// What an endpoint keeps to reach the reactor: a `&R` for any clonable [`ReactorTcp`]
/// (the [`Reactor`](crate::Reactor), the testing kit's reactor, a test's fake), or an
/// `Rc` of one.
pub trait IntoReactorTcp {
    /// The reactor, shared.
    fn into_reactor_tcp(self) -> Rc<dyn ReactorTcp>;
}

impl<R: ReactorTcp + Clone + 'static> IntoReactorTcp for &R {
    fn into_reactor_tcp(self) -> Rc<dyn ReactorTcp> {
        Rc::new(self.clone())
    }
}

impl<R: ReactorTcp + 'static> IntoReactorTcp for Rc<R> {
    fn into_reactor_tcp(self) -> Rc<dyn ReactorTcp> {
        self
    }
}

impl IntoReactorTcp for Rc<dyn ReactorTcp> {
    fn into_reactor_tcp(self) -> Rc<dyn ReactorTcp> {
        self
    }
}

/// Any server endpoint, as [`server_from_string`] returns it. Cheap to clone; the
/// concrete endpoint is reachable with [`downcast_ref`](ServerEndpoint::downcast_ref).
#[derive(Clone)]
pub struct ServerEndpoint {
    endpoint: Rc<dyn StreamServerEndpoint>,
    any: Rc<dyn Any>,
}

impl ServerEndpoint {
    /// Wraps an endpoint.
    pub fn new<E: StreamServerEndpoint + 'static>(endpoint: E) -> ServerEndpoint {
        let rc = Rc::new(endpoint);
        ServerEndpoint {
            endpoint: rc.clone(),
            any: rc,
        }
    }

    /// See [`StreamServerEndpoint::listen`].
    pub fn listen(&self, factory: Rc<dyn Factory>) -> Deferred<ListeningPort> {
        self.endpoint.listen(factory)
    }

    /// The endpoint, if it is an `E`.
    pub fn downcast_ref<E: 'static>(&self) -> Option<&E> {
        self.any.downcast_ref::<E>()
    }
}

impl StreamServerEndpoint for ServerEndpoint {
    fn listen(&self, factory: Rc<dyn Factory>) -> Deferred<ListeningPort> {
        self.endpoint.listen(factory)
    }
}

impl fmt::Debug for ServerEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.endpoint.fmt(f)
    }
}

/// Any client endpoint, as [`client_from_string`] returns it. Cheap to clone; the
/// concrete endpoint is reachable with [`downcast_ref`](ClientEndpoint::downcast_ref).
#[derive(Clone)]
pub struct ClientEndpoint {
    endpoint: Rc<dyn StreamClientEndpoint>,
    any: Rc<dyn Any>,
}

impl ClientEndpoint {
    /// Wraps an endpoint.
    pub fn new<E: StreamClientEndpoint + 'static>(endpoint: E) -> ClientEndpoint {
        let rc = Rc::new(endpoint);
        ClientEndpoint {
            endpoint: rc.clone(),
            any: rc,
        }
    }

    /// See [`StreamClientEndpoint::connect`].
    pub fn connect(&self, factory: Rc<dyn Factory>) -> Deferred<Transport> {
        self.endpoint.connect(factory)
    }

    /// The endpoint, if it is an `E`.
    pub fn downcast_ref<E: 'static>(&self) -> Option<&E> {
        self.any.downcast_ref::<E>()
    }
}

impl StreamClientEndpoint for ClientEndpoint {
    fn connect(&self, factory: Rc<dyn Factory>) -> Deferred<Transport> {
        self.endpoint.connect(factory)
    }
}

impl fmt::Debug for ClientEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.endpoint.fmt(f)
    }
}

/// A server endpoint from a description such as `tcp:8080:interface=127.0.0.1` (Twisted's
/// `serverFromString`), with the types of [`Registry::standard`]. See the
/// [module documentation](self) for the grammar and the types.
///
/// # Errors
///
/// An [`EndpointError`] naming what is wrong with the description.
///
/// # Examples
///
/// ```
/// use torsion::endpoints::{server_from_string, UnixServerEndpoint};
/// use torsion::Reactor;
///
/// let reactor = Reactor::new()?;
/// let endpoint = server_from_string(&reactor, "unix:/var/run/finger:mode=660")?;
/// let unix = endpoint.downcast_ref::<UnixServerEndpoint>().unwrap();
/// assert_eq!(unix.mode(), 0o660);
///
/// let err = server_from_string(&reactor, "tcp:80:intreface=127.0.0.1").unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     r#"tcp: unknown parameter "intreface" (did you mean interface?)"#
/// );
/// # reactor.close();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn server_from_string(
    reactor: impl IntoReactorTcp,
    description: &str,
) -> Result<ServerEndpoint, EndpointError> {
    Registry::standard().server_from_string(reactor, description)
}

/// A client endpoint from a description such as `tcp:example.com:80:timeout=5`
/// (Twisted's `clientFromString`), with the types of [`Registry::standard`].
///
/// # Errors
///
/// An [`EndpointError`] naming what is wrong with the description.
///
/// # Examples
///
/// ```
/// use torsion::endpoints::{client_from_string, TcpClientEndpoint};
/// use torsion::Reactor;
///
/// let reactor = Reactor::new()?;
/// for s in ["tcp:example.com:80", "tcp:host=example.com:port=80", "tcp:example.com:port=80"] {
///     let endpoint = client_from_string(&reactor, s)?;
///     let tcp = endpoint.downcast_ref::<TcpClientEndpoint>().unwrap();
///     assert_eq!((tcp.host(), tcp.port()), ("example.com", 80));
/// }
/// # reactor.close();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn client_from_string(
    reactor: impl IntoReactorTcp,
    description: &str,
) -> Result<ClientEndpoint, EndpointError> {
    Registry::standard().client_from_string(reactor, description)
}

/// Connects one protocol value through `endpoint`, with no factory to write (Twisted's
/// `connectProtocol`). The Deferred is the endpoint's: it gives the transport once
/// `protocol.connection_made` has run. The protocol is moved into the connection, so
/// share with it (an `Rc<RefCell<..>>` it holds) whatever you want to read later.
///
/// # Examples
///
/// ```
/// use torsion::endpoints::{connect_protocol, TcpClientEndpoint};
/// use torsion::protocol::Protocol;
/// use torsion::transport::Transport;
/// use torsion::Reactor;
///
/// struct Hello;
/// impl Protocol for Hello {
///     fn connection_made(&mut self, transport: &Transport) {
///         transport.write(b"hello\r\n");
///     }
///     fn data_received(&mut self, _: &Transport, _: &[u8]) {}
/// }
///
/// let reactor = Reactor::new()?;
/// let endpoint = TcpClientEndpoint::new(&reactor, "127.0.0.1", 1);
/// let connected = connect_protocol(&endpoint, Hello);
/// # connected.cancel();
/// # let _ = connected.take_result();
/// # reactor.close();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn connect_protocol<E, P>(endpoint: &E, protocol: P) -> Deferred<Transport>
where
    E: StreamClientEndpoint + ?Sized,
    P: Protocol,
{
    endpoint.connect(Rc::new(OneShotFactory {
        protocol: RefCell::new(Some(Box::new(protocol))),
    }))
}

/// Gives its one protocol to the first connection and refuses any other.
struct OneShotFactory {
    protocol: RefCell<Option<Box<dyn Protocol>>>,
}

impl Factory for OneShotFactory {
    fn build_protocol(&self, _addr: &Address) -> Option<Box<dyn Protocol>> {
        self.protocol.borrow_mut().take()
    }
}

impl fmt::Debug for OneShotFactory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OneShotFactory")
            .field("used", &self.protocol.borrow().is_none())
            .finish()
    }
}
