//! WrappingFactory, ProtocolWrapper and WrapperTransport: forwarding both ways, the live
//! set, factory and client calls, producers and holds, half-close, ownership, and an echo
//! over real TCP (Twisted's `WrapperTests`).

mod util;

use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::rc::Rc;
use std::time::Duration;

use torsion::defer::Failure;
use torsion::protocol::{
    do_start, do_stop, for_protocol, Address, ClientFactory, ConnectionLost, Factory, Protocol,
};
use torsion::protocols::policies::{Plain, ProtocolWrapper, WrapperTransport, WrappingFactory};
use torsion::tcp::{Connector, ReactorTcp};
use torsion::testing::{connected_server_and_client, Driver, MemoryReactor, ProducerState};
use torsion::transport::{Producer, ProducerError, PullProducer, PushProducer, Transport};

struct Echo;

impl Protocol for Echo {
    fn data_received(&mut self, t: &Transport, data: &[u8]) {
        t.write(data);
    }
}

/// Remembers everything that happened to it.
#[derive(Default)]
struct Recorder {
    transport: Option<Transport>,
    data: Vec<u8>,
    lost: Option<ConnectionLost>,
    half_closeable: bool,
    read_lost: bool,
}

impl Protocol for Recorder {
    fn connection_made(&mut self, t: &Transport) {
        self.transport = Some(t.clone());
    }
    fn data_received(&mut self, _: &Transport, data: &[u8]) {
        self.data.extend_from_slice(data);
    }
    fn connection_lost(&mut self, _: &Transport, reason: ConnectionLost) {
        self.lost = Some(reason);
    }
    fn half_closeable(&self) -> bool {
        self.half_closeable
    }
    fn read_connection_lost(&mut self, t: &Transport) {
        self.read_lost = true;
        t.write(b"last words");
        t.lose_connection();
    }
}

fn peer() -> Address {
    Address::Memory("peer".into())
}

fn wrapped_driver<P: Protocol>(
    make: impl Fn() -> P + 'static,
) -> (Rc<WrappingFactory>, Driver<ProtocolWrapper<Plain>>) {
    let factory = WrappingFactory::new(for_protocol(make));
    let d = Driver::new(factory.build_wrapper(&peer()).unwrap());
    (factory, d)
}

fn recorder<R>(d: &Driver<ProtocolWrapper<Plain>>, f: impl FnOnce(&mut Recorder) -> R) -> R {
    d.with_protocol(|w| f(w.wrapped_as::<Recorder>().expect("a Recorder")))
}

#[test]
fn wraps_the_wrapped_factorys_protocol_and_forwards_both_ways() {
    let (_factory, d) = wrapped_driver(|| Echo);
    assert!(d.with_protocol(|w| w.wrapped_as::<Echo>().is_some()));
    d.data_received(b"ping");
    assert_eq!(d.take_written(), b"ping");
    d.with_protocol(|w| {
        let t = w.wrapper().transport();
        w.wrapped_protocol().data_received(&t, b"direct")
    });
    assert_eq!(d.take_written(), b"direct");
}

#[test]
fn the_wrapped_protocol_sees_the_wrapper_transport_and_it_forwards() {
    let (_factory, d) = wrapped_driver(Recorder::default);
    let seen = recorder(&d, |r| r.transport.clone().unwrap());
    assert_ne!(seen, d.handle());
    let wrapper = seen
        .downcast::<WrapperTransport<Plain>>()
        .expect("a wrapper");
    assert_eq!(wrapper.lower(), Some(&d.handle()));
    assert_eq!(seen, d.with_protocol(|w| w.wrapper().transport()));
    // Twisted's test_getHost / test_getPeer
    assert_eq!(seen.get_host(), d.handle().get_host());
    assert_eq!(seen.get_peer(), d.handle().get_peer());
    seen.write_sequence(&[b"a", b"b"]);
    seen.set_write_watermarks(10, 2);
    assert_eq!(d.transport().watermarks(), (10, 2));
    assert_eq!(seen.write_buffer_len(), 2);
    seen.set_tcp_no_delay(true).unwrap();
    assert_eq!(d.transport().tcp_no_delay(), Some(true));
    seen.set_tcp_keep_alive(true).unwrap();
    assert_eq!(d.transport().tcp_keep_alive(), Some(true));
    assert!(seen.is_connected() && !seen.is_disconnecting());
    seen.lose_write_connection();
    assert!(d.transport().write_shut());
    assert!(seen.reactor().is_none());
}

