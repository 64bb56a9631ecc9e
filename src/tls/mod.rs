//! TLS (placeholder docs; expanded below).
//!
//! Tests: `tests/tls_*.rs`.

mod config;
mod endpoints;
mod error;
mod layer;
mod protocol;
mod session;

pub use config::{
    TlsClientConfig, TlsConfig, TlsServerConfig, TlsVersion, TrustRoots, DEFAULT_HANDSHAKE_TIMEOUT,
};
pub use endpoints::{TlsClientEndpoint, TlsServerEndpoint};
pub use error::{TlsError, TlsErrorKind};
pub use layer::TlsTransport;
pub use protocol::{start_tls, tls_of, TlsClientFactory, TlsProtocol, TlsServerFactory};

pub(crate) use endpoints::register as register_endpoints;
