//! Unix-domain stream sockets: listen on a path, connect, accept, addresses, and a
//! connected pair.
//!
//! Tests: unit tests below (sockets in the temporary directory).

use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::io::Errno;
use rustix::net::{AddressFamily, SocketAddrAny, SocketAddrUnix, SocketType};

use super::{accept_raw, new_socket};

/// A non-blocking, close-on-exec Unix stream socket listening on `path` (which must not
/// exist; remove a stale one first).
///
/// # Errors
///
/// `AddrInUse` if `path` exists; `InvalidInput` if it is too long for `sun_path`
/// (about 100 bytes); whatever `bind` or `listen` fails with.
pub fn unix_listen(path: &Path, backlog: i32) -> io::Result<OwnedFd> {
    let addr = SocketAddrUnix::new(path)?;
    let fd = new_socket(AddressFamily::UNIX, SocketType::STREAM)?;
    rustix::net::bind(&fd, &addr)?;
    rustix::net::listen(&fd, backlog)?;
    Ok(fd)
}

/// Connects a non-blocking Unix stream socket to `path`. Returns the socket and whether it
/// connected at once, which is the usual case for Unix sockets; if not, wait for it to be
/// writable and check [`take_error`](super::take_error) as for TCP.
///
/// # Errors
///
/// `NotFound` or `ConnectionRefused` if nobody listens there; `WouldBlock` if the
/// listener's backlog is full (Linux); whatever `socket` fails with.
pub fn unix_connect(path: &Path) -> io::Result<(OwnedFd, bool)> {
    let addr = SocketAddrUnix::new(path)?;
    let fd = new_socket(AddressFamily::UNIX, SocketType::STREAM)?;
    match rustix::net::connect(&fd, &addr) {
        Ok(()) => Ok((fd, true)),
        Err(Errno::INPROGRESS) | Err(Errno::INTR) => Ok((fd, false)),
        Err(e) => Err(e.into()),
    }
}

/// Accepts a pending connection on a listening Unix socket (non-blocking, close-on-exec).
/// Clients are usually unbound, so no peer address is returned.
///
/// # Errors
///
/// `WouldBlock` if no connection is pending; as for [`accept`](super::accept) otherwise.
pub fn accept_unix(listener: impl AsFd) -> io::Result<OwnedFd> {
    Ok(accept_raw(listener)?.0)
}

/// The filesystem path `addr` names, if it names one (not unnamed, not abstract).
fn path_of(addr: SocketAddrAny) -> io::Result<Option<PathBuf>> {
    let unix = SocketAddrUnix::try_from(addr)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not a Unix socket address"))?;
    Ok(unix
        .path_bytes()
        .map(|b| PathBuf::from(OsStr::from_bytes(b))))
}

/// The path a Unix socket is bound to, or `None` if it is unbound (a connecting client,
/// one end of a socketpair).
///
/// # Errors
///
/// `InvalidData` if `fd` is not a Unix socket; whatever `getsockname` fails with.
pub fn unix_local_path(fd: impl AsFd) -> io::Result<Option<PathBuf>> {
    path_of(rustix::net::getsockname(fd)?)
}

/// The path the peer of a connected Unix socket is bound to (for a client: the
/// listener's path), or `None` if the peer is unbound.
///
/// # Errors
///
/// `NotConnected` without a peer; `InvalidData` if `fd` is not a Unix socket.
pub fn unix_peer_path(fd: impl AsFd) -> io::Result<Option<PathBuf>> {
    match rustix::net::getpeername(fd)? {
        Some(addr) => path_of(addr),
        None => Ok(None),
    }
}

/// A connected pair of non-blocking, close-on-exec Unix stream sockets (for tests, and for
/// wiring two parts of a program together).
///
/// # Errors
///
/// Whatever `socketpair` fails with (`EMFILE`).
pub fn socketpair() -> io::Result<(OwnedFd, OwnedFd)> {
    #[cfg(not(any(
        target_os = "macos",
        target_os = "ios",
        target_os = "tvos",
        target_os = "watchos",
        target_os = "visionos"
    )))]
    {
        use rustix::net::SocketFlags;
        let flags = SocketFlags::NONBLOCK | SocketFlags::CLOEXEC;
        Ok(rustix::net::socketpair(
            AddressFamily::UNIX,
            SocketType::STREAM,
            flags,
            None,
        )?)
    }
    #[cfg(any(
        target_os = "macos",
        target_os = "ios",
        target_os = "tvos",
        target_os = "watchos",
        target_os = "visionos"
    ))]
    {
        use rustix::net::SocketFlags;
        let (a, b) = rustix::net::socketpair(
            AddressFamily::UNIX,
            SocketType::STREAM,
            SocketFlags::empty(),
            None,
        )?;
        Ok((super::finish(a)?, super::finish(b)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::socket::test_util::{assert_nonblocking_cloexec, ready};
    use crate::socket::{read, send_nosignal};
    use rustix::event::PollFlags;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A fresh socket path in the temporary directory, removed when dropped.
    struct TempPath(PathBuf);

    impl TempPath {
        fn new() -> TempPath {
            static N: AtomicU32 = AtomicU32::new(0);
            let n = N.fetch_add(1, Ordering::Relaxed);
            let p = std::env::temp_dir().join(format!("torsion-{}-{n}.sock", std::process::id()));
            let _ = std::fs::remove_file(&p);
            TempPath(p)
        }
    }

    impl Drop for TempPath {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    #[test]
    fn listen_connect_accept_and_paths() {
        let path = TempPath::new();
        let l = unix_listen(&path.0, 4).unwrap();
        assert_nonblocking_cloexec(&l);
        assert_eq!(
            unix_local_path(&l).unwrap().as_deref(),
            Some(path.0.as_path())
        );
        assert_eq!(
            accept_unix(&l).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        let (c, _) = unix_connect(&path.0).unwrap();
        assert_nonblocking_cloexec(&c);
        assert!(ready(&l, PollFlags::IN));
        let s = accept_unix(&l).unwrap();
        assert_nonblocking_cloexec(&s);
        assert_eq!(unix_local_path(&c).unwrap(), None, "client is unbound");
        assert_eq!(
            unix_peer_path(&c).unwrap().as_deref(),
            Some(path.0.as_path())
        );
        assert_eq!(unix_peer_path(&s).unwrap(), None);

        send_nosignal(&c, b"over unix").unwrap();
        assert!(ready(&s, PollFlags::IN));
        let mut buf = [0u8; 16];
        assert_eq!(read(&s, &mut buf).unwrap(), 9);
        assert_eq!(&buf[..9], b"over unix");

        // The path is taken while the file exists.
        assert_eq!(
            unix_listen(&path.0, 1).unwrap_err().kind(),
            io::ErrorKind::AddrInUse
        );
    }

    #[test]
    fn connecting_to_nothing_fails() {
        let path = TempPath::new();
        let e = unix_connect(&path.0).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn socketpair_is_connected_nonblocking_cloexec() {
        let (a, b) = socketpair().unwrap();
        assert_nonblocking_cloexec(&a);
        assert_nonblocking_cloexec(&b);
        send_nosignal(&a, b"x").unwrap();
        assert!(ready(&b, PollFlags::IN));
        assert_eq!(read(&b, &mut [0u8; 2]).unwrap(), 1);
        assert_eq!(unix_local_path(&a).unwrap(), None);
        assert_eq!(unix_peer_path(&a).unwrap(), None);
    }
}