#[test]
fn closes_pass_down_and_the_loss_comes_up() {
    let (factory, d) = wrapped_driver(Recorder::default);
    let seen = recorder(&d, |r| r.transport.clone().unwrap());
    seen.write(b"bye");
    seen.lose_connection();
    assert!(seen.is_disconnecting());
    assert!(d.transport().disconnecting());
    assert_eq!(factory.protocols().len(), 1);
    assert_eq!(d.take_written(), b"bye");
    d.run_pending();
    assert!(recorder(&d, |r| r.lost.as_ref().unwrap().is_clean()));
    assert!(factory.protocols().is_empty());
    assert!(!seen.is_connected());
    // Still tells its addresses once closed.
    assert_eq!(seen.get_peer(), peer());
}

#[test]
fn abort_passes_down() {
    let (_factory, d) = wrapped_driver(Recorder::default);
    let seen = recorder(&d, |r| r.transport.clone().unwrap());
    seen.abort_connection();
    assert!(d.transport().aborted());
    d.run_pending();
    assert!(matches!(
        recorder(&d, |r| r.lost.clone()),
        Some(ConnectionLost::Aborted)
    ));
}

#[test]
fn the_live_set_follows_connections() {
    let factory = WrappingFactory::new(for_protocol(Recorder::default));
    let built = factory.build_wrapper(&peer()).unwrap();
    assert!(factory.protocols().is_empty(), "built is not connected");
    let a = Driver::new(built);
    let b = Driver::new(factory.build_wrapper(&peer()).unwrap());
    assert_eq!(factory.protocols().len(), 2);
    let transports = factory.protocols().transports();
    assert_eq!(transports[0], a.with_protocol(|w| w.wrapper().transport()));
    assert_eq!(transports[1], b.with_protocol(|w| w.wrapper().transport()));
    a.connection_lost(ConnectionLost::Done);
    assert_eq!(factory.protocols().len(), 1);
    // A connection dropped without its loss being delivered leaves too.
    drop(b);
    assert!(factory.protocols().is_empty());
    // And a wrapper dropped unconnected never joined.
    drop(factory.build_wrapper(&peer()));
    assert!(factory.protocols().is_empty());
}

#[test]
fn a_refusal_of_the_wrapped_factory_refuses() {
    struct Refuse;
    impl Factory for Refuse {
        fn build_protocol(&self, _: &Address) -> Option<Box<dyn Protocol>> {
            None
        }
    }
    let factory = WrappingFactory::new(Rc::new(Refuse));
    assert!(factory.build_wrapper(&peer()).is_none());
    assert!(factory.build_protocol(&peer()).is_none());
}

#[test]
fn the_wrapped_protocol_is_dropped_with_the_wrapper_even_holding_its_transport() {
    // Twisted's test_breakReferenceCycle: nothing refers back to the wrapper, so a
    // protocol that keeps its transport is still freed with its connection.
    struct Holder {
        _transport: Option<Transport>,
        dropped: Rc<Cell<bool>>,
    }
    impl Protocol for Holder {
        fn connection_made(&mut self, t: &Transport) {
            self._transport = Some(t.clone());
        }
        fn data_received(&mut self, _: &Transport, _: &[u8]) {}
    }
    impl Drop for Holder {
        fn drop(&mut self) {
            self.dropped.set(true);
        }
    }
    let dropped = Rc::new(Cell::new(false));
    let flag = dropped.clone();
    let factory = WrappingFactory::new(for_protocol(move || Holder {
        _transport: None,
        dropped: flag.clone(),
    }));
    let d = Driver::new(factory.build_wrapper(&peer()).unwrap());
    d.handle().lose_connection();
    d.run_pending();
    assert!(d.is_closed());
    assert!(!dropped.get(), "kept after connection_lost, for inspection");
    drop(d);
    assert!(dropped.get());
}

