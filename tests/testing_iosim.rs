//! connected_server_and_client and IoPump: exchanges, disconnect reasons both ways,
//! half-close, backpressure with producers, the clock, limits.

use std::cell::{Cell, RefCell};
use std::io;
use std::rc::Rc;
use std::time::Duration;

use torsion::protocol::{Address, ConnectionLost, Protocol};
use torsion::testing::{connected_server_and_client, Connected, IoPump, PumpBuilder};
use torsion::time::Clock;
use torsion::transport::{Producer, PullProducer, PushProducer, Transport};

/// Splits input into CRLF lines and answers each with `reply` (None: no answer); a line
/// "bye" closes after answering. Records lines, what it was told, and why it closed.
struct Lines {
    buf: Vec<u8>,
    greeting: Option<&'static str>,
    reply: fn(&str) -> Option<String>,
    got: Vec<String>,
    half_closeable: bool,
    read_lost: bool,
    write_lost: bool,
    lost: Option<ConnectionLost>,
}

impl Lines {
    fn new(greeting: Option<&'static str>, reply: fn(&str) -> Option<String>) -> Lines {
        Lines {
            buf: Vec::new(),
            greeting,
            reply,
            got: Vec::new(),
            half_closeable: false,
            read_lost: false,
            write_lost: false,
            lost: None,
        }
    }

    fn quiet() -> Lines {
        Lines::new(None, |_| None)
    }

    fn half_closeable(mut self) -> Lines {
        self.half_closeable = true;
        self
    }
}

impl Protocol for Lines {
    fn connection_made(&mut self, t: &Transport) {
        if let Some(g) = self.greeting {
            t.write(format!("{g}\r\n").as_bytes());
        }
    }

    fn data_received(&mut self, t: &Transport, data: &[u8]) {
        self.buf.extend_from_slice(data);
        while let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
            let line: Vec<u8> = self.buf.drain(..i + 2).take(i).collect();
            let line = String::from_utf8(line).unwrap();
            if let Some(answer) = (self.reply)(&line) {
                t.write(format!("{answer}\r\n").as_bytes());
            }
            let bye = line == "bye";
            self.got.push(line);
            if bye {
                t.lose_connection();
                return;
            }
        }
    }

    fn connection_lost(&mut self, _: &Transport, reason: ConnectionLost) {
        assert!(self.lost.is_none(), "connection_lost twice");
        self.lost = Some(reason);
    }

    fn half_closeable(&self) -> bool {
        self.half_closeable
    }

    fn read_connection_lost(&mut self, t: &Transport) {
        self.read_lost = true;
        t.write(b"after your eof\r\n");
        t.lose_connection();
    }

    fn write_connection_lost(&mut self, _: &Transport) {
        self.write_lost = true;
    }
}

fn got(d: &torsion::testing::Driver<Lines>) -> Vec<String> {
    d.with_protocol(|p| p.got.clone())
}

fn lost(d: &torsion::testing::Driver<Lines>) -> Option<ConnectionLost> {
    d.with_protocol(|p| p.lost.clone())
}

fn reset(reason: Option<ConnectionLost>) -> bool {
    reason
        .is_some_and(|r| r.io_error().map(io::Error::kind) == Some(io::ErrorKind::ConnectionReset))
}

fn upper(line: &str) -> Option<String> {
    Some(line.to_uppercase())
}

#[test]
fn greeting_and_an_exchange_of_lines() {
    let Connected {
        server,
        client,
        pump,
    } = connected_server_and_client(Lines::new(Some("welcome"), upper), Lines::quiet());
    assert_eq!(
        got(&client),
        ["welcome"],
        "the greeting is flushed on connect"
    );

    client.handle().write(b"one\r\ntwo\r\n");
    assert!(
        got(&server).is_empty(),
        "nothing moves until the test pumps"
    );
    pump.flush();
    assert_eq!(got(&server), ["one", "two"]);
    assert_eq!(got(&client), ["welcome", "ONE", "TWO"]);
    assert_eq!(pump.bytes_from_client(), b"one\r\ntwo\r\n");
    assert_eq!(pump.bytes_from_server(), b"welcome\r\nONE\r\nTWO\r\n");
}

