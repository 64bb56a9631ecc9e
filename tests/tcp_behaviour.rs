//! TCP behaviour on real loopback sockets, on every backend: half-close, abort, peers that
//! reset, a panicking protocol, many connections. (Backpressure: tcp_backpressure.rs;
//! descriptor exhaustion: tcp_emfile.rs.)

mod util;

use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::net::Shutdown;
use std::rc::Rc;
use std::time::{Duration, Instant};

use torsion::protocol::{for_protocol, ConnectionLost, Protocol};
use torsion::transport::Transport;
use torsion::Reactor;
use util::{payload, reactors, run_until, std_client};

const LIMIT: Duration = Duration::from_secs(20);

struct Echo;
impl Protocol for Echo {
    fn data_received(&mut self, t: &Transport, data: &[u8]) {
        t.write(data);
    }
}

/// Runs the reactor while `client` runs on a thread; returns the client's result.
fn with_client<T: Send + 'static>(
    reactor: &Reactor,
    client: impl FnOnce() -> T + Send + 'static,
) -> T {
    let handle = reactor.thread_handle();
    let t = std::thread::spawn(move || {
        let out = client();
        let _ = handle.call_from_thread(|r| r.crash());
        out
    });
    let r = reactor.clone();
    let safety = reactor.call_later(LIMIT, move || r.crash());
    reactor.run().unwrap();
    let _ = safety.cancel();
    t.join().expect("client thread")
}

#[test]
fn end_of_input_flushes_what_was_written_before_closing() {
    for reactor in reactors() {
        let port = reactor
            .listen_tcp(0, for_protocol(|| Echo), 50, "127.0.0.1")
            .unwrap();
        let p = port.get_host().port().unwrap();
        let data = payload(1 << 20);
        let expected = data.clone();
        let back = with_client(&reactor, move || {
            let mut s = std_client(p);
            let mut reader = s.try_clone().unwrap();
            let r = std::thread::spawn(move || {
                let mut back = Vec::new();
                reader.read_to_end(&mut back).unwrap();
                back
            });
            s.write_all(&data).unwrap();
            s.shutdown(Shutdown::Write).unwrap();
            r.join().unwrap()
        });
        assert!(
            back == expected,
            "got {} of {} bytes back, then EOF",
            back.len(),
            expected.len()
        );
        reactor.close();
    }
}

struct HalfClose {
    log: Rc<RefCell<Vec<String>>>,
}

impl Protocol for HalfClose {
    fn data_received(&mut self, t: &Transport, data: &[u8]) {
        t.write(data);
    }
    fn half_closeable(&self) -> bool {
        true
    }
    fn read_connection_lost(&mut self, t: &Transport) {
        self.log.borrow_mut().push("read lost".into());
        // Still connected for writing: answer, then shut our side.
        t.write(b" and goodbye");
        t.lose_write_connection();
    }
    fn write_connection_lost(&mut self, t: &Transport) {
        self.log.borrow_mut().push("write lost".into());
        t.lose_connection();
    }
    fn connection_lost(&mut self, _: &Transport, reason: ConnectionLost) {
        self.log
            .borrow_mut()
            .push(format!("lost clean={}", reason.is_clean()));
    }
}

#[test]
fn a_half_closeable_protocol_keeps_writing_after_the_peers_end_of_input() {
    for reactor in reactors() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let l = log.clone();
        let port = reactor
            .listen_tcp(
                0,
                for_protocol(move || HalfClose { log: l.clone() }),
                50,
                "127.0.0.1",
            )
            .unwrap();
        let p = port.get_host().port().unwrap();
        let back = with_client(&reactor, move || {
            let mut s = std_client(p);
            s.write_all(b"hello").unwrap();
            s.shutdown(Shutdown::Write).unwrap();
            let mut back = Vec::new();
            s.read_to_end(&mut back).unwrap();
            back
        });
        assert_eq!(back, b"hello and goodbye");
        run_until(&reactor, LIMIT, || log.borrow().len() == 3);
        assert_eq!(
            *log.borrow(),
            ["read lost", "write lost", "lost clean=true"]
        );
        reactor.close();
    }
}

struct Recorder {
    reasons: Rc<RefCell<Vec<String>>>,
    on_data: fn(&Transport, &[u8]),
}

impl Protocol for Recorder {
    fn data_received(&mut self, t: &Transport, data: &[u8]) {
        (self.on_data)(t, data)
    }
    fn connection_lost(&mut self, t: &Transport, reason: ConnectionLost) {
        assert!(!t.is_connected());
        let kind = match &reason {
            ConnectionLost::Done => "done",
            ConnectionLost::Lost(_) => "lost",
            ConnectionLost::Aborted => "aborted",
            ConnectionLost::TimedOut => "timeout",
            _ => "other",
        };
        self.reasons.borrow_mut().push(kind.to_string());
    }
}

