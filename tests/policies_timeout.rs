//! IdleTimeout (TimeoutFactory): the countdown, activity in both directions, per-connection
//! control, the TimedOut reason, aborting (Twisted's `TimeoutFactoryTests` and
//! `TimeoutProtocolTests`).

use std::rc::Rc;
use std::time::Duration;

use torsion::protocol::{for_protocol, Address, ConnectionLost, Protocol};
use torsion::protocols::policies::{
    IdleTimeout, ProtocolWrapper, TimeoutFactory, WrapperTransport, DEFAULT_TIMEOUT_PERIOD,
};
use torsion::testing::{Driver, PumpBuilder};
use torsion::time::Clock;
use torsion::transport::Transport;

/// Twisted's `SimpleProtocol`.
#[derive(Default)]
struct Simple {
    data: Vec<u8>,
    lost: Option<ConnectionLost>,
}

impl Protocol for Simple {
    fn data_received(&mut self, _: &Transport, data: &[u8]) {
        self.data.extend_from_slice(data);
    }
    fn connection_lost(&mut self, _: &Transport, reason: ConnectionLost) {
        self.lost = Some(reason);
    }
}

type Conn = Driver<ProtocolWrapper<IdleTimeout>>;

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

fn pump(clock: &Clock, steps: &[f64]) {
    clock.pump(steps.iter().map(|&s| secs(s)));
}

fn setup(period: Option<f64>) -> (Clock, Rc<TimeoutFactory>, Conn) {
    let clock = Clock::new();
    let factory = TimeoutFactory::with_policy(
        for_protocol(Simple::default),
        IdleTimeout::new(clock.clone()).period(period.map(secs)),
    );
    let d = Driver::new(
        factory
            .build_wrapper(&Address::Tcp("127.0.0.1:12345".parse().unwrap()))
            .unwrap(),
    );
    (clock, factory, d)
}

fn wrapper(d: &Conn) -> Rc<WrapperTransport<IdleTimeout>> {
    d.with_protocol(|w| w.wrapper().clone())
}

/// Has the close reached the wrapped protocol? (Twisted's `wrappedProto.disconnected`,
/// which StringTransportWithDisconnection delivers at once.)
fn disconnected(d: &Conn) -> bool {
    d.take_written();
    d.run_pending();
    d.with_protocol(|w| w.wrapped_as::<Simple>().unwrap().lost.is_some())
}

fn lost(d: &Conn) -> Option<ConnectionLost> {
    d.with_protocol(|w| w.wrapped_as::<Simple>().unwrap().lost.clone())
}

#[test]
fn an_idle_connection_times_out() {
    // TimeoutFactoryTests.test_timeout
    let (clock, _f, d) = setup(Some(3.0));
    pump(&clock, &[0.0, 0.5, 1.0, 1.0, 0.4]);
    assert!(!disconnected(&d));
    pump(&clock, &[0.0, 0.2]);
    assert!(disconnected(&d));
    assert!(matches!(lost(&d), Some(ConnectionLost::TimedOut)));
    assert!(wrapper(&d).timed_out());
    assert!(wrapper(&d).timeout_call().is_none());
}

#[test]
fn writing_puts_the_timeout_off() {
    // TimeoutFactoryTests.test_sendAvoidsTimeout
    let (clock, _f, d) = setup(Some(3.0));
    let t = wrapper(&d).transport();
    pump(&clock, &[0.0, 0.5, 1.0]);
    assert!(!disconnected(&d));
    t.write(b"bytes bytes bytes");
    pump(&clock, &[0.0, 1.0, 1.0]);
    assert!(!disconnected(&d));
    t.write_sequence(&[b"bytes", b"bytes", b"bytes"]);
    pump(&clock, &[0.0, 1.0, 1.0]);
    assert!(!disconnected(&d));
    pump(&clock, &[0.0, 2.0]);
    assert!(disconnected(&d));
}

#[test]
fn receiving_puts_the_timeout_off() {
    // TimeoutFactoryTests.test_receiveAvoidsTimeout
    let (clock, _f, d) = setup(Some(3.0));
    pump(&clock, &[0.0, 1.0, 0.5]);
    assert!(!disconnected(&d));
    d.data_received(b"bytes bytes bytes");
    pump(&clock, &[0.0, 1.0, 1.0]);
    assert!(!disconnected(&d));
    pump(&clock, &[0.0, 1.0, 1.0]);
    assert!(disconnected(&d));
}

#[test]
fn cancel_timeout_stops_the_countdown() {
    // TimeoutProtocolTests.test_cancelTimeout
    let (clock, _f, d) = setup(None);
    let w = wrapper(&d);
    w.set_timeout(Some(secs(3.0)));
    assert!(w.timeout_call().is_some());
    assert!(!disconnected(&d));
    clock.advance(secs(1.0));
    w.cancel_timeout();
    assert!(w.timeout_call().is_none());
    assert_eq!(w.timeout_period(), None);
    clock.advance(secs(3.0));
    assert!(!disconnected(&d));
    // A read does not start it again.
    d.data_received(b"x");
    clock.advance(secs(10.0));
    assert!(!disconnected(&d));
}

