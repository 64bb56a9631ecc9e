//! TLS as a protocol wrapper: [`TlsProtocol`] (Twisted's `TLSMemoryBIOProtocol`), the
//! factories that put it around every protocol of a factory ([`TlsServerFactory`],
//! [`TlsClientFactory`]: Twisted's `TLSMemoryBIOFactory`), [`start_tls`] for an
//! established connection, and [`tls_of`] to reach the TLS calls of a transport.
//!
//! Tests: `tests/tls_memory.rs`, `tests/tls_starttls.rs`.

use std::fmt;
use std::rc::Rc;

use super::config::{TlsClientConfig, TlsConfig, TlsServerConfig};
use super::error::{TlsError, TlsErrorKind};
use super::layer::Core;
use super::transport::TlsTransport;
use crate::defer::Failure;
use crate::protocol::{Address, ClientFactory, ConnectionLost, Factory, Protocol};
use crate::tcp::Connector;
use crate::transport::{InstalledTls, TlsStarter, Transport};

/// TLS over any transport: put it on a transport as its protocol, and it runs the TLS
/// session over it and gives the protocol it wraps a [`TlsTransport`]. It works over TCP,
/// Unix sockets, the testing kit's in-memory transports (one byte at a time if you like)
/// and another TLS transport.
///
/// The wrapped protocol's `connection_made` is called at once, before the handshake (as
/// in Twisted); what it writes is sent once the handshake completes. A failed handshake
/// ends in its `connection_lost` with a [`TlsError`].
///
/// # Examples
///
/// TLS between two in-memory connections:
///
/// ```no_run
/// use torsion::protocol::Protocol;
/// use torsion::testing::connected_server_and_client;
/// use torsion::tls::{TlsClientConfig, TlsProtocol, TlsServerConfig, TrustRoots};
/// use torsion::transport::Transport;
///
/// struct Echo;
/// impl Protocol for Echo {
///     fn data_received(&mut self, t: &Transport, data: &[u8]) {
///         t.write(data);
///     }
/// }
///
/// let server = TlsServerConfig::from_pem_files("cert.pem", "key.pem")?;
/// let client = TlsClientConfig::new("localhost").with_trust_roots(TrustRoots::from_pem_file("ca.pem")?);
/// let c = connected_server_and_client(
///     TlsProtocol::server(&server, Echo)?,
///     TlsProtocol::client(&client, Echo)?,
/// );
/// c.pump.flush();
/// # Ok::<(), torsion::tls::TlsError>(())
/// ```
pub struct TlsProtocol {
    core: Rc<Core>,
}

impl TlsProtocol {
    /// The server side of TLS around `inner`.
    ///
    /// # Errors
    ///
    /// [`TlsErrorKind::Config`] if the configuration cannot make a session.
    pub fn server(config: &TlsServerConfig, inner: impl Protocol) -> Result<TlsProtocol, TlsError> {
        TlsProtocol::with_box(&config.clone().into(), Box::new(inner))
    }

    /// The client side of TLS around `inner`.
    ///
    /// # Errors
    ///
    /// [`TlsErrorKind::Config`] if the configuration cannot make a session (a server name
    /// that is not a valid host name).
    pub fn client(config: &TlsClientConfig, inner: impl Protocol) -> Result<TlsProtocol, TlsError> {
        TlsProtocol::with_box(&config.clone().into(), Box::new(inner))
    }

    /// Either side, around an already boxed protocol.
    ///
    /// # Errors
    ///
    /// As [`server`](TlsProtocol::server) and [`client`](TlsProtocol::client).
    pub fn with_box(config: &TlsConfig, inner: Box<dyn Protocol>) -> Result<TlsProtocol, TlsError> {
        let session = config.session()?;
        Ok(TlsProtocol {
            core: Core::new(session, Some(inner), config.common()),
        })
    }
}

impl TlsProtocol {
    /// The transport the wrapped protocol writes to, once connected (`None` before
    /// `connection_made` and after `connection_lost`).
    pub fn transport(&self) -> Option<Transport> {
        self.core.upper()
    }
}

impl Protocol for TlsProtocol {
    fn connection_made(&mut self, transport: &Transport) {
        let upper = Transport::new(Rc::new(TlsTransport::new(self.core.clone())));
        self.core.attach(transport.clone(), upper, true);
    }

