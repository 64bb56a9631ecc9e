//! Driver: delivering events to a protocol the way a connection does, re-entrancy, holds
//! while paused, the close and its reason.

use std::cell::RefCell;
use std::rc::Rc;

use torsion::defer::Failure;
use torsion::protocol::{ConnectionLost, Protocol};
use torsion::testing::{make_connection, Driver, ProducerState, StringTransport};
use torsion::transport::{Producer, PushProducer, Transport};

/// Logs every callback it gets.
#[derive(Default)]
struct Recorder {
    events: Vec<String>,
    half_closeable: bool,
}

impl Protocol for Recorder {
    fn connection_made(&mut self, _: &Transport) {
        self.events.push("made".into());
    }
    fn data_received(&mut self, _: &Transport, data: &[u8]) {
        self.events
            .push(format!("data {}", String::from_utf8_lossy(data)));
    }
    fn connection_lost(&mut self, _: &Transport, reason: ConnectionLost) {
        self.events.push(format!("lost {reason}"));
    }
    fn half_closeable(&self) -> bool {
        self.half_closeable
    }
    fn read_connection_lost(&mut self, _: &Transport) {
        self.events.push("read lost".into());
    }
    fn write_connection_lost(&mut self, _: &Transport) {
        self.events.push("write lost".into());
    }
}

fn events(d: &Driver<Recorder>) -> Vec<String> {
    d.with_protocol(|p| p.events.clone())
}

/// Answers each read, and on "quit" writes a goodbye and closes, or aborts on "abort":
/// all from inside `data_received`.
#[derive(Default)]
struct Closer {
    lost: Option<ConnectionLost>,
    reads: usize,
}

impl Protocol for Closer {
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        self.reads += 1;
        match data {
            b"quit" => {
                transport.write(b"bye");
                transport.lose_connection();
                transport.write(b"ignored");
            }
            b"abort" => transport.abort_connection(),
            _ => transport.write(data),
        }
    }
    fn connection_lost(&mut self, _: &Transport, reason: ConnectionLost) {
        assert!(self.lost.is_none(), "connection_lost twice");
        self.lost = Some(reason);
    }
}

#[test]
fn connection_made_is_called_with_the_handle_the_driver_exposes() {
    struct Keep(Option<Transport>);
    impl Protocol for Keep {
        fn connection_made(&mut self, t: &Transport) {
            self.0 = Some(t.clone());
        }
        fn data_received(&mut self, _: &Transport, _: &[u8]) {}
    }
    let d = make_connection(Keep(None));
    assert_eq!(d.with_protocol(|k| k.0.clone()), Some(d.handle()));
    assert_eq!(d.handle(), d.transport().transport());
}

#[test]
fn delivers_data_and_collects_writes() {
    let d = Driver::new(Closer::default());
    d.data_received(b"one");
    d.data_received(b"");
    d.data_received(b"two");
    assert_eq!(d.written(), b"onetwo");
    assert_eq!(d.take_written(), b"onetwo");
    assert!(d.written().is_empty());
    assert_eq!(
        d.with_protocol(|p| p.reads),
        2,
        "empty reads are not delivered"
    );
}

#[test]
fn protocol_closing_itself_from_data_received_gets_done_once_the_buffer_drains() {
    let d = Driver::new(Closer::default());
    d.data_received(b"quit");
    assert!(d.transport().disconnecting());
    assert_eq!(
        d.written(),
        b"bye",
        "writes after lose_connection are ignored"
    );
    assert!(!d.run_pending(), "the goodbye is still queued");
    assert!(!d.is_closed());
    d.data_received(b"more");
    assert_eq!(d.with_protocol(|p| p.reads), 1, "no reads once closing");
    assert_eq!(d.take_written(), b"bye");
    assert!(d.run_pending());
    assert!(d.is_closed());
    assert!(d.lost_reason().unwrap().is_clean());
    assert!(d.with_protocol(|p| p.lost.as_ref().unwrap().is_clean()));
    assert!(d.transport().disconnected());
    assert!(!d.run_pending(), "delivered once");
}

#[test]
fn protocol_aborting_itself_gets_aborted() {
    let d = Driver::new(Closer::default());
    d.data_received(b"hello");
    d.data_received(b"abort");
    assert!(d.transport().aborted());
    d.run_pending();
    assert!(matches!(d.lost_reason(), Some(ConnectionLost::Aborted)));
    assert_eq!(d.written(), b"hello", "kept for inspection");
}

