//! The public configurations: [`TlsServerConfig`], [`TlsClientConfig`], [`TrustRoots`],
//! and [`TlsConfig`] (either, for [`start_tls`](super::start_tls)).
//!
//! Certificates and keys are read and checked when a configuration is made (as Twisted's
//! `ssl:` endpoint loads its files while parsing), so a bad file is an error at start-up,
//! not at the first connection.
//!
//! Tests: `tests/tls_endpoints.rs` (configuration errors), `tests/tls_openssl.rs`.

use std::cell::OnceCell;
use std::fmt;
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use super::error::TlsError;
use super::session::{read_file, ClientSetup, Identity, Roots, ServerSetup, Session};
use crate::time::ReactorTime;

/// How long a handshake may take before the connection is closed with
/// [`TlsErrorKind::HandshakeTimeout`](super::TlsErrorKind::HandshakeTimeout): 30 seconds, Twisted's connect timeout (Twisted has
/// no handshake timeout of its own, which leaves a silent client holding a connection
/// forever). nginx allows 60 s, Go's HTTP client 10 s.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// A TLS protocol version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TlsVersion {
    /// TLS 1.2.
    Tls12,
    /// TLS 1.3.
    Tls13,
}

/// Options both sides have.
#[derive(Clone)]
pub(crate) struct Common {
    pub(crate) versions: Vec<TlsVersion>,
    pub(crate) alpn: Vec<Vec<u8>>,
    pub(crate) handshake_timeout: Option<Duration>,
    pub(crate) time: Option<Rc<dyn ReactorTime>>,
}

impl Default for Common {
    fn default() -> Common {
        Common {
            versions: vec![TlsVersion::Tls13, TlsVersion::Tls12],
            alpn: Vec::new(),
            handshake_timeout: Some(DEFAULT_HANDSHAKE_TIMEOUT),
            time: None,
        }
    }
}

fn alpn_list<I, P>(protocols: I) -> Vec<Vec<u8>>
where
    I: IntoIterator<Item = P>,
    P: AsRef<[u8]>,
{
    protocols.into_iter().map(|p| p.as_ref().to_vec()).collect()
}

/// Trust anchors for verifying a peer's certificate.
///
/// # Examples
///
/// ```no_run
/// use torsion::tls::TrustRoots;
///
/// let system = TrustRoots::system();          // the platform's store
/// let private = TrustRoots::from_pem_file("ca.pem")?;
/// # let _ = (system, private);
/// # Ok::<(), torsion::tls::TlsError>(())
/// ```
#[derive(Clone, Debug)]
pub struct TrustRoots {
    roots: Roots,
}

impl TrustRoots {
    /// The platform's trust store (on Linux `/etc/ssl/certs`; the `SSL_CERT_FILE` and
    /// `SSL_CERT_DIR` environment variables override it), loaded once per process.
    pub fn system() -> TrustRoots {
        TrustRoots {
            roots: Roots::system(),
        }
    }

    /// Every certificate of a PEM text.
    ///
    /// # Errors
    ///
    /// [`TlsErrorKind::Config`](super::TlsErrorKind::Config) if there is none or one does not parse.
    pub fn from_pem(pem: &[u8]) -> Result<TrustRoots, TlsError> {
        Ok(TrustRoots {
            roots: Roots::from_pem(pem, "the trust roots")?,
        })
    }

    /// Every certificate of a PEM file, or (for a directory) of its `*.pem` and `*.crt`
    /// files (Twisted's `trustRoots` and `caCertsDir`).
    ///
    /// # Errors
    ///
    /// [`TlsErrorKind::Config`](super::TlsErrorKind::Config) naming the file.
    pub fn from_pem_file(path: impl AsRef<Path>) -> Result<TrustRoots, TlsError> {
        let path = path.as_ref();
        let roots = if path.is_dir() {
            Roots::from_dir(path)?
        } else {
            Roots::from_pem(&read_file(path)?, &path.display().to_string())?
        };
        Ok(TrustRoots { roots })
    }

