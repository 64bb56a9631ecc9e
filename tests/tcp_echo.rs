//! The echo server on real loopback sockets, on every backend: std clients, torsion
//! clients, many connections, big payloads through backpressure.

mod util;

use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::rc::Rc;
use std::time::Duration;

use torsion::defer::Failure;
use torsion::protocol::Address;
use torsion::protocol::{for_protocol, ClientFactory, ConnectionLost, Factory, Protocol};
use torsion::tcp::Connector;
use torsion::transport::Transport;
use torsion::Reactor;
use util::reactors;

struct Echo;

impl Protocol for Echo {
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        transport.write(data);
    }
}

fn port_of(p: &torsion::tcp::ListeningPort) -> u16 {
    p.get_host().port().unwrap()
}

#[test]
fn echoes_to_blocking_std_clients() {
    for reactor in reactors() {
        let port = reactor
            .listen_tcp(0, for_protocol(|| Echo), 50, "127.0.0.1")
            .unwrap();
        let p = port_of(&port);
        let handle = reactor.thread_handle();
        let client = std::thread::spawn(move || {
            let mut results = Vec::new();
            for i in 0..5u8 {
                let mut s = TcpStream::connect(("127.0.0.1", p)).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let msg = vec![b'a' + i; 1000 * (i as usize + 1)];
                s.write_all(&msg).unwrap();
                let mut back = vec![0u8; msg.len()];
                s.read_exact(&mut back).unwrap();
                results.push(back == msg);
            }
            handle.stop().unwrap();
            results
        });
        let r = reactor.clone();
        reactor.call_later(Duration::from_secs(20), move || r.crash());
        reactor.run().unwrap();
        assert_eq!(client.join().unwrap(), vec![true; 5]);
        reactor.close();
    }
}

/// A client protocol that sends a payload, collects the echo and disconnects.
struct Sender {
    payload: Vec<u8>,
    got: Rc<RefCell<Vec<u8>>>,
}

impl Protocol for Sender {
    fn connection_made(&mut self, transport: &Transport) {
        transport.write(&self.payload);
    }
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        self.got.borrow_mut().extend_from_slice(data);
        if self.got.borrow().len() >= self.payload.len() {
            transport.lose_connection();
        }
    }
}

struct SenderFactory {
    payload: Vec<u8>,
    got: Rc<RefCell<Vec<u8>>>,
    lost: Rc<Cell<Option<bool>>>,
    reactor: Reactor,
}

impl Factory for SenderFactory {
    fn build_protocol(&self, _: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(Sender {
            payload: self.payload.clone(),
            got: self.got.clone(),
        }))
    }
}

impl ClientFactory for SenderFactory {
    fn client_connection_failed(&self, _: &Connector, reason: Failure) {
        panic!("connect failed: {reason}");
    }
    fn client_connection_lost(&self, _: &Connector, reason: &ConnectionLost) {
        self.lost.set(Some(reason.is_clean()));
        self.reactor.stop().unwrap();
    }
}

#[test]
fn a_torsion_client_and_server_echo_a_megabyte() {
    for reactor in reactors() {
        let port = reactor
            .listen_tcp(0, for_protocol(|| Echo), 50, "127.0.0.1")
            .unwrap();
        let payload: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
        let got = Rc::new(RefCell::new(Vec::new()));
        let lost = Rc::new(Cell::new(None));
        let factory = Rc::new(SenderFactory {
            payload: payload.clone(),
            got: got.clone(),
            lost: lost.clone(),
            reactor: reactor.clone(),
        });
        let r = reactor.clone();
        reactor.call_when_running(move || {
            r.connect_tcp(
                "127.0.0.1",
                port_of(&port),
                factory,
                Some(Duration::from_secs(5)),
                None,
            );
        });
        let r = reactor.clone();
        reactor.call_later(Duration::from_secs(20), move || r.crash());
        reactor.run().unwrap();
        assert_eq!(got.borrow().len(), payload.len());
        assert!(*got.borrow() == payload);
        assert_eq!(lost.get(), Some(true), "closed cleanly");
        reactor.close();
    }
}
