//! [`ReactorError`].

use std::fmt;
use std::io;

/// What can go wrong driving a reactor.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReactorError {
    /// `run` or `iterate` was called while the reactor is already running a turn (from
    /// inside one of its own callbacks). Twisted's `ReactorAlreadyRunning`.
    AlreadyRunning,
    /// `stop` was called on a reactor that is not running, or is already stopping.
    /// Twisted's `ReactorNotRunning`.
    NotRunning,
    /// The reactor was closed with [`Reactor::close`](super::Reactor::close).
    Closed,
    /// The poller failed.
    Io(io::Error),
}

impl fmt::Display for ReactorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReactorError::AlreadyRunning => f.write_str("the reactor is already running"),
            ReactorError::NotRunning => f.write_str("can't stop a reactor that isn't running"),
            ReactorError::Closed => f.write_str("the reactor is closed"),
            ReactorError::Io(e) => write!(f, "reactor I/O error: {e}"),
        }
    }
}

impl std::error::Error for ReactorError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReactorError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for ReactorError {
    fn from(e: io::Error) -> Self {
        ReactorError::Io(e)
    }
}