    fn data_received(&mut self, _transport: &Transport, data: &[u8]) {
        self.core.on_data(data);
    }

    fn connection_lost(&mut self, _transport: &Transport, reason: ConnectionLost) {
        self.core.on_lost(reason);
    }

    /// Always: the end of the transport's input is not the end of the TLS stream unless
    /// `close_notify` came first, so the layer decides.
    fn half_closeable(&self) -> bool {
        true
    }

    fn read_connection_lost(&mut self, _transport: &Transport) {
        self.core.on_eof();
    }

    fn write_connection_lost(&mut self, _transport: &Transport) {
        self.core.on_write_shut();
    }
}

impl fmt::Debug for TlsProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TlsProtocol")
    }
}

/// Wraps every protocol of a factory in server-side TLS (what the `ssl:` server endpoint
/// listens with; Twisted's `TLSMemoryBIOFactory(contextFactory, False, factory)`).
///
/// # Examples
///
/// ```no_run
/// use std::rc::Rc;
/// use torsion::protocol::{for_protocol, Protocol};
/// use torsion::tcp::ReactorTcp;
/// use torsion::tls::{TlsServerConfig, TlsServerFactory};
/// use torsion::transport::Transport;
/// use torsion::Reactor;
///
/// struct Echo;
/// impl Protocol for Echo {
///     fn data_received(&mut self, t: &Transport, data: &[u8]) {
///         t.write(data);
///     }
/// }
///
/// let reactor = Reactor::new()?;
/// let config = TlsServerConfig::from_pem_files("cert.pem", "key.pem")?;
/// let factory = TlsServerFactory::new(config, for_protocol(|| Echo));
/// reactor.listen_tcp_dyn(8443, Rc::new(factory), 50, "127.0.0.1")?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TlsServerFactory {
    config: TlsConfig,
    inner: Rc<dyn Factory>,
}

impl TlsServerFactory {
    /// TLS with `config` around the protocols of `inner`.
    pub fn new(config: TlsServerConfig, inner: Rc<dyn Factory>) -> TlsServerFactory {
        TlsServerFactory {
            config: config.into(),
            inner,
        }
    }
}

fn wrap(config: &TlsConfig, inner: Box<dyn Protocol>) -> Option<Box<dyn Protocol>> {
    match TlsProtocol::with_box(config, inner) {
        Ok(p) => Some(Box::new(p)),
        Err(e) => {
            log::error!("cannot start TLS: {e}; connection refused");
            None
        }
    }
}

impl Factory for TlsServerFactory {
    fn build_protocol(&self, addr: &Address) -> Option<Box<dyn Protocol>> {
        wrap(&self.config, self.inner.build_protocol(addr)?)
    }
    fn start_factory(&self) {
        crate::protocol::do_start(&self.inner);
    }
    fn stop_factory(&self) {
        crate::protocol::do_stop(&self.inner);
    }
}

impl fmt::Debug for TlsServerFactory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsServerFactory")
            .field("config", &self.config)
            .finish()
    }
}

/// Wraps every protocol of a client factory in client-side TLS, and passes the
/// connection attempts' events on to it.
pub struct TlsClientFactory {
    config: TlsConfig,
    inner: Rc<dyn ClientFactory>,
}

impl TlsClientFactory {
    /// TLS with `config` around the protocols of `inner`.
    pub fn new(config: TlsClientConfig, inner: Rc<dyn ClientFactory>) -> TlsClientFactory {
        TlsClientFactory {
            config: config.into(),
            inner,
        }
    }
}

impl Factory for TlsClientFactory {
    fn build_protocol(&self, addr: &Address) -> Option<Box<dyn Protocol>> {
        wrap(&self.config, self.inner.build_protocol(addr)?)
    }
    fn start_factory(&self) {
        self.inner.start_factory();
    }
    fn stop_factory(&self) {
        self.inner.stop_factory();
    }
}

impl ClientFactory for TlsClientFactory {
    fn started_connecting(&self, connector: &Connector) {
        self.inner.started_connecting(connector);
    }
    fn client_connection_failed(&self, connector: &Connector, reason: Failure) {
        self.inner.client_connection_failed(connector, reason);
    }
    fn client_connection_lost(&self, connector: &Connector, reason: &ConnectionLost) {
        self.inner.client_connection_lost(connector, reason);
    }
}

impl fmt::Debug for TlsClientFactory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsClientFactory")
            .field("config", &self.config)
            .finish()
    }
}