#[test]
fn test_delivered_connection_lost_reaches_the_protocol_once() {
    let d = Driver::new(Recorder::default());
    d.connection_lost(ConnectionLost::Lost(Failure::msg("gone")));
    d.data_received(b"late");
    d.eof();
    d.run_pending();
    let all = events(&d);
    assert_eq!(all.len(), 2, "{all:?}");
    // (A Failure's display also says where it was made.)
    assert!(
        all[1].starts_with("lost connection was lost: gone"),
        "{all:?}"
    );
    assert!(matches!(d.lost_reason(), Some(ConnectionLost::Lost(_))));
}

#[test]
#[should_panic(expected = "connection_lost was already delivered")]
fn connection_lost_twice_panics() {
    let d = Driver::new(Closer::default());
    d.data_received(b"abort");
    d.run_pending();
    d.connection_lost(ConnectionLost::Done);
}

#[test]
fn input_waits_while_the_transport_is_paused() {
    /// Pauses reading after each read; the test resumes it.
    #[derive(Default)]
    struct OneAtATime(Vec<Vec<u8>>);
    impl Protocol for OneAtATime {
        fn data_received(&mut self, t: &Transport, data: &[u8]) {
            self.0.push(data.to_vec());
            t.pause_producing();
        }
    }
    let d = Driver::new(OneAtATime::default());
    d.data_received(b"a");
    d.data_received(b"b");
    d.data_received(b"c");
    assert_eq!(d.transport().producer_state(), ProducerState::Paused);
    assert_eq!(d.held_input(), 2);
    assert_eq!(d.with_protocol(|p| p.0.len()), 1);
    d.handle().resume_producing();
    d.run_pending();
    assert_eq!(d.held_input(), 1, "it paused again after one read");
    d.handle().resume_producing();
    d.run_pending();
    assert_eq!(d.with_protocol(|p| p.0.clone()), [b"a", b"b", b"c"]);
}

#[test]
fn eof_closes_a_plain_protocol_and_half_closes_a_half_closeable_one() {
    let plain = Driver::new(Recorder::default());
    plain.eof();
    assert!(plain.handle().is_disconnecting());
    plain.run_pending();
    assert_eq!(
        events(&plain),
        ["made", "lost connection was closed cleanly"]
    );

    let half = Driver::new(Recorder {
        half_closeable: true,
        ..Recorder::default()
    });
    half.eof();
    half.eof();
    assert_eq!(events(&half), ["made", "read lost"], "told once");
    assert!(half.handle().is_connected());
    half.handle().write(b"still writing");
    half.handle().lose_write_connection();
    half.run_pending();
    assert_eq!(events(&half), ["made", "read lost"], "waits for the buffer");
    half.take_written();
    half.run_pending();
    assert_eq!(events(&half), ["made", "read lost", "write lost"]);
}

#[test]
fn eof_waits_behind_held_input() {
    struct PauseFirst(Vec<String>);
    impl Protocol for PauseFirst {
        fn connection_made(&mut self, t: &Transport) {
            t.pause_producing();
        }
        fn data_received(&mut self, _: &Transport, data: &[u8]) {
            self.0.push(String::from_utf8_lossy(data).into());
        }
        fn connection_lost(&mut self, _: &Transport, _: ConnectionLost) {
            self.0.push("lost".into());
        }
    }
    let d = Driver::new(PauseFirst(Vec::new()));
    d.data_received(b"x");
    d.eof();
    d.run_pending();
    assert!(d.with_protocol(|p| p.0.is_empty()));
    d.handle().resume_producing();
    d.run_pending();
    assert_eq!(d.with_protocol(|p| p.0.clone()), ["x", "lost"]);
}

/// Pushes writes; logs its calls.
struct Pusher {
    log: Rc<RefCell<Vec<&'static str>>>,
}

impl PushProducer for Pusher {
    fn pause_producing(&self) {
        self.log.borrow_mut().push("pause");
    }
    fn resume_producing(&self) {
        self.log.borrow_mut().push("resume");
    }
    fn stop_producing(&self) {
        self.log.borrow_mut().push("stop");
    }
}