    /// How many anchors there are.
    pub fn len(&self) -> usize {
        self.roots.len()
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a TLS server presents and accepts (Twisted's `CertificateOptions` for a server).
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// use torsion::tls::{TlsServerConfig, TlsVersion};
///
/// let config = TlsServerConfig::from_pem_files("cert.pem", "key.pem")?
///     .with_alpn(["h2", "http/1.1"])
///     .with_versions(&[TlsVersion::Tls13])
///     .with_handshake_timeout(Some(Duration::from_secs(10)));
/// # let _ = config;
/// # Ok::<(), torsion::tls::TlsError>(())
/// ```
#[derive(Clone)]
pub struct TlsServerConfig {
    identity: Identity,
    client_roots: Option<Roots>,
    pub(crate) common: Common,
    setup: OnceCell<ServerSetup>,
}

impl TlsServerConfig {
    /// A certificate chain (leaf first, then intermediates) and its private key, as PEM.
    ///
    /// # Errors
    ///
    /// [`TlsErrorKind::Config`](super::TlsErrorKind::Config): no certificate, no key, or a key that does not match.
    pub fn from_pem(cert_chain: &[u8], private_key: &[u8]) -> Result<TlsServerConfig, TlsError> {
        let identity = Identity::from_pem(cert_chain, private_key, "the PEM given")?;
        TlsServerConfig::checked(identity)
    }

    /// [`from_pem`](TlsServerConfig::from_pem), read from files (Twisted's `certKey` and
    /// `privateKey`; they may be the same file).
    ///
    /// # Errors
    ///
    /// [`TlsErrorKind::Config`](super::TlsErrorKind::Config) naming the file.
    pub fn from_pem_files(
        cert_chain: impl AsRef<Path>,
        private_key: impl AsRef<Path>,
    ) -> Result<TlsServerConfig, TlsError> {
        let (cert, key) = (cert_chain.as_ref(), private_key.as_ref());
        let what = format!("{} / {}", cert.display(), key.display());
        let identity = Identity::from_pem(&read_file(cert)?, &read_file(key)?, &what)?;
        TlsServerConfig::checked(identity)
    }

    fn checked(identity: Identity) -> Result<TlsServerConfig, TlsError> {
        let config = TlsServerConfig {
            identity,
            client_roots: None,
            common: Common::default(),
            setup: OnceCell::new(),
        };
        config.setup()?;
        Ok(config)
    }

    /// Appends the certificates of a PEM file to the chain sent (Twisted's
    /// `extraCertChain`).
    ///
    /// # Errors
    ///
    /// [`TlsErrorKind::Config`](super::TlsErrorKind::Config) naming the file.
    pub fn with_extra_chain_file(
        mut self,
        path: impl AsRef<Path>,
    ) -> Result<TlsServerConfig, TlsError> {
        let path = path.as_ref();
        self.identity
            .extend_chain(&read_file(path)?, &path.display().to_string())?;
        self.setup = OnceCell::new();
        Ok(self)
    }

    /// Requires a client certificate that chains to `roots` (mutual TLS).
    ///
    /// # Errors
    ///
    /// [`TlsErrorKind::Config`](super::TlsErrorKind::Config) if `roots` is empty.
    pub fn with_client_auth(mut self, roots: TrustRoots) -> Result<TlsServerConfig, TlsError> {
        self.client_roots = Some(roots.roots);
        self.setup = OnceCell::new();
        self.setup()?;
        Ok(self)
    }

    /// The ALPN protocols offered, most preferred first (none by default).
    pub fn with_alpn<I: IntoIterator<Item = P>, P: AsRef<[u8]>>(mut self, protocols: I) -> Self {
        self.common.alpn = alpn_list(protocols);
        self.setup = OnceCell::new();
        self
    }

    /// The versions accepted (TLS 1.3 and 1.2 by default).
    pub fn with_versions(mut self, versions: &[TlsVersion]) -> Self {
        self.common.versions = versions.to_vec();
        self.setup = OnceCell::new();
        self
    }

    /// Closes connections whose handshake takes longer (`None`: never; the default is
    /// [`DEFAULT_HANDSHAKE_TIMEOUT`]).
    pub fn with_handshake_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.common.handshake_timeout = timeout;
        self
    }

    /// The time source for the handshake timeout and for delivering data held back by a
    /// pause, for transports with no reactor (the testing kit's: pass its
    /// [`Clock`](crate::time::Clock)). Transports with a reactor use it.
    pub fn with_time(mut self, time: Rc<dyn ReactorTime>) -> Self {
        self.common.time = Some(time);
        self
    }

    fn setup(&self) -> Result<&ServerSetup, TlsError> {
        if let Some(setup) = self.setup.get() {
            return Ok(setup);
        }
        let setup = ServerSetup::build(
            &self.identity,
            &self.common.versions,
            &self.common.alpn,
            self.client_roots.as_ref(),
        )?;
        Ok(self.setup.get_or_init(|| setup))
    }

    pub(crate) fn session(&self) -> Result<Session, TlsError> {
        Session::server(self.setup()?)
    }
}

impl fmt::Debug for TlsServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsServerConfig")
            .field("versions", &self.common.versions)
            .field("client_auth", &self.client_roots.is_some())
            .field("handshake_timeout", &self.common.handshake_timeout)
            .finish()
    }
}

