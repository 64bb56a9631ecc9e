//! StringTransport: what it records, and the transport rules it follows like our TCP.

use std::cell::RefCell;
use std::rc::Rc;

use torsion::protocol::Address;
use torsion::testing::{ProducerState, StringTransport};
use torsion::transport::{Producer, ProducerError, PullProducer, PushProducer};

/// A producer that logs the calls it gets.
#[derive(Default)]
struct Logged(RefCell<Vec<&'static str>>);

impl Logged {
    fn calls(&self) -> Vec<&'static str> {
        self.0.borrow().clone()
    }
}

impl PushProducer for Logged {
    fn pause_producing(&self) {
        self.0.borrow_mut().push("pause");
    }
    fn resume_producing(&self) {
        self.0.borrow_mut().push("resume");
    }
    fn stop_producing(&self) {
        self.0.borrow_mut().push("stop");
    }
}

impl PullProducer for Logged {
    fn resume_producing(&self) {
        self.0.borrow_mut().push("more");
    }
    fn stop_producing(&self) {
        self.0.borrow_mut().push("stop");
    }
}

#[test]
fn records_writes_until_taken_or_cleared() {
    let (st, t) = StringTransport::pair();
    t.write(b"ab");
    t.write(b"");
    t.write_sequence(&[b"c", b"", b"de"]);
    assert_eq!(st.value(), b"abcde");
    assert_eq!(st.value_lossy(), "abcde");
    assert_eq!(t.write_buffer_len(), 5);
    assert_eq!(st.take(), b"abcde");
    assert!(st.value().is_empty());
    t.write(b"f");
    st.clear();
    assert!(st.value().is_empty());
    assert_eq!(t.write_buffer_len(), 0);
}

#[test]
fn handles_to_one_transport_are_equal_and_downcast_back() {
    let st = StringTransport::new();
    let (a, b) = (st.transport(), st.transport());
    assert_eq!(a, b);
    assert_ne!(a, StringTransport::new().transport());
    let back = a.downcast::<StringTransport>().expect("a StringTransport");
    a.write(b"x");
    assert_eq!(back.value(), b"x");
    assert!(a.reactor().is_none());
}

#[test]
fn lose_connection_sets_disconnecting_and_ignores_later_writes() {
    let (st, t) = StringTransport::pair();
    t.write(b"before");
    t.lose_connection();
    t.write(b"after");
    assert!(st.disconnecting());
    assert!(t.is_disconnecting());
    assert!(
        t.is_connected(),
        "closing, not closed, until the buffer drains"
    );
    assert!(!st.disconnected());
    assert_eq!(st.value(), b"before");
}

#[test]
fn abort_connection_closes_at_once_but_keeps_what_was_written() {
    let (st, t) = StringTransport::pair();
    t.write(b"lost");
    t.abort_connection();
    t.write(b"ignored");
    assert!(st.aborted());
    assert!(st.disconnected());
    assert!(!t.is_connected());
    assert!(!t.is_disconnecting());
    assert_eq!(t.write_buffer_len(), 0, "the send buffer is dropped");
    assert_eq!(st.value(), b"lost", "still inspectable");
}

#[test]
fn lose_write_connection_sets_write_shut_and_ignores_later_writes() {
    let (st, t) = StringTransport::pair();
    t.write(b"last words");
    t.lose_write_connection();
    t.write(b"ignored");
    assert!(st.write_shut());
    assert!(!st.disconnecting());
    assert!(t.is_connected());
    assert_eq!(st.value(), b"last words");
}

#[test]
fn read_side_state_follows_pause_resume_and_close() {
    let (st, t) = StringTransport::pair();
    assert_eq!(st.producer_state(), ProducerState::Producing);
    t.pause_producing();
    assert_eq!(st.producer_state(), ProducerState::Paused);
    t.resume_producing();
    assert_eq!(st.producer_state(), ProducerState::Producing);
    t.pause_producing();
    t.abort_connection();
    assert_eq!(st.producer_state(), ProducerState::Stopped);
}

#[test]
fn addresses_default_to_memory_and_can_be_set() {
    let (st, t) = StringTransport::pair();
    assert_eq!(t.get_host(), Address::Memory("host".into()));
    assert_eq!(t.get_peer(), Address::Memory("peer".into()));
    let addr: std::net::SocketAddr = "10.0.0.1:12345".parse().unwrap();
    st.set_host(Address::Tcp(addr));
    st.set_peer(Address::Unix(None));
    assert_eq!(t.get_host().port(), Some(12345));
    assert_eq!(t.get_peer(), Address::Unix(None));
}

#[test]
fn tcp_options_and_watermarks_are_recorded() {
    let (st, t) = StringTransport::pair();
    assert_eq!(st.tcp_no_delay(), None);
    t.set_tcp_no_delay(true).unwrap();
    t.set_tcp_keep_alive(false).unwrap();
    assert_eq!(st.tcp_no_delay(), Some(true));
    assert_eq!(st.tcp_keep_alive(), Some(false));
    assert_eq!(st.watermarks(), (64 * 1024, 0));
    t.set_write_watermarks(100, 500);
    assert_eq!(st.watermarks(), (100, 100), "low is capped at high");
}

