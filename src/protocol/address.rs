//! [`Address`]: where a connection comes from or goes to.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

/// An endpoint address (Twisted's `IPv4Address`, `IPv6Address`, `UNIXAddress`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Address {
    /// A TCP (or UDP) address, IPv4 or IPv6.
    Tcp(SocketAddr),
    /// A Unix socket path; `None` for an unnamed socket (a client's own end, a socket pair).
    Unix(Option<PathBuf>),
    /// An in-memory transport of the testing kit, with a name for messages.
    Memory(String),
}

impl Address {
    /// The socket address, for TCP and UDP.
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        match self {
            Address::Tcp(a) => Some(*a),
            _ => None,
        }
    }

    /// The port, for TCP and UDP.
    pub fn port(&self) -> Option<u16> {
        self.socket_addr().map(|a| a.port())
    }
}

impl From<SocketAddr> for Address {
    fn from(a: SocketAddr) -> Self {
        Address::Tcp(a)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Tcp(a) => write!(f, "tcp:{a}"),
            Address::Unix(Some(p)) => write!(f, "unix:{}", p.display()),
            Address::Unix(None) => f.write_str("unix:(unnamed)"),
            Address::Memory(name) => write!(f, "memory:{name}"),
        }
    }
}
