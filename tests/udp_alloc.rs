//! The UDP echo path makes no heap allocation per datagram in steady state: two torsion
//! ports ping-pong 64-byte datagrams over loopback (32 in flight) in one reactor, and a
//! counting global allocator shows that, after warm-up, thousands of round trips allocate
//! nothing. Both backends, both syscall paths.

use std::cell::Cell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use torsion::udp::{DatagramProtocol, UdpPort};
use torsion::Reactor;

mod alloc_count;

use alloc_count::count;

struct Echo;
impl DatagramProtocol for Echo {
    fn datagram_received(&mut self, port: &UdpPort, data: &[u8], addr: SocketAddr) {
        port.write(data, addr).unwrap();
    }
}

struct Pinger(Rc<Cell<u64>>);
impl DatagramProtocol for Pinger {
    fn datagram_received(&mut self, port: &UdpPort, data: &[u8], addr: SocketAddr) {
        self.0.set(self.0.get() + 1);
        port.write(data, addr).unwrap();
    }
}

fn run_until(reactor: &Reactor, n: &Rc<Cell<u64>>, target: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while n.get() < target {
        assert!(Instant::now() < deadline, "stalled at {}", n.get());
        reactor.iterate(Duration::from_millis(10)).unwrap();
    }
}

#[test]
fn udp_echo_allocates_nothing_in_steady_state() {
    for &backend in torsion::sys::Backend::available() {
        // 65535-byte slots: segmented sends and coalesced receives (GSO / GRO) too.
        for (batching, max) in [(true, 2048), (false, 2048), (true, 65_535)] {
            let reactor = Reactor::builder().backend(backend).build().unwrap();
            let server = reactor.listen_udp(0, Echo, "127.0.0.1", max).unwrap();
            let n = Rc::new(Cell::new(0u64));
            let client = reactor
                .listen_udp(0, Pinger(n.clone()), "127.0.0.1", max)
                .unwrap();
            server.set_syscall_batching(batching);
            client.set_syscall_batching(batching);
            for i in 0..32u8 {
                client.write(&[i; 64], server.get_host()).unwrap();
            }
            run_until(&reactor, &n, 2_000);
            let start = n.get();
            let (allocs, ()) = count(|| run_until(&reactor, &n, start + 20_000));
            assert_eq!(
                allocs,
                0,
                "{backend}, batching {batching}, max {max}: {allocs} allocations over {} round trips",
                n.get() - start
            );
            reactor.close();
        }
    }
}
