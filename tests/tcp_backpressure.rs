//! Producer / consumer backpressure on real sockets: a reader that never reads keeps the
//! server's memory bounded by the high-water mark, and every byte arrives once it reads.

mod util;

use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::rc::Rc;
use std::time::{Duration, Instant};

use torsion::protocol::{for_protocol, Protocol};
use torsion::tcp::DEFAULT_HIGH_WATER;
use torsion::transport::{Producer, PushProducer, Transport};
use util::{reactors, std_client};

const CHUNK: usize = 16 * 1024;

/// Writes `total` bytes in chunks, one chunk per pending-phase tick, pausing when told.
struct Firehose {
    transport: Transport,
    paused: Cell<bool>,
    sent: Cell<usize>,
    total: usize,
    max_buffered: Rc<Cell<usize>>,
    pauses: Rc<Cell<usize>>,
    me: RefCell<Option<std::rc::Weak<Firehose>>>,
}

impl Firehose {
    fn pump(self: Rc<Self>) {
        if self.paused.get() || self.sent.get() >= self.total {
            if self.sent.get() >= self.total {
                self.transport.unregister_producer();
                self.transport.lose_connection();
            }
            return;
        }
        let start = self.sent.get();
        let chunk: Vec<u8> = (start..start + CHUNK).map(|i| (i % 251) as u8).collect();
        self.transport.write(&chunk);
        self.sent.set(start + CHUNK);
        let buffered = self.transport.write_buffer_len();
        self.max_buffered.set(self.max_buffered.get().max(buffered));
        let reactor = self.transport.reactor().unwrap();
        reactor.call_soon(move || self.pump());
    }
}

impl PushProducer for Firehose {
    fn pause_producing(&self) {
        self.paused.set(true);
        self.pauses.set(self.pauses.get() + 1);
    }
    fn resume_producing(&self) {
        self.paused.set(false);
        let me = self.me.borrow().as_ref().and_then(|w| w.upgrade());
        if let Some(me) = me {
            me.pump();
        }
    }
    fn stop_producing(&self) {
        self.paused.set(true);
    }
}

struct FirehoseProtocol {
    total: usize,
    max_buffered: Rc<Cell<usize>>,
    pauses: Rc<Cell<usize>>,
}

impl Protocol for FirehoseProtocol {
    fn connection_made(&mut self, t: &Transport) {
        let hose = Rc::new(Firehose {
            transport: t.clone(),
            paused: Cell::new(false),
            sent: Cell::new(0),
            total: self.total,
            max_buffered: self.max_buffered.clone(),
            pauses: self.pauses.clone(),
            me: RefCell::new(None),
        });
        *hose.me.borrow_mut() = Some(Rc::downgrade(&hose));
        t.register_producer(Producer::Push(hose.clone())).unwrap();
        hose.pump();
    }
    fn data_received(&mut self, _: &Transport, _: &[u8]) {}
}

#[test]
fn a_reader_that_never_reads_keeps_server_memory_bounded() {
    const TOTAL: usize = 48 << 20;
    for reactor in reactors() {
        let max_buffered = Rc::new(Cell::new(0));
        let pauses = Rc::new(Cell::new(0));
        let (m, p) = (max_buffered.clone(), pauses.clone());
        let factory = for_protocol(move || FirehoseProtocol {
            total: TOTAL,
            max_buffered: m.clone(),
            pauses: p.clone(),
        });
        let port = reactor.listen_tcp(0, factory, 50, "127.0.0.1").unwrap();
        let pnum = port.get_host().port().unwrap();
        let handle = reactor.thread_handle();
        let client = std::thread::spawn(move || {
            let mut s = std_client(pnum);
            // Stall: let the server hit the wall (kernel buffers, then its high-water mark).
            std::thread::sleep(Duration::from_millis(300));
            let mut got = 0usize;
            let mut ok = true;
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let n = s.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                ok &= buf[..n]
                    .iter()
                    .enumerate()
                    .all(|(k, b)| *b == ((got + k) % 251) as u8);
                got += n;
            }
            let _ = handle.stop();
            (got, ok)
        });
        let r = reactor.clone();
        reactor.call_later(Duration::from_secs(60), move || r.crash());
        reactor.run().unwrap();
        let (got, ok) = client.join().unwrap();
        assert_eq!(got, TOTAL, "every byte arrived");
        assert!(ok, "in order and intact");
        assert!(pauses.get() > 0, "the producer was paused at least once");
        assert!(
            max_buffered.get() <= DEFAULT_HIGH_WATER + CHUNK,
            "server buffered {} bytes (high water {DEFAULT_HIGH_WATER})",
            max_buffered.get()
        );
        reactor.close();
    }
}