#[test]
fn each_pump_moves_one_hop() {
    /// Answers "ping N" with "ping N+1" until 3.
    fn bounce(line: &str) -> Option<String> {
        let n: u32 = line.strip_prefix("ping ")?.parse().ok()?;
        (n < 3).then(|| format!("ping {}", n + 1))
    }
    let c = PumpBuilder::new()
        .greet(false)
        .connect(Lines::new(None, bounce), Lines::new(Some("ping 0"), bounce));
    assert!(got(&c.server).is_empty(), "no greeting flush");
    assert!(c.pump.pump());
    assert_eq!(got(&c.server), ["ping 0"]);
    assert!(got(&c.client).is_empty());
    assert!(c.pump.pump());
    assert_eq!(got(&c.client), ["ping 1"]);
    assert!(c.pump.flush());
    assert_eq!(got(&c.server), ["ping 0", "ping 2"]);
    assert_eq!(got(&c.client), ["ping 1", "ping 3"]);
    assert!(!c.pump.pump(), "quiet");
    assert!(!c.pump.flush());
}

#[test]
fn addresses_are_each_others_peers() {
    let a: std::net::SocketAddr = "10.0.0.1:80".parse().unwrap();
    let b: std::net::SocketAddr = "10.0.0.2:5555".parse().unwrap();
    let c = PumpBuilder::new()
        .addresses(Address::Tcp(a), Address::Tcp(b))
        .connect(Lines::quiet(), Lines::quiet());
    assert_eq!(c.server.handle().get_host(), Address::Tcp(a));
    assert_eq!(c.server.handle().get_peer(), Address::Tcp(b));
    assert_eq!(c.client.handle().get_peer(), Address::Tcp(a));
    let default = connected_server_and_client(Lines::quiet(), Lines::quiet());
    assert_eq!(
        default.client.handle().get_peer(),
        Address::Memory("server".into())
    );
}

#[test]
fn server_closing_cleanly_is_done_on_both_sides_after_its_data() {
    let c = connected_server_and_client(Lines::new(None, upper), Lines::quiet());
    c.client.handle().write(b"hi\r\nbye\r\nnot read\r\n");
    c.pump.flush();
    assert_eq!(got(&c.server), ["hi", "bye"]);
    assert_eq!(got(&c.client), ["HI", "BYE"], "data first, then the close");
    assert!(lost(&c.server).unwrap().is_clean());
    assert!(lost(&c.client).unwrap().is_clean());
    assert!(c.server.transport().disconnected() && c.client.transport().disconnected());
}

#[test]
fn client_closing_cleanly_is_done_on_both_sides() {
    let c = connected_server_and_client(Lines::new(Some("hello"), upper), Lines::quiet());
    c.client.handle().write(b"last\r\n");
    c.client.handle().lose_connection();
    c.pump.flush();
    assert_eq!(got(&c.server), ["last"]);
    assert_eq!(
        got(&c.client),
        ["hello"],
        "the answer came after the client closed"
    );
    assert_eq!(
        c.pump.bytes_from_server(),
        b"hello\r\nLAST\r\n",
        "sent, then dropped: a closing transport no longer reads"
    );
    assert!(lost(&c.client).unwrap().is_clean());
    assert!(lost(&c.server).unwrap().is_clean());
}

#[test]
fn client_abort_is_aborted_there_and_a_reset_at_the_server() {
    let c = connected_server_and_client(Lines::quiet(), Lines::quiet());
    c.client.handle().write(b"dropped\r\n");
    c.client.handle().abort_connection();
    c.pump.flush();
    assert!(got(&c.server).is_empty(), "the aborted buffer never left");
    assert!(matches!(lost(&c.client), Some(ConnectionLost::Aborted)));
    assert!(reset(lost(&c.server)), "{:?}", lost(&c.server));
}

