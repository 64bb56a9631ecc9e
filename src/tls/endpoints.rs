//! TLS endpoints: [`TlsServerEndpoint`] (Twisted's `SSL4ServerEndpoint`),
//! [`TlsClientEndpoint`] (`wrapClientTLS`, `SSL4ClientEndpoint`), and the parsers of the
//! `ssl:` and `tls:` descriptions (see the [module documentation](super) for their
//! parameters).
//!
//! Tests: `tests/tls_endpoints.rs`.

use std::cell::RefCell;
use std::fmt;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use super::config::{TlsClientConfig, TlsServerConfig, TlsVersion, TrustRoots};
use super::error::TlsError;
use super::protocol::{TlsClientFactory, TlsServerFactory};
use crate::defer::{Deferred, Failure};
use crate::endpoints::{
    ClientEndpoint, Description, EndpointError, NoProtocol, Param, Params, Registry,
    ServerEndpoint, StreamClientEndpoint, StreamServerEndpoint, TcpClientEndpoint,
    TcpServerEndpoint,
};
use crate::protocol::{Address, ClientFactory, ConnectionLost, Factory, Protocol};
use crate::tcp::{ListeningPort, ReactorTcp};
use crate::transport::Transport;

/// Listens with TLS on another server endpoint (TCP for `ssl:` strings).
///
/// # Examples
///
/// ```no_run
/// use torsion::endpoints::TcpServerEndpoint;
/// use torsion::tls::{TlsServerConfig, TlsServerEndpoint};
/// use torsion::Reactor;
///
/// let reactor = Reactor::new()?;
/// let config = TlsServerConfig::from_pem_files("cert.pem", "key.pem")?;
/// let endpoint = TlsServerEndpoint::new(TcpServerEndpoint::new(&reactor, 8443), config);
/// # let _ = endpoint;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TlsServerEndpoint {
    inner: Rc<dyn StreamServerEndpoint>,
    config: TlsServerConfig,
}

impl TlsServerEndpoint {
    /// TLS with `config` on the connections `inner` accepts.
    pub fn new(inner: impl StreamServerEndpoint + 'static, config: TlsServerConfig) -> Self {
        TlsServerEndpoint {
            inner: Rc::new(inner),
            config,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &TlsServerConfig {
        &self.config
    }
}

impl StreamServerEndpoint for TlsServerEndpoint {
    fn listen(&self, factory: Rc<dyn Factory>) -> Deferred<ListeningPort> {
        let tls = TlsServerFactory::new(self.config.clone(), factory);
        self.inner.listen(Rc::new(tls))
    }
}

impl fmt::Debug for TlsServerEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsServerEndpoint")
            .field("inner", &self.inner)
            .field("config", &self.config)
            .finish()
    }
}

/// Connects with TLS through another client endpoint (Twisted's
/// `wrapClientTLS(optionsForClientTLS(host), endpoint)`). The Deferred gives the TLS
/// transport once connected, before the handshake (as Twisted's does): a handshake that
/// fails ends in the protocol's `connection_lost` with a [`TlsError`]; wait for
/// [`TlsTransport::handshake_done`](super::TlsTransport::handshake_done) to know it
/// succeeded.
///
/// # Examples
///
/// ```
/// use torsion::endpoints::TcpClientEndpoint;
/// use torsion::tls::{TlsClientConfig, TlsClientEndpoint};
/// use torsion::Reactor;
///
/// let reactor = Reactor::new()?;
/// let endpoint = TlsClientEndpoint::new(
///     TcpClientEndpoint::new(&reactor, "example.com", 443),
///     TlsClientConfig::new("example.com").with_alpn(["http/1.1"]),
/// );
/// assert_eq!(endpoint.config().server_name(), "example.com");
/// # reactor.close();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TlsClientEndpoint {
    inner: Rc<dyn StreamClientEndpoint>,
    config: TlsClientConfig,
}

