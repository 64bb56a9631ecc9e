//! The one file that calls rustls: a sans-IO TLS [`Session`] (ciphertext in, plaintext
//! out, plaintext in, ciphertext out), the building of rustls configurations from PEM
//! files, the system trust roots, and the mapping of rustls errors onto [`TlsError`].
//!
//! rustls 0.23 drives a connection with `read_tls` → `process_new_packets` →
//! `reader()` / `writer()` → `write_tls`. Its obligations, and how this file keeps them:
//!
//! - `process_new_packets` after every successful `read_tls`: [`Session::feed`] does both
//!   in one call and never reads again after an error.
//! - After a fatal error, `write_tls` still sends the alert rustls queued: the error is
//!   returned, and the caller takes the ciphertext ([`Session::take_ciphertext`]) before
//!   closing.
//! - `read_tls` refuses more input while its plaintext buffer is full: [`Session::feed`]
//!   returns how much it consumed, and the caller drains the plaintext and feeds the rest.
//! - `reader().read` gives `Ok(0)` after the peer's `close_notify` and `UnexpectedEof` if
//!   the stream ended without one: [`Session::read_plaintext`] returns [`Plain::Closed`]
//!   and [`Plain::Truncated`].
//!
//! No other file names a rustls type, so porting to rustls 0.24's caller-owned buffers is a
//! one-file change.
//!
//! Tests: `tests/tls_memory.rs` (through the wrapper), `tests/tls_tcp.rs` and
//! `tests/tls_openssl.rs` (the error kinds), `tests/tls_endpoints.rs` (configurations).

use std::io::{self, BufRead, Write};
use std::path::Path;
use std::sync::{Arc, OnceLock};

use rustls::crypto::ring as provider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{CertificateError, RootCertStore, SupportedProtocolVersion};

use super::error::{TlsError, TlsErrorKind};
use super::TlsVersion;

/// Plaintext the session handed out.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Plain {
    /// This many bytes were appended.
    Data(usize),
    /// Nothing more for now.
    Nothing,
    /// The peer sent `close_notify`: no more data will come.
    Closed,
    /// The stream ended without `close_notify` (a truncation).
    Truncated,
}

/// One TLS connection, client or server, with no I/O of its own.
pub(crate) struct Session {
    conn: rustls::Connection,
}

impl Session {
    /// A server session.
    pub(crate) fn server(setup: &ServerSetup) -> Result<Session, TlsError> {
        let conn = rustls::ServerConnection::new(setup.config.clone()).map_err(classify)?;
        Ok(Session::new(conn.into()))
    }

    /// A client session that verifies the server against `host` (a DNS name, sent as SNI,
    /// or an IP address, not sent).
    pub(crate) fn client(setup: &ClientSetup, host: &str) -> Result<Session, TlsError> {
        let name = server_name(host)?;
        let conn = rustls::ClientConnection::new(setup.config.clone(), name).map_err(classify)?;
        Ok(Session::new(conn.into()))
    }

    fn new(mut conn: rustls::Connection) -> Session {
        // Backpressure is ours (the transport's write buffer), not rustls's 64 KiB limit.
        conn.set_buffer_limit(None);
        Session { conn }
    }

    /// Feeds ciphertext: one `read_tls` and one `process_new_packets`. Returns how many
    /// bytes were taken (possibly fewer than given: drain the plaintext, then feed the
    /// rest).
    ///
    /// # Errors
    ///
    /// The TLS failure; the session is then dead, but its alert is still to be sent.
    pub(crate) fn feed(&mut self, mut data: &[u8]) -> Result<usize, TlsError> {
        let n = match self.conn.read_tls(&mut data) {
            Ok(n) => n,
            // "received plaintext buffer full": the caller drains and comes back.
            Err(e) if e.kind() == io::ErrorKind::Other => 0,
            Err(e) => return Err(TlsError::new(TlsErrorKind::Protocol, e.to_string())),
        };
        self.conn.process_new_packets().map_err(classify)?;
        Ok(n)
    }