#[test]
fn server_abort_is_aborted_there_and_a_reset_at_the_client() {
    let c = connected_server_and_client(Lines::quiet(), Lines::quiet());
    c.client.handle().write(b"unread\r\n");
    c.server.handle().write(b"also dropped\r\n");
    c.server.handle().abort_connection();
    c.pump.flush();
    assert!(matches!(lost(&c.server), Some(ConnectionLost::Aborted)));
    assert!(reset(lost(&c.client)));
    assert!(got(&c.client).is_empty());
}

#[test]
fn half_close_reaches_a_half_closeable_peer() {
    let c = connected_server_and_client(
        Lines::new(None, upper).half_closeable(),
        Lines::quiet().half_closeable(),
    );
    c.client.handle().write(b"question\r\n");
    c.client.handle().lose_write_connection();
    c.pump.flush();
    let server_read_lost = c.server.with_protocol(|p| p.read_lost);
    assert!(server_read_lost, "the server saw the end of input");
    assert!(c.client.with_protocol(|p| p.write_lost));
    assert_eq!(
        got(&c.client),
        ["QUESTION", "after your eof"],
        "still reading"
    );
    assert!(
        c.client.with_protocol(|p| p.read_lost),
        "then the server's end"
    );
    assert!(lost(&c.client).unwrap().is_clean());
    assert!(lost(&c.server).unwrap().is_clean());
}

#[test]
fn half_close_to_a_plain_peer_closes_it_after_its_answers() {
    let c = connected_server_and_client(Lines::new(None, upper), Lines::quiet().half_closeable());
    c.client.handle().write(b"q\r\n");
    c.client.handle().lose_write_connection();
    c.pump.flush();
    assert_eq!(got(&c.client), ["Q"]);
    assert!(lost(&c.server).unwrap().is_clean());
    assert!(lost(&c.client).unwrap().is_clean());
}

/// A push producer that logs its calls and counts what it is paused for.
#[derive(Default)]
struct Logged {
    calls: RefCell<Vec<&'static str>>,
    paused: Cell<bool>,
}

impl PushProducer for Logged {
    fn pause_producing(&self) {
        self.paused.set(true);
        self.calls.borrow_mut().push("pause");
    }
    fn resume_producing(&self) {
        self.paused.set(false);
        self.calls.borrow_mut().push("resume");
    }
    fn stop_producing(&self) {
        self.calls.borrow_mut().push("stop");
    }
}

/// Counts bytes; pauses its transport when told to.
#[derive(Default)]
struct Counter {
    bytes: usize,
}

impl Protocol for Counter {
    fn data_received(&mut self, _: &Transport, data: &[u8]) {
        self.bytes += data.len();
    }
}

#[test]
fn producer_is_paused_at_the_high_water_mark_and_resumed_once_drained() {
    let c = connected_server_and_client(Counter::default(), Counter::default());
    let producer = Rc::new(Logged::default());
    let t = c.server.handle();
    t.set_write_watermarks(4096, 0);
    t.register_producer(Producer::Push(producer.clone()))
        .unwrap();
    t.write(&[7; 4096]);
    c.pump.flush();
    assert!(
        producer.calls.borrow().is_empty(),
        "at the mark, not above it"
    );
    t.write(&[7; 4097]);
    assert!(c.server.transport().producer_paused());
    c.pump.flush();
    assert_eq!(*producer.calls.borrow(), ["pause", "resume"]);
    assert_eq!(c.client.with_protocol(|p| p.bytes), 8193);
}

