//! UDP: [`Reactor::listen_udp`] and [`Reactor::listen_multicast`] (Twisted's `IReactorUDP`
//! and `IReactorMulticast`), the [`DatagramProtocol`] that receives datagrams, and the
//! [`UdpPort`] it writes through.
//!
//! ```text
//!  listen_udp ─► UdpPort ──recvmmsg (a batch)──► DatagramProtocol::datagram_received × n
//!                   ▲                                          │
//!                   └── before poll: sendmmsg (the turn's writes) ◄── UdpPort::write ─┘
//! ```
//!
//! # Design
//!
//! * **Receiving in batches.** When the socket is readable the port receives up to
//!   [`RECV_BATCH`] datagrams with one `recvmmsg(2)` (Linux) into slots of
//!   `max_packet_size` bytes cut from chunks of the reactor's buffer pool, hands each to the
//!   protocol by reference, and gives the chunks back: an idle port holds no buffer memory,
//!   and a busy one allocates nothing per datagram. It goes on while batches come back full
//!   (at most [`MAX_BATCHES_PER_EVENT`] per readiness event, so one flooded socket cannot
//!   starve the loop; the socket is level-triggered, the rest comes next turn).
//! * **Sending in batches.** [`UdpPort::write`] copies the datagram into the port's send
//!   queue (pooled chunks again) and, once per turn, asks for a flush in the reactor's
//!   before-poll phase: every datagram written during the turn leaves in one `sendmmsg(2)`
//!   per [`SEND_BATCH`]. If the kernel's buffer is full (`EAGAIN`) the rest waits for
//!   writability; the queue holds at most [`MAX_QUEUED`] datagrams, beyond which `write`
//!   fails with `WouldBlock` (UDP may drop; it should not hoard).
//! * **Segmentation offload both ways (Linux).** At 64 bytes the kernel's work per
//!   datagram, not the system call, is what a UDP server pays for (97 % of an echo
//!   server's time, measured), so batching the calls alone changes little. Where the
//!   kernel has `UDP_SEGMENT` (4.18+), a run of datagrams written to one address, all of
//!   one size but a shorter last one, leaves as one segmented send of up to 64: the
//!   route lookup, the socket accounting and the device path are paid once per run and the
//!   kernel (or the network card) cuts the datagrams. Ports whose `max_packet_size` is
//!   65535 also switch on UDP GRO, so a run that a peer sent segmented (or a card merged)
//!   arrives as one buffer and is cut back into its datagrams before the protocol sees
//!   them; with smaller slots GRO stays off, since the kernel would truncate a merged run.
//!   Receivers see the same datagrams either way. [`UdpPort::set_segmentation_offload`]
//!   switches both off; a kernel that refuses a segmented send gets the run again
//!   datagram by datagram.
//! * **Truncation is reported.** A datagram longer than `max_packet_size` is never handed
//!   over cut short as if whole: the kernel's `MSG_TRUNC` flag sends it to
//!   [`DatagramProtocol::datagram_truncated`] instead (by default a warning in the log).
//!   Zero-length datagrams are delivered like any other.
//! * **Errors.** On a connected port an ICMP port-unreachable comes back from a later
//!   receive or send as `ECONNREFUSED`, which reaches the protocol as
//!   [`connection_refused`](DatagramProtocol::connection_refused); the port keeps working.
//!   Other send errors (say `EMSGSIZE`) drop that datagram with a log message.
//! * **Elsewhere.** Without `recvmmsg` / `sendmmsg` (not Linux), or with
//!   [`UdpPort::set_syscall_batching`] off, the same port loops over `recvmsg` / `sendto`,
//!   one system call per datagram, with the same behaviour otherwise. The poll(2) backend
//!   changes nothing here: batching is about the socket calls, not the poller.
//! * **Re-entrancy.** The protocol is called with no internal borrow held (except its own):
//!   from any callback it may write, connect, stop listening (later datagrams of the batch
//!   are then dropped, and `stop_protocol` runs just after the callback returns) or stop the
//!   reactor.
//!
//! Tests: `tests/udp_*.rs`; unit tests in `queue.rs`.

