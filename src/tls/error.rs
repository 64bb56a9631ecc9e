//! [`TlsError`]: why a TLS connection failed, or why a TLS configuration could not be
//! built. A failed connection's protocol gets it inside
//! `ConnectionLost::Lost(failure)`; [`TlsError::of`] finds it there.
//!
//! Tests: `tests/tls_tcp.rs`, `tests/tls_openssl.rs`, `tests/tls_endpoints.rs`.

use std::error::Error;
use std::fmt;

use crate::protocol::ConnectionLost;

/// What kind of TLS failure it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TlsErrorKind {
    /// The peer's certificate chains to no trusted root (an untrusted or self-signed
    /// certificate).
    UnknownIssuer,
    /// The server's certificate does not name the host we connected to.
    NameMismatch,
    /// The peer's certificate has expired.
    Expired,
    /// The peer's certificate is not valid yet.
    NotYetValid,
    /// The peer's certificate is unusable for another reason (bad signature, wrong
    /// purpose, unsupported algorithm, ...).
    BadCertificate,
    /// A client certificate was required and none was presented.
    NoPeerCertificate,
    /// The peer sent something that is not TLS: a plain-text client on a TLS port.
    NotTls,
    /// The peer refused the handshake with a fatal alert (it did not trust our
    /// certificate, say).
    AlertReceived,
    /// The handshake did not complete in time.
    HandshakeTimeout,
    /// The peer closed the connection without `close_notify`: the data may be truncated
    /// (OpenSSL's "unexpected eof while reading").
    UnexpectedEof,
    /// The connection was lost (reset, closed) before the handshake completed.
    HandshakeInterrupted,
    /// Any other violation of the protocol (no shared version or cipher suite, a bad
    /// record, ...).
    Protocol,
    /// A configuration could not be built: a file that cannot be read, PEM with no
    /// certificate or key, a key that does not match its certificate, a bad host name.
    Config,
}

/// A TLS failure: its [kind](TlsErrorKind) and a message saying what happened.
///
/// # Examples
///
/// Telling a certificate problem from a lost connection in `connection_lost`:
///
/// ```
/// use torsion::protocol::ConnectionLost;
/// use torsion::tls::{TlsError, TlsErrorKind};
///
/// fn why(reason: &ConnectionLost) -> String {
///     match TlsError::of(reason) {
///         Some(e) if e.kind() == TlsErrorKind::NameMismatch => format!("wrong host: {e}"),
///         Some(e) => format!("TLS failed: {e}"),
///         None => reason.to_string(),
///     }
/// }
/// # let _ = why;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsError {
    kind: TlsErrorKind,
    message: String,
}

impl TlsError {
    /// A failure of this kind.
    pub fn new(kind: TlsErrorKind, message: impl Into<String>) -> TlsError {
        TlsError {
            kind,
            message: message.into(),
        }
    }

    /// The kind.
    pub fn kind(&self) -> TlsErrorKind {
        self.kind
    }

    /// The message (without the "TLS" prefix the `Display` form adds).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The TLS failure behind a connection's end, if that is what ended it.
    pub fn of(reason: &ConnectionLost) -> Option<&TlsError> {
        match reason {
            ConnectionLost::Lost(f) => f.downcast_ref::<TlsError>(),
            _ => None,
        }
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            TlsErrorKind::Config => "TLS configuration error",
            TlsErrorKind::UnexpectedEof => "TLS connection truncated",
            TlsErrorKind::HandshakeTimeout | TlsErrorKind::HandshakeInterrupted => {
                "TLS handshake failed"
            }
            TlsErrorKind::Protocol => "TLS error",
            _ => "TLS handshake failed",
        };
        write!(f, "{what}: {}", self.message)
    }
}

impl Error for TlsError {}