/// Starts TLS on an established connection (Twisted's `ITLSTransport.startTLS`), for
/// STARTTLS in SMTP, IMAP, XMPP...: with a [`TlsClientConfig`] this end is the TLS client,
/// with a [`TlsServerConfig`] the server.
///
/// The transport handle stays the same: the protocol keeps using the `Transport` it has,
/// its writes are encrypted from this call on (what it wrote before goes out in the
/// clear, first), its reads are decrypted from the next one, and `lose_connection` sends
/// `close_notify`. Call it once the peer is known to be ready (after sending or receiving
/// the protocol's "go ahead"), and drop any plaintext received after the STARTTLS command
/// that is still buffered (an attacker could have injected it before the handshake).
///
/// Returns the [`TlsTransport`] for the TLS calls (`handshake_done`, the peer's
/// certificates...); [`tls_of`] finds it again later.
///
/// # Errors
///
/// [`TlsErrorKind::Config`] for a bad configuration, or if the transport does not
/// support STARTTLS (TCP connections do), has already started TLS, or is closed.
///
/// # Examples
///
/// An SMTP-like client that upgrades when the server says so:
///
/// ```
/// use torsion::protocol::Protocol;
/// use torsion::tls::{start_tls, TlsClientConfig};
/// use torsion::transport::Transport;
///
/// struct Client {
///     config: TlsClientConfig,
///     secure: bool,
/// }
///
/// impl Protocol for Client {
///     fn connection_made(&mut self, t: &Transport) {
///         t.write(b"STARTTLS\r\n");
///     }
///     fn data_received(&mut self, t: &Transport, data: &[u8]) {
///         if !self.secure && data.starts_with(b"220") {
///             match start_tls(t, self.config.clone()) {
///                 Ok(_tls) => self.secure = true,
///                 Err(e) => {
///                     eprintln!("{e}");
///                     t.lose_connection();
///                 }
///             }
///             t.write(b"EHLO example.com\r\n"); // encrypted
///         }
///     }
/// }
/// ```
pub fn start_tls(
    transport: &Transport,
    config: impl Into<TlsConfig>,
) -> Result<TlsTransport, TlsError> {
    let config = config.into();
    let session = config.session()?;
    let core = Core::new(session, None, config.common());
    let tls = TlsTransport::new(core.clone());
    transport
        .start_tls(Box::new(Starter { core }))
        .map_err(|e| TlsError::new(TlsErrorKind::Config, format!("cannot start TLS: {e}")))?;
    Ok(tls)
}

struct Starter {
    core: Rc<Core>,
}

impl TlsStarter for Starter {
    fn install(self: Box<Self>, raw: Transport, handle: Transport) -> InstalledTls {
        let core = self.core;
        core.attach(raw, handle, false);
        let inner_core = core.clone();
        InstalledTls {
            core: Rc::new(TlsTransport::new(core)),
            wrap: Box::new(move |inner| {
                inner_core.set_inner(inner);
                Box::new(TlsProtocol { core: inner_core })
            }),
        }
    }
}

/// The TLS calls of a transport: its [`TlsTransport`] if it is one (connections of the
/// TLS endpoints and factories), or the one [`start_tls`] installed on it.
///
/// # Examples
///
/// ```
/// use torsion::protocol::Protocol;
/// use torsion::tls::tls_of;
/// use torsion::transport::Transport;
///
/// struct Greeter;
/// impl Protocol for Greeter {
///     fn connection_made(&mut self, t: &Transport) {
///         let Some(tls) = tls_of(t) else {
///             return t.write(b"hello, plain world\r\n");
///         };
///         let (t, info) = (t.clone(), tls.clone());
///         drop(tls.handshake_done().add_callback(move |()| {
///             let alpn = info.negotiated_protocol().unwrap_or_default();
///             t.write(format!("hello over TLS, ALPN {alpn:?}\r\n").as_bytes());
///         }));
///     }
///     fn data_received(&mut self, _: &Transport, _: &[u8]) {}
/// }
/// ```
pub fn tls_of(transport: &Transport) -> Option<TlsTransport> {
    if let Some(tls) = transport.downcast::<TlsTransport>() {
        return Some(tls.clone());
    }
    let core = transport.started_tls()?;
    let any: &dyn std::any::Any = &*core;
    any.downcast_ref::<TlsTransport>().cloned()
}