#[test]
fn a_paused_reader_holds_data_in_the_senders_buffer() {
    let c = connected_server_and_client(Counter::default(), Counter::default());
    let producer = Rc::new(Logged::default());
    let t = c.server.handle();
    t.set_write_watermarks(1000, 100);
    t.register_producer(Producer::Push(producer.clone()))
        .unwrap();
    c.client.handle().pause_producing();
    t.write(&[1; 3000]);
    c.pump.flush();
    assert_eq!(c.client.with_protocol(|p| p.bytes), 0);
    assert_eq!(t.write_buffer_len(), 3000, "backpressure: nothing moved");
    assert_eq!(*producer.calls.borrow(), ["pause"]);
    c.client.handle().resume_producing();
    c.pump.flush();
    assert_eq!(c.client.with_protocol(|p| p.bytes), 3000);
    assert_eq!(*producer.calls.borrow(), ["pause", "resume"]);
    c.server.handle().lose_connection();
    c.pump.flush();
    assert!(
        !c.server.is_closed(),
        "a registered producer holds the close"
    );
    t.unregister_producer();
    c.pump.flush();
    assert!(c.server.is_closed() && c.client.is_closed());
}

/// Streams `total` bytes in 512-byte pieces, one piece per millisecond while not paused.
struct Streamer {
    clock: Clock,
    transport: Transport,
    left: Cell<usize>,
    paused: Cell<bool>,
    pauses: Cell<u32>,
}

impl Streamer {
    fn tick(self: &Rc<Self>) {
        if self.paused.get() || self.left.get() == 0 {
            return;
        }
        let n = self.left.get().min(512);
        self.left.set(self.left.get() - n);
        self.transport.write(&vec![b's'; n]);
        if self.left.get() == 0 {
            self.transport.unregister_producer();
            self.transport.lose_connection();
            return;
        }
        let me = self.clone();
        self.clock
            .call_later(Duration::from_millis(1), move || me.tick());
    }
}

struct StreamerHandle(Rc<Streamer>);

impl PushProducer for StreamerHandle {
    fn pause_producing(&self) {
        self.0.paused.set(true);
        self.0.pauses.set(self.0.pauses.get() + 1);
    }
    fn resume_producing(&self) {
        self.0.paused.set(false);
        self.0.tick();
    }
    fn stop_producing(&self) {
        self.0.left.set(0);
    }
}

/// Reads, then pauses its transport for 5 ms after each read.
struct SlowReader {
    clock: Clock,
    bytes: Rc<Cell<usize>>,
}

impl Protocol for SlowReader {
    fn data_received(&mut self, t: &Transport, data: &[u8]) {
        self.bytes.set(self.bytes.get() + data.len());
        t.pause_producing();
        let t = t.clone();
        self.clock
            .call_later(Duration::from_millis(5), move || t.resume_producing());
    }
}

#[test]
fn a_streaming_producer_keeps_pace_with_a_slow_reader() {
    let clock = Clock::new();
    let bytes = Rc::new(Cell::new(0));
    let reader = SlowReader {
        clock: clock.clone(),
        bytes: bytes.clone(),
    };
    let c = PumpBuilder::new()
        .clock(clock.clone())
        .connect(reader, Lines::quiet());
    let t = c.client.handle();
    t.set_write_watermarks(2048, 0);
    let streamer = Rc::new(Streamer {
        clock: clock.clone(),
        transport: t.clone(),
        left: Cell::new(64 * 1024),
        paused: Cell::new(false),
        pauses: Cell::new(0),
    });
    t.register_producer(Producer::Push(Rc::new(StreamerHandle(streamer.clone()))))
        .unwrap();
    streamer.tick();
    for _ in 0..10_000 {
        if c.server.is_closed() {
            break;
        }
        clock.advance(Duration::from_millis(1));
        c.pump.flush();
    }
    assert_eq!(bytes.get(), 64 * 1024);
    assert!(streamer.pauses.get() > 0, "the slow reader pushed back");
    assert!(c.client.is_closed() && c.server.is_closed());
}

/// Writes `pieces` pieces, one per request, then unregisters and closes.
struct Pieces {
    transport: Transport,
    left: Cell<u32>,
}

