//! `ReconnectingClientFactory` on a manual clock with a fake connector that records
//! connect calls (Twisted's `ReconnectingFactoryTests` and more), plus one run against a
//! real reactor on loopback.

mod util;

use std::cell::{Cell, RefCell};
use std::io;
use std::rc::Rc;
use std::time::Duration;

use torsion::defer::Failure;
use torsion::protocol::{
    for_protocol, standard_normal, Address, Backoff, ClientFactory, ConnectionLost, Factory,
    Protocol, ReconnectHandle, ReconnectingClientFactory, XorShift64,
};
use torsion::tcp::{Connector, ConnectorCore, Destination};
use torsion::time::Clock;
use torsion::transport::Transport;
use torsion::Reactor;

// ----- fakes -----

/// Records `connect` and `stop_connecting`; may report a failed attempt on stop, as a
/// real connector does (Twisted's `FactoryAwareFakeConnector`).
#[derive(Default)]
struct FakeConnector {
    connects: Cell<u32>,
    stops: Cell<u32>,
    fail_on_stop: RefCell<Option<Rc<dyn ClientFactory>>>,
}

impl ConnectorCore for FakeConnector {
    fn connect(&self) {
        self.connects.set(self.connects.get() + 1);
    }
    fn disconnect(&self) {}
    fn stop_connecting(&self) {
        self.stops.set(self.stops.get() + 1);
        let factory = self.fail_on_stop.borrow().clone();
        if let Some(f) = factory {
            f.client_connection_failed(&connector_of(self), Failure::msg("stopped"));
        }
    }
    fn get_destination(&self) -> Destination {
        Destination::Tcp {
            host: "example.com".into(),
            port: 80,
        }
    }
    fn is_connected(&self) -> bool {
        false
    }
}

thread_local! {
    static CONNECTORS: RefCell<Vec<(Rc<FakeConnector>, Connector)>> = const { RefCell::new(Vec::new()) };
}

fn fake() -> (Rc<FakeConnector>, Connector) {
    let core = Rc::new(FakeConnector::default());
    let connector = Connector::new(core.clone());
    CONNECTORS.with(|c| c.borrow_mut().push((core.clone(), connector.clone())));
    (core, connector)
}

fn connector_of(core: &FakeConnector) -> Connector {
    CONNECTORS.with(|c| {
        c.borrow()
            .iter()
            .find(|(k, _)| std::ptr::eq(&**k, core))
            .map(|(_, c)| c.clone())
            .expect("made by fake()")
    })
}

struct Nothing;

impl Protocol for Nothing {
    fn data_received(&mut self, _: &Transport, _: &[u8]) {}
}

