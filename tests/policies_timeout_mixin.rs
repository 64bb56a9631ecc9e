//! Timeout, TimeoutMixin and WithTimeout: a protocol's own timeout, delivered to its
//! `&mut self` (Twisted's `TimeoutMixinTests`).

use std::time::Duration;

use torsion::protocol::{for_protocol, Address, ConnectionLost, Factory, Protocol};
use torsion::protocols::policies::{Timeout, TimeoutMixin, WithTimeout};
use torsion::testing::{Driver, PumpBuilder};
use torsion::time::Clock;
use torsion::transport::Transport;

/// Twisted's `TimeoutTester`: 3 s, reset on data, notes the timeout instead of closing.
struct Tester {
    timeout: Timeout,
    initial: Option<Duration>,
    timed_out: bool,
    lost: Option<ConnectionLost>,
}

impl Tester {
    fn new(clock: &Clock) -> Tester {
        Tester {
            timeout: Timeout::new(clock.clone()),
            initial: Some(Duration::from_secs(3)),
            timed_out: false,
            lost: None,
        }
    }
}

impl Protocol for Tester {
    fn connection_made(&mut self, _: &Transport) {
        self.timeout.set_timeout(self.initial);
    }
    fn data_received(&mut self, _: &Transport, _: &[u8]) {
        self.timeout.reset_timeout();
    }
    fn connection_lost(&mut self, _: &Transport, reason: ConnectionLost) {
        self.lost = Some(reason);
        self.timeout.set_timeout(None);
    }
}