#[test]
fn half_close_is_passed_on() {
    let (_factory, d) = wrapped_driver(|| Recorder {
        half_closeable: true,
        ..Recorder::default()
    });
    assert!(d.with_protocol(|w| w.half_closeable()));
    d.eof();
    assert!(recorder(&d, |r| r.read_lost));
    assert_eq!(d.take_written(), b"last words");
    d.run_pending();
    assert!(d.is_closed());
}

#[test]
fn start_and_stop_are_passed_on_once() {
    #[derive(Default)]
    struct Counting {
        starts: Cell<u32>,
        stops: Cell<u32>,
    }
    impl Factory for Counting {
        fn build_protocol(&self, _: &Address) -> Option<Box<dyn Protocol>> {
            Some(Box::new(Echo))
        }
        fn start_factory(&self) {
            self.starts.set(self.starts.get() + 1);
        }
        fn stop_factory(&self) {
            self.stops.set(self.stops.get() + 1);
        }
    }
    let inner = Rc::new(Counting::default());
    let wrapping: Rc<dyn Factory> = WrappingFactory::new(inner.clone());
    let direct: Rc<dyn Factory> = inner.clone();
    do_start(&wrapping);
    do_start(&direct); // used directly too: still one start
    do_start(&wrapping);
    assert_eq!(inner.starts.get(), 1);
    do_stop(&wrapping);
    do_stop(&wrapping);
    assert_eq!(inner.stops.get(), 0, "still used directly");
    do_stop(&direct);
    assert_eq!(inner.stops.get(), 1);

    // A wrapping factory dropped while started stops what it wraps.
    let wrapping: Rc<dyn Factory> = WrappingFactory::new(inner.clone());
    do_start(&wrapping);
    assert_eq!(inner.starts.get(), 2);
    drop(wrapping);
    assert_eq!(inner.stops.get(), 2);
}

#[derive(Default)]
struct ClientLog {
    log: RefCell<Vec<String>>,
}

impl Factory for ClientLog {
    fn build_protocol(&self, _: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(Recorder::default()))
    }
}

impl ClientFactory for ClientLog {
    fn started_connecting(&self, _: &Connector) {
        self.log.borrow_mut().push("started".into());
    }
    fn client_connection_failed(&self, _: &Connector, reason: Failure) {
        self.log
            .borrow_mut()
            .push(format!("failed: {}", reason.error()));
    }
    fn client_connection_lost(&self, _: &Connector, reason: &ConnectionLost) {
        self.log.borrow_mut().push(format!("lost: {reason}"));
    }
}

#[test]
fn client_calls_are_passed_on() {
    // Twisted's test_startedConnecting, test_clientConnectionFailed, test_clientConnectionLost
    let reactor = MemoryReactor::new();
    let inner = Rc::new(ClientLog::default());
    let factory = WrappingFactory::for_client(inner.clone());
    reactor.connect_tcp_dyn("example.com", 80, factory.clone(), None, None);
    assert!(reactor.fail_once(Failure::msg("refused")));
    reactor.connect_tcp_dyn("example.com", 80, factory.clone(), None, None);
    let client = reactor.succeed_once().unwrap();
    assert_eq!(factory.protocols().len(), 1);
    client.handle().lose_connection();
    client.run_pending();
    assert_eq!(
        *inner.log.borrow(),
        [
            "started",
            "failed: refused",
            "started",
            "lost: connection was closed cleanly"
        ]
    );
}

#[test]
fn a_server_factory_wrapped_for_clients_ignores_client_calls() {
    let reactor = MemoryReactor::new();
    let factory = WrappingFactory::new(for_protocol(|| Echo));
    reactor.connect_tcp_dyn("example.com", 80, factory.clone(), None, None);
    assert!(reactor.fail_once(Failure::msg("refused")));
}