    /// The transport's end of input (TCP FIN or reset): what was buffered is still read,
    /// then [`Plain::Closed`] or [`Plain::Truncated`].
    pub(crate) fn feed_eof(&mut self) {
        let _ = self.conn.read_tls(&mut io::empty());
        let _ = self.conn.process_new_packets();
    }

    /// Appends the plaintext available to `out` (copied once, from rustls's buffers).
    pub(crate) fn read_plaintext(&mut self, out: &mut Vec<u8>) -> Plain {
        let start = out.len();
        let mut reader = self.conn.reader();
        loop {
            let chunk = match reader.fill_buf() {
                Ok([]) if out.len() == start => return Plain::Closed,
                Ok([]) => break, // the close is reported on the next call
                Ok(chunk) => chunk,
                Err(_) if out.len() > start => break,
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Plain::Truncated,
                Err(_) => return Plain::Nothing,
            };
            out.extend_from_slice(chunk);
            let n = chunk.len();
            reader.consume(n);
        }
        Plain::Data(out.len() - start)
    }

    /// Encrypts `data` (as few records as its length allows; buffered by rustls until the
    /// handshake completes).
    pub(crate) fn write_plaintext(&mut self, data: &[u8]) {
        // Unlimited buffers: `write_all` cannot fail short.
        let _ = self.conn.writer().write_all(data);
    }

    /// Moves every pending TLS record to `out`. Returns the bytes moved.
    pub(crate) fn take_ciphertext(&mut self, out: &mut dyn Write) -> usize {
        let mut total = 0;
        while self.conn.wants_write() {
            match self.conn.write_tls(out) {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
        total
    }

    /// Queues our `close_notify` (once; not after a fatal alert).
    pub(crate) fn send_close_notify(&mut self) {
        self.conn.send_close_notify();
    }

    /// True until the handshake has completed.
    pub(crate) fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// What the handshake settled, for [`TlsInfo`](super::TlsInfo).
    pub(crate) fn details(&self) -> Details {
        Details {
            alpn: self.conn.alpn_protocol().map(<[u8]>::to_vec),
            server_name: match &self.conn {
                rustls::Connection::Server(s) => s.server_name().map(str::to_string),
                rustls::Connection::Client(_) => None,
            },
            peer_certificates: self
                .conn
                .peer_certificates()
                .map(|certs| certs.iter().map(|c| c.as_ref().to_vec()).collect())
                .unwrap_or_default(),
            version: self.conn.protocol_version().and_then(|v| match v {
                rustls::ProtocolVersion::TLSv1_2 => Some(TlsVersion::Tls12),
                rustls::ProtocolVersion::TLSv1_3 => Some(TlsVersion::Tls13),
                _ => None,
            }),
            cipher_suite: self
                .conn
                .negotiated_cipher_suite()
                .and_then(|s| s.suite().as_str())
                .map(str::to_string),
        }
    }
}

/// What a completed handshake settled.
#[derive(Clone, Debug, Default)]
pub(crate) struct Details {
    pub(crate) alpn: Option<Vec<u8>>,
    pub(crate) server_name: Option<String>,
    pub(crate) peer_certificates: Vec<Vec<u8>>,
    pub(crate) version: Option<TlsVersion>,
    pub(crate) cipher_suite: Option<String>,
}

fn server_name(host: &str) -> Result<ServerName<'static>, TlsError> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    ServerName::try_from(bare.to_string()).map_err(|_| {
        TlsError::new(
            TlsErrorKind::Config,
            format!("{host:?} is not a valid host name for certificate verification"),
        )
    })
}

// ----- configurations -----