#[test]
fn abort_connection_drops_the_queue_and_reports_aborted() {
    for reactor in reactors() {
        let reasons = Rc::new(RefCell::new(Vec::new()));
        let r = reasons.clone();
        let factory = for_protocol(move || Recorder {
            reasons: r.clone(),
            on_data: |t, _| {
                t.write(&vec![b'x'; 1 << 20]);
                t.abort_connection();
                t.write(b"ignored after abort");
            },
        });
        let port = reactor.listen_tcp(0, factory, 50, "127.0.0.1").unwrap();
        let p = port.get_host().port().unwrap();
        let (got, reset) = with_client(&reactor, move || {
            let mut s = std_client(p);
            s.write_all(b"go").unwrap();
            let mut back = vec![0u8; 1 << 16];
            let mut got = 0;
            let reset = loop {
                match s.read(&mut back) {
                    Ok(0) => break false,
                    Ok(n) => got += n,
                    Err(e) => break e.kind() == std::io::ErrorKind::ConnectionReset,
                }
            };
            (got, reset)
        });
        assert!(got < 1 << 20, "the queue was dropped ({got} bytes arrived)");
        assert!(
            reset,
            "the peer saw an unclean close (a reset), not an orderly end"
        );
        run_until(&reactor, LIMIT, || !reasons.borrow().is_empty());
        assert_eq!(*reasons.borrow(), ["aborted"]);
        reactor.close();
    }
}

#[test]
fn peers_that_reset_before_during_and_after_a_request_are_survived() {
    for reactor in reactors() {
        let reasons = Rc::new(RefCell::new(Vec::new()));
        let r = reasons.clone();
        let factory = for_protocol(move || Recorder {
            reasons: r.clone(),
            on_data: |t, data| {
                if data.ends_with(b"\n") {
                    // A big response, so a reset arrives while we are still writing.
                    t.write(&vec![b'r'; 4 << 20]);
                }
            },
        });
        let port = reactor.listen_tcp(0, factory, 50, "127.0.0.1").unwrap();
        let p = port.get_host().port().unwrap();
        let served = with_client(&reactor, move || {
            use torsion::sys::socket::set_linger_zero;
            for round in 0..3 {
                let mut s = std_client(p);
                match round {
                    0 => {}
                    1 => s.write_all(b"GET /half-a-requ").unwrap(),
                    _ => {
                        s.write_all(b"GET /big\n").unwrap();
                        let mut first = [0u8; 1024];
                        s.read_exact(&mut first).unwrap();
                    }
                }
                set_linger_zero(&s).unwrap();
                drop(s); // RST
                std::thread::sleep(Duration::from_millis(20));
            }
            // The server still serves a well-behaved client.
            let mut s = std_client(p);
            s.write_all(b"hello\n").unwrap();
            let mut first = [0u8; 16];
            s.read_exact(&mut first).unwrap();
            first == [b'r'; 16]
        });
        assert!(served);
        run_until(&reactor, LIMIT, || reasons.borrow().len() >= 4);
        let reasons = reasons.borrow().clone();
        assert_eq!(
            reasons.len(),
            4,
            "connection_lost exactly once each: {reasons:?}"
        );
        assert!(
            reasons[..3].iter().all(|r| r == "lost" || r == "done"),
            "{reasons:?}"
        );
        // Every connection's socket is closed and deregistered: only the port is left.
        assert_eq!(reactor.source_count(), 1);
        drop(port);
        reactor.close();
    }
}

struct Panicky;
impl Protocol for Panicky {
    fn data_received(&mut self, t: &Transport, data: &[u8]) {
        if data.starts_with(b"panic") {
            panic!("deliberate protocol panic");
        }
        t.write(data);
    }
}

#[test]
fn a_panicking_protocol_closes_only_its_own_connection() {
    for reactor in reactors() {
        let port = reactor
            .listen_tcp(0, for_protocol(|| Panicky), 50, "127.0.0.1")
            .unwrap();
        let p = port.get_host().port().unwrap();
        let (bad_closed, good_ok) = with_client(&reactor, move || {
            let mut good = std_client(p);
            good.write_all(b"one").unwrap();
            let mut buf = [0u8; 3];
            good.read_exact(&mut buf).unwrap();
            let mut bad = std_client(p);
            bad.write_all(b"panic").unwrap();
            let mut rest = Vec::new();
            let closed = bad.read_to_end(&mut rest).map(|_| true).unwrap_or(true);
            good.write_all(b"two").unwrap();
            good.read_exact(&mut buf).unwrap();
            (closed && rest.is_empty(), &buf == b"two")
        });
        assert!(bad_closed);
        assert!(good_ok, "the other connection is still served");
        reactor.close();
    }
}

