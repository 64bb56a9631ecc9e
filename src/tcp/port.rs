//! [`ListeningPort`]: a listening TCP or Unix socket that accepts connections for a factory.
//!
//! Accepting is done in batches (up to [`ACCEPT_BATCH`] per readiness event). Running out of
//! descriptors (`EMFILE`, `ENFILE`) must not spin the loop: the port keeps a spare
//! descriptor, as Twisted does; when accept fails for lack of descriptors it closes the
//! spare, accepts the waiting connection, closes it at once (the client sees it closed
//! rather than hanging) and reopens the spare. If even that fails, it stops accepting for
//! [`EMFILE_PAUSE`] and tries again. The condition is logged once per episode.
//!
//! Tests: `tests/tcp_listen.rs`, `tests/tcp_emfile.rs`.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::rc::{Rc, Weak};
use std::time::Duration;

use torsion_sys::{socket, Interest, Readiness};

use crate::defer::{succeed, Deferred};
use crate::protocol::{Address, Factory};
use crate::reactor::{IoHandler, Reactor, SourceKey};

use super::connection::Connection;
use super::handles::{ListeningPort, PortCore};

/// Most connections accepted per readiness event; more wait for the next turn (the socket
/// is level-triggered), so a flood of connects cannot monopolise a turn.
pub const ACCEPT_BATCH: usize = 128;

/// How long accepting pauses when descriptors run out and the spare cannot help.
pub const EMFILE_PAUSE: Duration = Duration::from_millis(100);

pub(crate) struct PortInner {
    reactor: Reactor,
    me: Weak<PortInner>,
    fd: RefCell<Option<OwnedFd>>,
    key: Cell<Option<SourceKey>>,
    factory: Rc<dyn Factory>,
    host: Address,
    /// A descriptor held in reserve for the EMFILE dance.
    spare: RefCell<Option<File>>,
    /// In an EMFILE episode (logged once).
    starved: Cell<bool>,
    /// Unix socket file to remove when the port closes.
    unix_path: Option<PathBuf>,
}

impl PortInner {
    /// Starts accepting on a listening socket `fd` for `factory`.
    pub(crate) fn start(
        reactor: &Reactor,
        fd: OwnedFd,
        host: Address,
        factory: Rc<dyn Factory>,
        unix_path: Option<PathBuf>,
    ) -> io::Result<ListeningPort> {
        let inner = Rc::new_cyclic(|me| PortInner {
            reactor: reactor.clone(),
            me: me.clone(),
            fd: RefCell::new(None),
            key: Cell::new(None),
            factory,
            host,
            spare: RefCell::new(File::open("/dev/null").ok()),
            starved: Cell::new(false),
            unix_path,
        });
        let handler: Rc<dyn IoHandler> = inner.clone();
        let key = reactor.add_source(&fd, Interest::READABLE, handler)?;
        inner.key.set(Some(key));
        *inner.fd.borrow_mut() = Some(fd);
        crate::protocol::do_start(&inner.factory);
        Ok(ListeningPort::new(inner))
    }
}

impl PortCore for PortInner {
    fn get_host(&self) -> Address {
        self.host.clone()
    }

    fn stop_listening(&self) -> Deferred<()> {
        self.close();
        succeed(())
    }

    fn is_listening(&self) -> bool {
        self.fd.borrow().is_some()
    }
}

impl PortInner {
    fn close(&self) {
        let fd = self.fd.borrow_mut().take();
        let Some(fd) = fd else {
            return;
        };
        if let Some(key) = self.key.take() {
            let _ = self.reactor.remove_source(key, &fd);
        }
        drop(fd);
        if let Some(path) = &self.unix_path {
            let _ = std::fs::remove_file(path);
        }
        crate::protocol::do_stop(&self.factory);
    }

    fn accept_one(&self) -> io::Result<Option<(OwnedFd, Address)>> {
        let fd = self.fd.borrow();
        let Some(fd) = fd.as_ref() else {
            return Ok(None);
        };
        let accepted = match &self.host {
            Address::Tcp(_) => socket::accept(fd).map(|(s, a)| (s, Address::Tcp(a))),
            _ => socket::accept_unix(fd).map(|s| {
                let peer = socket::unix_peer_path(&s).ok().flatten();
                (s, Address::Unix(peer))
            }),
        };
        match accepted {
            Ok(pair) => Ok(Some(pair)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn serve(&self, fd: OwnedFd, peer: Address) {
        let Some(protocol) = self.factory.build_protocol(&peer) else {
            // Refused by the factory: close at once.
            return;
        };
        let host = match &self.host {
            Address::Tcp(_) => socket::local_addr(&fd)
                .map(Address::Tcp)
                .unwrap_or_else(|_| self.host.clone()),
            other => other.clone(),
        };
        if let Err(e) = Connection::start(&self.reactor, fd, host, peer, protocol, None) {
            log::warn!(
                "could not register an accepted connection on {}: {e}",
                self.host
            );
        }
    }

    /// Out of descriptors: free the spare, accept and drop one connection, take the spare
    /// back; if the spare is gone, pause accepting for a while.
    fn starved(&self, error: &io::Error) {
        if !self.starved.replace(true) {
            log::warn!(
                "{}: out of file descriptors ({error}); refusing connections until some are free",
                self.host
            );
        }
        let spare = self.spare.borrow_mut().take();
        if let Some(spare) = spare {
            drop(spare);
            if let Ok(Some((conn, _))) = self.accept_one() {
                drop(conn);
            }
            *self.spare.borrow_mut() = File::open("/dev/null").ok();
        }
        if self.spare.borrow().is_none() {
            self.pause_accepting();
        }
    }

    fn pause_accepting(&self) {
        if let (Some(key), Some(fd)) = (self.key.get(), self.fd.borrow().as_ref()) {
            let _ = self.reactor.set_interest(key, fd, Interest::empty());
        }
        let me = self.me.clone();
        self.reactor.call_later(EMFILE_PAUSE, move || {
            let Some(port) = me.upgrade() else { return };
            if port.spare.borrow().is_none() {
                *port.spare.borrow_mut() = File::open("/dev/null").ok();
            }
            let key = port.key.get();
            let fd = port.fd.borrow();
            if let (Some(key), Some(fd)) = (key, fd.as_ref()) {
                let _ = port.reactor.set_interest(key, fd, Interest::READABLE);
            }
        });
    }
}

impl IoHandler for PortInner {
    fn ready(&self, _reactor: &Reactor, _readiness: Readiness) {
        for _ in 0..ACCEPT_BATCH {
            match self.accept_one() {
                Ok(Some((fd, peer))) => {
                    if self.starved.replace(false) {
                        log::info!("{}: accepting connections again", self.host);
                    }
                    self.serve(fd, peer);
                }
                Ok(None) => return,
                Err(e) if socket::is_out_of_descriptors(&e) => {
                    self.starved(&e);
                    return;
                }
                // The client gave up before we accepted it (ECONNABORTED and kin): next.
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
                Err(e) => {
                    log::warn!("{}: accept failed: {e}", self.host);
                    return;
                }
            }
        }
    }
}

impl fmt::Debug for PortInner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PortInner")
            .field("host", &self.host)
            .finish()
    }
}