/// A push producer that records what it is told.
#[derive(Default)]
struct Flag {
    paused: Cell<bool>,
    pauses: Cell<u32>,
    resumes: Cell<u32>,
    stopped: Cell<bool>,
}

impl PushProducer for Flag {
    fn pause_producing(&self) {
        self.paused.set(true);
        self.pauses.set(self.pauses.get() + 1);
    }
    fn resume_producing(&self) {
        self.paused.set(false);
        self.resumes.set(self.resumes.get() + 1);
    }
    fn stop_producing(&self) {
        self.stopped.set(true);
    }
}

#[test]
fn producers_register_through_the_wrapper() {
    // Twisted's test_registerProducer / test_unregisterProducer
    let (_factory, d) = wrapped_driver(Recorder::default);
    let seen = recorder(&d, |r| r.transport.clone().unwrap());
    let producer = Rc::new(Flag::default());
    seen.register_producer(Producer::Push(producer.clone()))
        .unwrap();
    assert_eq!(d.transport().streaming(), Some(true));
    assert_eq!(
        seen.register_producer(Producer::Push(producer.clone())),
        Err(ProducerError::AlreadyRegistered)
    );
    seen.unregister_producer();
    assert_eq!(d.transport().streaming(), None);
    seen.register_producer(Producer::Push(producer.clone()))
        .unwrap();

    // The real transport's buffer fills: the producer hears of it.
    seen.set_write_watermarks(4, 0);
    seen.write(b"12345");
    d.run_pending();
    assert!(producer.paused.get());
    d.take_written();
    d.run_pending();
    assert!(!producer.paused.get());

    // The connection goes: the producer is stopped.
    seen.abort_connection();
    d.run_pending();
    assert!(producer.stopped.get());
}

#[test]
fn no_producer_before_the_connection() {
    let factory = WrappingFactory::new(for_protocol(|| Echo));
    let w = factory.build_wrapper(&peer()).unwrap();
    let t = w.wrapper().transport();
    assert_eq!(
        t.register_producer(Producer::Push(Rc::new(Flag::default()))),
        Err(ProducerError::Closed)
    );
    t.write(b"ignored");
    assert!(!t.is_connected());
    assert_eq!(t.get_peer(), peer());
    assert_eq!(t.write_buffer_len(), 0);
    assert!(t.set_tcp_no_delay(true).is_err());
}

#[test]
fn a_write_hold_and_a_full_buffer_pause_the_producer_together() {
    let (_factory, d) = wrapped_driver(Recorder::default);
    let wrapper = d.with_protocol(|w| w.wrapper().clone());
    let seen = wrapper.transport();
    let producer = Rc::new(Flag::default());
    seen.register_producer(Producer::Push(producer.clone()))
        .unwrap();
    seen.set_write_watermarks(4, 0);

    seen.write(b"12345");
    d.run_pending(); // the buffer pauses it
    wrapper.hold_writes(true); // and so does the policy: no second pause
    assert_eq!(producer.pauses.get(), 1);
    d.take_written();
    d.run_pending(); // the buffer drained, but the hold stays
    assert!(producer.paused.get());
    wrapper.hold_writes(false);
    assert!(!producer.paused.get());
    assert_eq!(producer.resumes.get(), 1);

    wrapper.hold_writes(true);
    assert!(producer.paused.get() && wrapper.writes_held());
    wrapper.hold_writes(false);
    assert_eq!((producer.pauses.get(), producer.resumes.get()), (2, 2));
}

