//! `listen_udp` over loopback: echo both ways on IPv4 and IPv6 with every backend and both
//! syscall paths, batching (one receive and one send system call for a burst), truncation,
//! zero-length datagrams, connected ports and ICMP refusals, the write errors, broadcast.

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use torsion::udp::{DatagramProtocol, UdpPort, DEFAULT_MAX_PACKET_SIZE};

mod udp_util;

use udp_util::{reactors, run_for, run_until, Echo, Recorder};

fn std_socket(ip: &str) -> UdpSocket {
    let s = UdpSocket::bind((ip, 0)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

#[test]
fn echo_between_two_ports_every_backend_and_path() {
    for reactor in reactors() {
        for batching in [true, false] {
            let server = reactor
                .listen_udp(0, Echo, "127.0.0.1", DEFAULT_MAX_PACKET_SIZE)
                .unwrap();
            server.set_syscall_batching(batching);
            let (client, log) = Recorder::new();
            let client = reactor
                .listen_udp(0, client, "127.0.0.1", DEFAULT_MAX_PACKET_SIZE)
                .unwrap();
            client.set_syscall_batching(batching);
            assert_eq!(log.borrow().started, 1);
            for i in 0..100u32 {
                client.write(&i.to_be_bytes(), server.get_host()).unwrap();
            }
            run_until(&reactor, || log.borrow().datagrams.len() == 100);
            let mut got: Vec<u32> = log
                .borrow()
                .datagrams
                .iter()
                .map(|(d, a)| {
                    assert_eq!(*a, server.get_host());
                    u32::from_be_bytes(d[..].try_into().unwrap())
                })
                .collect();
            got.sort_unstable();
            assert_eq!(got, (0..100).collect::<Vec<_>>());
            assert!(client.stop_listening().called());
            assert_eq!(log.borrow().stopped, 1);
            assert!(!client.is_listening());
            server.stop_listening();
        }
        reactor.close();
    }
}

#[test]
fn ipv6_echo() {
    if UdpSocket::bind("[::1]:0").is_err() {
        eprintln!("skipped: no IPv6 loopback here");
        return;
    }
    let reactor = torsion::Reactor::new().unwrap();
    let server = reactor.listen_udp(0, Echo, "::1", 2048).unwrap();
    assert!(server.get_host().is_ipv6());
    let peer = std_socket("::1");
    peer.send_to(b"six", server.get_host()).unwrap();
    run_for(&reactor, Duration::from_millis(50));
    let mut buf = [0u8; 16];
    let (n, from) = peer.recv_from(&mut buf).unwrap();
    assert_eq!((&buf[..n], from), (&b"six"[..], server.get_host()));
    // An IPv4 destination from an IPv6 port is refused up front.
    let v4: SocketAddr = "127.0.0.1:9".parse().unwrap();
    assert!(server.write(b"x", v4).is_err());
    reactor.close();
}

#[test]
fn a_burst_costs_one_receive_and_one_send_call() {
    let reactor = torsion::Reactor::new().unwrap();
    let server = reactor.listen_udp(0, Echo, "127.0.0.1", 1500).unwrap();
    let peer = std_socket("127.0.0.1");
    for i in 0..40u8 {
        peer.send_to(&[i; 64], server.get_host()).unwrap();
    }
    std::thread::sleep(Duration::from_millis(50));
    let before = reactor.stats();
    reactor.iterate(Duration::from_millis(100)).unwrap(); // receive the burst
    reactor.iterate(Duration::ZERO).unwrap(); // flush in the before-poll phase
    let after = reactor.stats();
    let mut buf = [0u8; 128];
    for _ in 0..40 {
        assert_eq!(peer.recv_from(&mut buf).unwrap().0, 64);
    }
    if torsion::sys::socket::NATIVE_BATCHING {
        assert_eq!(
            after.reads - before.reads,
            1,
            "one recvmmsg for 40 datagrams"
        );
        assert_eq!(
            after.writes - before.writes,
            1,
            "one sendmmsg for 40 echoes"
        );
    }
    // Without batching: one call per datagram.
    server.set_syscall_batching(false);
    for i in 0..10u8 {
        peer.send_to(&[i; 64], server.get_host()).unwrap();
    }
    std::thread::sleep(Duration::from_millis(50));
    let before = reactor.stats();
    reactor.iterate(Duration::from_millis(100)).unwrap();
    reactor.iterate(Duration::ZERO).unwrap();
    let after = reactor.stats();
    assert!(after.reads - before.reads >= 10);
    assert_eq!(after.writes - before.writes, 10);
    reactor.close();
}

/// A peer sends a segmented run (as a GSO-using client would): a port with 64 KiB slots
/// receives it coalesced, hands the protocol every datagram on its own, and its echoes
/// (runs to one address) come back as the same separate datagrams.
#[test]
fn segmented_runs_in_and_out_keep_every_datagram() {
    use torsion::sys::socket::{self, RecvBatch, SendBatch};
    for max in [65_535, 1500] {
        let reactor = torsion::Reactor::new().unwrap();
        let (rec, log) = Recorder::with(|port, data, addr| port.write(data, addr).unwrap());
        let server = reactor.listen_udp(0, rec, "127.0.0.1", max).unwrap();
        let linux = cfg!(target_os = "linux");
        assert_eq!(server.segmentation_offload(), linux);
        let peer = socket::udp_bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let me = socket::local_addr(&peer).unwrap();
        let mut tx = SendBatch::new(64);
        tx.set_segmentation(socket::udp_segmentation_supported(&peer));
        let msgs: Vec<Vec<u8>> = (0..20u8)
            .map(|i| vec![i; 100])
            .chain([vec![99; 7]])
            .collect();
        let sent = tx
            .send(
                &peer,
                msgs.iter().map(|m| (&m[..], Some(server.get_host()))),
            )
            .unwrap();
        assert_eq!(sent, msgs.len());
        run_until(&reactor, || log.borrow().datagrams.len() == msgs.len());
        let got: Vec<_> = log.borrow().datagrams.iter().map(|d| d.0.clone()).collect();
        assert_eq!(got, msgs, "max_packet_size {max}");
        assert!(log.borrow().datagrams.iter().all(|d| d.1 == me));
        assert!(log.borrow().truncated.is_empty());
        reactor.iterate(Duration::ZERO).unwrap(); // the echoes leave before the next poll
        let mut rx = RecvBatch::new(64);
        let mut bufs = [vec![0u8; 64 * 128]];
        let mut echoes = Vec::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while echoes.len() < msgs.len() && std::time::Instant::now() < deadline {
            match rx.recv(&peer, &mut bufs, 128) {
                Ok(n) => {
                    for i in 0..n {
                        let r = rx.get(i).unwrap();
                        assert_eq!(r.segment_size, 0, "no coalescing asked for here");
                        echoes.push(bufs[r.buf][r.offset..r.offset + r.len].to_vec());
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(1))
                }
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(echoes, msgs);
        // Unbatched receives do not cut coalesced runs: switching batching off switches
        // coalescing off too, and the datagrams still arrive one by one.
        server.set_syscall_batching(false);
        log.borrow_mut().datagrams.clear();
        tx.send(
            &peer,
            msgs.iter().map(|m| (&m[..], Some(server.get_host()))),
        )
        .unwrap();
        run_until(&reactor, || log.borrow().datagrams.len() == msgs.len());
        let got: Vec<_> = log.borrow().datagrams.iter().map(|d| d.0.clone()).collect();
        assert_eq!(got, msgs, "unbatched, max_packet_size {max}");
        assert!(!server.set_segmentation_offload(false));
        reactor.close();
    }
}

#[test]
fn truncation_is_reported_and_empty_datagrams_delivered() {
    for reactor in reactors() {
        for batching in [true, false] {
            for max in [16, 20_000] {
                let (rec, log) = Recorder::new();
                let port = reactor.listen_udp(0, rec, "127.0.0.1", max).unwrap();
                port.set_syscall_batching(batching);
                let peer = std_socket("127.0.0.1");
                let me = peer.local_addr().unwrap();
                peer.send_to(b"", port.get_host()).unwrap();
                peer.send_to(&vec![1u8; max + 1], port.get_host()).unwrap();
                peer.send_to(&vec![2u8; max], port.get_host()).unwrap();
                run_until(&reactor, || log.borrow().datagrams.len() == 2);
                let log = log.borrow();
                assert_eq!(log.datagrams[0], (Vec::new(), me));
                assert_eq!(log.datagrams[1], (vec![2u8; max], me));
                assert_eq!(log.truncated, [(max, me)], "batching {batching}, max {max}");
                port.stop_listening();
            }
        }
        reactor.close();
    }
}

#[test]
fn connected_port_hears_only_its_peer_and_gets_refusals() {
    for reactor in reactors() {
        let (rec, log) = Recorder::new();
        let port = reactor.listen_udp(0, rec, "127.0.0.1", 512).unwrap();
        let peer = std_socket("127.0.0.1");
        let other = std_socket("127.0.0.1");
        let peer_at = peer.local_addr().unwrap();
        port.connect("127.0.0.1", peer_at.port()).unwrap();
        assert_eq!(port.get_peer(), Some(peer_at));
        assert!(port.connect("127.0.0.1", 1).is_err(), "connects once");
        assert!(port.write(b"x", other.local_addr().unwrap()).is_err());
        port.write(b"to peer", None).unwrap();
        port.write(b"again", peer_at).unwrap();
        other.send_to(b"ignored", port.get_host()).unwrap();
        peer.send_to(b"from peer", port.get_host()).unwrap();
        run_until(&reactor, || !log.borrow().datagrams.is_empty());
        let mut buf = [0u8; 32];
        let (n, _) = peer.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"to peer");
        run_for(&reactor, Duration::from_millis(30));
        assert_eq!(log.borrow().datagrams, [(b"from peer".to_vec(), peer_at)]);
        // The peer goes away: the ICMP port-unreachable reaches connection_refused, and the
        // port keeps working.
        drop(peer);
        port.write(b"anyone?", None).unwrap();
        run_until(&reactor, || log.borrow().refused > 0);
        port.write(b"still writable", None).unwrap();
        run_until(&reactor, || log.borrow().refused > 1);
        assert!(port.is_listening());
        port.stop_listening();
        reactor.close();
    }
}

#[test]
fn write_errors_and_options() {
    let reactor = torsion::Reactor::new().unwrap();
    let port = reactor.listen_udp(0, Echo, "127.0.0.1", 512).unwrap();
    let to: SocketAddr = "127.0.0.1:9".parse().unwrap();
    assert_eq!(
        port.write(b"x", None).unwrap_err().kind(),
        std::io::ErrorKind::InvalidInput
    );
    assert!(
        port.write(&vec![0u8; 70_000], to).is_err(),
        "message too long"
    );
    assert!(port.connect("localhost", 9).is_err(), "no name lookups");
    assert!(!port.get_broadcast_allowed().unwrap());
    port.set_broadcast_allowed(true).unwrap();
    assert!(port.get_broadcast_allowed().unwrap());
    assert!(reactor.listen_udp(0, Echo, "nonsense", 512).is_err());
    assert!(reactor.listen_udp(0, Echo, "127.0.0.1", 0).is_err());
    let taken = port.get_host().port();
    assert!(reactor.listen_udp(taken, Echo, "127.0.0.1", 512).is_err());
    port.write(b"queued", to).unwrap();
    assert_eq!(port.queued(), (1, 6));
    port.stop_listening();
    assert_eq!(port.queued(), (0, 0));
    assert!(port.write(b"late", to).is_err());
    assert!(port.stop_listening().called(), "stopping twice is harmless");
    reactor.close();
}

/// A protocol whose `start_protocol` sends a datagram: writes work from the start.
struct Hello(SocketAddr);
impl DatagramProtocol for Hello {
    fn start_protocol(&mut self, port: &UdpPort) {
        port.write(b"hello", self.0).unwrap();
    }
    fn datagram_received(&mut self, _: &UdpPort, _: &[u8], _: SocketAddr) {}
}

#[test]
fn start_protocol_can_write() {
    let reactor = torsion::Reactor::new().unwrap();
    let peer = std_socket("127.0.0.1");
    let port = reactor
        .listen_udp(0, Hello(peer.local_addr().unwrap()), "127.0.0.1", 512)
        .unwrap();
    reactor.iterate(Duration::ZERO).unwrap();
    let mut buf = [0u8; 16];
    let (n, from) = peer.recv_from(&mut buf).unwrap();
    assert_eq!((&buf[..n], from), (&b"hello"[..], port.get_host()));
    reactor.close();
}