/// What a TLS client verifies and presents (Twisted's `optionsForClientTLS`): the host
/// name the server's certificate must name, the trust roots (the system's by default),
/// an optional client certificate.
///
/// # Examples
///
/// ```no_run
/// use torsion::tls::{TlsClientConfig, TrustRoots};
///
/// let config = TlsClientConfig::new("localhost")
///     .with_trust_roots(TrustRoots::from_pem_file("ca.pem")?)
///     .with_alpn(["http/1.1"]);
/// # let _ = config;
/// # Ok::<(), torsion::tls::TlsError>(())
/// ```
#[derive(Clone)]
pub struct TlsClientConfig {
    server_name: String,
    roots: Option<Roots>,
    identity: Option<Identity>,
    resumption: bool,
    pub(crate) common: Common,
    setup: OnceCell<ClientSetup>,
}

impl TlsClientConfig {
    /// Verifies the server as `server_name` (a DNS name, also sent as SNI, or an IP
    /// address) against the system's trust roots.
    pub fn new(server_name: impl Into<String>) -> TlsClientConfig {
        TlsClientConfig {
            server_name: server_name.into(),
            roots: None,
            identity: None,
            resumption: true,
            common: Common::default(),
            setup: OnceCell::new(),
        }
    }

    /// The name verified (and sent as SNI).
    pub fn server_name(&self) -> &str {
        &self.server_name
    }

    /// Verifies the server as another name (Twisted's `hostname=` of an `ssl:` client).
    pub fn with_server_name(mut self, server_name: impl Into<String>) -> Self {
        self.server_name = server_name.into();
        self
    }

    /// Trusts these roots instead of the system's.
    pub fn with_trust_roots(mut self, roots: TrustRoots) -> Self {
        self.roots = Some(roots.roots);
        self.setup = OnceCell::new();
        self
    }

    /// Presents a client certificate (PEM chain and key).
    ///
    /// # Errors
    ///
    /// [`TlsErrorKind::Config`](super::TlsErrorKind::Config): no certificate, no key, a key that does not match.
    pub fn with_client_certificate_pem(
        mut self,
        cert_chain: &[u8],
        private_key: &[u8],
    ) -> Result<Self, TlsError> {
        self.identity = Some(Identity::from_pem(
            cert_chain,
            private_key,
            "the client certificate",
        )?);
        self.setup = OnceCell::new();
        self.setup()?;
        Ok(self)
    }