impl TlsClientEndpoint {
    /// TLS with `config` over the connections `inner` makes.
    pub fn new(inner: impl StreamClientEndpoint + 'static, config: TlsClientConfig) -> Self {
        TlsClientEndpoint {
            inner: Rc::new(inner),
            config,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &TlsClientConfig {
        &self.config
    }
}

impl StreamClientEndpoint for TlsClientEndpoint {
    fn connect(&self, factory: Rc<dyn Factory>) -> Deferred<Transport> {
        let made: Rc<RefCell<Option<Transport>>> = Rc::default();
        let spy = SpyFactory {
            inner: factory,
            made: made.clone(),
        };
        let tls = TlsClientFactory::new(self.config.clone(), Rc::new(spy));
        self.inner.connect(Rc::new(tls)).add_callback(move |_tcp| {
            made.borrow_mut()
                .take()
                .ok_or_else(|| Failure::new(NoProtocol))
        })
    }
}

impl fmt::Debug for TlsClientEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsClientEndpoint")
            .field("inner", &self.inner)
            .field("config", &self.config)
            .finish()
    }
}

/// Builds the user's protocols inside a [`Spy`] that records the TLS transport.
struct SpyFactory {
    inner: Rc<dyn Factory>,
    made: Rc<RefCell<Option<Transport>>>,
}

impl Factory for SpyFactory {
    fn build_protocol(&self, addr: &Address) -> Option<Box<dyn Protocol>> {
        let inner = self.inner.build_protocol(addr)?;
        Some(Box::new(Spy {
            inner,
            made: Some(self.made.clone()),
        }))
    }
    fn start_factory(&self) {
        crate::protocol::do_start(&self.inner);
    }
    fn stop_factory(&self) {
        crate::protocol::do_stop(&self.inner);
    }
}

impl ClientFactory for SpyFactory {}

struct Spy {
    inner: Box<dyn Protocol>,
    made: Option<Rc<RefCell<Option<Transport>>>>,
}

impl Protocol for Spy {
    fn connection_made(&mut self, transport: &Transport) {
        if let Some(made) = self.made.take() {
            *made.borrow_mut() = Some(transport.clone());
        }
        self.inner.connection_made(transport)
    }
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        self.inner.data_received(transport, data)
    }
    fn connection_lost(&mut self, transport: &Transport, reason: ConnectionLost) {
        self.inner.connection_lost(transport, reason)
    }
    fn half_closeable(&self) -> bool {
        self.inner.half_closeable()
    }
    fn read_connection_lost(&mut self, transport: &Transport) {
        self.inner.read_connection_lost(transport)
    }
    fn write_connection_lost(&mut self, transport: &Transport) {
        self.inner.write_connection_lost(transport)
    }
}

// ----- the description parsers -----

/// Registers `ssl` and `tls`, servers and clients.
pub(crate) fn register(registry: &mut Registry) {
    registry.add_server("ssl", parse_server);
    registry.add_server("tls", parse_server);
    registry.add_client("ssl", parse_ssl_client);
    registry.add_client("tls", parse_tls_client);
}

/// Twisted's `_parseSSL` (positional order as there), plus `alpn` and `handshakeTimeout`.
const SERVER: &[Param] = &[
    Param::positional("port"),
    Param::positional("privateKey"),
    Param::positional("certKey"),
    Param::positional("sslmethod"),
    Param::positional("interface"),
    Param::positional("backlog"),
    Param::positional("extraCertChain"),
    Param::positional("dhParameters"),
    Param::keyword("alpn"),
    Param::keyword("handshakeTimeout"),
];

/// Twisted's `_parseClientTLS`, plus `alpn`, `handshakeTimeout` and `sslmethod`.
const TLS_CLIENT: &[Param] = &[
    Param::positional("host"),
    Param::positional("port"),
    Param::keyword("timeout"),
    Param::keyword("bindAddress"),
    Param::keyword("certificate"),
    Param::keyword("privateKey"),
    Param::keyword("trustRoots"),
    Param::keyword("endpoint"),
    Param::keyword("alpn"),
    Param::keyword("handshakeTimeout"),
    Param::keyword("sslmethod"),
];

