//! Throttling: connection count, read and write budgets on a manual clock, holds that do
//! not fight the protocol, the checks' life cycle (Twisted's `ThrottlingTests`).

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use torsion::protocol::{for_protocol, Address, Protocol};
use torsion::protocols::policies::{ProtocolWrapper, Throttling, ThrottlingFactory};
use torsion::tcp::ReactorTcp;
use torsion::testing::{Driver, MemoryReactor, ProducerState};
use torsion::time::Clock;
use torsion::transport::{Producer, PullProducer, PushProducer, Transport};

/// Twisted's `EchoProtocol`: echoes, with `writeSequence` for data containing "vector!".
struct Echo;

impl Protocol for Echo {
    fn data_received(&mut self, t: &Transport, data: &[u8]) {
        if data.windows(7).any(|w| w == b"vector!") {
            t.write_sequence(&[data]);
        } else {
            t.write(data);
        }
    }
}

/// A push producer that records whether it is paused.
#[derive(Default)]
struct Flag {
    paused: Cell<bool>,
}

impl PushProducer for Flag {
    fn pause_producing(&self) {
        self.paused.set(true);
    }
    fn resume_producing(&self) {
        self.paused.set(false);
    }
    fn stop_producing(&self) {}
}

fn addr() -> Address {
    Address::Tcp("127.0.0.1:0".parse().unwrap())
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn factory(policy: Throttling) -> Rc<ThrottlingFactory> {
    ThrottlingFactory::with_policy(for_protocol(|| Echo), policy)
}

fn connect(f: &ThrottlingFactory) -> Driver<ProtocolWrapper<Throttling>> {
    Driver::new(f.build_wrapper(&addr()).expect("admitted"))
}

#[test]
fn refuses_connections_over_the_maximum() {
    // Twisted's test_limit, with a MemoryReactor instead of real sockets.
    let reactor = MemoryReactor::new();
    let f = factory(Throttling::new(reactor.clock().clone()).max_connection_count(2));
    reactor.listen_tcp_dyn(80, f.clone(), 50, "").unwrap();
    #[derive(Default)]
    struct Client;
    impl Protocol for Client {
        fn data_received(&mut self, _: &Transport, _: &[u8]) {}
    }
    let mut connected = Vec::new();
    for _ in 0..3 {
        reactor.connect_tcp_dyn("127.0.0.1", 80, for_protocol(|| Client), None, None);
        connected.push(reactor.succeed_once_with_server().unwrap());
    }
    let closed: Vec<bool> = connected.iter().map(|c| c.client.is_closed()).collect();
    assert_eq!(closed, [false, false, true]);
    assert!(connected[2].client.lost_reason().unwrap().is_clean());
    assert_eq!(f.protocols().len(), 2);
    assert_eq!(f.policy().connection_count(), 2);

    // One goes: another may come.
    connected[0].client.handle().lose_connection();
    connected[0].pump.flush();
    assert_eq!(f.policy().connection_count(), 1);
    reactor.connect_tcp_dyn("127.0.0.1", 80, for_protocol(|| Client), None, None);
    let fourth = reactor.succeed_once_with_server().unwrap();
    assert!(!fourth.client.is_closed());
    assert_eq!(f.protocols().len(), 2);
}

#[test]
fn write_sequence_is_counted() {
    // Twisted's test_writeSequence
    let f = factory(Throttling::new(Clock::new()));
    let d = connect(&f);
    d.with_protocol(|w| w.wrapper().transport())
        .write_sequence(&[b"bytes", b"bytes", b"bytes", b"bytes"]);
    assert_eq!(d.written(), b"bytesbytesbytesbytes");
    assert_eq!(f.policy().written_this_second(), 20);
    d.data_received(b"a vector! here");
    assert_eq!(f.policy().written_this_second(), 34);
    assert_eq!(f.policy().read_this_second(), 14);
}

#[test]
fn the_write_limit_pauses_and_resumes_the_producer() {
    // Twisted's test_writeLimit
    let clock = Clock::new();
    let f = factory(Throttling::new(clock.clone()).write_limit(10));
    let d = connect(&f);
    let producer = Rc::new(Flag::default());
    d.with_protocol(|w| w.wrapper().transport())
        .register_producer(Producer::Push(producer.clone()))
        .unwrap();
    d.data_received(b"0123456789");
    d.data_received(b"abcdefghij");
    assert_eq!(d.written(), b"0123456789abcdefghij");
    assert_eq!(f.policy().written_this_second(), 20);
    assert!(!producer.paused.get());

    // 10 bytes over: paused at the check (1 s), resumed a second later.
    clock.advance(ms(1050));
    assert_eq!(f.policy().written_this_second(), 0);
    assert!(producer.paused.get());
    assert!(f.policy().writes_throttled());
    clock.advance(ms(1050));
    assert_eq!(f.policy().written_this_second(), 0);
    assert!(!producer.paused.get());
    assert!(!f.policy().writes_throttled());
}

#[test]
fn the_read_limit_pauses_and_resumes_reading() {
    // Twisted's test_readLimit
    let clock = Clock::new();
    let f = factory(Throttling::new(clock.clone()).read_limit(10));
    let d = connect(&f);
    for _ in 0..2 {
        d.take_written();
        d.data_received(b"0123456789");
        d.data_received(b"abcdefghij");
        assert_eq!(d.written(), b"0123456789abcdefghij");
        assert_eq!(f.policy().read_this_second(), 20);

        clock.advance(ms(1050));
        assert_eq!(f.policy().read_this_second(), 0);
        assert_eq!(d.transport().producer_state(), ProducerState::Paused);
        assert!(f.policy().reads_throttled());

        clock.advance(ms(1050));
        assert_eq!(f.policy().read_this_second(), 0);
        assert_eq!(d.transport().producer_state(), ProducerState::Producing);
    }
}

#[test]
fn the_pause_lasts_in_proportion_to_the_excess() {
    let clock = Clock::new();
    let f = factory(Throttling::new(clock.clone()).read_limit(10));
    let d = connect(&f);
    d.data_received(&[b'x'; 40]); // four seconds' worth: paused for three after the check
    clock.advance(ms(1000));
    assert!(f.policy().reads_throttled());
    clock.advance(ms(2999));
    assert_eq!(
        d.transport().producer_state(),
        ProducerState::Paused,
        "later checks see 0 bytes"
    );
    clock.advance(ms(1));
    assert_eq!(d.transport().producer_state(), ProducerState::Producing);
}

#[test]
fn a_protocol_that_paused_itself_stays_paused_after_the_throttle() {
    let clock = Clock::new();
    let f = factory(Throttling::new(clock.clone()).read_limit(10));
    let d = connect(&f);
    d.data_received(&[b'x'; 20]);
    clock.advance(ms(1000));
    d.with_protocol(|w| w.wrapper().transport())
        .pause_producing();
    clock.advance(ms(1000));
    assert!(!f.policy().reads_throttled());
    assert_eq!(d.transport().producer_state(), ProducerState::Paused);
    d.with_protocol(|w| w.wrapper().transport())
        .resume_producing();
    assert_eq!(d.transport().producer_state(), ProducerState::Producing);
}

#[test]
fn a_producer_paused_by_a_full_buffer_stays_paused_after_the_throttle() {
    let clock = Clock::new();
    let f = factory(Throttling::new(clock.clone()).write_limit(10));
    let d = connect(&f);
    let t = d.with_protocol(|w| w.wrapper().transport());
    let producer = Rc::new(Flag::default());
    t.register_producer(Producer::Push(producer.clone()))
        .unwrap();
    t.set_write_watermarks(15, 0);
    t.write(&[b'x'; 20]);
    d.run_pending();
    assert!(producer.paused.get());
    clock.advance(ms(1000)); // throttled too
    clock.advance(ms(1000)); // throttle lifted, buffer still full
    assert!(producer.paused.get());
    d.take_written();
    d.run_pending();
    assert!(!producer.paused.get());
}

#[test]
fn a_pull_producer_is_held_by_the_write_limit() {
    #[derive(Default)]
    struct Pieces {
        asked: Cell<u32>,
    }
    impl PullProducer for Pieces {
        fn resume_producing(&self) {
            self.asked.set(self.asked.get() + 1);
        }
        fn stop_producing(&self) {}
    }
    let clock = Clock::new();
    let f = factory(Throttling::new(clock.clone()).write_limit(10));
    let d = connect(&f);
    let t = d.with_protocol(|w| w.wrapper().transport());
    let producer = Rc::new(Pieces::default());
    t.register_producer(Producer::Pull(producer.clone()))
        .unwrap();
    d.run_pending();
    assert_eq!(producer.asked.get(), 1);
    t.write(&[b'x'; 30]);
    clock.advance(ms(1000)); // 30 at 10/s: held for 2 s
    d.take_written();
    d.run_pending(); // the buffer emptied: a request, kept back
    assert_eq!(producer.asked.get(), 1);
    clock.advance(ms(2000));
    assert_eq!(producer.asked.get(), 2);
}

#[test]
fn a_connection_made_while_throttled_starts_throttled() {
    let clock = Clock::new();
    let f = factory(Throttling::new(clock.clone()).read_limit(10));
    let first = connect(&f);
    first.data_received(&[b'x'; 30]);
    clock.advance(ms(1000));
    let second = connect(&f);
    assert_eq!(second.transport().producer_state(), ProducerState::Paused);
    clock.advance(ms(2000));
    assert_eq!(
        second.transport().producer_state(),
        ProducerState::Producing
    );
    assert_eq!(first.transport().producer_state(), ProducerState::Producing);
}

#[test]
fn the_checks_run_only_while_connections_are_up() {
    let clock = Clock::new();
    let f = factory(
        Throttling::new(clock.clone())
            .read_limit(10)
            .write_limit(10),
    );
    assert_eq!(clock.pending_calls(), 0);
    let a = connect(&f);
    assert_eq!(clock.pending_calls(), 2, "a read check and a write check");
    let b = connect(&f);
    assert_eq!(clock.pending_calls(), 2);
    a.data_received(&[b'x'; 30]); // read, and echoed
    clock.advance(ms(1000));
    assert_eq!(clock.pending_calls(), 4, "and an unthrottle each way");
    a.connection_lost(torsion::protocol::ConnectionLost::Done);
    assert_eq!(clock.pending_calls(), 4);
    b.handle().abort_connection();
    b.run_pending();
    assert_eq!(clock.pending_calls(), 0);
    assert!(!f.policy().reads_throttled());
    assert_eq!(f.policy().connection_count(), 0);

    let c = connect(&f);
    assert_eq!(clock.pending_calls(), 2);
    assert_eq!(c.transport().producer_state(), ProducerState::Producing);
}

#[test]
fn a_refusal_starts_no_checks_and_an_unbuilt_connection_is_released() {
    struct Refuse;
    impl torsion::protocol::Factory for Refuse {
        fn build_protocol(&self, _: &Address) -> Option<Box<dyn Protocol>> {
            None
        }
    }
    let clock = Clock::new();
    let zero = factory(
        Throttling::new(clock.clone())
            .read_limit(10)
            .max_connection_count(0),
    );
    assert!(zero.build_wrapper(&addr()).is_none());
    assert_eq!(clock.pending_calls(), 0);

    let refusing = ThrottlingFactory::with_policy(
        Rc::new(Refuse),
        Throttling::new(clock.clone()).read_limit(10),
    );
    assert!(refusing.build_wrapper(&addr()).is_none());
    assert_eq!(refusing.policy().connection_count(), 0);
    assert_eq!(clock.pending_calls(), 0);

    // Built, never connected, dropped: released.
    let f = factory(Throttling::new(clock.clone()).max_connection_count(1));
    drop(f.build_wrapper(&addr()).unwrap());
    assert_eq!(f.policy().connection_count(), 0);
    assert!(f.build_wrapper(&addr()).is_some());
}

#[test]
#[should_panic(expected = "above zero")]
fn a_zero_limit_is_refused() {
    let _ = Throttling::new(Clock::new()).read_limit(0);
}
