//! TCP: listen, connect, accept, and the socket options transports use.
//!
//! Tests: unit tests below (127.0.0.1, port 0).

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

use rustix::io::Errno;
use rustix::net::{sockopt, SocketType};

use super::{accept_raw, family_of, new_socket, to_std};

/// A non-blocking, close-on-exec TCP socket listening on `addr` with room for `backlog`
/// pending connections. `reuse_addr` sets `SO_REUSEADDR` first, so a server can restart
/// while old connections linger in `TIME_WAIT`.
///
/// # Errors
///
/// Whatever `socket`, `setsockopt`, `bind` (say `AddrInUse`) or `listen` fails with.
pub fn tcp_listen(addr: SocketAddr, backlog: i32, reuse_addr: bool) -> io::Result<OwnedFd> {
    let fd = new_socket(family_of(&addr), SocketType::STREAM)?;
    if reuse_addr {
        sockopt::set_socket_reuseaddr(&fd, true)?;
    }
    rustix::net::bind(&fd, &addr)?;
    rustix::net::listen(&fd, backlog)?;
    Ok(fd)
}

/// Starts a non-blocking connection to `addr`. Returns the socket and whether it connected
/// at once (possible on loopback); if not, wait for it to become writable, then call
/// [`take_error`](super::take_error): `None` means connected.
///
/// # Errors
///
/// Errors other than `EINPROGRESS` (and `EINTR`, which means the same) from `connect`,
/// such as `ENETUNREACH`, or from `socket`.
pub fn tcp_connect(addr: SocketAddr) -> io::Result<(OwnedFd, bool)> {
    tcp_connect_from(addr, None)
}

/// [`tcp_connect`], first binding the socket to `bind` (a local address; port 0 lets the
/// kernel pick the port) when given: Twisted's `bindAddress`.
///
/// # Errors
///
/// As [`tcp_connect`], plus `bind`'s errors (say `AddrNotAvailable`).
pub fn tcp_connect_from(addr: SocketAddr, bind: Option<SocketAddr>) -> io::Result<(OwnedFd, bool)> {
    let fd = new_socket(family_of(&addr), SocketType::STREAM)?;
    if let Some(local) = bind {
        rustix::net::bind(&fd, &local)?;
    }
    match rustix::net::connect(&fd, &addr) {
        Ok(()) => Ok((fd, true)),
        Err(Errno::INPROGRESS) | Err(Errno::INTR) => Ok((fd, false)),
        Err(e) => Err(e.into()),
    }
}

/// Accepts a pending connection on a listening TCP socket: the new socket (non-blocking,
/// close-on-exec; `accept4` where it exists) and the peer's address.
///
/// # Errors
///
/// `WouldBlock` if no connection is pending; `ECONNABORTED` if one was reset before we
/// took it (accept again); `EMFILE`/`ENFILE` when out of descriptors.
pub fn accept(listener: impl AsFd) -> io::Result<(OwnedFd, SocketAddr)> {
    let (fd, addr) = accept_raw(listener)?;
    Ok((fd, to_std(addr)?))
}

/// Sets `TCP_NODELAY` (disables Nagle's algorithm: small writes go out at once).
///
/// # Errors
///
/// Whatever `setsockopt` fails with (`ENOTSOCK`, `ENOPROTOOPT` on a non-TCP socket).
pub fn set_nodelay(fd: impl AsFd, on: bool) -> io::Result<()> {
    Ok(sockopt::set_tcp_nodelay(fd, on)?)
}

/// Sets `SO_KEEPALIVE` (the kernel probes an idle connection and reports it dead).
///
/// # Errors
///
/// Whatever `setsockopt` fails with.
pub fn set_keepalive(fd: impl AsFd, on: bool) -> io::Result<()> {
    Ok(sockopt::set_socket_keepalive(fd, on)?)
}

/// Sets `SO_LINGER` to zero seconds, so closing the socket discards unsent data and sends a
/// reset instead of a FIN (for tests of abortive close, and `abortConnection`).
///
/// # Errors
///
/// Whatever `setsockopt` fails with.
pub fn set_linger_zero(fd: impl AsFd) -> io::Result<()> {
    Ok(sockopt::set_socket_linger(fd, Some(Duration::ZERO))?)
}

