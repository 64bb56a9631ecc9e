//! Listening ports: a factory shared by several ports starts and stops once, a factory may
//! refuse a connection, ports report their real address, stop twice harmlessly, and a port
//! in use is a clear error.

mod util;

use std::cell::Cell;
use std::io::Read;
use std::rc::Rc;
use std::time::Duration;

use torsion::protocol::{Address, Factory, Protocol};
use torsion::transport::Transport;
use util::{reactors, run_until, std_client};

struct Silent;
impl Protocol for Silent {
    fn data_received(&mut self, _: &Transport, _: &[u8]) {}
}

#[derive(Default)]
struct Counting {
    starts: Cell<u32>,
    stops: Cell<u32>,
    refuse: Cell<bool>,
    built: Cell<u32>,
}

impl Factory for Counting {
    fn build_protocol(&self, _: &Address) -> Option<Box<dyn Protocol>> {
        self.built.set(self.built.get() + 1);
        (!self.refuse.get()).then(|| Box::new(Silent) as Box<dyn Protocol>)
    }
    fn start_factory(&self) {
        self.starts.set(self.starts.get() + 1);
    }
    fn stop_factory(&self) {
        self.stops.set(self.stops.get() + 1);
    }
}

#[test]
fn a_shared_factory_starts_and_stops_once() {
    for reactor in reactors() {
        let factory = Rc::new(Counting::default());
        let a = reactor
            .listen_tcp(0, factory.clone(), 50, "127.0.0.1")
            .unwrap();
        let b = reactor
            .listen_tcp(0, factory.clone(), 50, "127.0.0.1")
            .unwrap();
        assert_eq!((factory.starts.get(), factory.stops.get()), (1, 0));
        assert_ne!(a.get_host(), b.get_host());
        assert_ne!(a.get_host().port(), Some(0), "the real port is reported");
        drop(a.stop_listening());
        assert_eq!(factory.stops.get(), 0, "b still listens");
        drop(b.stop_listening());
        drop(b.stop_listening()); // twice: harmless
        assert_eq!((factory.starts.get(), factory.stops.get()), (1, 1));
        assert!(!a.is_listening() && !b.is_listening());
        reactor.close();
    }
}

#[test]
fn a_refused_connection_is_closed_at_once() {
    for reactor in reactors() {
        let factory = Rc::new(Counting::default());
        factory.refuse.set(true);
        let port = reactor
            .listen_tcp(0, factory.clone(), 50, "127.0.0.1")
            .unwrap();
        let p = port.get_host().port().unwrap();
        let client = std::thread::spawn(move || {
            let mut s = std_client(p);
            let mut buf = Vec::new();
            s.read_to_end(&mut buf).map(|_| buf.len()).unwrap_or(0)
        });
        run_until(&reactor, Duration::from_secs(10), || client.is_finished());
        assert_eq!(client.join().unwrap(), 0, "closed without a byte");
        assert_eq!(factory.built.get(), 1);
        assert_eq!(reactor.source_count(), 1, "only the port is registered");
        reactor.close();
    }
}

#[test]
fn a_port_in_use_is_a_clear_error() {
    let reactor = torsion::Reactor::new().unwrap();
    let factory = Rc::new(Counting::default());
    let a = reactor
        .listen_tcp(0, factory.clone(), 50, "127.0.0.1")
        .unwrap();
    let taken = a.get_host().port().unwrap();
    let err = reactor
        .listen_tcp(taken, factory.clone(), 50, "127.0.0.1")
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    let bad = reactor
        .listen_tcp(0, factory, 50, "not-an-address")
        .unwrap_err();
    assert!(bad.to_string().contains("not-an-address"), "{bad}");
    reactor.close();
}
