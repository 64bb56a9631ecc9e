//! `defer_later` (Twisted's `DeferLaterTests`), on the manual Clock and briefly on a
//! reactor.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use torsion::defer::testing::{assert_no_result, failure_result_of, success_result_of};
use torsion::defer::{Cancelled, Deferred, Failure};
use torsion::task::defer_later;
use torsion::time::Clock;
use torsion::Reactor;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn fires_with_the_result_after_the_delay() {
    let clock = Clock::new();
    let calls = Rc::new(RefCell::new(Vec::new()));
    let c = calls.clone();
    let d = defer_later(&clock, secs(3), move || {
        c.borrow_mut().push(("foo", "bar"));
        Ok("flag")
    });
    clock.advance(secs(2));
    assert!(calls.borrow().is_empty());
    assert_no_result(&d);
    clock.advance(secs(1));
    assert_eq!(*calls.borrow(), [("foo", "bar")]);
    assert_eq!(success_result_of(&d), "flag");
}

#[test]
fn fails_when_the_function_fails() {
    let clock = Clock::new();
    let d = defer_later(&clock, secs(1), || -> Result<u8, Failure> {
        Err(Failure::msg("TestException"))
    });
    clock.advance(secs(1));
    assert!(failure_result_of(&d)
        .to_string()
        .starts_with("TestException"));
}

#[test]
fn cancel_prevents_the_call() {
    let clock = Clock::new();
    let called = Rc::new(Cell::new(false));
    let c = called.clone();
    let d = defer_later(&clock, secs(1), move || c.set(true));
    d.cancel();
    assert!(failure_result_of(&d).check::<Cancelled>());
    assert!(clock.get_delayed_calls().is_empty());
    clock.advance(secs(2));
    assert!(!called.get());
}

#[test]
fn no_function_result_is_unit() {
    let clock = Clock::new();
    let d = defer_later(&clock, Duration::from_millis(2000), || ());
    assert_no_result(&d);
    clock.advance(secs(2));
    success_result_of(&d);
}

#[test]
fn a_returned_deferred_is_waited_for() {
    let clock = Clock::new();
    let inner: Deferred<String> = Deferred::new();
    let i = inner.clone();
    let d = defer_later(&clock, secs(1), move || i);
    clock.advance(secs(1));
    assert_no_result(&d);
    inner.callback("later".into()).unwrap();
    assert_eq!(success_result_of(&d), "later");
}

#[test]
fn cancelling_while_waiting_on_the_returned_deferred_cancels_it() {
    let clock = Clock::new();
    let inner: Deferred<u8> = Deferred::new();
    let i = inner.clone();
    let d = defer_later(&clock, secs(1), move || i);
    clock.advance(secs(1));
    d.cancel();
    assert!(failure_result_of(&d).check::<Cancelled>());
    assert!(inner.callback(1).is_ok(), "swallowed after cancel");
}

#[test]
fn runs_even_if_nobody_keeps_the_deferred() {
    let clock = Clock::new();
    let called = Rc::new(Cell::new(false));
    let c = called.clone();
    drop(defer_later(&clock, secs(1), move || c.set(true)));
    clock.advance(secs(1));
    assert!(called.get());
}

#[test]
fn cancel_after_firing_changes_nothing() {
    let clock = Clock::new();
    let d = defer_later(&clock, secs(1), || Ok(5));
    clock.advance(secs(1));
    d.cancel();
    assert_eq!(success_result_of(&d), 5);
}

#[test]
fn the_function_may_cancel_other_calls_and_schedule_more() {
    let clock = Clock::new();
    let other = defer_later(&clock, secs(2), || Ok(1));
    let o = other.clone();
    let c = clock.clone();
    let d = defer_later(&clock, secs(1), move || {
        o.cancel();
        defer_later(&c, secs(1), || Ok(2))
    });
    clock.advance(secs(1));
    assert!(failure_result_of(&other).check::<Cancelled>());
    clock.advance(secs(1));
    assert_eq!(success_result_of(&d), 2);
    assert_eq!(clock.pending_calls(), 0);
}

#[test]
fn records_the_callers_location() {
    let clock = Clock::new();
    let line = line!() + 1;
    let d = defer_later(&clock, secs(1), || ());
    assert_eq!(d.created_at().line(), line);
    assert_eq!(d.created_at().file(), file!());
}

#[test]
fn on_a_reactor() {
    let reactor = Reactor::new().unwrap();
    let r = reactor.clone();
    let started = Instant::now();
    let d = defer_later(&reactor, Duration::from_millis(20), move || {
        r.stop().unwrap();
        Ok(started.elapsed())
    });
    let r = reactor.clone();
    reactor.call_later(secs(10), move || r.crash()); // safety net
    reactor.run().unwrap();
    assert!(success_result_of(&d) >= Duration::from_millis(20));
    reactor.close();
}