/// A certificate chain and its private key, parsed.
#[derive(Debug)]
pub(crate) struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl Clone for Identity {
    fn clone(&self) -> Identity {
        Identity {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

impl Identity {
    /// Parses PEM: `certs` holds the leaf first, then any intermediates; `key` a PKCS#8,
    /// PKCS#1 or SEC1 private key. `what` names the source in errors.
    pub(crate) fn from_pem(certs: &[u8], key: &[u8], what: &str) -> Result<Identity, TlsError> {
        let chain = parse_certs(certs, what)?;
        let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| {
            TlsError::new(
                TlsErrorKind::Config,
                format!("no usable private key in {what}: {e}"),
            )
        })?;
        Ok(Identity { chain, key })
    }

    /// Appends more certificates to the chain (Twisted's `extraCertChain`).
    pub(crate) fn extend_chain(&mut self, pem: &[u8], what: &str) -> Result<(), TlsError> {
        self.chain.extend(parse_certs(pem, what)?);
        Ok(())
    }
}

fn parse_certs(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::new(TlsErrorKind::Config, format!("bad PEM in {what}: {e}")))?;
    if certs.is_empty() {
        return Err(TlsError::new(
            TlsErrorKind::Config,
            format!("no certificate in {what}"),
        ));
    }
    Ok(certs)
}

/// Trust anchors: the system's, or certificates from PEM.
#[derive(Clone, Debug)]
pub(crate) struct Roots {
    store: Arc<RootCertStore>,
}

impl Roots {
    /// The platform's trust store, loaded once per process (see the module docs of
    /// [`tls`](super) for why this source).
    pub(crate) fn system() -> Roots {
        static SYSTEM: OnceLock<Arc<RootCertStore>> = OnceLock::new();
        let store = SYSTEM.get_or_init(|| {
            let found = rustls_native_certs::load_native_certs();
            for e in &found.errors {
                log::warn!("loading the system trust roots: {e}");
            }
            let mut store = RootCertStore::empty();
            let (added, ignored) = store.add_parsable_certificates(found.certs);
            if added == 0 {
                log::warn!("no system trust roots found: every server certificate will be refused");
            }
            log::debug!("system trust roots: {added} loaded, {ignored} unusable");
            Arc::new(store)
        });
        Roots {
            store: store.clone(),
        }
    }

    /// Every certificate in `pem` is a trust anchor.
    pub(crate) fn from_pem(pem: &[u8], what: &str) -> Result<Roots, TlsError> {
        let mut store = RootCertStore::empty();
        for cert in parse_certs(pem, what)? {
            store.add(cert).map_err(|e| {
                TlsError::new(TlsErrorKind::Config, format!("bad CA in {what}: {e}"))
            })?;
        }
        Ok(Roots {
            store: Arc::new(store),
        })
    }

    /// Every `*.pem` / `*.crt` file of a directory (Twisted's `caCertsDir`).
    pub(crate) fn from_dir(dir: &Path) -> Result<Roots, TlsError> {
        let what = dir.display().to_string();
        let entries = std::fs::read_dir(dir).map_err(|e| read_error(&what, e))?;
        let mut pem = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            if matches!(ext, "pem" | "crt") {
                pem.extend(std::fs::read(&path).map_err(|e| read_error(&what, e))?);
                pem.push(b'\n');
            }
        }
        Roots::from_pem(&pem, &what)
    }

    /// How many anchors there are.
    pub(crate) fn len(&self) -> usize {
        self.store.len()
    }
}

/// A file's contents, or a configuration error naming it.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| read_error(&path.display().to_string(), e))
}

fn read_error(what: &str, e: io::Error) -> TlsError {
    TlsError::new(TlsErrorKind::Config, format!("cannot read {what}: {e}"))
}

fn versions(wanted: &[TlsVersion]) -> Vec<&'static SupportedProtocolVersion> {
    let mut v = Vec::new();
    if wanted.contains(&TlsVersion::Tls13) {
        v.push(&rustls::version::TLS13);
    }
    if wanted.contains(&TlsVersion::Tls12) {
        v.push(&rustls::version::TLS12);
    }
    v
}

fn config_error(e: impl std::fmt::Display) -> TlsError {
    TlsError::new(TlsErrorKind::Config, e.to_string())
}

/// A built rustls server configuration.
#[derive(Clone, Debug)]
pub(crate) struct ServerSetup {
    config: Arc<rustls::ServerConfig>,
}

