//! Writes made during one turn leave in one system call per connection, and an echo costs
//! one read and one write per message. Connections are edge-triggered where the poller
//! can (epoll): the tests at the end drive the cases where no new edge comes by itself (input
//! larger than the read buffer, a write queue longer than one `sendmsg`, data and the
//! peer's close reported together).

mod util;

use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::rc::Rc;
use std::time::Duration;

use torsion::protocol::{for_protocol, ConnectionLost, Protocol};
use torsion::transport::Transport;
use util::{payload, reactors, run_until, std_client};

const LIMIT: Duration = Duration::from_secs(15);

struct Chatty;
impl Protocol for Chatty {
    fn data_received(&mut self, t: &Transport, _: &[u8]) {
        for i in 0..10u8 {
            t.write(&[b'a' + i; 100]);
        }
        t.write_sequence(&[b"x", b"y", b"z"]);
    }
}

#[test]
fn many_writes_in_one_callback_make_one_write_call() {
    for reactor in reactors() {
        let port = reactor
            .listen_tcp(0, for_protocol(|| Chatty), 50, "127.0.0.1")
            .unwrap();
        let p = port.get_host().port().unwrap();
        let client = std::thread::spawn(move || {
            let mut s = std_client(p);
            s.write_all(b"go").unwrap();
            let mut got = vec![0u8; 1003];
            s.read_exact(&mut got).unwrap();
            got
        });
        let before = reactor.stats().writes;
        run_until(&reactor, LIMIT, || client.is_finished());
        let got = client.join().unwrap();
        assert_eq!(&got[1000..], b"xyz");
        assert_eq!(
            reactor.stats().writes - before,
            1,
            "one sendmsg for 13 writes"
        );
        reactor.close();
    }
}

struct Echo;
impl Protocol for Echo {
    fn data_received(&mut self, t: &Transport, data: &[u8]) {
        t.write(data);
    }
}

#[test]
fn an_echo_costs_one_read_and_one_write_per_message() {
    for reactor in reactors() {
        let port = reactor
            .listen_tcp(0, for_protocol(|| Echo), 50, "127.0.0.1")
            .unwrap();
        let p = port.get_host().port().unwrap();
        let client = std::thread::spawn(move || {
            let mut s = std_client(p);
            s.set_nodelay(true).unwrap();
            let mut buf = [0u8; 64];
            for _ in 0..500 {
                s.write_all(&[7u8; 64]).unwrap();
                s.read_exact(&mut buf).unwrap();
            }
        });
        run_until(&reactor, LIMIT, || reactor.stats().accepts == 1);
        let before = reactor.stats();
        run_until(&reactor, LIMIT, || client.is_finished());
        client.join().unwrap();
        let after = reactor.stats();
        let (reads, writes) = (after.reads - before.reads, after.writes - before.writes);
        // One read and one write per message (ping-pong never leaves two messages queued);
        // a read or two more for the connection's end.
        assert!(
            (500..=503).contains(&reads),
            "{reads} reads for 500 messages"
        );
        assert_eq!(writes, 500, "{writes} writes for 500 messages");
        reactor.close();
    }
}

/// Counts what arrives and how the connection ended.
struct Sink {
    got: Rc<RefCell<Vec<u8>>>,
    ended: Rc<Cell<Option<bool>>>,
}
impl Protocol for Sink {
    fn data_received(&mut self, _: &Transport, data: &[u8]) {
        self.got.borrow_mut().extend_from_slice(data);
    }
    fn connection_lost(&mut self, _: &Transport, reason: ConnectionLost) {
        self.ended.set(Some(matches!(reason, ConnectionLost::Done)));
    }
}

/// What a [`Sink`] received, and whether it ended cleanly (`None`: not yet).
type Received = (Rc<RefCell<Vec<u8>>>, Rc<Cell<Option<bool>>>);

fn sink_server(reactor: &torsion::Reactor) -> (u16, Received) {
    let got = Rc::new(RefCell::new(Vec::new()));
    let ended = Rc::new(Cell::new(None));
    let (g, e) = (got.clone(), ended.clone());
    let port = reactor
        .listen_tcp(
            0,
            for_protocol(move || Sink {
                got: g.clone(),
                ended: e.clone(),
            }),
            50,
            "127.0.0.1",
        )
        .unwrap();
    (port.get_host().port().unwrap(), (got, ended))
}

#[test]
fn input_larger_than_the_read_buffer_is_all_read() {
    // Each read fills the reactor's 64 KiB buffer; a full read leaves data behind that no
    // new edge announces, so the connection has the poller look again.
    for reactor in reactors() {
        let (p, (got, ended)) = sink_server(&reactor);
        let data = payload(4 << 20);
        let sent = data.clone();
        let client = std::thread::spawn(move || {
            let mut s = std_client(p);
            s.write_all(&sent).unwrap();
            s.shutdown(std::net::Shutdown::Write).unwrap();
            let mut rest = Vec::new();
            s.read_to_end(&mut rest).unwrap();
        });
        let before = reactor.stats().reads;
        run_until(&reactor, LIMIT, || ended.get().is_some());
        client.join().unwrap();
        assert!(
            *got.borrow() == data,
            "{} of {} bytes",
            got.borrow().len(),
            data.len()
        );
        assert_eq!(ended.get(), Some(true), "a clean close after the data");
        assert!(
            reactor.stats().reads - before >= 64,
            "64 KiB at most per read"
        );
        reactor.close();
    }
}

#[test]
fn data_and_the_peers_close_reported_together_both_arrive() {
    // The client's bytes and its FIN are usually queued before the server's first read:
    // one report, after which a short read must not be taken for "drained".
    for reactor in reactors() {
        let (p, (got, ended)) = sink_server(&reactor);
        let client = std::thread::spawn(move || {
            let mut s = std_client(p);
            s.write_all(b"last words").unwrap();
        });
        client.join().unwrap();
        std::thread::sleep(Duration::from_millis(50));
        run_until(&reactor, LIMIT, || ended.get().is_some());
        assert_eq!(&*got.borrow(), b"last words");
        assert_eq!(ended.get(), Some(true));
        reactor.close();
    }
}

struct Flood(Vec<u8>);
impl Protocol for Flood {
    fn connection_made(&mut self, t: &Transport) {
        // Many pool chunks: more than one sendmsg (64 slices) takes.
        for piece in self.0.chunks(1000) {
            t.write(piece);
        }
        t.lose_connection();
    }
    fn data_received(&mut self, _: &Transport, _: &[u8]) {}
}

#[test]
fn a_write_queue_longer_than_one_send_drains_completely() {
    // A send that takes all it was given ends with the socket still writable: no new edge,
    // so the connection has the poller look again for the rest of its queue.
    for reactor in reactors() {
        let data = payload(8 << 20);
        let d = data.clone();
        let port = reactor
            .listen_tcp(0, for_protocol(move || Flood(d.clone())), 50, "127.0.0.1")
            .unwrap();
        let p = port.get_host().port().unwrap();
        let client = std::thread::spawn(move || {
            let mut s = std_client(p);
            let mut back = Vec::new();
            s.read_to_end(&mut back).unwrap();
            back
        });
        run_until(&reactor, LIMIT, || client.is_finished());
        let back = client.join().unwrap();
        assert_eq!(back.len(), data.len());
        assert!(back == data);
        reactor.close();
    }
}
