//! TCP and Unix stream sockets: [`Reactor::listen_tcp`], [`Reactor::connect_tcp`],
//! [`Reactor::listen_unix`], [`Reactor::connect_unix`] (Twisted's `IReactorTCP` and
//! `IReactorUNIX`).
//!
//! ```text
//!  listen_tcp ─► ListeningPort ──accept──► Factory::build_protocol ─► Connection ─► Protocol
//!  connect_tcp ─► Connector ──resolve, connect──► ClientFactory::build_protocol ─┘
//! ```
//!
//! Tests: `tests/tcp_*.rs`.

mod connection;
mod connector;
mod handles;
mod port;

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use torsion_sys::socket;

use crate::protocol::{Address, ClientFactory, Factory};
use crate::Reactor;

pub use connection::{DEFAULT_HIGH_WATER, DEFAULT_LOW_WATER};
pub use handles::{Connector, ConnectorCore, Destination, ListeningPort, PortCore, ReactorTcp};
pub use port::{ACCEPT_BATCH, EMFILE_PAUSE};

use connector::ConnectorInner;
use port::PortInner;

/// Twisted's default `backlog` for listening sockets.
pub const DEFAULT_BACKLOG: i32 = 50;

/// Twisted's default client connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// The address to bind for `interface` (`""` means every IPv4 interface, as in Twisted).
fn bind_address(interface: &str, port: u16) -> io::Result<SocketAddr> {
    let ip: IpAddr = if interface.is_empty() {
        Ipv4Addr::UNSPECIFIED.into()
    } else {
        interface
            .trim_matches(|c| c == '[' || c == ']')
            .parse()
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("interface {interface:?} is not an IP address"),
                )
            })?
    };
    Ok(SocketAddr::new(ip, port))
}

impl Reactor {
    /// Listens on TCP `port` (0 picks a free one) on `interface` (`""` for every IPv4
    /// interface, `"::"` for IPv6, or one address), with room for `backlog` pending
    /// connections, and serves each connection with a protocol from `factory`.
    ///
    /// # Errors
    ///
    /// A bad interface, or the socket's error: `AddrInUse` if the port is taken.
    ///
    /// # Examples
    ///
    /// ```
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
    /// let port = reactor.listen_tcp(0, for_protocol(|| Echo), 50, "127.0.0.1")?;
    /// println!("echo on {}", port.get_host());
    /// # reactor.close();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn listen_tcp<F: Factory>(
        &self,
        port: u16,
        factory: Rc<F>,
        backlog: i32,
        interface: &str,
    ) -> io::Result<ListeningPort> {
        self.listen_tcp_dyn(port, factory, backlog, interface)
    }

    /// Connects to `host:port` (a name is resolved off the reactor thread), giving up after
    /// `timeout` (`None`: never), from `bind_address` if given. The factory hears of the
    /// attempt (`started_connecting`, `client_connection_failed`) and builds the protocol.
    pub fn connect_tcp<F: ClientFactory>(
        &self,
        host: &str,
        port: u16,
        factory: Rc<F>,
        timeout: Option<Duration>,
        bind_address: Option<SocketAddr>,
    ) -> Connector {
        self.connect_tcp_dyn(host, port, factory, timeout, bind_address)
    }

    /// Listens on a Unix socket at `path`, with the file's permission bits set to `mode`
    /// (Twisted's default is `0o666`). A stale socket file from an earlier run is replaced;
    /// the file is removed when the port stops listening.
    ///
    /// # Errors
    ///
    /// The socket's error (`AddrInUse` if another process listens there).
    pub fn listen_unix<F: Factory>(
        &self,
        path: impl AsRef<Path>,
        factory: Rc<F>,
        backlog: i32,
        mode: u32,
    ) -> io::Result<ListeningPort> {
        self.listen_unix_dyn(path.as_ref(), factory, backlog, mode)
    }

    /// Connects to the Unix socket at `path`.
    pub fn connect_unix<F: ClientFactory>(
        &self,
        path: impl AsRef<Path>,
        factory: Rc<F>,
        timeout: Option<Duration>,
    ) -> Connector {
        self.connect_unix_dyn(path.as_ref(), factory, timeout)
    }
}

impl ReactorTcp for Reactor {
    fn listen_tcp_dyn(
        &self,
        port: u16,
        factory: Rc<dyn Factory>,
        backlog: i32,
        interface: &str,
    ) -> io::Result<ListeningPort> {
        let addr = bind_address(interface, port)?;
        let fd = socket::tcp_listen(addr, backlog, true)?;
        let host = Address::Tcp(socket::local_addr(&fd)?);
        PortInner::start(self, fd, host, factory, None)
    }

    fn connect_tcp_dyn(
        &self,
        host: &str,
        port: u16,
        factory: Rc<dyn ClientFactory>,
        timeout: Option<Duration>,
        bind_address: Option<SocketAddr>,
    ) -> Connector {
        let dest = Destination::Tcp {
            host: host.to_string(),
            port,
        };
        let connector = ConnectorInner::create(self, dest, factory, timeout, bind_address);
        connector.start_connecting();
        Connector::new(connector)
    }

    fn listen_unix_dyn(
        &self,
        path: &Path,
        factory: Rc<dyn Factory>,
        backlog: i32,
        mode: u32,
    ) -> io::Result<ListeningPort> {
        let path = path.to_path_buf();
        remove_stale_socket(&path);
        let fd = socket::unix_listen(&path, backlog)?;
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))?;
        }
        let host = Address::Unix(Some(path.clone()));
        PortInner::start(self, fd, host, factory, Some(path))
    }

    fn connect_unix_dyn(
        &self,
        path: &Path,
        factory: Rc<dyn ClientFactory>,
        timeout: Option<Duration>,
    ) -> Connector {
        let dest = Destination::Unix(path.to_path_buf());
        let connector = ConnectorInner::create(self, dest, factory, timeout, None);
        connector.start_connecting();
        Connector::new(connector)
    }
}

/// Removes a socket file nobody listens on any more (connect is refused), so a restarted
/// server can bind again; leaves anything else alone.
fn remove_stale_socket(path: &Path) {
    use std::os::unix::fs::FileTypeExt;
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return;
    };
    if !meta.file_type().is_socket() {
        return;
    }
    if std::os::unix::net::UnixStream::connect(path).is_err() {
        let _ = std::fs::remove_file(path);
    }
}