/// Echo that registers its own transport as the producer of its output: while the output
/// is above the high-water mark it stops reading, so TCP flow control stops the sender.
struct BoundedEcho {
    max_buffered: Rc<Cell<usize>>,
}

impl Protocol for BoundedEcho {
    fn connection_made(&mut self, t: &Transport) {
        t.register_producer(Producer::Push(Rc::new(t.clone())))
            .unwrap();
    }
    fn data_received(&mut self, t: &Transport, data: &[u8]) {
        t.write(data);
        self.max_buffered
            .set(self.max_buffered.get().max(t.write_buffer_len()));
    }
}

#[test]
fn an_echo_server_stops_reading_while_its_output_is_stuck() {
    for reactor in reactors() {
        let max_buffered = Rc::new(Cell::new(0));
        let m = max_buffered.clone();
        let factory = for_protocol(move || BoundedEcho {
            max_buffered: m.clone(),
        });
        let port = reactor.listen_tcp(0, factory, 50, "127.0.0.1").unwrap();
        let pnum = port.get_host().port().unwrap();
        let handle = reactor.thread_handle();
        let client = std::thread::spawn(move || {
            let s = std_client(pnum);
            s.set_nonblocking(true).unwrap();
            let mut w = &s;
            let chunk = vec![7u8; 64 * 1024];
            let mut sent = 0usize;
            let deadline = Instant::now() + Duration::from_millis(500);
            // Write without reading until the kernel refuses (bounded by time and bytes).
            while Instant::now() < deadline && sent < 400 << 20 {
                match w.write(&chunk) {
                    Ok(n) => sent += n,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5))
                    }
                    Err(e) => panic!("{e}"),
                }
            }
            let _ = handle.stop();
            sent
        });
        let r = reactor.clone();
        reactor.call_later(Duration::from_secs(30), move || r.crash());
        reactor.run().unwrap();
        let sent = client.join().unwrap();
        assert!(
            sent < 400 << 20,
            "the sender was blocked by flow control after {sent} bytes"
        );
        assert!(
            max_buffered.get() <= DEFAULT_HIGH_WATER + 64 * 1024,
            "the server buffered {} bytes",
            max_buffered.get()
        );
        reactor.close();
    }
}

#[test]
fn watermarks_are_configurable_and_a_pull_producer_is_asked_when_the_buffer_empties() {
    struct Pull {
        transport: Transport,
        left: Cell<usize>,
        asks: Rc<Cell<usize>>,
    }
    impl torsion::transport::PullProducer for Pull {
        fn resume_producing(&self) {
            self.asks.set(self.asks.get() + 1);
            if self.left.get() == 0 {
                self.transport.unregister_producer();
                self.transport.lose_connection();
                return;
            }
            self.left.set(self.left.get() - 1);
            self.transport.write(&[b'p'; 1000]);
        }
        fn stop_producing(&self) {}
    }
    struct PullProto {
        asks: Rc<Cell<usize>>,
    }
    impl Protocol for PullProto {
        fn connection_made(&mut self, t: &Transport) {
            t.set_write_watermarks(4096, 1024);
            let p = Rc::new(Pull {
                transport: t.clone(),
                left: Cell::new(10),
                asks: self.asks.clone(),
            });
            t.register_producer(Producer::Pull(p)).unwrap();
            assert_eq!(
                t.register_producer(Producer::Pull(Rc::new(Pull {
                    transport: t.clone(),
                    left: Cell::new(0),
                    asks: Rc::new(Cell::new(0)),
                }))),
                Err(torsion::transport::ProducerError::AlreadyRegistered)
            );
        }
        fn data_received(&mut self, _: &Transport, _: &[u8]) {}
    }
    for reactor in reactors() {
        let asks = Rc::new(Cell::new(0));
        let a = asks.clone();
        let port = reactor
            .listen_tcp(
                0,
                for_protocol(move || PullProto { asks: a.clone() }),
                50,
                "127.0.0.1",
            )
            .unwrap();
        let pnum = port.get_host().port().unwrap();
        let handle = reactor.thread_handle();
        let client = std::thread::spawn(move || {
            let mut s = std_client(pnum);
            let mut all = Vec::new();
            s.read_to_end(&mut all).unwrap();
            let _ = handle.stop();
            all.len()
        });
        let r = reactor.clone();
        reactor.call_later(Duration::from_secs(20), move || r.crash());
        reactor.run().unwrap();
        assert_eq!(client.join().unwrap(), 10_000);
        assert_eq!(asks.get(), 11, "asked once per piece, plus the last time");
        reactor.close();
    }
}