/// A client that sends a message, checks the echo, and closes; counts completions.
struct PingOnce {
    msg: Vec<u8>,
    got: Vec<u8>,
    done: Rc<Cell<usize>>,
}

impl Protocol for PingOnce {
    fn connection_made(&mut self, t: &Transport) {
        t.write(&self.msg);
    }
    fn data_received(&mut self, t: &Transport, data: &[u8]) {
        self.got.extend_from_slice(data);
        if self.got.len() == self.msg.len() {
            assert_eq!(self.got, self.msg);
            t.lose_connection();
        }
    }
    fn connection_lost(&mut self, _: &Transport, reason: ConnectionLost) {
        if reason.is_clean() && self.got == self.msg {
            self.done.set(self.done.get() + 1);
        }
    }
}

#[test]
fn a_thousand_concurrent_connections() {
    torsion::sys::process::raise_nofile_limit().unwrap();
    if torsion::sys::process::nofile_limit().0.unwrap_or(u64::MAX) < 2_200 {
        eprintln!("skipped: the descriptor limit is below 2200");
        return;
    }
    for reactor in reactors() {
        let port = reactor
            .listen_tcp(0, for_protocol(|| Echo), 1024, "127.0.0.1")
            .unwrap();
        let p = port.get_host().port().unwrap();
        let done = Rc::new(Cell::new(0));
        let start = Instant::now();
        for i in 0..1000usize {
            let d = done.clone();
            let msg = format!("hello from client {i}").into_bytes();
            let factory = for_protocol(move || PingOnce {
                msg: msg.clone(),
                got: Vec::new(),
                done: d.clone(),
            });
            reactor.connect_tcp("127.0.0.1", p, factory, Some(Duration::from_secs(10)), None);
        }
        run_until(&reactor, LIMIT, || done.get() == 1000);
        eprintln!(
            "{}: 1000 connections served in {:?}",
            reactor.backend(),
            start.elapsed()
        );
        reactor.close();
    }
}

#[test]
fn bytes_delivered_one_at_a_time_arrive_intact() {
    for reactor in reactors() {
        let port = reactor
            .listen_tcp(0, for_protocol(|| Echo), 50, "127.0.0.1")
            .unwrap();
        let p = port.get_host().port().unwrap();
        let back = with_client(&reactor, move || {
            let mut s = std_client(p);
            s.set_nodelay(true).unwrap();
            let msg = payload(300);
            for (i, b) in msg.iter().enumerate() {
                s.write_all(std::slice::from_ref(b)).unwrap();
                if i % 3 == 0 {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            let mut back = vec![0u8; msg.len()];
            s.read_exact(&mut back).unwrap();
            back == msg
        });
        assert!(back);
        reactor.close();
    }
}

/// Pauses on the first line; a timer resumes the transport from outside any callback.
struct PauseOnFirst {
    got: Rc<RefCell<Vec<String>>>,
}

impl torsion::protocols::basic::LineReceiver for PauseOnFirst {
    fn line_received(&mut self, lines: &mut torsion::protocols::basic::Lines<'_>, line: &[u8]) {
        self.got
            .borrow_mut()
            .push(String::from_utf8_lossy(line).into_owned());
        if self.got.borrow().len() == 1 {
            lines.pause_producing();
            let t = lines.transport().clone();
            let reactor = t.reactor().unwrap();
            reactor.call_later(Duration::from_millis(20), move || t.resume_producing());
        }
    }
}

#[test]
fn lines_held_during_a_pause_arrive_when_a_timer_resumes_reading() {
    use torsion::protocols::basic::LineProtocol;
    for reactor in reactors() {
        let got = Rc::new(RefCell::new(Vec::new()));
        let g = got.clone();
        let factory = for_protocol(move || LineProtocol::new(PauseOnFirst { got: g.clone() }));
        let port = reactor.listen_tcp(0, factory, 50, "127.0.0.1").unwrap();
        let p = port.get_host().port().unwrap();
        let client = std::thread::spawn(move || {
            let mut s = std_client(p);
            // All three lines in one write; nothing more will ever come.
            s.write_all(b"one\r\ntwo\r\nthree\r\n").unwrap();
            std::thread::sleep(Duration::from_millis(500));
        });
        run_until(&reactor, LIMIT, || got.borrow().len() == 3);
        assert_eq!(*got.borrow(), ["one", "two", "three"]);
        client.join().unwrap();
        reactor.close();
    }
}
