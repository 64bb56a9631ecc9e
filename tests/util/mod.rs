//! Shared helpers for the behaviour tests.
#![allow(dead_code)]

use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use torsion::reactor::Reactor;
use torsion_sys::Backend;

/// One reactor per backend compiled here, so every reactor test runs on each of them.
pub(crate) fn reactors() -> Vec<Reactor> {
    Backend::available()
        .iter()
        .map(|&b| Reactor::builder().backend(b).build().expect("reactor"))
        .collect()
}

/// A connected, non-blocking pair of stream sockets.
pub(crate) fn pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().expect("socketpair");
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

/// Turns the loop (waiting at most 10 ms a turn) until `done` says so; panics after `limit`.
pub(crate) fn turn_until(reactor: &Reactor, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < limit,
            "condition not reached within {limit:?}"
        );
        reactor.iterate(Duration::from_millis(10)).expect("iterate");
    }
}

/// Open descriptors of this process.
pub(crate) fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Runs `reactor` until `done` says so (checked every turn), or panics after `limit`.
pub(crate) fn run_until(reactor: &Reactor, limit: Duration, done: impl FnMut() -> bool) {
    turn_until(reactor, limit, done)
}

/// A blocking std TCP client with a read timeout, connected to 127.0.0.1:`port`.
pub(crate) fn std_client(port: u16) -> std::net::TcpStream {
    let s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// A deterministic payload.
pub(crate) fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 % 251) as u8).collect()
}
