//! [`UnixServerEndpoint`] and [`UnixClientEndpoint`] (Twisted's `UNIXServerEndpoint` and
//! `UNIXClientEndpoint`).
//!
//! Tests: `tests/endpoints_fake.rs`, `tests/endpoints_unix.rs`.

use std::fmt;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use super::error::CannotListen;
use super::wrapping::connect_with;
use super::{IntoReactorTcp, StreamClientEndpoint, StreamServerEndpoint};
use crate::defer::{fail, succeed, Deferred};
use crate::protocol::Factory;
use crate::tcp::{
    Destination, ListeningPort, ReactorTcp, DEFAULT_BACKLOG, DEFAULT_CONNECT_TIMEOUT,
};
use crate::transport::Transport;

/// Twisted's default permission bits for a Unix socket file.
pub const DEFAULT_UNIX_MODE: u32 = 0o666;

/// Listens on a Unix socket (Twisted's `UNIXServerEndpoint`).
///
/// A stale socket file left by an earlier run is replaced, and the file is removed when
/// the port stops listening (both done by the reactor). Twisted's `lockfile` (a
/// `path.lock` file guarding against two servers on one path) is recorded but not
/// implemented: binding already fails with `AddrInUse` while another process listens.
///
/// # Examples
///
/// ```
/// use torsion::endpoints::UnixServerEndpoint;
/// use torsion::Reactor;
///
/// let reactor = Reactor::new()?;
/// let endpoint = UnixServerEndpoint::new(&reactor, "/run/finger.sock").with_mode(0o660);
/// assert_eq!(endpoint.mode(), 0o660);
/// # reactor.close();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct UnixServerEndpoint {
    reactor: Rc<dyn ReactorTcp>,
    path: PathBuf,
    backlog: i32,
    mode: u32,
    lockfile: bool,
}

impl UnixServerEndpoint {
    /// The socket at `path`, mode `0o666`, backlog 50.
    pub fn new(reactor: impl IntoReactorTcp, path: impl Into<PathBuf>) -> UnixServerEndpoint {
        UnixServerEndpoint {
            reactor: reactor.into_reactor_tcp(),
            path: path.into(),
            backlog: DEFAULT_BACKLOG,
            mode: DEFAULT_UNIX_MODE,
            lockfile: true,
        }
    }

    /// Sets the socket file's permission bits.
    pub fn with_mode(mut self, mode: u32) -> UnixServerEndpoint {
        self.mode = mode;
        self
    }

    /// Room for `backlog` connections not yet accepted.
    pub fn with_backlog(mut self, backlog: i32) -> UnixServerEndpoint {
        self.backlog = backlog;
        self
    }

    /// Records Twisted's `lockfile` flag (see the type's documentation).
    pub fn with_lockfile(mut self, lockfile: bool) -> UnixServerEndpoint {
        self.lockfile = lockfile;
        self
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The permission bits.
    pub fn mode(&self) -> u32 {
        self.mode
    }

    /// The backlog.
    pub fn backlog(&self) -> i32 {
        self.backlog
    }

    /// The `lockfile` flag (recorded only).
    pub fn lockfile(&self) -> bool {
        self.lockfile
    }
}

impl StreamServerEndpoint for UnixServerEndpoint {
    fn listen(&self, factory: Rc<dyn Factory>) -> Deferred<ListeningPort> {
        match self
            .reactor
            .listen_unix_dyn(&self.path, factory, self.backlog, self.mode)
        {
            Ok(port) => succeed(port),
            Err(e) => fail(CannotListen::new(
                format!("Unix socket {}", self.path.display()),
                e,
            )),
        }
    }
}

impl fmt::Debug for UnixServerEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixServerEndpoint")
            .field("path", &self.path)
            .field("mode", &format_args!("{:#o}", self.mode))
            .field("backlog", &self.backlog)
            .field("lockfile", &self.lockfile)
            .finish()
    }
}

/// Connects to a Unix socket (Twisted's `UNIXClientEndpoint`). Twisted's `checkPID`
/// (look for the server's lock file first) is recorded but not implemented: a connect to a
/// path nobody listens on fails at once anyway.
#[derive(Clone)]
pub struct UnixClientEndpoint {
    reactor: Rc<dyn ReactorTcp>,
    path: PathBuf,
    timeout: Option<Duration>,
    check_pid: bool,
}

impl UnixClientEndpoint {
    /// The socket at `path`, with Twisted's 30-second timeout.
    pub fn new(reactor: impl IntoReactorTcp, path: impl Into<PathBuf>) -> UnixClientEndpoint {
        UnixClientEndpoint {
            reactor: reactor.into_reactor_tcp(),
            path: path.into(),
            timeout: Some(DEFAULT_CONNECT_TIMEOUT),
            check_pid: false,
        }
    }

    /// Gives up connecting after `timeout` (`None`: never).
    pub fn with_timeout(mut self, timeout: Option<Duration>) -> UnixClientEndpoint {
        self.timeout = timeout;
        self
    }

    /// Records Twisted's `checkPID` flag (see the type's documentation).
    pub fn with_check_pid(mut self, check_pid: bool) -> UnixClientEndpoint {
        self.check_pid = check_pid;
        self
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The connect timeout.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// The `checkPID` flag (recorded only).
    pub fn check_pid(&self) -> bool {
        self.check_pid
    }
}

impl StreamClientEndpoint for UnixClientEndpoint {
    fn connect(&self, factory: Rc<dyn Factory>) -> Deferred<Transport> {
        let destination = Destination::Unix(self.path.clone());
        connect_with(factory, destination, |wrapper| {
            self.reactor
                .connect_unix_dyn(&self.path, wrapper, self.timeout)
        })
    }
}

impl fmt::Debug for UnixClientEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixClientEndpoint")
            .field("path", &self.path)
            .field("timeout", &self.timeout)
            .field("check_pid", &self.check_pid)
            .finish()
    }
}