#[test]
fn a_held_pull_producer_is_asked_for_more_on_release() {
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
    let (_factory, d) = wrapped_driver(Recorder::default);
    let wrapper = d.with_protocol(|w| w.wrapper().clone());
    let producer = Rc::new(Pieces::default());
    wrapper.hold_writes(true);
    wrapper
        .transport()
        .register_producer(Producer::Pull(producer.clone()))
        .unwrap();
    assert_eq!(d.transport().streaming(), Some(false));
    d.run_pending(); // the transport asks for the first piece: kept back
    assert_eq!(producer.asked.get(), 0);
    wrapper.hold_writes(false);
    assert_eq!(producer.asked.get(), 1);
    wrapper.hold_writes(false);
    assert_eq!(producer.asked.get(), 1, "asked once");
}

#[test]
fn a_read_hold_and_the_protocols_pause_combine() {
    let (_factory, d) = wrapped_driver(Recorder::default);
    let wrapper = d.with_protocol(|w| w.wrapper().clone());
    let seen = wrapper.transport();
    wrapper.hold_reads(true);
    assert_eq!(d.transport().producer_state(), ProducerState::Paused);
    assert!(wrapper.reads_held());
    seen.pause_producing();
    wrapper.hold_reads(false);
    assert_eq!(
        d.transport().producer_state(),
        ProducerState::Paused,
        "the protocol still pauses"
    );
    d.data_received(b"held");
    assert_eq!(recorder(&d, |r| r.data.len()), 0);
    seen.resume_producing();
    assert_eq!(d.transport().producer_state(), ProducerState::Producing);
    d.run_pending();
    assert_eq!(recorder(&d, |r| r.data.clone()), b"held");
}

#[test]
fn a_read_hold_put_on_before_the_connection_applies_when_it_is_made() {
    let factory = WrappingFactory::new(for_protocol(Recorder::default));
    let w = factory.build_wrapper(&peer()).unwrap();
    w.wrapper().hold_reads(true);
    let d = Driver::new(w);
    assert_eq!(d.transport().producer_state(), ProducerState::Paused);
}

#[test]
fn wrappers_stack() {
    let inner = WrappingFactory::new(for_protocol(|| Echo));
    let outer = WrappingFactory::new(inner.clone());
    let d = Driver::new(outer.build_wrapper(&peer()).unwrap());
    assert_eq!((outer.protocols().len(), inner.protocols().len()), (1, 1));
    d.data_received(b"through two");
    assert_eq!(d.take_written(), b"through two");
    d.handle().lose_connection();
    d.run_pending();
    assert_eq!((outer.protocols().len(), inner.protocols().len()), (0, 0));
}

#[test]
fn through_an_in_memory_pair() {
    #[derive(Default)]
    struct Client {
        heard: Vec<u8>,
    }
    impl Protocol for Client {
        fn connection_made(&mut self, t: &Transport) {
            t.write(b"marco");
        }
        fn data_received(&mut self, t: &Transport, data: &[u8]) {
            self.heard.extend_from_slice(data);
            t.lose_connection();
        }
    }
    let factory = WrappingFactory::new(for_protocol(|| Echo));
    let server = factory.build_wrapper(&peer()).unwrap();
    let c = connected_server_and_client(server, Client::default());
    assert_eq!(c.client.with_protocol(|p| p.heard.clone()), b"marco");
    assert!(c.server.is_closed());
    assert!(factory.protocols().is_empty());
}

#[test]
fn echoes_over_real_tcp() {
    for reactor in util::reactors() {
        let factory = WrappingFactory::new(for_protocol(|| Echo));
        let port = reactor
            .listen_tcp(0, factory.clone(), 50, "127.0.0.1")
            .unwrap();
        let p = port.get_host().port().unwrap();
        let client = std::thread::spawn(move || {
            let mut s = util::std_client(p);
            s.write_all(b"hello through a wrapper").unwrap();
            let mut buf = [0u8; 23];
            s.read_exact(&mut buf).unwrap();
            buf.to_vec()
        });
        util::run_until(&reactor, Duration::from_secs(10), || client.is_finished());
        assert_eq!(client.join().unwrap(), b"hello through a wrapper");
        let f = factory.clone();
        util::run_until(&reactor, Duration::from_secs(10), move || {
            f.protocols().is_empty()
        });
        drop(port);
        reactor.close();
    }
}
