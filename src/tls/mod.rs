//! TLS through rustls (with the ring provider), as a layer that works under any
//! [`Protocol`](crate::protocol::Protocol): the protocol cannot tell TLS from plain TCP
//! except through the TLS-specific calls of [`TlsTransport`] (Twisted's
//! `twisted.protocols.tls` and `twisted.internet.ssl`). Behind the default `tls` feature.
//!
//! # Using it
//!
//! From a description string, as in Twisted:
//!
//! ```no_run
//! use torsion::endpoints::{client_from_string, server_from_string};
//! use torsion::protocol::{for_protocol, Protocol};
//! use torsion::transport::Transport;
//! use torsion::Reactor;
//!
//! struct Echo;
//! impl Protocol for Echo {
//!     fn data_received(&mut self, t: &Transport, data: &[u8]) {
//!         t.write(data); // encrypted; the protocol does not know
//!     }
//! }
//!
//! let reactor = Reactor::new()?;
//! let listening = server_from_string(&reactor, "ssl:8443:privateKey=server.key:certKey=server.pem")?
//!     .listen(for_protocol(|| Echo));
//! let client = client_from_string(&reactor, "tls:localhost:8443:trustRoots=ca.pem")?;
//! let connected = client.connect(for_protocol(|| Echo));
//! # let _ = (listening, connected);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! or with values: [`TlsServerConfig`] / [`TlsClientConfig`] and [`TlsServerEndpoint`] /
//! [`TlsClientEndpoint`] around any other endpoint, [`TlsServerFactory`] /
//! [`TlsClientFactory`] around a factory, [`TlsProtocol`] around one protocol (over any
//! transport: the testing kit's in-memory ones included), and [`start_tls`] on an
//! established connection. [`tls_of`] reaches the TLS calls of a transport:
//! [`handshake_done`](TlsTransport::handshake_done),
//! [`peer_certificates`](TlsTransport::peer_certificates),
//! [`negotiated_protocol`](TlsTransport::negotiated_protocol) (ALPN),
//! [`server_name`](TlsTransport::server_name) (SNI), the version and cipher suite.
//!
//! # Endpoint descriptions
//!
//! | prefix | positional order | parameters (default) |
//! |---|---|---|
//! | `ssl` / `tls` server | port, privateKey, certKey, sslmethod, interface, backlog, extraCertChain, dhParameters | `port` (required), `privateKey` (`server.pem`), `certKey` (= `privateKey`), `extraCertChain` (PEM chain appended), `interface` (all IPv4), `backlog` (50), `sslmethod` (`TLS_METHOD`/`SSLv23_METHOD`: 1.2 and 1.3; `TLSv1_2_METHOD`, `TLSv1_3_METHOD`), `dhParameters` (accepted, ignored: ECDHE only); ours: `alpn` (`h2,http/1.1`), `handshakeTimeout` (seconds, 0 = none; 30) |
//! | `tls` client | host, port | `host`, `port` (required), `timeout` (30), `bindAddress`, `trustRoots` (PEM file or directory; default: the system's), `certificate` + `privateKey` (client certificate), `endpoint` (another client description to connect through; `host` is then only the name verified); ours: `alpn`, `handshakeTimeout`, `sslmethod` |
//! | `ssl` client | host, port | as `tcp`, plus `certKey` + `privateKey` (client certificate), `caCertsDir` (trust roots), `hostname` (the name verified; default `host`); ours: `alpn`, `handshakeTimeout`, `sslmethod` |
//!
//! Twisted has no `tls:` server prefix; here it is an alias of `ssl:`. Twisted's `ssl:`
//! client without `caCertsDir` verifies nothing; ours verifies against the system's roots.
//! Files are read when the description is parsed: a missing or bad file is an
//! [`EndpointError::TlsConfig`](crate::endpoints::EndpointError::TlsConfig) naming it.
//!
//! # Design
//!
//! ```text
//!  user protocol ──write──▶ TlsTransport ─ pending plaintext ─┐        (this turn)
//!        ▲                                                     ▼ flush: one write_plaintext
//!        │ data_received(plaintext)                   Session (session.rs: rustls)
//!        │                                                     │ take_ciphertext
//!  TlsProtocol ◀──data_received(ciphertext)── lower transport ◀┘ write (TCP, Unix, memory, TLS)
//! ```
//!
//! - **One file calls rustls**: `session.rs` wraps `rustls::Connection` (client or server)
//!   as a sans-IO `Session` (feed ciphertext, read plaintext, write plaintext,
//!   take ciphertext) and maps rustls errors to [`TlsError`]; it also builds the rustls
//!   configurations. Porting to rustls 0.24's caller-owned buffers touches only it.
//! - **A protocol wrapper, not a socket type.** [`TlsProtocol`] is the protocol of the
//!   transport underneath and gives the user's protocol a [`TlsTransport`], so TLS runs
//!   over anything that is a transport, one byte at a time under the testing kit
//!   included. (Twisted moved from socket-level TLS to `TLSMemoryBIOProtocol` for the
//!   same reason.)
//! - **Coalescing.** Writes only append plaintext; it is encrypted in one go when the TLS
//!   protocol's callback that caused them returns, or (for writes from elsewhere) in the
//!   reactor's before-poll phase, just before the transport underneath flushes. So 100
//!   small writes in a callback make one record and one `sendmsg` (Twisted fixed the same
//!   overhead in #11989 with a per-iteration aggregator). Without a reactor or clock
//!   (a bare in-memory transport) writes from outside a callback are encrypted at once.
//! - **Re-entrancy.** The rule of [`crate::manual::programming_model`] holds:
//!   `TlsTransport` methods never call the user's protocol or producer; handshake
//!   completion, decrypted data and `connection_lost` reach it from the TLS protocol's own
//!   callbacks (the top of the loop), held-back data after a resume from a call scheduled
//!   on the reactor (`call_soon`). No `RefCell` borrow of the layer is held while user
//!   code runs.
//! - **Backpressure.** A push producer registered on the TLS transport is registered
//!   underneath through a membrane (Twisted's `_ProducerMembrane`), so the ciphertext
//!   buffer's high-water mark pauses it; the TLS layer also pauses it while the handshake
//!   holds back more than the high-water mark of plaintext. Watermarks set on the TLS
//!   transport apply underneath; `write_buffer_len` counts the pending plaintext plus the
//!   ciphertext queued underneath. Pausing reads pauses the transport underneath and holds
//!   back what was already received.
//!
//! # STARTTLS and the transport's identity
//!
//! A protocol holds clones of its `Transport` (in sets of clients, in timers), and
//! `Transport` compares by identity, so [`start_tls`] keeps the handle: as Twisted's
//! `_newtls.startTLS` does, the TCP connection gets a TLS layer and from then on forwards
//! its handle's writes, closes and flow control to it, while the layer writes ciphertext
//! through a bypass of the same connection (`tcp/connection/layer.rs`). The connection's
//! protocol is wrapped in the TLS protocol when it is next not running (before its next
//! callback), so reads are decrypted from the next one on. The alternative, swapping in a
//! new transport and telling users never to touch the old handle, breaks every stored
//! clone silently. The transport hook is [`TransportCore::start_tls`](crate::transport::TransportCore::start_tls)
//! (default `Unsupported`); `TlsTransport` is reached with [`tls_of`], since
//! `downcast::<TlsTransport>()` on the old handle finds the TCP connection.
//!
//! # Errors
//!
//! A TLS failure closes that connection only (after sending rustls's alert) and reaches the
//! protocol's `connection_lost` as `ConnectionLost::Lost(failure)` holding a [`TlsError`]
//! ([`TlsError::of`] finds it), whose [`TlsErrorKind`] says which: `UnknownIssuer`
//! (untrusted certificate), `NameMismatch` (wrong host name; the message names both),
//! `Expired`, `NotYetValid`, `BadCertificate`, `NoPeerCertificate`, `NotTls` (a plain-text
//! client on a TLS port), `AlertReceived` (the peer refused us), `HandshakeTimeout`,
//! `HandshakeInterrupted` (the connection was reset or closed during the handshake),
//! `UnexpectedEof` (closed without `close_notify`: possible truncation; data already
//! delivered stays delivered), `Protocol`. As in Twisted the protocol's `connection_made`
//! runs before the handshake; [`TlsTransport::handshake_done`] fires after it (or fails
//! with the same error).
//!
//! # Closing and half-close
//!
//! - `lose_connection`: once the pending plaintext is encrypted and no producer is
//!   registered, sends `close_notify`, then closes the transport underneath after it has
//!   flushed. `abort_connection` resets at once, with no `close_notify`.
//! - The peer's `close_notify` is its end of input: a half-closeable protocol gets
//!   `read_connection_lost` and may go on writing; any other protocol is closed (our
//!   `close_notify` is sent). A TCP end of input without `close_notify` is the
//!   `UnexpectedEof` error (or `HandshakeInterrupted`).
//! - `lose_write_connection`: sends `close_notify`, then shuts down the write side
//!   underneath; reading goes on (TLS 1.3 allows this; a TLS 1.2 peer usually answers with
//!   its own `close_notify` and closes). `write_connection_lost` follows for a
//!   half-closeable protocol.
//!
//! # Timeouts
//!
//! A handshake that has not completed after [`DEFAULT_HANDSHAKE_TIMEOUT`] (30 s, like
//! Twisted's connect timeout; Twisted has none for the handshake itself) aborts the
//! connection with `HandshakeTimeout`, so a silent client cannot hold a connection
//! forever. It runs on the reactor's clock, or on the clock given with
//! [`TlsServerConfig::with_time`] for transports without a reactor (tests).
//!
//! # Trust roots
//!
//! Clients verify the server's certificate and host name against the system's trust store
//! by default, loaded once per process with `rustls-native-certs`: the same roots as
//! Twisted's `platformTrust()` and the system's OpenSSL, updated with the system, and
//! `SSL_CERT_FILE` / `SSL_CERT_DIR` are honoured. We chose it over `webpki-roots` (a
//! Mozilla bundle compiled into the binary, which goes stale with it and ignores a site's
//! own CA) and over reading `/etc/ssl/certs` ourselves (which would miss other platforms'
//! stores and the environment variables). [`TrustRoots`] replaces them.
//!
//! # Twisted → torsion
//!
//! | Twisted | torsion (`torsion::tls`) |
//! |---|---|
//! | `TLSMemoryBIOProtocol`, `TLSMemoryBIOFactory(ctx, isClient, factory)` | [`TlsProtocol`], [`TlsServerFactory`] / [`TlsClientFactory`] |
//! | `BufferingTLSTransport` (`_AggregateSmallWrites`) | built in: [`TlsTransport`] encrypts once per callback or turn |
//! | `_ProducerMembrane` | internal (`layer.rs`) |
//! | `CertificateOptions`, `PrivateCertificate.options()` | [`TlsServerConfig`] |
//! | `optionsForClientTLS(hostname, trustRoot, clientCertificate, acceptableProtocols)` | [`TlsClientConfig::new`]`(hostname)`, [`with_trust_roots`](TlsClientConfig::with_trust_roots), [`with_client_certificate_files`](TlsClientConfig::with_client_certificate_files), [`with_alpn`](TlsClientConfig::with_alpn) |
//! | `platformTrust()`, `trustRootFromCertificates` | [`TrustRoots::system`], [`TrustRoots::from_pem`] / [`from_pem_file`](TrustRoots::from_pem_file) |
//! | `ITLSTransport.startTLS(ctx)` | [`start_tls`]`(&transport, config)` |
//! | `ISSLTransport.getPeerCertificate()` | [`TlsTransport::peer_certificates`] (DER) |
//! | `IHandshakeListener.handshakeCompleted()` | [`Protocol::handshake_completed`](crate::protocol::Protocol::handshake_completed), or [`TlsTransport::handshake_done`] (a Deferred) |
//! | `INegotiated.negotiatedProtocol` | [`TlsTransport::negotiated_protocol`] |
//! | SNI callback's server name | [`TlsTransport::server_name`] |
//! | `SSL4ServerEndpoint`, `SSL4ClientEndpoint`, `wrapClientTLS` | [`TlsServerEndpoint`], [`TlsClientEndpoint`] |
//! | `ssl:` / `tls:` strports | registered in [`Registry::standard`](crate::endpoints::Registry::standard) |
//! | `OpenSSL.SSL.Error`, `VerificationError` | [`TlsError`] with a [`TlsErrorKind`] |
//!
//! Not here: TLS 1.0/1.1 and RSA key exchange (rustls has neither), DH parameters,
//! session tickets configuration, OCSP stapling, certificate revocation lists.
//!
//! Tests: `tests/tls_memory.rs` (in memory, one byte at a time), `tests/tls_flow.rs`
//! (coalescing, backpressure, pausing), `tests/tls_tcp.rs` (real sockets, bad input),
//! `tests/tls_openssl.rs` (interop with `openssl s_client` / `s_server`),
//! `tests/tls_starttls.rs`, `tests/tls_endpoints.rs`.

mod config;
mod endpoints;
mod error;
mod input;
mod layer;
mod protocol;
mod session;
mod transport;

pub use config::{
    TlsClientConfig, TlsConfig, TlsServerConfig, TlsVersion, TrustRoots, DEFAULT_HANDSHAKE_TIMEOUT,
};
pub use endpoints::{TlsClientEndpoint, TlsServerEndpoint};
pub use error::{TlsError, TlsErrorKind};
pub use protocol::{start_tls, tls_of, TlsClientFactory, TlsProtocol, TlsServerFactory};
pub use transport::TlsTransport;

pub(crate) use endpoints::register as register_endpoints;