impl TimeoutMixin for Tester {
    fn timeout(&mut self) -> &mut Timeout {
        &mut self.timeout
    }
    fn timeout_connection(&mut self, _: &Transport) {
        self.timed_out = true;
    }
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

fn pump(clock: &Clock, steps: &[f64]) {
    clock.pump(steps.iter().map(|&s| secs(s)));
}

fn tester<R>(d: &Driver<WithTimeout<Tester>>, f: impl FnOnce(&mut Tester) -> R) -> R {
    d.with_protocol(|w| w.with_protocol(f))
}

#[test]
fn the_given_clock_is_used() {
    // test_overriddenCallLater
    let clock = Clock::new();
    let mut t = Tester::new(&clock);
    t.timeout.set_timeout(Some(secs(10.0)));
    assert_eq!(clock.pending_calls(), 1);
}

#[test]
fn times_out_after_the_period() {
    // test_timeout
    let clock = Clock::new();
    let d = Driver::new(WithTimeout::new(Tester::new(&clock)));
    pump(&clock, &[0.0, 0.5, 1.0, 1.0]);
    assert!(!tester(&d, |t| t.timed_out));
    pump(&clock, &[0.0, 1.0]);
    assert!(tester(&d, |t| t.timed_out));
    assert!(tester(&d, |t| t.timeout.call().is_none()));
    // The override did not close: the connection goes on.
    assert!(!d.transport().disconnecting());
    assert!(!d.with_protocol(|w| w.closed_by_timeout()));
}

#[test]
fn data_puts_the_timeout_off() {
    // test_noTimeout
    let clock = Clock::new();
    let d = Driver::new(WithTimeout::new(Tester::new(&clock)));
    pump(&clock, &[0.0, 0.5, 1.0, 1.0]);
    assert!(!tester(&d, |t| t.timed_out));
    d.data_received(b"hello there");
    pump(&clock, &[0.0, 1.0, 1.0, 0.5]);
    assert!(!tester(&d, |t| t.timed_out));
    pump(&clock, &[0.0, 1.0]);
    assert!(tester(&d, |t| t.timed_out));
}

#[test]
fn a_timeout_set_later_runs() {
    // test_resetTimeout
    let clock = Clock::new();
    let mut t = Tester::new(&clock);
    t.initial = None;
    let d = Driver::new(WithTimeout::new(t));
    tester(&d, |t| t.timeout.set_timeout(Some(secs(1.0))));
    assert_eq!(tester(&d, |t| t.timeout.period()), Some(secs(1.0)));
    pump(&clock, &[0.0, 0.9]);
    assert!(!tester(&d, |t| t.timed_out));
    pump(&clock, &[0.0, 0.2]);
    assert!(tester(&d, |t| t.timed_out));
}

#[test]
fn none_cancels_the_timeout() {
    // test_cancelTimeout
    let clock = Clock::new();
    let mut t = Tester::new(&clock);
    t.initial = Some(secs(5.0));
    let d = Driver::new(WithTimeout::new(t));
    tester(&d, |t| t.timeout.set_timeout(None));
    assert_eq!(tester(&d, |t| t.timeout.period()), None);
    pump(&clock, &[0.0, 5.0, 5.0, 5.0]);
    assert!(!tester(&d, |t| t.timed_out));
    assert_eq!(clock.pending_calls(), 0);
}

#[test]
fn set_timeout_returns_the_previous_period() {
    // test_setTimeoutReturn
    let clock = Clock::new();
    let mut t = Tester::new(&clock);
    t.timeout.set_timeout(Some(secs(5.0)));
    assert_eq!(t.timeout.set_timeout(Some(secs(10.0))), Some(secs(5.0)));
    assert_eq!(t.timeout.set_timeout(None), Some(secs(10.0)));
    assert_eq!(t.timeout.set_timeout(Some(secs(1.0))), None);
    assert_eq!(t.timeout.period(), Some(secs(1.0)));
    t.timeout.set_timeout(None);
    assert_eq!(clock.pending_calls(), 0);
}

#[test]
fn none_after_an_outside_cancel_is_fine() {
    // test_setTimeoutCancleAlreadyCancelled
    let clock = Clock::new();
    let mut t = Tester::new(&clock);
    t.timeout.set_timeout(Some(secs(3.0)));
    clock.get_delayed_calls()[0].cancel().unwrap();
    assert!(t.timeout.period().is_some());
    t.timeout.set_timeout(None);
    assert_eq!(t.timeout.period(), None);
    // And a new period after an outside cancel arms a new countdown.
    t.timeout.set_timeout(Some(secs(3.0)));
    clock.get_delayed_calls()[0].cancel().unwrap();
    t.timeout.set_timeout(Some(secs(4.0)));
    assert_eq!(clock.pending_calls(), 1);
}

/// The default `timeout_connection`, or a "421" before closing.
struct Closer {
    timeout: Timeout,
    greeting: bool,
    lost: Option<ConnectionLost>,
}

impl Protocol for Closer {
    fn connection_made(&mut self, _: &Transport) {
        self.timeout.set_timeout(Some(secs(10.0)));
    }
    fn data_received(&mut self, _: &Transport, _: &[u8]) {
        self.timeout.reset_timeout();
    }
    fn connection_lost(&mut self, _: &Transport, reason: ConnectionLost) {
        self.lost = Some(reason);
    }
}

impl TimeoutMixin for Closer {
    fn timeout(&mut self) -> &mut Timeout {
        &mut self.timeout
    }
    fn timeout_connection(&mut self, transport: &Transport) {
        if self.greeting {
            transport.write(b"421 Timeout. Try talking faster next time!\r\n");
        }
        transport.lose_connection();
    }
}

fn closer(clock: &Clock, greeting: bool) -> WithTimeout<Closer> {
    WithTimeout::new(Closer {
        timeout: Timeout::new(clock.clone()),
        greeting,
        lost: None,
    })
}

#[test]
fn the_default_closes_and_the_protocol_hears_it_timed_out() {
    let clock = Clock::new();
    let d = Driver::new(closer(&clock, false));
    clock.advance(secs(10.0));
    assert!(d.transport().disconnecting());
    assert!(d.with_protocol(|w| w.closed_by_timeout()));
    d.run_pending();
    let lost = d.with_protocol(|w| w.with_protocol(|p| p.lost.clone()));
    assert!(matches!(lost, Some(ConnectionLost::TimedOut)));
}

#[test]
fn timeout_connection_may_write_before_closing() {
    let clock = Clock::new();
    let d = Driver::new(closer(&clock, true));
    clock.advance(secs(10.0));
    assert_eq!(
        d.take_written(),
        b"421 Timeout. Try talking faster next time!\r\n"
    );
    d.run_pending();
    assert!(d.is_closed());
}

#[test]
fn another_close_keeps_its_reason_and_stops_the_timer() {
    let clock = Clock::new();
    let d = Driver::new(closer(&clock, false));
    assert_eq!(clock.pending_calls(), 1);
    d.handle().lose_connection();
    d.run_pending();
    assert_eq!(clock.pending_calls(), 0, "stopped after connection_lost");
    let lost = d.with_protocol(|w| w.with_protocol(|p| p.lost.clone()));
    assert!(lost.unwrap().is_clean());
}

#[test]
fn a_timeout_already_closing_is_not_called_a_timeout() {
    // A protocol closes, then times out while its buffer drains: the close was not the
    // timeout's doing.
    let clock = Clock::new();
    let d = Driver::new(closer(&clock, false));
    d.handle().write(b"pending");
    d.handle().lose_connection();
    clock.advance(secs(10.0));
    assert!(!d.with_protocol(|w| w.closed_by_timeout()));
    d.take_written();
    d.run_pending();
    let lost = d.with_protocol(|w| w.with_protocol(|p| p.lost.clone()));
    assert!(lost.unwrap().is_clean());
}

#[test]
fn a_firing_while_the_protocol_is_busy_is_delivered_just_after() {
    let clock = Clock::new();
    let d = Driver::new(WithTimeout::new(Tester::new(&clock)));
    // A test moving the clock from inside the protocol: the timer cannot borrow it.
    tester(&d, |_| clock.advance(secs(3.0)));
    assert!(!tester(&d, |t| t.timed_out));
    clock.advance(secs(0.001));
    assert!(tester(&d, |t| t.timed_out));
}

#[test]
fn a_stale_firing_is_ignored() {
    let clock = Clock::new();
    let d = Driver::new(WithTimeout::new(Tester::new(&clock)));
    tester(&d, |t| {
        clock.advance(secs(3.0)); // fires, held back: the protocol is busy
        t.timeout.set_timeout(None); // ...and cancels before it is delivered
    });
    clock.advance(secs(1.0));
    assert!(!tester(&d, |t| t.timed_out));
}

#[test]
fn a_timeout_before_the_connection_does_nothing() {
    let clock = Clock::new();
    let mut t = Tester::new(&clock);
    t.timeout.set_timeout(Some(secs(1.0)));
    let w = WithTimeout::new(t);
    clock.advance(secs(1.0));
    assert!(!w.with_protocol(|t| t.timed_out));
    // It can be armed again once connected.
    let d = Driver::new(w);
    clock.advance(secs(3.0));
    assert!(tester(&d, |t| t.timed_out));
}

#[test]
fn a_timeout_outside_with_timeout_only_warns() {
    let clock = Clock::new();
    let mut t = Tester::new(&clock);
    t.timeout.set_timeout(Some(secs(1.0)));
    clock.advance(secs(1.0));
    assert!(!t.timed_out);
}

#[test]
fn a_dropped_protocol_leaves_no_timer() {
    let clock = Clock::new();
    let mut t = Tester::new(&clock);
    t.timeout.set_timeout(Some(secs(1.0)));
    drop(t);
    assert_eq!(clock.pending_calls(), 0);
}

#[test]
fn from_a_factory_over_an_in_memory_pair() {
    #[derive(Default)]
    struct Client(Option<ConnectionLost>);
    impl Protocol for Client {
        fn data_received(&mut self, _: &Transport, _: &[u8]) {}
        fn connection_lost(&mut self, _: &Transport, reason: ConnectionLost) {
            self.0 = Some(reason);
        }
    }
    let clock = Clock::new();
    let c = clock.clone();
    let factory = for_protocol(move || closer(&c, true));
    let server = factory
        .build_protocol(&Address::Memory("client".into()))
        .unwrap();
    let pair = PumpBuilder::new()
        .clock(clock.clone())
        .connect(server, Client::default());
    clock.advance(secs(10.0));
    pair.pump.flush();
    assert_eq!(
        pair.pump.bytes_from_server(),
        b"421 Timeout. Try talking faster next time!\r\n"
    );
    assert!(pair
        .client
        .with_protocol(|p| p.0.as_ref().unwrap().is_clean()));
    let server_saw = pair
        .server
        .with_protocol_as::<WithTimeout<Closer>, _>(|w| w.with_protocol(|p| p.lost.clone()))
        .unwrap();
    assert!(matches!(server_saw, Some(ConnectionLost::TimedOut)));
}
