//! Re-entrancy: a datagram protocol's callbacks may write, stop listening (later datagrams
//! of the same batch are dropped and `stop_protocol` runs once the callback returns) and
//! stop the reactor.

use std::cell::Cell;
use std::net::UdpSocket;
use std::rc::Rc;
use std::time::Duration;

use torsion::udp::{DatagramProtocol, UdpPort};
use torsion::Reactor;

mod udp_util;

use udp_util::{run_for, run_until, Recorder};

fn burst(to: std::net::SocketAddr, n: u8) -> UdpSocket {
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    for i in 0..n {
        peer.send_to(&[i], to).unwrap();
    }
    std::thread::sleep(Duration::from_millis(30));
    peer
}

#[test]
fn writing_from_a_callback_and_from_outside() {
    let reactor = Reactor::new().unwrap();
    let (rec, log) = Recorder::with(|port, data, addr| {
        port.write(data, addr).unwrap();
        port.write(b"extra", addr).unwrap();
    });
    let port = reactor.listen_udp(0, rec, "127.0.0.1", 64).unwrap();
    let peer = burst(port.get_host(), 3);
    run_until(&reactor, || log.borrow().datagrams.len() == 3);
    reactor.iterate(Duration::ZERO).unwrap();
    let mut buf = [0u8; 16];
    for _ in 0..6 {
        peer.recv_from(&mut buf).unwrap();
    }
    reactor.close();
}

#[test]
fn stop_listening_inside_a_batch() {
    for batching in [true, false] {
        let reactor = Reactor::new().unwrap();
        let fired = Rc::new(Cell::new(false));
        let f = fired.clone();
        let (rec, log) = Recorder::with(move |port, _, _| {
            let d = port.stop_listening();
            assert!(
                !d.called(),
                "stop_protocol waits for this callback to return"
            );
            let f = f.clone();
            drop(d.add_callback(move |()| {
                f.set(true);
                Ok(())
            }));
            assert!(port.write(b"late", port.get_host()).is_err());
        });
        let port = reactor.listen_udp(0, rec, "127.0.0.1", 64).unwrap();
        port.set_syscall_batching(batching);
        let _peer = burst(port.get_host(), 5);
        run_until(&reactor, || fired.get());
        run_for(&reactor, Duration::from_millis(20));
        let log = log.borrow();
        assert_eq!(log.datagrams.len(), 1, "the rest of the batch is dropped");
        assert_eq!(log.stopped, 1);
        assert!(!port.is_listening());
        assert_eq!(reactor.source_count(), 0);
        reactor.close();
    }
}

#[test]
fn stopping_the_reactor_from_a_callback() {
    let reactor = Reactor::new().unwrap();
    let r = reactor.clone();
    let (rec, log) = Recorder::with(move |port, data, addr| {
        port.write(data, addr).unwrap();
        let _ = r.stop();
    });
    let port = reactor.listen_udp(0, rec, "127.0.0.1", 64).unwrap();
    let peer = burst(port.get_host(), 2);
    reactor.run().unwrap();
    assert!(!log.borrow().datagrams.is_empty());
    // The echo written before stop still went out (the turn finished its flush).
    let mut buf = [0u8; 4];
    assert!(peer.recv_from(&mut buf).is_ok());
    assert!(port.is_listening());
    reactor.close();
}

/// Stops listening from `start_protocol`.
struct StopAtOnce(Rc<Cell<u32>>);
impl DatagramProtocol for StopAtOnce {
    fn start_protocol(&mut self, port: &UdpPort) {
        drop(port.stop_listening());
    }
    fn stop_protocol(&mut self, _: &UdpPort) {
        self.0.set(self.0.get() + 1);
    }
    fn datagram_received(&mut self, _: &UdpPort, _: &[u8], _: std::net::SocketAddr) {}
}

#[test]
fn stop_listening_from_start_protocol() {
    let reactor = Reactor::new().unwrap();
    let stops = Rc::new(Cell::new(0));
    let port = reactor
        .listen_udp(0, StopAtOnce(stops.clone()), "127.0.0.1", 64)
        .unwrap();
    assert_eq!(stops.get(), 1);
    assert!(!port.is_listening());
    reactor.close();
}

/// Panics on every datagram: the port logs it and goes on.
struct Panicky(Rc<Cell<u32>>);
impl DatagramProtocol for Panicky {
    fn datagram_received(&mut self, _: &UdpPort, _: &[u8], _: std::net::SocketAddr) {
        self.0.set(self.0.get() + 1);
        panic!("boom");
    }
}

#[test]
fn a_panicking_protocol_does_not_stop_the_port() {
    let reactor = Reactor::new().unwrap();
    let n = Rc::new(Cell::new(0));
    let port = reactor
        .listen_udp(0, Panicky(n.clone()), "127.0.0.1", 64)
        .unwrap();
    let _peer = burst(port.get_host(), 3);
    run_until(&reactor, || n.get() == 3);
    assert!(port.is_listening());
    reactor.close();
}
