//! UDP: bind, connect, receive with the sender's address (and whether the datagram was
//! truncated), send to an address, and the broadcast and multicast socket options.
//! Batched receive and send (`recvmmsg` / `sendmmsg`) are in `mmsg.rs`.
//!
//! Tests: unit tests below (127.0.0.1, port 0).

use std::io::{self, IoSliceMut};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::{AsFd, OwnedFd};

use rustix::net::{sockopt, RecvAncillaryBuffer, RecvFlags, ReturnFlags, SendFlags, SocketType};

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

/// A non-blocking, close-on-exec UDP socket bound to `addr`, with `SO_REUSEADDR` and (where
/// the system has it) `SO_REUSEPORT` set first when `reuse` is true, so that several sockets
/// can bind the same multicast port (Twisted's `listenMultiple`).
///
/// # Errors
///
/// Whatever `socket`, `setsockopt` or `bind` fails with.
pub fn udp_bind_reuse(addr: SocketAddr, reuse: bool) -> io::Result<OwnedFd> {
    let fd = new_socket(family_of(&addr), SocketType::DGRAM)?;
    if reuse {
        sockopt::set_socket_reuseaddr(&fd, true)?;
        // Not every system has SO_REUSEPORT; SO_REUSEADDR alone suffices for multicast there.
        let _ = sockopt::set_socket_reuseport(&fd, true);
    }
    rustix::net::bind(&fd, &addr)?;
    Ok(fd)
}

/// Connects a UDP socket to `addr`: it then sends there by default and receives only from
/// there, and ICMP errors (port unreachable) come back as `ConnectionRefused` from later
/// receives and sends.
///
/// # Errors
///
/// Whatever `connect` fails with (say `ENETUNREACH`).
pub fn udp_connect(fd: impl AsFd, addr: SocketAddr) -> io::Result<()> {
    retry(|| rustix::net::connect(&fd, &addr))
}

/// Receives one datagram into `buf` (`recvmsg`): its length, who sent it, and whether it was
/// longer than `buf` (truncated: only `buf.len()` bytes were kept).
///
/// # Errors
///
/// `WouldBlock` when no datagram is queued; `ConnectionRefused` on a connected socket after
/// an ICMP port-unreachable.
pub fn recv_msg(fd: impl AsFd, buf: &mut [u8]) -> io::Result<(usize, SocketAddr, bool)> {
    let msg = retry(|| {
        let mut iov = [IoSliceMut::new(&mut *buf)];
        let mut control = RecvAncillaryBuffer::default();
        rustix::net::recvmsg(&fd, &mut iov, &mut control, RecvFlags::empty())
    })?;
    let truncated = msg.flags.contains(ReturnFlags::TRUNC);
    Ok((msg.bytes.min(buf.len()), to_std(msg.address)?, truncated))
}

/// Sends `buf` as one datagram on a connected socket.
///
/// # Errors
///
/// `WouldBlock` when the send buffer is full; `ConnectionRefused` after an ICMP
/// port-unreachable; `EMSGSIZE` for a datagram too large.
pub fn send_connected(fd: impl AsFd, buf: &[u8]) -> io::Result<usize> {
    retry(|| rustix::net::send(&fd, buf, SendFlags::empty()))
}

/// Allows or forbids sending to broadcast addresses (`SO_BROADCAST`).
///
/// # Errors
///
/// Whatever `setsockopt` fails with.
pub fn set_broadcast(fd: impl AsFd, on: bool) -> io::Result<()> {
    Ok(sockopt::set_socket_broadcast(fd, on)?)
}

/// Whether sending to broadcast addresses is allowed (`SO_BROADCAST`).
///
/// # Errors
///
/// Whatever `getsockopt` fails with.
pub fn broadcast(fd: impl AsFd) -> io::Result<bool> {
    Ok(sockopt::socket_broadcast(fd)?)
}

/// Joins the multicast `group` on the interface with address `interface` (IPv4; the
/// unspecified address lets the kernel choose) or index `ifindex` (IPv6; 0 for the default).
///
/// # Errors
///
/// `InvalidInput` if `group` is not a multicast address of the socket's family; whatever
/// `setsockopt` fails with (`EADDRINUSE` when already joined, `ENODEV` for no route).
pub fn join_multicast(
    fd: impl AsFd,
    group: IpAddr,
    interface: Ipv4Addr,
    ifindex: u32,
) -> io::Result<()> {
    match group {
        IpAddr::V4(g) if g.is_multicast() => {
            Ok(sockopt::set_ip_add_membership(fd, &g, &interface)?)
        }
        IpAddr::V6(g) if g.is_multicast() => Ok(sockopt::set_ipv6_add_membership(fd, &g, ifindex)?),
        _ => Err(not_multicast(group)),
    }
}

