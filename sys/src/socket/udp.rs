//! UDP: bind, receive with the sender's address, send to an address.
//!
//! Tests: unit tests below (127.0.0.1, port 0).

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, OwnedFd};

use rustix::net::{RecvFlags, SendFlags, SocketType};

use super::{family_of, new_socket, retry, to_std};

/// A non-blocking, close-on-exec UDP socket bound to `addr` (port 0 picks a free port).
///
/// # Errors
///
/// Whatever `socket` or `bind` fails with (say `AddrInUse`).
pub fn udp_bind(addr: SocketAddr) -> io::Result<OwnedFd> {
    let fd = new_socket(family_of(&addr), SocketType::DGRAM)?;
    rustix::net::bind(&fd, &addr)?;
    Ok(fd)
}

/// Receives one datagram into `buf`: its length (truncated to `buf.len()` if it was
/// longer; the rest is lost) and who sent it.
///
/// # Errors
///
/// `WouldBlock` when no datagram is queued; `ConnectionRefused` on some platforms after a
/// send to a port nobody listened on.
pub fn recv_from(fd: impl AsFd, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
    let (n, _, from) = retry(|| rustix::net::recvfrom(&fd, &mut *buf, RecvFlags::empty()))?;
    Ok((n, to_std(from)?))
}

/// Sends `buf` as one datagram to `addr`, returning the bytes sent (all of them).
///
/// # Errors
///
/// `WouldBlock` when the send buffer is full; `EMSGSIZE` for a datagram too large.
pub fn send_to(fd: impl AsFd, buf: &[u8], addr: SocketAddr) -> io::Result<usize> {
    retry(|| rustix::net::sendto(&fd, buf, SendFlags::empty(), &addr))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::socket::local_addr;
    use crate::socket::test_util::{assert_nonblocking_cloexec, ready};
    use rustix::event::PollFlags;

    #[test]
    fn datagrams_carry_their_sender() {
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let (a, b) = (udp_bind(any).unwrap(), udp_bind(any).unwrap());
        assert_nonblocking_cloexec(&a);
        let (at, bt) = (local_addr(&a).unwrap(), local_addr(&b).unwrap());
        let mut buf = [0u8; 16];
        assert_eq!(
            recv_from(&b, &mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        assert_eq!(send_to(&a, b"one", bt).unwrap(), 3);
        assert_eq!(send_to(&a, b"two!", bt).unwrap(), 4);
        assert!(ready(&b, PollFlags::IN));
        assert_eq!(recv_from(&b, &mut buf).unwrap(), (3, at));
        assert_eq!(&buf[..3], b"one");
        assert!(ready(&b, PollFlags::IN));
        // Truncation: only the first two bytes fit.
        assert_eq!(recv_from(&b, &mut buf[..2]).unwrap(), (2, at));
        assert_eq!(&buf[..2], b"tw");
    }
}
