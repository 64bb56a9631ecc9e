//! Shared pieces of the UDP tests: a recording protocol, an echo protocol, and a bounded
//! loop driver.
#![allow(dead_code)]

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use torsion::udp::{DatagramProtocol, UdpPort};
use torsion::Reactor;

/// What a [`Recorder`] saw.
#[derive(Debug, Default)]
pub(crate) struct Log {
    pub(crate) started: usize,
    pub(crate) stopped: usize,
    pub(crate) datagrams: Vec<(Vec<u8>, SocketAddr)>,
    pub(crate) truncated: Vec<(usize, SocketAddr)>,
    pub(crate) refused: usize,
}

/// A hook run on each datagram.
pub(crate) type OnDatagram = dyn FnMut(&UdpPort, &[u8], SocketAddr);

/// Records every callback; `on_datagram` runs after recording a datagram.
pub(crate) struct Recorder {
    pub(crate) log: Rc<RefCell<Log>>,
    pub(crate) on_datagram: Box<OnDatagram>,
}

impl Recorder {
    pub(crate) fn new() -> (Recorder, Rc<RefCell<Log>>) {
        Recorder::with(|_, _, _| {})
    }

    pub(crate) fn with(
        f: impl FnMut(&UdpPort, &[u8], SocketAddr) + 'static,
    ) -> (Recorder, Rc<RefCell<Log>>) {
        let log = Rc::new(RefCell::new(Log::default()));
        let r = Recorder {
            log: log.clone(),
            on_datagram: Box::new(f),
        };
        (r, log)
    }
}

impl DatagramProtocol for Recorder {
    fn start_protocol(&mut self, _port: &UdpPort) {
        self.log.borrow_mut().started += 1;
    }
    fn stop_protocol(&mut self, _port: &UdpPort) {
        self.log.borrow_mut().stopped += 1;
    }
    fn datagram_received(&mut self, port: &UdpPort, data: &[u8], addr: SocketAddr) {
        self.log.borrow_mut().datagrams.push((data.to_vec(), addr));
        (self.on_datagram)(port, data, addr);
    }
    fn datagram_truncated(&mut self, _port: &UdpPort, data: &[u8], addr: SocketAddr) {
        self.log.borrow_mut().truncated.push((data.len(), addr));
    }
    fn connection_refused(&mut self, _port: &UdpPort) {
        self.log.borrow_mut().refused += 1;
    }
}

/// Echoes every datagram to its sender.
pub(crate) struct Echo;

impl DatagramProtocol for Echo {
    fn datagram_received(&mut self, port: &UdpPort, data: &[u8], addr: SocketAddr) {
        port.write(data, addr).unwrap();
    }
}

/// Turns the loop until `done` is true; panics after 10 s.
#[track_caller]
pub(crate) fn run_until(reactor: &Reactor, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out");
        reactor.iterate(Duration::from_millis(10)).unwrap();
    }
}

/// Turns the loop for `d` (to let stray datagrams arrive).
pub(crate) fn run_for(reactor: &Reactor, d: Duration) {
    let end = Instant::now() + d;
    while Instant::now() < end {
        reactor.iterate(Duration::from_millis(5)).unwrap();
    }
}

/// A reactor per available backend (epoll and poll on Linux).
pub(crate) fn reactors() -> Vec<Reactor> {
    torsion::sys::Backend::available()
        .iter()
        .map(|&b| Reactor::builder().backend(b).build().unwrap())
        .collect()
}