mod handle;
mod multicast;
mod port;
mod queue;

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use torsion_sys::socket;

use crate::defer::Failure;
use crate::Reactor;

pub use handle::UdpPort;

use port::PortInner;

/// Twisted's default `maxPacketSize` for `listenUDP`.
pub const DEFAULT_MAX_PACKET_SIZE: usize = 8192;

/// Most datagrams received with one system call.
pub const RECV_BATCH: usize = 64;

/// Most datagrams sent with one system call.
pub const SEND_BATCH: usize = 64;

/// Most receive batches per readiness event.
pub const MAX_BATCHES_PER_EVENT: usize = 4;

/// Most datagrams a port queues for sending; `write` fails with `WouldBlock` beyond.
pub const MAX_QUEUED: usize = 4096;

/// A protocol that speaks in datagrams (Twisted's `DatagramProtocol`). Every callback gets
/// the [`UdpPort`] it belongs to, through which it can write, connect or stop listening.
///
/// # Examples
///
/// An echo server:
///
/// ```
/// use std::net::SocketAddr;
/// use torsion::udp::{DatagramProtocol, UdpPort, DEFAULT_MAX_PACKET_SIZE};
/// use torsion::Reactor;
///
/// struct Echo;
/// impl DatagramProtocol for Echo {
///     fn datagram_received(&mut self, port: &UdpPort, data: &[u8], addr: SocketAddr) {
///         let _ = port.write(data, addr);
///     }
/// }
///
/// let reactor = Reactor::new()?;
/// let port = reactor.listen_udp(0, Echo, "127.0.0.1", DEFAULT_MAX_PACKET_SIZE)?;
/// println!("echo on udp {}", port.get_host());
/// # reactor.close();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait DatagramProtocol: 'static {
    /// The port is listening (Twisted's `startProtocol`): called once, from
    /// `listen_udp` / `listen_multicast`, before they return.
    fn start_protocol(&mut self, port: &UdpPort) {
        let _ = port;
    }

    /// The port stopped listening (Twisted's `stopProtocol`); the last call the protocol
    /// gets. Writes are ignored from now on.
    fn stop_protocol(&mut self, port: &UdpPort) {
        let _ = port;
    }

    /// A datagram of `data` (possibly empty) came from `addr`. `data` is borrowed from a
    /// receive buffer: copy what you want to keep.
    fn datagram_received(&mut self, port: &UdpPort, data: &[u8], addr: SocketAddr);

    /// A datagram from `addr` was longer than the port's `max_packet_size`; its first
    /// `max_packet_size` bytes are `data`, the rest is lost. By default this logs a warning
    /// and drops it.
    fn datagram_truncated(&mut self, port: &UdpPort, data: &[u8], addr: SocketAddr) {
        log::warn!(
            "udp {}: dropped a datagram from {addr} longer than max_packet_size ({} bytes kept)",
            port.get_host(),
            data.len()
        );
    }

    /// The connected peer's port is unreachable (an ICMP error, reported by the kernel on
    /// a [connected](UdpPort::connect) port only). Twisted's `connectionRefused`.
    fn connection_refused(&mut self, port: &UdpPort) {
        let _ = port;
    }
}

/// A protocol for a [connected](UdpPort::connect) port, which only hears from its peer
/// (Twisted's `ConnectedDatagramProtocol`). Use it through [`Connected`].
pub trait ConnectedDatagramProtocol: 'static {
    /// The port is listening; connect it from here (Twisted connects first).
    fn start_protocol(&mut self, port: &UdpPort) {
        let _ = port;
    }

    /// The port stopped listening.
    fn stop_protocol(&mut self, port: &UdpPort) {
        let _ = port;
    }

    /// A datagram came from the peer.
    fn datagram_received(&mut self, port: &UdpPort, data: &[u8]);

    /// Sending to or receiving from the peer failed (Twisted's `connectionFailed`): the
    /// peer's port is unreachable.
    fn connection_failed(&mut self, port: &UdpPort, failure: Failure) {
        let _ = (port, failure);
    }
}

