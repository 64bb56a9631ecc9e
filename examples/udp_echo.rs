//! A UDP echo server, one to one with Twisted's `docs/core/examples/echoserv_udp.py`:
//!
//! ```python
//! class Echo(DatagramProtocol):
//!     def datagramReceived(self, data, addr):
//!         self.transport.write(data, addr)
//!
//! reactor.listenUDP(9999, Echo())
//! reactor.run()
//! ```
//!
//! `cargo run --release --example udp_echo [PORT] [INTERFACE] [MAX_PACKET_SIZE]`
//! (defaults `9999`, `127.0.0.1`, `65535`; port 0 picks a free one). Prints
//! `udp echo listening on ADDR:PORT` on stderr. Ctrl-C stops it. Set `UDP_NO_BATCHING=1`
//! to use one `recvmsg` / `sendto` per datagram instead of `recvmmsg` / `sendmmsg`, and
//! `UDP_NO_GSO=1` to send each datagram on its own instead of in segmented runs.

use std::net::SocketAddr;

use torsion::udp::{DatagramProtocol, UdpPort};
use torsion::Reactor;

struct Echo;

impl DatagramProtocol for Echo {
    fn datagram_received(&mut self, port: &UdpPort, data: &[u8], addr: SocketAddr) {
        if let Err(e) = port.write(data, addr) {
            eprintln!("could not echo to {addr}: {e}");
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().map(|p| p.parse()).transpose()?.unwrap_or(9999);
    let interface = args.next().unwrap_or_else(|| "127.0.0.1".to_string());
    let max_packet_size: usize = args.next().map(|p| p.parse()).transpose()?.unwrap_or(65535);
    let reactor = Reactor::builder().handle_signals(true).build()?;
    let udp = reactor.listen_udp(port, Echo, &interface, max_packet_size)?;
    if std::env::var_os("UDP_NO_BATCHING").is_some() {
        udp.set_syscall_batching(false);
    }
    if std::env::var_os("UDP_NO_GSO").is_some() {
        udp.set_segmentation_offload(false);
    }
    eprintln!("udp echo listening on {}", udp.get_host());
    reactor.run()?;
    reactor.close();
    Ok(())
}
