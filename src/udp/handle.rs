//! [`UdpPort`]: the handle to a listening UDP port (Twisted's `IUDPTransport` and
//! `IListeningPort`), given to the protocol's callbacks and returned by `listen_udp`.

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;

use torsion_sys::socket;

use super::port::PortInner;
use crate::defer::Deferred;
use crate::Reactor;

/// A listening UDP port. Cheap to clone; every clone is the same port.
#[derive(Clone)]
pub struct UdpPort {
    pub(super) inner: Rc<PortInner>,
}

impl UdpPort {
    pub(super) fn new(inner: Rc<PortInner>) -> UdpPort {
        UdpPort { inner }
    }

    /// Sends `packet` as one datagram to `addr` (`None` on a [connected](UdpPort::connect)
    /// port: to its peer). It is queued and leaves, with the other datagrams written during
    /// this turn, just before the loop next polls.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for no address on an unconnected port, an address other than the
    /// peer on a connected one, an address of the other IP family, or a datagram larger
    /// than UDP allows (Twisted's `MessageLengthError`); `WouldBlock` if
    /// [`MAX_QUEUED`](super::MAX_QUEUED) datagrams already wait; `NotConnected` once the
    /// port stopped listening. Errors the kernel reports when the datagram is sent are
    /// logged (or reach `connection_refused`), not returned.
    pub fn write(&self, packet: &[u8], addr: impl Into<Option<SocketAddr>>) -> io::Result<()> {
        self.inner.write(packet, addr.into())
    }

    /// Connects the port to `host:port` (Twisted's `connect`): from then on it only
    /// receives from there, [`write`](UdpPort::write) takes no address, and an ICMP
    /// port-unreachable reaches the protocol as `connection_refused`. `host` must be an IP
    /// address, as in Twisted (no name lookup). A port connects once.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a host that is not an IP address (or of the other family),
    /// `AlreadyExists` if already connected, or `connect`'s error.
    pub fn connect(&self, host: &str, port: u16) -> io::Result<()> {
        let ip: IpAddr = host
            .trim_matches(|c| c == '[' || c == ']')
            .parse()
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{host:?} is not an IP address (UDP connect does no lookups)"),
                )
            })?;
        if self.inner.connected.get().is_some() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "the port is already connected",
            ));
        }
        let addr = SocketAddr::new(ip, port);
        if addr.is_ipv4() != self.inner.host.is_ipv4() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("cannot connect a port on {} to {addr}", self.inner.host),
            ));
        }
        self.inner.with_fd(|fd| socket::udp_connect(fd, addr))?;
        self.inner.connected.set(Some(addr));
        Ok(())
    }

    /// The peer of a connected port.
    pub fn get_peer(&self) -> Option<SocketAddr> {
        self.inner.connected.get()
    }

    /// The address the port is bound to (with the real port number if 0 was asked for).
    pub fn get_host(&self) -> SocketAddr {
        self.inner.host
    }

    /// The largest datagram delivered whole.
    pub fn max_packet_size(&self) -> usize {
        self.inner.max_packet_size
    }

    /// Stops listening (Twisted's `stopListening`): what this turn wrote is sent if the
    /// kernel takes it at once, the socket is closed and the protocol's `stop_protocol`
    /// runs. The Deferred fires once that has run: at once, or, when called from one of
    /// the protocol's own callbacks, as soon as that callback returns.
    pub fn stop_listening(&self) -> Deferred<()> {
        self.inner.stop_listening()
    }

    /// True until [`stop_listening`](UdpPort::stop_listening).
    pub fn is_listening(&self) -> bool {
        self.inner.is_listening()
    }

    /// Allows sending to broadcast addresses (`SO_BROADCAST`; Twisted's
    /// `setBroadcastAllowed`).
    ///
    /// # Errors
    ///
    /// `NotConnected` once stopped; `setsockopt`'s error.
    pub fn set_broadcast_allowed(&self, allowed: bool) -> io::Result<()> {
        self.inner.with_fd(|fd| socket::set_broadcast(fd, allowed))
    }

    /// Whether sending to broadcast addresses is allowed.
    ///
    /// # Errors
    ///
    /// `NotConnected` once stopped; `getsockopt`'s error.
    pub fn get_broadcast_allowed(&self) -> io::Result<bool> {
        self.inner.with_fd(|fd| socket::broadcast(fd))
    }

    /// Datagrams written and not sent yet, and their total size in bytes.
    pub fn queued(&self) -> (usize, usize) {
        self.inner.queued()
    }

    /// Turns `recvmmsg` / `sendmmsg` batching off (one `recvmsg` / `sendto` per datagram,
    /// as on systems without them) or back on. On by default where the system has them
    /// ([`NATIVE_BATCHING`](torsion_sys::socket::NATIVE_BATCHING)); switching it off is
    /// for comparisons and for testing the portable path.
    pub fn set_syscall_batching(&self, on: bool) {
        self.inner.batching.set(on);
        // Coalesced receives need the batched path, which cuts them up.
        let segmentation = self.inner.segmentation();
        self.inner.set_segmentation(segmentation);
    }

    /// Whether batching is on (see [`set_syscall_batching`](UdpPort::set_syscall_batching)).
    pub fn syscall_batching(&self) -> bool {
        self.inner.batching.get()
    }

    /// Turns UDP generic segmentation offload on or off for this port's sends. On by
    /// default where the kernel has it (Linux 4.18 and later): runs of datagrams written
    /// to one address, all of one size but a shorter last one, leave as one segmented
    /// send of up to 64 datagrams, which the kernel (or the network device) cuts into
    /// the same datagrams a receiver would otherwise see. It needs batching
    /// ([`set_syscall_batching`](UdpPort::set_syscall_batching)). Returns whether it is
    /// on afterwards: asking for it where the kernel lacks it leaves it off.
    pub fn set_segmentation_offload(&self, on: bool) -> bool {
        self.inner.set_segmentation(on)
    }

    /// Whether segmentation offload is on (it switches itself off for good if the
    /// kernel or device refuses it with `EIO`).
    pub fn segmentation_offload(&self) -> bool {
        self.inner.segmentation()
    }

    /// The reactor the port belongs to.
    pub fn reactor(&self) -> &Reactor {
        &self.inner.reactor
    }
}

impl fmt::Debug for UdpPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.inner, f)
    }
}