/// Twisted's `_parseClientSSL`, plus `alpn` and `handshakeTimeout`.
const SSL_CLIENT: &[Param] = &[
    Param::positional("host"),
    Param::positional("port"),
    Param::keyword("timeout"),
    Param::keyword("bindAddress"),
    Param::keyword("certKey"),
    Param::keyword("privateKey"),
    Param::keyword("caCertsDir"),
    Param::keyword("hostname"),
    Param::keyword("alpn"),
    Param::keyword("handshakeTimeout"),
    Param::keyword("sslmethod"),
];

fn tls_error(p: &Params, e: TlsError) -> EndpointError {
    EndpointError::TlsConfig {
        prefix: p.prefix().to_string(),
        message: e.message().to_string(),
    }
}

fn parse_server(
    reactor: Rc<dyn ReactorTcp>,
    d: &Description,
) -> Result<ServerEndpoint, EndpointError> {
    let p = d.bind(SERVER)?;
    let port = p.parse_required("port", "a port number (0 to 65535)", |s| {
        s.trim().parse::<u16>().ok()
    })?;
    let key = p.get("privateKey").unwrap_or("server.pem").to_string();
    let cert = p
        .get("certKey")
        .map(str::to_string)
        .unwrap_or_else(|| key.clone());
    let mut config = TlsServerConfig::from_pem_files(&cert, &key).map_err(|e| tls_error(&p, e))?;
    if let Some(chain) = p.get("extraCertChain") {
        config = config
            .with_extra_chain_file(chain)
            .map_err(|e| tls_error(&p, e))?;
    }
    if let Some(versions) = p.parse(
        "sslmethod",
        "a TLS method (TLS_METHOD, TLSv1_2_METHOD, TLSv1_3_METHOD)",
        ssl_method,
    )? {
        config = config.with_versions(versions);
    }
    if p.get("dhParameters").is_some() {
        log::warn!(
            "{}: dhParameters ignored (rustls uses ECDHE key exchange only)",
            p.prefix()
        );
    }
    if let Some(alpn) = p.get("alpn") {
        config = config.with_alpn(alpn.split(',').filter(|s| !s.is_empty()));
    }
    if let Some(t) = p.parse("handshakeTimeout", "a number of seconds", seconds)? {
        config = config.with_handshake_timeout(t);
    }
    let mut tcp = TcpServerEndpoint::new(reactor, port);
    if let Some(interface) = p.get("interface") {
        tcp = tcp.with_interface(interface);
    }
    if let Some(backlog) = p.parse("backlog", "a number", |s| {
        s.trim().parse::<i32>().ok().filter(|b| *b >= 0)
    })? {
        tcp = tcp.with_backlog(backlog);
    }
    Ok(ServerEndpoint::new(TlsServerEndpoint::new(tcp, config)))
}

fn parse_tls_client(
    reactor: Rc<dyn ReactorTcp>,
    d: &Description,
) -> Result<ClientEndpoint, EndpointError> {
    let p = d.bind(TLS_CLIENT)?;
    let host = p.required("host")?.to_string();
    let mut config = TlsClientConfig::new(host.clone());
    if let Some(roots) = p.get("trustRoots") {
        config = config
            .with_trust_roots(TrustRoots::from_pem_file(roots).map_err(|e| tls_error(&p, e))?);
    }
    config = client_identity(&p, config, "certificate")?;
    config = common_client(&p, config)?;
    let inner = match p.get("endpoint") {
        Some(nested) => Registry::standard().client_from_string(reactor, nested)?,
        None => ClientEndpoint::new(tcp_client(&p, reactor, &host)?),
    };
    Ok(ClientEndpoint::new(TlsClientEndpoint::new(inner, config)))
}

