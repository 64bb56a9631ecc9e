//! [`TcpServerEndpoint`] and [`TcpClientEndpoint`] (Twisted's `TCP4ServerEndpoint`,
//! `TCP6ServerEndpoint`, `TCP4ClientEndpoint`, `TCP6ClientEndpoint`).
//!
//! Tests: `tests/endpoints_fake.rs`, `tests/endpoints_tcp.rs`.

use std::fmt;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use super::error::CannotListen;
use super::wrapping::connect_with;
use super::{IntoReactorTcp, StreamClientEndpoint, StreamServerEndpoint};
use crate::defer::{fail, succeed, Deferred};
use crate::protocol::Factory;
use crate::tcp::{
    Destination, ListeningPort, ReactorTcp, DEFAULT_BACKLOG, DEFAULT_CONNECT_TIMEOUT,
};
use crate::transport::Transport;

/// Listens on a TCP port (Twisted's `TCP4ServerEndpoint` and `TCP6ServerEndpoint`; one
/// type serves both, the interface tells the family).
///
/// # Examples
///
/// ```
/// use torsion::endpoints::{StreamServerEndpoint, TcpServerEndpoint};
/// use torsion::protocol::{for_protocol, Protocol};
/// use torsion::transport::Transport;
/// use torsion::Reactor;
///
/// struct Echo;
/// impl Protocol for Echo {
///     fn data_received(&mut self, transport: &Transport, data: &[u8]) {
///         transport.write(data);
///     }
/// }
///
/// let reactor = Reactor::new()?;
/// let endpoint = TcpServerEndpoint::new(&reactor, 0).with_interface("127.0.0.1");
/// let port = endpoint.listen(for_protocol(|| Echo)).take_result().unwrap().unwrap();
/// assert!(port.get_host().port().unwrap() > 0);
/// # reactor.close();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct TcpServerEndpoint {
    reactor: Rc<dyn ReactorTcp>,
    port: u16,
    backlog: i32,
    interface: String,
}

impl TcpServerEndpoint {
    /// Port `port` (0 picks a free one) on every IPv4 interface, backlog 50 (Twisted's
    /// `TCP4ServerEndpoint` defaults).
    pub fn new(reactor: impl IntoReactorTcp, port: u16) -> TcpServerEndpoint {
        TcpServerEndpoint {
            reactor: reactor.into_reactor_tcp(),
            port,
            backlog: DEFAULT_BACKLOG,
            interface: String::new(),
        }
    }

    /// Port `port` on every IPv6 interface (`::`), backlog 50 (Twisted's
    /// `TCP6ServerEndpoint` defaults).
    pub fn new_ipv6(reactor: impl IntoReactorTcp, port: u16) -> TcpServerEndpoint {
        TcpServerEndpoint::new(reactor, port).with_interface("::")
    }

    /// Listens on one interface: an IP address, `""` for every IPv4 interface, `"::"` for
    /// every IPv6 one.
    pub fn with_interface(mut self, interface: impl Into<String>) -> TcpServerEndpoint {
        self.interface = interface.into();
        self
    }

    /// Room for `backlog` connections not yet accepted.
    pub fn with_backlog(mut self, backlog: i32) -> TcpServerEndpoint {
        self.backlog = backlog;
        self
    }

    /// The port asked for.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The interface (`""`: every IPv4 interface).
    pub fn interface(&self) -> &str {
        &self.interface
    }

    /// The backlog.
    pub fn backlog(&self) -> i32 {
        self.backlog
    }

    fn what(&self) -> String {
        match self.interface.as_str() {
            "" => format!("TCP port {} (all interfaces)", self.port),
            i => format!("TCP port {} (interface {i})", self.port),
        }
    }
}

impl StreamServerEndpoint for TcpServerEndpoint {
    fn listen(&self, factory: Rc<dyn Factory>) -> Deferred<ListeningPort> {
        match self
            .reactor
            .listen_tcp_dyn(self.port, factory, self.backlog, &self.interface)
        {
            Ok(port) => succeed(port),
            Err(e) => fail(CannotListen::new(self.what(), e)),
        }
    }
}

impl fmt::Debug for TcpServerEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpServerEndpoint")
            .field("port", &self.port)
            .field("interface", &self.interface)
            .field("backlog", &self.backlog)
            .finish()
    }
}

/// Connects over TCP to a host name or address and a port (Twisted's
/// `TCP4ClientEndpoint`, `TCP6ClientEndpoint`). A host name is resolved off the reactor
/// thread by the connector, which takes its first address (of either family).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use torsion::endpoints::TcpClientEndpoint;
/// use torsion::Reactor;
///
/// let reactor = Reactor::new()?;
/// let endpoint = TcpClientEndpoint::new(&reactor, "example.com", 80)
///     .with_timeout(Some(Duration::from_secs(5)));
/// assert_eq!(endpoint.host(), "example.com");
/// # reactor.close();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct TcpClientEndpoint {
    reactor: Rc<dyn ReactorTcp>,
    host: String,
    port: u16,
    timeout: Option<Duration>,
    bind_address: Option<SocketAddr>,
}

impl TcpClientEndpoint {
    /// `host:port`, with Twisted's 30-second connect timeout and no bind address.
    pub fn new(
        reactor: impl IntoReactorTcp,
        host: impl Into<String>,
        port: u16,
    ) -> TcpClientEndpoint {
        TcpClientEndpoint {
            reactor: reactor.into_reactor_tcp(),
            host: host.into(),
            port,
            timeout: Some(DEFAULT_CONNECT_TIMEOUT),
            bind_address: None,
        }
    }

    /// Gives up connecting after `timeout` (`None`: never).
    pub fn with_timeout(mut self, timeout: Option<Duration>) -> TcpClientEndpoint {
        self.timeout = timeout;
        self
    }

    /// Connects from this local address (port 0: any port).
    pub fn with_bind_address(mut self, bind_address: Option<SocketAddr>) -> TcpClientEndpoint {
        self.bind_address = bind_address;
        self
    }

    /// The host name or address.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The connect timeout.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// The local address connected from, if fixed.
    pub fn bind_address(&self) -> Option<SocketAddr> {
        self.bind_address
    }
}

impl StreamClientEndpoint for TcpClientEndpoint {
    fn connect(&self, factory: Rc<dyn Factory>) -> Deferred<Transport> {
        let destination = Destination::Tcp {
            host: self.host.clone(),
            port: self.port,
        };
        connect_with(factory, destination, |wrapper| {
            self.reactor.connect_tcp_dyn(
                &self.host,
                self.port,
                wrapper,
                self.timeout,
                self.bind_address,
            )
        })
    }
}

impl fmt::Debug for TcpClientEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpClientEndpoint")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("timeout", &self.timeout)
            .field("bind_address", &self.bind_address)
            .finish()
    }
}