#[test]
fn cancel_timeout_without_a_timeout_does_nothing() {
    // TimeoutProtocolTests.test_cancelTimeoutNoTimeout
    let (clock, _f, d) = setup(None);
    let w = wrapper(&d);
    assert!(w.timeout_call().is_none());
    w.cancel_timeout();
    assert_eq!(clock.pending_calls(), 0);
    assert!(!disconnected(&d));
}

#[test]
fn cancel_timeout_after_it_ran_does_nothing() {
    // TimeoutProtocolTests.test_cancelTimeoutAlreadyCalled
    let (clock, _f, d) = setup(None);
    let w = wrapper(&d);
    w.set_timeout(Some(secs(3.0)));
    clock.advance(secs(3.0));
    assert!(disconnected(&d));
    w.cancel_timeout();
}

#[test]
fn cancel_timeout_after_someone_else_cancelled_does_nothing() {
    // TimeoutProtocolTests.test_cancelTimeoutAlreadyCancelled
    let (clock, _f, d) = setup(None);
    let w = wrapper(&d);
    w.set_timeout(Some(secs(3.0)));
    w.timeout_call().unwrap().cancel().unwrap();
    w.cancel_timeout();
    clock.advance(secs(5.0));
    assert!(!disconnected(&d));
    // Nor does a reset.
    w.set_timeout(Some(secs(3.0)));
    w.timeout_call().unwrap().cancel().unwrap();
    d.data_received(b"x");
    assert!(!disconnected(&d));
}

#[test]
fn set_timeout_replaces_the_countdown() {
    let (clock, _f, d) = setup(Some(3.0));
    let w = wrapper(&d);
    w.set_timeout(Some(secs(10.0)));
    assert_eq!(clock.pending_calls(), 1);
    assert_eq!(w.timeout_period(), Some(secs(10.0)));
    clock.advance(secs(9.0));
    assert!(!disconnected(&d));
    clock.advance(secs(1.0));
    assert!(disconnected(&d));
}

#[test]
fn the_default_period_is_thirty_minutes() {
    let clock = Clock::new();
    let policy = IdleTimeout::new(clock.clone());
    assert_eq!(policy.timeout_period(), Some(DEFAULT_TIMEOUT_PERIOD));
    let factory = TimeoutFactory::with_policy(for_protocol(Simple::default), policy);
    let d = Driver::new(factory.build_wrapper(&Address::Memory("p".into())).unwrap());
    clock.advance(DEFAULT_TIMEOUT_PERIOD - secs(0.001));
    assert!(!d.transport().disconnecting());
    clock.advance(secs(0.001));
    assert!(d.transport().disconnecting());
}

#[test]
fn a_clean_timeout_waits_for_the_buffer_and_an_aborting_one_does_not() {
    let (clock, _f, d) = setup(Some(1.0));
    wrapper(&d).transport().write(b"unread by the peer");
    clock.advance(secs(1.0));
    assert!(d.transport().disconnecting());
    d.run_pending();
    assert!(
        !d.is_closed(),
        "lose_connection waits for the buffer to drain"
    );

    let clock = Clock::new();
    let factory = TimeoutFactory::with_policy(
        for_protocol(Simple::default),
        IdleTimeout::new(clock.clone())
            .period(Some(secs(1.0)))
            .abort_on_timeout(true),
    );
    let d = Driver::new(factory.build_wrapper(&Address::Memory("p".into())).unwrap());
    wrapper(&d).transport().write(b"unread by the peer");
    clock.advance(secs(1.0));
    assert!(d.transport().aborted());
    d.run_pending();
    assert!(matches!(lost(&d), Some(ConnectionLost::TimedOut)));
}

#[test]
fn other_closes_keep_their_reason_and_stop_the_countdown() {
    let (clock, _f, d) = setup(Some(3.0));
    assert_eq!(clock.pending_calls(), 1);
    wrapper(&d).transport().lose_connection();
    assert!(disconnected(&d));
    assert!(lost(&d).unwrap().is_clean());
    assert_eq!(clock.pending_calls(), 0);
    assert!(!wrapper(&d).timed_out());
}

#[test]
fn a_timeout_over_an_in_memory_pair() {
    // The client sees a clean close; the server's protocol sees it timed out.
    #[derive(Default)]
    struct Client(Option<ConnectionLost>);
    impl Protocol for Client {
        fn data_received(&mut self, _: &Transport, _: &[u8]) {}
        fn connection_lost(&mut self, _: &Transport, reason: ConnectionLost) {
            self.0 = Some(reason);
        }
    }
    let clock = Clock::new();
    let factory = TimeoutFactory::with_policy(
        for_protocol(Simple::default),
        IdleTimeout::new(clock.clone()).period(Some(secs(5.0))),
    );
    let server = factory
        .build_wrapper(&Address::Memory("client".into()))
        .unwrap();
    let c = PumpBuilder::new()
        .clock(clock.clone())
        .connect(server, Client::default());
    clock.advance(secs(5.0));
    c.pump.flush();
    assert!(c.client.with_protocol(|p| p.0.as_ref().unwrap().is_clean()));
    let server_saw = c
        .server
        .with_protocol(|w| w.wrapped_as::<Simple>().unwrap().lost.clone());
    assert!(matches!(server_saw, Some(ConnectionLost::TimedOut)));
    assert!(factory.protocols().is_empty());
}