/// A push producer that counts what it is told.
#[derive(Default)]
struct Counted {
    pauses: Cell<u32>,
    resumes: Cell<u32>,
    stops: Cell<u32>,
    paused: Cell<bool>,
}

impl PushProducer for Counted {
    fn pause_producing(&self) {
        self.pauses.set(self.pauses.get() + 1);
        self.paused.set(true);
    }
    fn resume_producing(&self) {
        self.resumes.set(self.resumes.get() + 1);
        self.paused.set(false);
    }
    fn stop_producing(&self) {
        self.stops.set(self.stops.get() + 1);
    }
}

#[test]
fn a_pause_that_the_flush_overtakes_is_cancelled_not_left_dangling() {
    // A write over the high-water mark made from the pending phase asks for a pause that
    // goes out one phase later; if the same turn's flush drains the buffer first, the pause
    // must be dropped, or the producer would stay paused with nothing left to resume it.
    struct Quiet;
    impl Protocol for Quiet {
        fn data_received(&mut self, _: &Transport, _: &[u8]) {}
    }
    for reactor in reactors() {
        let port = reactor
            .listen_tcp(0, for_protocol(|| Quiet), 50, "127.0.0.1")
            .unwrap();
        let producer = Rc::new(Counted::default());
        let transport: Rc<RefCell<Option<Transport>>> = Rc::new(RefCell::new(None));
        struct Grab(Rc<RefCell<Option<Transport>>>);
        impl Protocol for Grab {
            fn connection_made(&mut self, t: &Transport) {
                *self.0.borrow_mut() = Some(t.clone());
            }
            fn data_received(&mut self, _: &Transport, _: &[u8]) {}
        }
        let grab = transport.clone();
        reactor.connect_tcp(
            "127.0.0.1",
            port.get_host().port().unwrap(),
            for_protocol(move || Grab(grab.clone())),
            None,
            None,
        );
        util::run_until(&reactor, Duration::from_secs(10), || {
            transport.borrow().is_some()
        });
        let t = transport.borrow().clone().unwrap();
        t.set_write_watermarks(1000, 0);
        t.register_producer(Producer::Push(producer.clone()))
            .unwrap();
        let t2 = t.clone();
        reactor.call_soon(move || t2.write(&[1u8; 5000])); // over the mark, from the pending phase
        for _ in 0..5 {
            reactor.iterate(Duration::from_millis(5)).unwrap();
        }
        assert_eq!(t.write_buffer_len(), 0, "the kernel took it all");
        assert!(!producer.paused.get(), "left paused with an empty buffer");
        assert_eq!(
            producer.pauses.get(),
            producer.resumes.get(),
            "every pause delivered was followed by a resume"
        );
        // And the producer is really not paused: a new overflow pauses it again.
        t.write(&[2u8; 5000]);
        reactor.iterate(Duration::from_millis(5)).unwrap();
        reactor.iterate(Duration::from_millis(5)).unwrap();
        assert!(!producer.paused.get());
        reactor.close();
    }
}

#[test]
fn the_peers_end_of_input_closes_even_with_a_producer_registered() {
    for reactor in reactors() {
        let max_buffered = Rc::new(Cell::new(0));
        let m = max_buffered.clone();
        let factory = for_protocol(move || BoundedEcho {
            max_buffered: m.clone(),
        });
        let port = reactor.listen_tcp(0, factory, 50, "127.0.0.1").unwrap();
        let pnum = port.get_host().port().unwrap();
        let handle = reactor.thread_handle();
        let client = std::thread::spawn(move || {
            let mut s = std_client(pnum);
            s.write_all(b"last words").unwrap();
            s.shutdown(std::net::Shutdown::Write).unwrap();
            let mut back = Vec::new();
            s.read_to_end(&mut back).unwrap(); // returns only once the server closes
            let _ = handle.stop();
            back
        });
        let r = reactor.clone();
        reactor.call_later(Duration::from_secs(20), move || r.crash());
        reactor.run().unwrap();
        assert_eq!(client.join().unwrap(), b"last words");
        assert_eq!(
            reactor.source_count(),
            1,
            "the connection is closed, only the port is left"
        );
        reactor.close();
    }
}
