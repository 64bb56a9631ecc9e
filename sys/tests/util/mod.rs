//! Helpers for the poller tests: bounded waits, event expectations, socket pairs.
//!
//! Every helper that waits is bounded by [`DEADLINE`], so a broken backend fails a test
//! instead of hanging it.

#![allow(dead_code, unreachable_pub)]

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use torsion_sys::{Event, Events, Interest, Poller, Readiness, Token};

/// How long an expectation waits for its events before failing.
pub const DEADLINE: Duration = Duration::from_secs(5);

/// How long a "nothing happens" check waits.
pub const QUIET: Duration = Duration::from_millis(50);

/// One wait with `timeout`, returning the events as a vector.
pub fn wait_once<P: Poller>(p: &mut P, capacity: usize, timeout: Duration) -> Vec<Event> {
    let mut events = Events::with_capacity(capacity);
    p.wait(&mut events, Some(timeout)).expect("wait");
    assert!(events.len() <= capacity);
    events.iter().copied().collect()
}

/// Waits (at most [`DEADLINE`]) until, for every `(token, readiness)` in `expected`, an event
/// for `token` whose readiness contains `readiness` has been seen. Returns everything seen.
#[track_caller]
pub fn expect_events<P: Poller>(p: &mut P, expected: &[(Token, Readiness)]) -> Vec<Event> {
    let start = Instant::now();
    let mut missing: Vec<(Token, Readiness)> = expected.to_vec();
    let mut seen = Vec::new();
    let mut events = Events::with_capacity(64);
    while !missing.is_empty() {
        let left = DEADLINE.saturating_sub(start.elapsed());
        assert!(
            !left.is_zero(),
            "{}: still missing {missing:?} after {DEADLINE:?}; saw {seen:?}",
            P::NAME
        );
        p.wait(&mut events, Some(left.min(Duration::from_millis(100))))
            .expect("wait");
        for e in &events {
            missing.retain(|&(t, r)| !(e.token == t && e.readiness.contains(r)));
            seen.push(*e);
        }
    }
    seen
}

/// Waits [`QUIET`] and asserts that nothing at all was reported.
#[track_caller]
pub fn expect_no_events<P: Poller>(p: &mut P) {
    let got = wait_once(p, 64, QUIET);
    assert!(
        got.is_empty(),
        "{}: expected no events, got {got:?}",
        P::NAME
    );
}

/// Waits [`QUIET`] and asserts that nothing was reported for `token`.
#[track_caller]
pub fn expect_nothing_for<P: Poller>(p: &mut P, token: Token) {
    let got = wait_once(p, 64, QUIET);
    assert!(
        got.iter().all(|e| e.token != token),
        "{}: expected nothing for {token:?}, got {got:?}",
        P::NAME
    );
}

/// The events of one bounded wait for `token`, merged.
pub fn readiness_for<P: Poller>(p: &mut P, token: Token, timeout: Duration) -> Readiness {
    wait_once(p, 64, timeout)
        .iter()
        .filter(|e| e.token == token)
        .fold(Readiness::empty(), |acc, e| acc | e.readiness)
}

/// Asserts that `r` failed with `WouldBlock`.
#[track_caller]
pub fn assert_would_block<T: std::fmt::Debug>(r: io::Result<T>) {
    match r {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
        other => panic!("expected WouldBlock, got {other:?}"),
    }
}

/// A connected, non-blocking Unix stream pair.
pub fn unix_pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().expect("socketpair");
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

/// A connected, non-blocking TCP pair over 127.0.0.1: `(client, server side)`.
pub fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let client = TcpStream::connect(listener.local_addr().unwrap()).expect("connect");
    let (server, _) = listener.accept().expect("accept");
    client.set_nonblocking(true).unwrap();
    server.set_nonblocking(true).unwrap();
    (client, server)
}

/// Reads whatever is available from a non-blocking reader until it would block; returns
/// the number of bytes read, or `None` if it hit EOF.
pub fn drain<R: Read>(r: &mut R) -> Option<usize> {
    let mut buf = [0u8; 4096];
    let mut total = 0;
    loop {
        match r.read(&mut buf) {
            Ok(0) => return None,
            Ok(n) => total += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Some(total),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => panic!("read: {e}"),
        }
    }
}

/// Writes all of `data` (small enough never to fill a socket buffer).
pub fn send<W: Write>(w: &mut W, data: &[u8]) {
    w.write_all(data).expect("write");
}

/// Interest shorthands.
pub const R: Interest = Interest::READABLE;
/// Interest shorthands.
pub const W: Interest = Interest::WRITABLE;
