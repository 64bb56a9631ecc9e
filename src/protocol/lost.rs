//! [`ConnectionLost`]: why a connection ended.

use std::fmt;
use std::io;

use crate::defer::Failure;

/// Why a connection ended (the `reason` of Twisted's `connectionLost`, which wraps
/// `ConnectionDone`, `ConnectionLost`, `ConnectionAborted` or a timeout).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ConnectionLost {
    /// A clean close: this side called `lose_connection` and everything was sent, or the
    /// peer closed in order.
    Done,
    /// The connection broke: the peer reset it, a write failed, or a layer above TCP (TLS,
    /// say) failed. The failure says what happened (often an [`io::Error`]).
    Lost(Failure),
    /// `abort_connection` was called: queued data was dropped.
    Aborted,
    /// A timeout closed the connection.
    TimedOut,
}

impl ConnectionLost {
    /// A lost connection caused by an OS error.
    #[track_caller]
    pub fn from_io(error: io::Error) -> ConnectionLost {
        ConnectionLost::Lost(Failure::new(error))
    }

    /// True for [`Done`](ConnectionLost::Done): nothing went wrong.
    pub fn is_clean(&self) -> bool {
        matches!(self, ConnectionLost::Done)
    }

    /// The OS error behind a [`Lost`](ConnectionLost::Lost), if that is what it was.
    pub fn io_error(&self) -> Option<&io::Error> {
        match self {
            ConnectionLost::Lost(f) => f.downcast_ref::<io::Error>(),
            _ => None,
        }
    }
}

impl fmt::Display for ConnectionLost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectionLost::Done => f.write_str("connection was closed cleanly"),
            ConnectionLost::Lost(failure) => write!(f, "connection was lost: {failure}"),
            ConnectionLost::Aborted => f.write_str("connection was aborted"),
            ConnectionLost::TimedOut => f.write_str("connection timed out"),
        }
    }
}