fn refused() -> Failure {
    Failure::new(io::Error::from(io::ErrorKind::ConnectionRefused))
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// No jitter, factor 2, 1 s initial, 10 s max.
fn plain(clock: &Clock) -> Rc<ReconnectingClientFactory> {
    ReconnectingClientFactory::builder(clock.clone())
        .factor(2.0)
        .jitter(0.0)
        .max_delay(Duration::from_secs(10))
        .build(for_protocol(|| Nothing))
}

// ----- back-off -----

#[test]
fn delays_grow_by_factor_up_to_max_delay() {
    let clock = Clock::new();
    let factory = plain(&clock);
    let (core, connector) = fake();
    let mut delays = Vec::new();
    for attempt in 1..=6 {
        factory.client_connection_failed(&connector, refused());
        let delay = factory.delay();
        delays.push(delay.as_secs());
        assert_eq!(clock.pending_calls(), 1);
        clock.advance(delay - Duration::from_millis(1));
        assert_eq!(core.connects.get(), attempt - 1, "not before the delay");
        clock.advance(Duration::from_millis(1));
        assert_eq!(core.connects.get(), attempt, "reconnected after the delay");
        assert!(factory.pending_retry().is_none());
    }
    assert_eq!(delays, [2, 4, 8, 10, 10, 10]);
    assert_eq!(factory.retries(), 6);
}

#[test]
fn twisted_defaults() {
    let b = Backoff::default();
    assert_eq!(b.initial_delay, Duration::from_secs(1));
    assert_eq!(b.max_delay, Duration::from_secs(3600));
    assert_eq!(b.factor, std::f64::consts::E);
    assert_eq!(b.jitter, 0.119626565582);
    assert_eq!(b.max_retries, None);
    // Twisted's first retry waits initial * factor (before jitter).
    let clock = Clock::new();
    let factory = ReconnectingClientFactory::builder(clock.clone())
        .jitter(0.0)
        .build(for_protocol(|| Nothing));
    let (_, connector) = fake();
    assert_eq!(factory.retry(&connector), Some(secs(std::f64::consts::E)));
}

#[test]
fn connection_lost_schedules_a_retry_on_the_given_clock() {
    let clock = Clock::new();
    let factory = plain(&clock);
    let (_, connector) = fake();
    factory.client_connection_lost(&connector, &ConnectionLost::Done);
    assert_eq!(clock.pending_calls(), 1);
    assert_eq!(factory.connector(), Some(connector));
}

#[test]
fn max_retries_gives_up() {
    let clock = Clock::new();
    let factory = ReconnectingClientFactory::builder(clock.clone())
        .jitter(0.0)
        .max_retries(Some(3))
        .build(for_protocol(|| Nothing));
    let (core, connector) = fake();
    for _ in 0..3 {
        factory.client_connection_failed(&connector, refused());
        clock.advance(Duration::from_secs(3600));
    }
    assert_eq!(core.connects.get(), 3);
    factory.client_connection_failed(&connector, refused());
    assert_eq!(clock.pending_calls(), 0, "gave up");
    assert!(factory.connector().is_none(), "and let go of the connector");
    assert_eq!(factory.retry(&connector), None);
    clock.advance(Duration::from_secs(3600));
    assert_eq!(core.connects.get(), 3);
}

#[test]
fn stop_trying_cancels_the_pending_retry() {
    let clock = Clock::new();
    let factory = plain(&clock);
    let (core, connector) = fake();
    factory.client_connection_failed(&connector, refused());
    assert!(factory.pending_retry().is_some());
    factory.stop_trying();
    assert!(!factory.continue_trying());
    assert_eq!(clock.pending_calls(), 0);
    assert_eq!(core.stops.get(), 1, "an attempt in progress is stopped too");
    clock.advance(Duration::from_secs(100));
    assert_eq!(core.connects.get(), 0);
    factory.client_connection_failed(&connector, refused());
    assert_eq!(clock.pending_calls(), 0, "no retry once stopped");
}

#[test]
fn stop_trying_does_not_reconnect() {
    // Twisted's test_stopTryingDoesNotReconnect: the connector reports the stopped
    // attempt as failed, from inside stop_trying.
    let clock = Clock::new();
    let factory = plain(&clock);
    let (core, connector) = fake();
    *core.fail_on_stop.borrow_mut() = Some(factory.clone());
    factory.started_connecting(&connector);
    factory.stop_trying();
    assert_eq!(core.stops.get(), 1);
    assert_eq!(core.connects.get(), 0);
    assert!(clock.get_delayed_calls().is_empty());
    core.fail_on_stop.borrow_mut().take();
}

#[test]
fn stop_trying_when_connected() {
    // Twisted's test_stopTryingWhenConnected.
    let clock = Clock::new();
    let factory = plain(&clock);
    let (core, connector) = fake();
    assert!(factory
        .build_protocol(&Address::Memory("peer".into()))
        .is_some());
    factory.stop_trying();
    factory.client_connection_lost(&connector, &ConnectionLost::Done);
    assert!(!factory.continue_trying());
    assert_eq!((core.connects.get(), clock.pending_calls()), (0, 0));
}

#[test]
fn reset_delay_starts_afresh() {
    let clock = Clock::new();
    let factory = plain(&clock);
    let (_, connector) = fake();
    for _ in 0..3 {
        factory.client_connection_failed(&connector, refused());
        clock.advance(Duration::from_secs(10));
    }
    assert_eq!((factory.delay(), factory.retries()), (secs(8.0), 3));
    factory.handle().reset_delay();
    assert_eq!((factory.delay(), factory.retries()), (secs(1.0), 0));
    factory.client_connection_lost(&connector, &ConnectionLost::Done);
    assert_eq!(factory.delay(), secs(2.0));
    // reset_delay also resumes a factory that stopped trying (as Twisted's does).
    factory.stop_trying();
    factory.reset_delay();
    assert!(factory.continue_trying());
}

#[test]
fn a_second_retry_replaces_the_pending_one() {
    let clock = Clock::new();
    let factory = plain(&clock);
    let (core, connector) = fake();
    factory.retry(&connector);
    factory.retry(&connector);
    assert_eq!(clock.pending_calls(), 1);
    clock.advance(Duration::from_secs(10));
    assert_eq!(core.connects.get(), 1);
}

// ----- jitter -----

fn jittered_delays(seed: u64, n: usize) -> Vec<Duration> {
    let clock = Clock::new();
    let factory = ReconnectingClientFactory::builder(clock.clone())
        .seed(seed)
        .build(for_protocol(|| Nothing));
    let (_, connector) = fake();
    (0..n)
        .map(|_| {
            let d = factory.retry(&connector).unwrap();
            clock.advance(d);
            d
        })
        .collect()
}

#[test]
fn jitter_is_deterministic_with_a_seed() {
    assert_eq!(jittered_delays(7, 20), jittered_delays(7, 20));
    assert_ne!(jittered_delays(7, 20), jittered_delays(8, 20));
    // Unseeded factories differ from each other (so clients do not retry in step).
    let a = XorShift64::from_entropy();
    let b = XorShift64::from_entropy();
    assert_ne!(a, b);
}

#[test]
fn jitter_is_bounded_and_centred() {
    let backoff = Backoff {
        factor: 1.0,
        jitter: 0.1,
        max_delay: Duration::from_secs(1000),
        ..Backoff::default()
    };
    let mut rng = XorShift64::new(42);
    let samples: Vec<f64> = (0..20_000)
        .map(|_| backoff.next_delay(secs(100.0), &mut rng).as_secs_f64())
        .collect();
    let (lo, hi) = (100.0 * (1.0 - 0.4), 100.0 * (1.0 + 0.4));
    assert!(
        samples.iter().all(|&s| (lo..=hi).contains(&s)),
        "truncated at 4 sigma"
    );
    let mean = samples.iter().sum::<f64>() / samples.len() as f64;
    let var = samples.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / samples.len() as f64;
    assert!((mean - 100.0).abs() < 0.5, "mean {mean}");
    assert!((var.sqrt() - 10.0).abs() < 0.5, "sd {}", var.sqrt());
    // With the defaults, every delay in a long run stays within 4 sigma of its centre.
    let delays = jittered_delays(3, 60);
    let mut centre_prev = 1.0;
    for d in delays {
        let grown = (centre_prev * std::f64::consts::E).min(3600.0);
        let spread = 4.0 * grown * 0.119626565582;
        let d = d.as_secs_f64();
        assert!(
            (grown - spread..=grown + spread).contains(&d),
            "{d} vs {grown}"
        );
        centre_prev = d;
    }
}

#[test]
fn standard_normal_is_standard() {
    let mut rng = XorShift64::new(0);
    let n = 50_000;
    let xs: Vec<f64> = (0..n).map(|_| standard_normal(&mut rng)).collect();
    let mean = xs.iter().sum::<f64>() / n as f64;
    let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
    assert!(mean.abs() < 0.03, "{mean}");
    assert!((sd - 1.0).abs() < 0.03, "{sd}");
    let within_one = xs.iter().filter(|x| x.abs() < 1.0).count() as f64 / n as f64;
    assert!((within_one - 0.6827).abs() < 0.01, "{within_one}");
}

// ----- the wrapped factory and the handle -----

#[derive(Default)]
struct Recording {
    events: RefCell<Vec<String>>,
    /// Calls `stop_trying` from its own `client_connection_failed` (re-entrancy).
    handle: RefCell<Option<ReconnectHandle>>,
}

impl Factory for Recording {
    fn build_protocol(&self, _: &Address) -> Option<Box<dyn Protocol>> {
        self.events.borrow_mut().push("build".into());
        Some(Box::new(Nothing))
    }
}

impl ClientFactory for Recording {
    fn started_connecting(&self, _: &Connector) {
        self.events.borrow_mut().push("started".into());
    }
    fn client_connection_failed(&self, _: &Connector, reason: Failure) {
        self.events
            .borrow_mut()
            .push(format!("failed: {}", reason.error()));
        let handle = self.handle.borrow().clone();
        if let Some(h) = handle {
            h.stop_trying();
        }
    }
    fn client_connection_lost(&self, _: &Connector, reason: &ConnectionLost) {
        self.events.borrow_mut().push(format!("lost: {reason}"));
    }
}

#[test]
fn the_wrapped_factory_hears_every_event() {
    let clock = Clock::new();
    let inner = Rc::new(Recording::default());
    let factory = ReconnectingClientFactory::builder(clock.clone()).build(inner.clone());
    let (_, connector) = fake();
    factory.started_connecting(&connector);
    factory.build_protocol(&Address::Memory("x".into()));
    factory.client_connection_lost(&connector, &ConnectionLost::Done);
    factory.client_connection_failed(&connector, Failure::msg("nope"));
    assert_eq!(
        *inner.events.borrow(),
        [
            "started",
            "build",
            "lost: connection was closed cleanly",
            "failed: nope"
        ]
    );
    assert_eq!(clock.pending_calls(), 1);
}

#[test]
fn the_wrapped_factory_may_stop_trying_from_its_callback() {
    let clock = Clock::new();
    let inner = Rc::new(Recording::default());
    let factory = ReconnectingClientFactory::builder(clock.clone()).build(inner.clone());
    *inner.handle.borrow_mut() = Some(factory.handle());
    let (_, connector) = fake();
    factory.client_connection_failed(&connector, refused());
    assert!(!factory.continue_trying());
    assert_eq!(clock.pending_calls(), 0);
}

#[test]
fn protocols_get_the_handle() {
    let clock = Clock::new();
    let handles = Rc::new(RefCell::new(Vec::new()));
    let h = handles.clone();
    let factory = ReconnectingClientFactory::builder(clock)
        .jitter(0.0)
        .build_for_protocol(move |handle| {
            h.borrow_mut().push(handle.clone());
            Nothing
        });
    let (_, connector) = fake();
    factory.client_connection_failed(&connector, refused());
    assert_eq!(factory.retries(), 1);
    assert!(factory
        .build_protocol(&Address::Memory("x".into()))
        .is_some());
    handles.borrow()[0].reset_delay();
    assert_eq!(factory.retries(), 0);
    let weak = handles.borrow()[0].clone();
    drop(factory);
    assert!(
        weak.factory().is_none(),
        "the handle does not keep the factory alive"
    );
    weak.reset_delay(); // harmless
}

// ----- a real reactor -----

/// Closes every connection it accepts right away.
struct Slam;

impl Protocol for Slam {
    fn connection_made(&mut self, transport: &Transport) {
        transport.lose_connection();
    }
    fn data_received(&mut self, _: &Transport, _: &[u8]) {}
}

/// Counts connections and resets the back-off when connected.
struct Client {
    handle: ReconnectHandle,
    made: Rc<Cell<u32>>,
}

impl Protocol for Client {
    fn connection_made(&mut self, _: &Transport) {
        self.made.set(self.made.get() + 1);
        self.handle.reset_delay();
    }
    fn data_received(&mut self, _: &Transport, _: &[u8]) {}
}

#[test]
fn reconnects_over_loopback_until_stopped() {
    let reactor = Reactor::new().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let made = Rc::new(Cell::new(0));
    let m = made.clone();
    let factory = ReconnectingClientFactory::builder(reactor.clone())
        .initial_delay(Duration::from_millis(10))
        .factor(2.0)
        .seed(1)
        .build_for_protocol(move |handle| Client {
            handle: handle.clone(),
            made: m.clone(),
        });
    let connector = reactor.connect_tcp("127.0.0.1", port, factory.clone(), None, None);
    // Nobody listens yet: attempts fail and are retried.
    util::turn_until(&reactor, Duration::from_secs(10), || factory.retries() >= 2);
    assert_eq!(made.get(), 0);
    let listening = reactor
        .listen_tcp(port, for_protocol(|| Slam), 50, "127.0.0.1")
        .expect("the port is still free");
    // Each connection is closed by the server and made again by the factory.
    util::turn_until(&reactor, Duration::from_secs(10), || made.get() >= 3);
    assert!(
        factory.delay() < Duration::from_millis(100),
        "reset on connect"
    );
    factory.stop_trying();
    let before = made.get();
    let until = std::time::Instant::now() + Duration::from_millis(200);
    util::turn_until(&reactor, Duration::from_secs(10), || {
        std::time::Instant::now() >= until
    });
    assert_eq!(made.get(), before, "no connection after stop_trying");
    assert!(factory.pending_retry().is_none());
    connector.disconnect();
    drop(listening.stop_listening());
    reactor.close();
}

#[test]
fn a_plain_factory_can_be_wrapped() {
    struct Counting(Cell<u32>);
    impl Factory for Counting {
        fn build_protocol(&self, _: &Address) -> Option<Box<dyn Protocol>> {
            self.0.set(self.0.get() + 1);
            Some(Box::new(Nothing))
        }
    }
    let inner = Rc::new(Counting(Cell::new(0)));
    let factory = ReconnectingClientFactory::builder(Clock::new()).build_factory(inner.clone());
    assert!(factory
        .build_protocol(&Address::Memory("x".into()))
        .is_some());
    assert_eq!(inner.0.get(), 1);
}