#[test]
fn close_waits_for_the_producer_and_stops_it_on_loss() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let d = Driver::new(Recorder::default());
    let t = d.handle();
    t.register_producer(Producer::Push(Rc::new(Pusher { log: log.clone() })))
        .unwrap();
    t.lose_connection();
    d.run_pending();
    assert!(
        !d.is_closed(),
        "a registered producer holds the close, as over TCP"
    );
    t.unregister_producer();
    d.run_pending();
    assert!(d.is_closed());

    let d = Driver::new(Recorder::default());
    d.handle()
        .register_producer(Producer::Push(Rc::new(Pusher { log: log.clone() })))
        .unwrap();
    d.connection_lost(ConnectionLost::Aborted);
    assert_eq!(*log.borrow(), ["stop"], "stopped before connection_lost");
    assert!(d.transport().producer().is_none());
}

#[test]
fn producer_is_paused_and_resumed_through_run_pending() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let st = StringTransport::new();
    st.transport().set_write_watermarks(4, 0);
    let d = Driver::with_transport(Recorder::default(), st);
    d.handle()
        .register_producer(Producer::Push(Rc::new(Pusher { log: log.clone() })))
        .unwrap();
    d.handle().write(b"12345");
    d.run_pending();
    assert_eq!(*log.borrow(), ["pause"]);
    d.take_written();
    d.run_pending();
    assert_eq!(*log.borrow(), ["pause", "resume"]);
}

#[test]
#[should_panic(expected = "while the protocol is running")]
fn with_protocol_from_inside_the_protocol_panics_clearly() {
    struct Nosy(Rc<RefCell<Option<Driver<Nosy>>>>);
    impl Protocol for Nosy {
        fn data_received(&mut self, _: &Transport, _: &[u8]) {
            let me = self.0.borrow().clone().unwrap();
            me.with_protocol(|_| ());
        }
    }
    let slot = Rc::new(RefCell::new(None));
    let d = Driver::new(Nosy(slot.clone()));
    *slot.borrow_mut() = Some(d.clone());
    d.data_received(b"x");
}

#[test]
fn a_protocol_may_drive_other_connections_transports() {
    /// Writes every line to every connection in the room, including its own, and closes
    /// the room on "close".
    struct Room(Rc<RefCell<Vec<Transport>>>);
    impl Protocol for Room {
        fn connection_made(&mut self, t: &Transport) {
            self.0.borrow_mut().push(t.clone());
        }
        fn data_received(&mut self, _: &Transport, data: &[u8]) {
            for t in self.0.borrow().iter() {
                if data == b"close" {
                    t.lose_connection();
                } else {
                    t.write(data);
                }
            }
        }
    }
    let room = Rc::new(RefCell::new(Vec::new()));
    let a = Driver::new(Room(room.clone()));
    let b = Driver::new(Room(room.clone()));
    a.data_received(b"hi");
    assert_eq!(a.written(), b"hi");
    assert_eq!(b.written(), b"hi");
    b.data_received(b"close");
    a.take_written();
    b.take_written();
    a.run_pending();
    b.run_pending();
    assert!(a.is_closed() && b.is_closed());
}

#[test]
fn debug_output_names_the_state() {
    let d = Driver::new(Recorder::default());
    let text = format!("{d:?}");
    assert!(
        text.contains("Driver") && text.contains("StringTransport"),
        "{text}"
    );
}

#[test]
fn a_factory_built_protocol_can_be_reached_by_its_type() {
    use torsion::protocol::{for_protocol, Address, Factory};
    struct Counter {
        bytes: usize,
    }
    impl Protocol for Counter {
        fn data_received(&mut self, _: &Transport, data: &[u8]) {
            self.bytes += data.len();
        }
    }
    let factory = for_protocol(|| Counter { bytes: 0 });
    let protocol = factory
        .build_protocol(&Address::Memory("test".into()))
        .unwrap();
    let driver = make_connection(protocol);
    driver.data_received(b"12345");
    assert_eq!(driver.with_protocol_as::<Counter, _>(|c| c.bytes), Some(5));
    struct Other;
    impl Protocol for Other {
        fn data_received(&mut self, _: &Transport, _: &[u8]) {}
    }
    assert_eq!(driver.with_protocol_as::<Other, _>(|_| ()), None);
}