impl ServerSetup {
    /// Builds (and so checks: the key must match the certificate).
    pub(crate) fn build(
        identity: &Identity,
        versions_wanted: &[TlsVersion],
        alpn: &[Vec<u8>],
        client_roots: Option<&Roots>,
    ) -> Result<ServerSetup, TlsError> {
        let provider = Arc::new(provider::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&versions(versions_wanted))
            .map_err(config_error)?;
        let builder = match client_roots {
            None => builder.with_no_client_auth(),
            Some(roots) => {
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    roots.store.clone(),
                    provider,
                )
                .build()
                .map_err(config_error)?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let mut config = builder
            .with_single_cert(identity.chain.clone(), identity.key.clone_key())
            .map_err(config_error)?;
        config.alpn_protocols = alpn.to_vec();
        Ok(ServerSetup {
            config: Arc::new(config),
        })
    }
}

/// A built rustls client configuration.
#[derive(Clone, Debug)]
pub(crate) struct ClientSetup {
    config: Arc<rustls::ClientConfig>,
}

impl ClientSetup {
    /// Builds; `resume` keeps rustls's in-memory session cache (on by default).
    pub(crate) fn build(
        roots: &Roots,
        identity: Option<&Identity>,
        versions_wanted: &[TlsVersion],
        alpn: &[Vec<u8>],
        resume: bool,
    ) -> Result<ClientSetup, TlsError> {
        let provider = Arc::new(provider::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&versions(versions_wanted))
            .map_err(config_error)?
            .with_root_certificates(roots.store.clone());
        let mut config = match identity {
            None => builder.with_no_client_auth(),
            Some(id) => builder
                .with_client_auth_cert(id.chain.clone(), id.key.clone_key())
                .map_err(config_error)?,
        };
        config.alpn_protocols = alpn.to_vec();
        if !resume {
            config.resumption = rustls::client::Resumption::disabled();
        }
        Ok(ClientSetup {
            config: Arc::new(config),
        })
    }
}

// ----- errors -----

/// A rustls error as a [`TlsError`] of the right kind.
fn classify(e: rustls::Error) -> TlsError {
    use rustls::Error as E;
    use TlsErrorKind as K;
    let kind = match &e {
        E::InvalidCertificate(c) => match c {
            CertificateError::UnknownIssuer => K::UnknownIssuer,
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                K::NameMismatch
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => K::Expired,
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                K::NotYetValid
            }
            _ => K::BadCertificate,
        },
        E::NoCertificatesPresented => K::NoPeerCertificate,
        E::InvalidMessage(rustls::InvalidMessage::InvalidContentType)
        | E::InvalidMessage(rustls::InvalidMessage::UnknownProtocolVersion) => K::NotTls,
        E::AlertReceived(_) => K::AlertReceived,
        _ => K::Protocol,
    };
    let message = match (&kind, &e) {
        (K::UnknownIssuer, _) => {
            "the peer's certificate is not trusted (issued by an unknown CA)".to_string()
        }
        (
            K::NameMismatch,
            E::InvalidCertificate(CertificateError::NotValidForNameContext {
                expected,
                presented,
            }),
        ) => format!(
            "the peer's certificate is not valid for {:?} (it names {})",
            expected.to_str(),
            presented.join(", ")
        ),
        (K::NameMismatch, _) => {
            "the peer's certificate is not valid for this host name".to_string()
        }
        (K::Expired, _) => "the peer's certificate has expired".to_string(),
        (K::NotYetValid, _) => "the peer's certificate is not valid yet".to_string(),
        (K::NoPeerCertificate, _) => "the peer presented no certificate".to_string(),
        (K::NotTls, _) => "the peer does not speak TLS (plain text on a TLS port?)".to_string(),
        (K::AlertReceived, E::AlertReceived(alert)) => {
            format!("the peer sent a fatal alert: {alert:?}")
        }
        _ => e.to_string(),
    };
    TlsError::new(kind, message)
}