#[test]
fn one_producer_at_a_time() {
    let (st, t) = StringTransport::pair();
    let p = Rc::new(Logged::default());
    assert_eq!(st.streaming(), None);
    t.register_producer(Producer::Push(p.clone())).unwrap();
    assert_eq!(st.streaming(), Some(true));
    assert!(matches!(st.producer(), Some(Producer::Push(_))));
    assert_eq!(
        t.register_producer(Producer::Pull(p.clone())),
        Err(ProducerError::AlreadyRegistered)
    );
    t.unregister_producer();
    assert!(st.producer().is_none());
    t.register_producer(Producer::Pull(p.clone())).unwrap();
    assert_eq!(st.streaming(), Some(false));
    t.unregister_producer();
    t.abort_connection();
    assert_eq!(
        t.register_producer(Producer::Push(p)),
        Err(ProducerError::Closed)
    );
}

#[test]
fn push_producer_is_paused_above_high_water_and_resumed_when_drained() {
    let (st, t) = StringTransport::pair();
    let p = Rc::new(Logged::default());
    t.set_write_watermarks(10, 0);
    t.register_producer(Producer::Push(p.clone())).unwrap();
    t.write(&[0; 10]);
    assert!(!st.producer_paused(), "at the mark is not above it");
    t.write(&[0; 1]);
    assert!(st.producer_paused());
    t.write(&[0; 100]);
    assert!(p.calls().is_empty(), "transport methods never call out");
    assert!(st.run_pending());
    assert_eq!(p.calls(), ["pause"], "paused once");
    assert!(!st.run_pending());
    st.clear();
    assert!(!st.producer_paused());
    st.run_pending();
    assert_eq!(p.calls(), ["pause", "resume"]);
}

#[test]
fn pause_and_resume_owed_together_arrive_in_order() {
    let (st, t) = StringTransport::pair();
    let p = Rc::new(Logged::default());
    t.set_write_watermarks(1, 0);
    t.register_producer(Producer::Push(p.clone())).unwrap();
    t.write(b"abc");
    st.take();
    st.run_pending();
    assert_eq!(p.calls(), ["pause", "resume"], "never left paused");
}

#[test]
fn producer_registered_over_the_mark_is_paused() {
    let (st, t) = StringTransport::pair();
    t.set_write_watermarks(1, 0);
    t.write(b"abc");
    let p = Rc::new(Logged::default());
    t.register_producer(Producer::Push(p.clone())).unwrap();
    assert!(st.producer_paused());
    st.run_pending();
    assert_eq!(p.calls(), ["pause"]);
}

#[test]
fn pull_producer_is_asked_on_registration_and_each_time_the_buffer_empties() {
    let (st, t) = StringTransport::pair();
    let p = Rc::new(Logged::default());
    t.register_producer(Producer::Pull(p.clone())).unwrap();
    st.run_pending();
    assert_eq!(p.calls(), ["more"]);
    st.take();
    st.run_pending();
    assert_eq!(p.calls(), ["more"], "nothing was drained");
    t.write(b"piece");
    st.take();
    st.run_pending();
    assert_eq!(p.calls(), ["more", "more"]);
}

/// A push producer that writes from inside its own resume: no borrow may be held.
struct Writer {
    transport: torsion::transport::Transport,
}

impl PushProducer for Writer {
    fn pause_producing(&self) {
        self.transport.write(b"(paused)");
    }
    fn resume_producing(&self) {
        self.transport.write(b"(resumed)");
    }
    fn stop_producing(&self) {}
}

#[test]
fn producers_may_write_from_their_callbacks() {
    let (st, t) = StringTransport::pair();
    t.set_write_watermarks(3, 0);
    let w = Rc::new(Writer {
        transport: t.clone(),
    });
    t.register_producer(Producer::Push(w)).unwrap();
    t.write(b"abcd");
    st.run_pending();
    assert_eq!(st.take(), b"abcd(paused)");
    st.run_pending();
    // Its resume wrote past the mark again, so it was paused again.
    assert_eq!(st.value(), b"(resumed)(paused)");
    assert!(st.producer_paused());
}

#[test]
fn taking_from_a_closed_transport_owes_the_producer_nothing() {
    let (st, t) = StringTransport::pair();
    let p = Rc::new(Logged::default());
    t.set_write_watermarks(1, 0);
    t.register_producer(Producer::Push(p.clone())).unwrap();
    t.write(b"abc");
    t.abort_connection();
    st.run_pending();
    assert_eq!(st.take(), b"abc");
    assert!(!st.run_pending());
    assert_eq!(p.calls(), ["pause"]);
}