fn parse_ssl_client(
    reactor: Rc<dyn ReactorTcp>,
    d: &Description,
) -> Result<ClientEndpoint, EndpointError> {
    let p = d.bind(SSL_CLIENT)?;
    let host = p.required("host")?.to_string();
    let name = p.get("hostname").unwrap_or(&host).to_string();
    let mut config = TlsClientConfig::new(name);
    if let Some(dir) = p.get("caCertsDir") {
        config =
            config.with_trust_roots(TrustRoots::from_pem_file(dir).map_err(|e| tls_error(&p, e))?);
    }
    config = client_identity(&p, config, "certKey")?;
    config = common_client(&p, config)?;
    let tcp = tcp_client(&p, reactor, &host)?;
    Ok(ClientEndpoint::new(TlsClientEndpoint::new(tcp, config)))
}

/// A client certificate from `cert_param` and `privateKey` (which defaults to it).
fn client_identity(
    p: &Params,
    config: TlsClientConfig,
    cert_param: &'static str,
) -> Result<TlsClientConfig, EndpointError> {
    let Some(cert) = p.get(cert_param) else {
        if p.get("privateKey").is_some() {
            return Err(EndpointError::MissingParameter {
                prefix: p.prefix().to_string(),
                name: cert_param,
            });
        }
        return Ok(config);
    };
    let key = p.get("privateKey").unwrap_or(cert);
    config
        .with_client_certificate_files(cert, key)
        .map_err(|e| tls_error(p, e))
}

fn common_client(
    p: &Params,
    mut config: TlsClientConfig,
) -> Result<TlsClientConfig, EndpointError> {
    if let Some(alpn) = p.get("alpn") {
        config = config.with_alpn(alpn.split(',').filter(|s| !s.is_empty()));
    }
    if let Some(t) = p.parse("handshakeTimeout", "a number of seconds", seconds)? {
        config = config.with_handshake_timeout(t);
    }
    if let Some(v) = p.parse(
        "sslmethod",
        "a TLS method (TLS_METHOD, TLSv1_2_METHOD, TLSv1_3_METHOD)",
        ssl_method,
    )? {
        config = config.with_versions(v);
    }
    Ok(config)
}

fn tcp_client(
    p: &Params,
    reactor: Rc<dyn ReactorTcp>,
    host: &str,
) -> Result<TcpClientEndpoint, EndpointError> {
    let port = p.parse_required("port", "a port number (0 to 65535)", |s| {
        s.trim().parse::<u16>().ok()
    })?;
    let mut tcp = TcpClientEndpoint::new(reactor, host, port);
    if let Some(t) = p.parse("timeout", "a number of seconds", seconds)? {
        tcp = tcp.with_timeout(t);
    }
    if let Some(ip) = p.parse("bindAddress", "an IP address", |s| {
        s.trim().parse::<std::net::IpAddr>().ok()
    })? {
        tcp = tcp.with_bind_address(Some(SocketAddr::new(ip, 0)));
    }
    Ok(tcp)
}

/// Seconds; 0 means none.
fn seconds(s: &str) -> Option<Option<Duration>> {
    let secs: f64 = s.trim().parse().ok()?;
    let d = Duration::try_from_secs_f64(secs).ok()?;
    Some((!d.is_zero()).then_some(d))
}

/// Twisted's `sslmethod` names (OpenSSL method names) for the versions rustls has.
fn ssl_method(s: &str) -> Option<&'static [TlsVersion]> {
    match s.trim() {
        "SSLv23_METHOD" | "TLS_METHOD" => Some(&[TlsVersion::Tls13, TlsVersion::Tls12]),
        "TLSv1_2_METHOD" => Some(&[TlsVersion::Tls12]),
        "TLSv1_3_METHOD" => Some(&[TlsVersion::Tls13]),
        _ => None,
    }
}