impl PullProducer for Pieces {
    fn resume_producing(&self) {
        let n = self.left.get();
        if n == 0 {
            return;
        }
        self.left.set(n - 1);
        self.transport.write(format!("piece {n}\r\n").as_bytes());
        if n == 1 {
            self.transport.unregister_producer();
            self.transport.lose_connection();
        }
    }
    fn stop_producing(&self) {}
}

#[test]
fn a_pull_producer_is_asked_for_a_piece_each_time_its_buffer_empties() {
    let c = connected_server_and_client(Lines::quiet(), Lines::quiet());
    let t = c.server.handle();
    t.register_producer(Producer::Pull(Rc::new(Pieces {
        transport: t.clone(),
        left: Cell::new(3),
    })))
    .unwrap();
    c.pump.flush();
    assert_eq!(got(&c.client), ["piece 3", "piece 2", "piece 1"]);
    assert!(lost(&c.client).unwrap().is_clean());
}

#[test]
fn each_round_runs_calls_due_on_the_clock() {
    struct Later(Clock);
    impl Protocol for Later {
        fn connection_made(&mut self, t: &Transport) {
            let t = t.clone();
            self.0
                .call_later(Duration::ZERO, move || t.write(b"soon\r\n"));
        }
        fn data_received(&mut self, _: &Transport, _: &[u8]) {}
    }
    let clock = Clock::new();
    let c = PumpBuilder::new()
        .clock(clock.clone())
        .connect(Later(clock.clone()), Lines::quiet());
    assert_eq!(got(&c.client), ["soon"]);
    assert_eq!(c.pump.clock().now(), Duration::ZERO);
}

#[test]
#[should_panic(expected = "still busy after 1000 rounds")]
fn endless_talk_is_reported() {
    fn again(line: &str) -> Option<String> {
        Some(line.to_string())
    }
    connected_server_and_client(Lines::new(Some("loop"), again), Lines::new(None, again));
}

#[test]
fn flush_within_allows_longer_exchanges() {
    fn count(line: &str) -> Option<String> {
        let n: u32 = line.parse().ok()?;
        (n < 1500).then(|| (n + 1).to_string())
    }
    let c = PumpBuilder::new()
        .greet(false)
        .connect(Lines::new(None, count), Lines::new(Some("0"), count));
    c.pump.flush_within(5000);
    assert_eq!(got(&c.server).last().map(String::as_str), Some("1500"));
}

#[test]
#[should_panic(expected = "from inside a callback the pump is running")]
fn pumping_from_a_pumped_callback_panics_clearly() {
    struct Impatient(Rc<RefCell<Option<IoPump>>>);
    impl Protocol for Impatient {
        fn data_received(&mut self, _: &Transport, _: &[u8]) {
            let pump = self.0.borrow().clone().unwrap();
            pump.pump();
        }
    }
    let slot = Rc::new(RefCell::new(None));
    let c = connected_server_and_client(Impatient(slot.clone()), Lines::quiet());
    *slot.borrow_mut() = Some(c.pump.clone());
    c.client.handle().write(b"x");
    c.pump.flush();
}

#[test]
fn a_closed_connection_neither_sends_nor_receives() {
    let c = connected_server_and_client(Lines::new(None, upper), Lines::quiet());
    c.server.handle().lose_connection();
    c.pump.flush();
    assert!(c.server.is_closed() && c.client.is_closed());
    c.client.handle().write(b"too late\r\n");
    c.pump.flush();
    assert!(got(&c.server).is_empty());
    assert!(
        c.pump.bytes_from_client().is_empty(),
        "writes after the close are ignored"
    );
}

#[test]
fn debug_printing_does_not_change_the_exchange() {
    let c = PumpBuilder::new()
        .debug(true)
        .connect(Lines::new(Some("hi"), upper), Lines::quiet());
    c.pump.set_debug(false);
    c.client.handle().write(b"x\r\n");
    c.pump.flush();
    assert_eq!(got(&c.client), ["hi", "X"]);
    assert!(format!("{:?}", c).contains("IoPump"));
}