/// Sets `SO_REUSEPORT` (several sockets may bind the same port; Linux balances
/// connections between them). Call it before binding.
///
/// # Errors
///
/// Whatever `setsockopt` fails with.
///
/// # Portability
///
/// The balancing is Linux's (and FreeBSD's with `SO_REUSEPORT_LB`); on other BSDs and
/// macOS the last socket bound takes the connections.
pub fn set_reuse_port(fd: impl AsFd, on: bool) -> io::Result<()> {
    Ok(sockopt::set_socket_reuseport(fd, on)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::socket::test_util::{assert_nonblocking_cloexec, ready};
    use crate::socket::{local_addr, peer_addr, read, send_nosignal, shutdown_write, take_error};
    use rustix::event::PollFlags;

    fn loopback() -> SocketAddr {
        "127.0.0.1:0".parse().unwrap()
    }

    /// A connected `(client, server)` pair.
    fn pair() -> (OwnedFd, OwnedFd) {
        let l = tcp_listen(loopback(), 8, true).unwrap();
        let (c, _) = tcp_connect(local_addr(&l).unwrap()).unwrap();
        assert!(ready(&l, PollFlags::IN));
        let (s, _) = accept(&l).unwrap();
        assert!(ready(&c, PollFlags::OUT));
        assert!(take_error(&c).unwrap().is_none());
        (c, s)
    }

    #[test]
    fn listen_connect_accept() {
        let l = tcp_listen(loopback(), 8, true).unwrap();
        assert_nonblocking_cloexec(&l);
        let at = local_addr(&l).unwrap();
        assert_ne!(at.port(), 0);
        let e = accept(&l).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);

        let (c, _now) = tcp_connect(at).unwrap();
        assert_nonblocking_cloexec(&c);
        assert!(ready(&l, PollFlags::IN));
        let (s, from) = accept(&l).unwrap();
        assert_nonblocking_cloexec(&s);
        assert!(ready(&c, PollFlags::OUT));
        assert!(take_error(&c).unwrap().is_none());
        assert_eq!(from, local_addr(&c).unwrap());
        assert_eq!(peer_addr(&c).unwrap(), at);
        assert_eq!(peer_addr(&s).unwrap(), from);
    }

    #[test]
    fn refused_connection_shows_in_take_error() {
        // Bind a port, then close it so nothing listens there.
        let at = {
            let l = tcp_listen(loopback(), 1, false).unwrap();
            local_addr(&l).unwrap()
        };
        match tcp_connect(at) {
            Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused),
            Ok((c, _)) => {
                assert!(ready(&c, PollFlags::OUT));
                let e = take_error(&c).unwrap().expect("an error");
                assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
            }
        }
    }

    #[test]
    fn options_take_effect() {
        let (c, _s) = pair();
        set_nodelay(&c, true).unwrap();
        assert!(sockopt::tcp_nodelay(&c).unwrap());
        set_keepalive(&c, true).unwrap();
        assert!(sockopt::socket_keepalive(&c).unwrap());
        set_reuse_port(&c, true).unwrap();
        assert!(sockopt::socket_reuseport(&c).unwrap());
        set_linger_zero(&c).unwrap();
        assert_eq!(sockopt::socket_linger(&c).unwrap(), Some(Duration::ZERO));
    }

    #[test]
    fn linger_zero_close_resets_the_peer() {
        let (c, s) = pair();
        set_linger_zero(&s).unwrap();
        drop(s);
        assert!(ready(&c, PollFlags::IN));
        let e = read(&c, &mut [0u8; 8]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionReset);
    }

    #[test]
    fn half_close_and_broken_pipe() {
        let (c, s) = pair();
        send_nosignal(&c, b"ping").unwrap();
        shutdown_write(&c).unwrap();
        assert!(ready(&s, PollFlags::IN));
        let mut buf = [0u8; 8];
        assert_eq!(read(&s, &mut buf).unwrap(), 4);
        assert!(ready(&s, PollFlags::IN));
        assert_eq!(
            read(&s, &mut buf).unwrap(),
            0,
            "EOF after the peer's shutdown"
        );
        send_nosignal(&s, b"pong").unwrap();
        assert!(ready(&c, PollFlags::IN));
        assert_eq!(read(&c, &mut buf).unwrap(), 4);

        // Writing after the peer closed: EPIPE or ECONNRESET, never a SIGPIPE death.
        drop(s);
        let mut err = None;
        for _ in 0..100 {
            match send_nosignal(&c, b"x") {
                Ok(_) => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => {
                    err = Some(e);
                    break;
                }
            }
        }
        let kind = err.expect("write to a closed peer fails").kind();
        assert!(
            matches!(
                kind,
                io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
            ),
            "{kind:?}"
        );
    }

    #[test]
    fn ipv6_loopback_if_available() {
        let Ok(l) = tcp_listen("[::1]:0".parse().unwrap(), 1, true) else {
            return; // no IPv6 on this machine
        };
        let at = local_addr(&l).unwrap();
        assert!(at.is_ipv6());
        let (c, _) = tcp_connect(at).unwrap();
        assert!(ready(&l, PollFlags::IN));
        let (_s, from) = accept(&l).unwrap();
        assert_eq!(from, local_addr(&c).unwrap());
    }
}