/// Adapts a [`ConnectedDatagramProtocol`] to a [`DatagramProtocol`], for `listen_udp`.
#[derive(Debug)]
pub struct Connected<P>(pub P);

impl<P: ConnectedDatagramProtocol> DatagramProtocol for Connected<P> {
    fn start_protocol(&mut self, port: &UdpPort) {
        self.0.start_protocol(port);
    }
    fn stop_protocol(&mut self, port: &UdpPort) {
        self.0.stop_protocol(port);
    }
    fn datagram_received(&mut self, port: &UdpPort, data: &[u8], _addr: SocketAddr) {
        self.0.datagram_received(port, data);
    }
    fn connection_refused(&mut self, port: &UdpPort) {
        let failure = Failure::new(io::Error::from(io::ErrorKind::ConnectionRefused));
        self.0.connection_failed(port, failure);
    }
}

/// The address to bind for `interface` (`""` means every IPv4 interface, as in Twisted).
fn bind_address(interface: &str, port: u16) -> io::Result<SocketAddr> {
    let ip: IpAddr = if interface.is_empty() {
        Ipv4Addr::UNSPECIFIED.into()
    } else {
        interface
            .trim_matches(|c| c == '[' || c == ']')
            .parse()
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("interface {interface:?} is not an IP address"),
                )
            })?
    };
    Ok(SocketAddr::new(ip, port))
}

fn check_max_packet_size(max_packet_size: usize) -> io::Result<()> {
    if max_packet_size == 0 || max_packet_size > 65_535 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("max_packet_size {max_packet_size} is not in 1..=65535"),
        ));
    }
    Ok(())
}

/// UDP and multicast (Twisted's `IReactorUDP` and `IReactorMulticast`).
impl Reactor {
    /// Listens for datagrams on UDP `port` (0 picks a free one) on `interface` (`""` for
    /// every IPv4 interface, `"::"` for IPv6, or one address), delivering each of up to
    /// `max_packet_size` bytes (Twisted's default is [`DEFAULT_MAX_PACKET_SIZE`]) to
    /// `protocol`, whose `start_protocol` runs before this returns.
    ///
    /// # Errors
    ///
    /// A bad interface or `max_packet_size` (not in 1..=65535), or the socket's error
    /// (`AddrInUse` if the port is taken).
    pub fn listen_udp<P: DatagramProtocol>(
        &self,
        port: u16,
        protocol: P,
        interface: &str,
        max_packet_size: usize,
    ) -> io::Result<UdpPort> {
        check_max_packet_size(max_packet_size)?;
        let fd = socket::udp_bind(bind_address(interface, port)?)?;
        PortInner::start(self, fd, Box::new(protocol), max_packet_size)
    }

    /// Like [`listen_udp`](Reactor::listen_udp), for a port that joins multicast groups
    /// ([`UdpPort::join_group`]). With `listen_multiple`, `SO_REUSEADDR` and `SO_REUSEPORT`
    /// are set so that several sockets (in this process or others) can bind the same port
    /// and each receive the group's datagrams.
    ///
    /// # Errors
    ///
    /// As for `listen_udp`.
    pub fn listen_multicast<P: DatagramProtocol>(
        &self,
        port: u16,
        protocol: P,
        interface: &str,
        max_packet_size: usize,
        listen_multiple: bool,
    ) -> io::Result<UdpPort> {
        check_max_packet_size(max_packet_size)?;
        let addr = bind_address(interface, port)?;
        let fd = socket::udp_bind_reuse(addr, listen_multiple)?;
        PortInner::start(self, fd, Box::new(protocol), max_packet_size)
    }
}