    /// [`with_client_certificate_pem`](TlsClientConfig::with_client_certificate_pem) from
    /// files (Twisted's `certificate` and `privateKey`).
    ///
    /// # Errors
    ///
    /// [`TlsErrorKind::Config`](super::TlsErrorKind::Config) naming the file.
    pub fn with_client_certificate_files(
        self,
        cert_chain: impl AsRef<Path>,
        private_key: impl AsRef<Path>,
    ) -> Result<Self, TlsError> {
        let cert = read_file(cert_chain.as_ref())?;
        let key = read_file(private_key.as_ref())?;
        self.with_client_certificate_pem(&cert, &key)
    }

    /// The ALPN protocols offered, most preferred first (none by default).
    pub fn with_alpn<I: IntoIterator<Item = P>, P: AsRef<[u8]>>(mut self, protocols: I) -> Self {
        self.common.alpn = alpn_list(protocols);
        self.setup = OnceCell::new();
        self
    }

    /// The versions offered (TLS 1.3 and 1.2 by default).
    pub fn with_versions(mut self, versions: &[TlsVersion]) -> Self {
        self.common.versions = versions.to_vec();
        self.setup = OnceCell::new();
        self
    }

    /// Whether to resume earlier sessions with the same server (on by default; off gives
    /// a full handshake every time).
    pub fn with_resumption(mut self, on: bool) -> Self {
        self.resumption = on;
        self.setup = OnceCell::new();
        self
    }

    /// See [`TlsServerConfig::with_handshake_timeout`].
    pub fn with_handshake_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.common.handshake_timeout = timeout;
        self
    }

    /// See [`TlsServerConfig::with_time`].
    pub fn with_time(mut self, time: Rc<dyn ReactorTime>) -> Self {
        self.common.time = Some(time);
        self
    }

    fn setup(&self) -> Result<&ClientSetup, TlsError> {
        if let Some(setup) = self.setup.get() {
            return Ok(setup);
        }
        let roots = self.roots.clone().unwrap_or_else(Roots::system);
        let setup = ClientSetup::build(
            &roots,
            self.identity.as_ref(),
            &self.common.versions,
            &self.common.alpn,
            self.resumption,
        )?;
        Ok(self.setup.get_or_init(|| setup))
    }

    pub(crate) fn session(&self) -> Result<Session, TlsError> {
        Session::client(self.setup()?, &self.server_name)
    }
}

impl fmt::Debug for TlsClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsClientConfig")
            .field("server_name", &self.server_name)
            .field("system_roots", &self.roots.is_none())
            .field("client_certificate", &self.identity.is_some())
            .field("versions", &self.common.versions)
            .field("handshake_timeout", &self.common.handshake_timeout)
            .finish()
    }
}

/// Either side's configuration, for [`start_tls`](super::start_tls): a client config
/// makes this end the TLS client, a server config the TLS server.
#[derive(Clone, Debug)]
pub enum TlsConfig {
    /// Be the TLS client.
    Client(TlsClientConfig),
    /// Be the TLS server.
    Server(TlsServerConfig),
}

impl From<TlsClientConfig> for TlsConfig {
    fn from(c: TlsClientConfig) -> TlsConfig {
        TlsConfig::Client(c)
    }
}

impl From<TlsServerConfig> for TlsConfig {
    fn from(c: TlsServerConfig) -> TlsConfig {
        TlsConfig::Server(c)
    }
}

impl TlsConfig {
    pub(crate) fn session(&self) -> Result<Session, TlsError> {
        match self {
            TlsConfig::Client(c) => c.session(),
            TlsConfig::Server(c) => c.session(),
        }
    }

    pub(crate) fn common(&self) -> &Common {
        match self {
            TlsConfig::Client(c) => &c.common,
            TlsConfig::Server(c) => &c.common,
        }
    }
}
