//! Multicast on a [`UdpPort`] (Twisted's `IMulticastTransport`): joining and leaving
//! groups, and the time-to-live, loopback and outgoing interface of what it sends.
//!
//! IPv4 groups are joined on an interface named by its address (the unspecified address,
//! the default, lets the kernel choose by route); IPv6 groups on the default interface.
//!
//! Tests: `tests/udp_multicast.rs`.

use std::io;
use std::net::{IpAddr, Ipv4Addr};

use torsion_sys::socket;

use super::UdpPort;

/// The IPv4 interface address for `interface` (`None`: the kernel's choice).
fn v4_interface(interface: Option<IpAddr>) -> io::Result<Ipv4Addr> {
    match interface {
        None => Ok(Ipv4Addr::UNSPECIFIED),
        Some(IpAddr::V4(a)) => Ok(a),
        Some(IpAddr::V6(a)) => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!("interface {a}: IPv6 interfaces are chosen by the kernel here"),
        )),
    }
}

impl UdpPort {
    fn ipv6(&self) -> bool {
        self.get_host().is_ipv6()
    }

    /// Joins the multicast group `group` on the interface with address `interface` (`None`:
    /// the kernel picks one by route). Twisted's `joinGroup`, which returns a Deferred; the
    /// call here is synchronous.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `group` is not a multicast address of the port's family;
    /// `Unsupported` for an IPv6 interface address; `setsockopt`'s error (`ENODEV` when no
    /// interface routes multicast, `EADDRINUSE` if already joined).
    pub fn join_group(&self, group: IpAddr, interface: Option<IpAddr>) -> io::Result<()> {
        let iface = v4_interface(interface)?;
        self.inner
            .with_fd(|fd| socket::join_multicast(fd, group, iface, 0))
    }

    /// Leaves a group joined with [`join_group`](UdpPort::join_group) (same arguments).
    ///
    /// # Errors
    ///
    /// As for `join_group` (`EADDRNOTAVAIL` if not joined).
    pub fn leave_group(&self, group: IpAddr, interface: Option<IpAddr>) -> io::Result<()> {
        let iface = v4_interface(interface)?;
        self.inner
            .with_fd(|fd| socket::leave_multicast(fd, group, iface, 0))
    }

    /// Sets how many hops outgoing multicast datagrams may take (IPv4 TTL, IPv6 hop
    /// limit; 1, the system default, keeps them on the local network). Twisted's `setTTL`.
    ///
    /// # Errors
    ///
    /// `NotConnected` once stopped; `setsockopt`'s error (a TTL over 255).
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        let v6 = self.ipv6();
        self.inner
            .with_fd(|fd| socket::set_multicast_ttl(fd, v6, ttl))
    }

    /// The multicast TTL (Twisted's `getTTL`).
    ///
    /// # Errors
    ///
    /// `NotConnected` once stopped; `getsockopt`'s error.
    pub fn get_ttl(&self) -> io::Result<u32> {
        let v6 = self.ipv6();
        self.inner.with_fd(|fd| socket::multicast_ttl(fd, v6))
    }

    /// Whether sockets on this host (this one included) receive the multicast datagrams
    /// this port sends (on by default). Twisted's `setLoopbackMode`.
    ///
    /// # Errors
    ///
    /// `NotConnected` once stopped; `setsockopt`'s error.
    pub fn set_loopback_mode(&self, on: bool) -> io::Result<()> {
        let v6 = self.ipv6();
        self.inner
            .with_fd(|fd| socket::set_multicast_loop(fd, v6, on))
    }

    /// See [`set_loopback_mode`](UdpPort::set_loopback_mode) (Twisted's `getLoopbackMode`).
    ///
    /// # Errors
    ///
    /// `NotConnected` once stopped; `getsockopt`'s error.
    pub fn get_loopback_mode(&self) -> io::Result<bool> {
        let v6 = self.ipv6();
        self.inner.with_fd(|fd| socket::multicast_loop(fd, v6))
    }

    /// Sends outgoing multicast datagrams through the interface with address `interface`
    /// (IPv4; the unspecified address restores the kernel's choice). Twisted's
    /// `setOutgoingInterface`.
    ///
    /// # Errors
    ///
    /// `Unsupported` for an IPv6 address; `setsockopt`'s error (`EADDRNOTAVAIL` for an
    /// address no interface has).
    pub fn set_outgoing_interface(&self, interface: IpAddr) -> io::Result<()> {
        let iface = v4_interface(Some(interface))?;
        self.inner
            .with_fd(|fd| socket::set_multicast_interface_v4(fd, iface))?;
        self.inner.outgoing_interface.set(interface);
        Ok(())
    }

    /// The interface set with [`set_outgoing_interface`](UdpPort::set_outgoing_interface)
    /// (`0.0.0.0` until then). Twisted's `getOutgoingInterface`.
    pub fn get_outgoing_interface(&self) -> IpAddr {
        self.inner.outgoing_interface.get()
    }
}