/// Leaves a multicast group joined with [`join_multicast`] (same arguments).
///
/// # Errors
///
/// As for [`join_multicast`] (`EADDRNOTAVAIL` if the group was not joined).
pub fn leave_multicast(
    fd: impl AsFd,
    group: IpAddr,
    interface: Ipv4Addr,
    ifindex: u32,
) -> io::Result<()> {
    match group {
        IpAddr::V4(g) if g.is_multicast() => {
            Ok(sockopt::set_ip_drop_membership(fd, &g, &interface)?)
        }
        IpAddr::V6(g) if g.is_multicast() => {
            Ok(sockopt::set_ipv6_drop_membership(fd, &g, ifindex)?)
        }
        _ => Err(not_multicast(group)),
    }
}

fn not_multicast(group: IpAddr) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{group} is not a multicast address"),
    )
}

/// Sets the time-to-live (IPv4) or hop limit (IPv6) of outgoing multicast datagrams.
///
/// # Errors
///
/// Whatever `setsockopt` fails with.
pub fn set_multicast_ttl(fd: impl AsFd, ipv6: bool, ttl: u32) -> io::Result<()> {
    if ipv6 {
        Ok(sockopt::set_ipv6_multicast_hops(fd, ttl)?)
    } else {
        Ok(sockopt::set_ip_multicast_ttl(fd, ttl)?)
    }
}

/// The time-to-live (IPv4) or hop limit (IPv6) of outgoing multicast datagrams.
///
/// # Errors
///
/// Whatever `getsockopt` fails with.
pub fn multicast_ttl(fd: impl AsFd, ipv6: bool) -> io::Result<u32> {
    if ipv6 {
        Ok(sockopt::ipv6_multicast_hops(fd)?)
    } else {
        Ok(sockopt::ip_multicast_ttl(fd)?)
    }
}

/// Whether this host's own sockets get copies of the multicast datagrams it sends.
///
/// # Errors
///
/// Whatever `setsockopt` fails with.
pub fn set_multicast_loop(fd: impl AsFd, ipv6: bool, on: bool) -> io::Result<()> {
    if ipv6 {
        Ok(sockopt::set_ipv6_multicast_loop(fd, on)?)
    } else {
        Ok(sockopt::set_ip_multicast_loop(fd, on)?)
    }
}

/// See [`set_multicast_loop`].
///
/// # Errors
///
/// Whatever `getsockopt` fails with.
pub fn multicast_loop(fd: impl AsFd, ipv6: bool) -> io::Result<bool> {
    if ipv6 {
        Ok(sockopt::ipv6_multicast_loop(fd)?)
    } else {
        Ok(sockopt::ip_multicast_loop(fd)?)
    }
}

/// Sends outgoing IPv4 multicast datagrams through the interface with address `interface`
/// (the unspecified address restores the kernel's choice).
///
/// # Errors
///
/// Whatever `setsockopt` fails with (`EADDRNOTAVAIL` for an address no interface has).
pub fn set_multicast_interface_v4(fd: impl AsFd, interface: Ipv4Addr) -> io::Result<()> {
    Ok(sockopt::set_ip_multicast_if(fd, &interface)?)
}

/// Sends outgoing IPv6 multicast datagrams through the interface with index `ifindex` (0:
/// the kernel's choice).
///
/// # Errors
///
/// Whatever `setsockopt` fails with.
pub fn set_multicast_interface_v6(fd: impl AsFd, ifindex: u32) -> io::Result<()> {
    Ok(sockopt::set_ipv6_multicast_if(fd, ifindex)?)
}

/// The largest UDP payload for a destination of this family: 65,507 bytes over IPv4, 65,527
/// over IPv6 (without jumbograms).
pub fn max_datagram(addr: &SocketAddr) -> usize {
    match addr {
        SocketAddr::V4(_) => 65_507,
        SocketAddr::V6(_) => 65_527,
    }
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

    #[test]
    fn recv_msg_reports_truncation_and_connect_filters() {
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let (a, b) = (udp_bind(any).unwrap(), udp_bind_reuse(any, true).unwrap());
        let (at, bt) = (local_addr(&a).unwrap(), local_addr(&b).unwrap());
        send_to(&a, b"abcdef", bt).unwrap();
        send_to(&a, b"", bt).unwrap();
        assert!(ready(&b, PollFlags::IN));
        let mut buf = [0u8; 4];
        assert_eq!(recv_msg(&b, &mut buf).unwrap(), (4, at, true));
        assert!(ready(&b, PollFlags::IN));
        assert_eq!(recv_msg(&b, &mut buf).unwrap(), (0, at, false));
        udp_connect(&a, bt).unwrap();
        assert_eq!(send_connected(&a, b"xy").unwrap(), 2);
        assert!(ready(&b, PollFlags::IN));
        assert_eq!(recv_msg(&b, &mut buf).unwrap(), (2, at, false));
        set_broadcast(&a, true).unwrap();
        assert!(broadcast(&a).unwrap());
        set_multicast_ttl(&a, false, 3).unwrap();
        assert_eq!(multicast_ttl(&a, false).unwrap(), 3);
        set_multicast_loop(&a, false, false).unwrap();
        assert!(!multicast_loop(&a, false).unwrap());
        let e = join_multicast(&a, "10.0.0.1".parse().unwrap(), Ipv4Addr::UNSPECIFIED, 0);
        assert_eq!(e.unwrap_err().kind(), io::ErrorKind::InvalidInput);
    }
}
