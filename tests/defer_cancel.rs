//! Cancellation (Twisted's `DeferredCancellerTests`).

use std::cell::Cell;
use std::rc::Rc;

use torsion::defer::testing::{capture_unhandled, failure_result_of, success_result_of};
use torsion::defer::{Cancelled, Deferred, Failure};

#[test]
fn no_canceller_errbacks_with_cancelled() {
    let d: Deferred<u8> = Deferred::new();
    let line = line!() + 1;
    d.cancel();
    let failure = failure_result_of(&d);
    assert!(failure.check::<Cancelled>());
    assert_eq!(
        failure.location().line(),
        line,
        "the failure points at cancel()"
    );
}

#[test]
fn late_callback_after_cancel_is_swallowed_once() {
    for late_ok in [true, false] {
        let d: Deferred<u8> = Deferred::new();
        d.cancel();
        let late = if late_ok {
            d.callback(1)
        } else {
            d.errback(Failure::msg("late"))
        };
        assert!(late.is_ok());
        // Only one late result is expected; a second one is a bug again.
        assert!(d.callback(2).unwrap_err().is_already_called());
        assert!(failure_result_of(&d).check::<Cancelled>());
    }
}

#[test]
fn cancelling_twice_does_nothing_more() {
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    let d: Deferred<u8> = Deferred::with_canceller(move |_| c.set(c.get() + 1));
    d.cancel();
    d.cancel();
    assert_eq!(calls.get(), 1);
    assert!(failure_result_of(&d).check::<Cancelled>());
}

#[test]
fn canceller_gets_the_deferred_and_may_errback() {
    let d: Deferred<u8> = Deferred::with_canceller(|d| {
        d.errback(std::io::Error::other("custom")).unwrap();
    });
    d.cancel();
    assert!(failure_result_of(&d).check::<std::io::Error>());
}

#[test]
fn canceller_that_callbacks_wins() {
    let d: Deferred<u8> = Deferred::with_canceller(|d| d.callback(7).unwrap());
    d.cancel();
    assert_eq!(success_result_of(&d), 7);
}

#[test]
fn canceller_that_does_nothing_leads_to_cancelled_and_swallows_the_late_result() {
    let d: Deferred<u8> = Deferred::with_canceller(|_| {});
    d.cancel();
    assert!(d.callback(1).is_ok());
    assert!(failure_result_of(&d).check::<Cancelled>());
}

#[test]
fn cancel_after_callback_does_nothing() {
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    let d: Deferred<u8> = Deferred::with_canceller(move |_| c.set(c.get() + 1));
    d.callback(1).unwrap();
    d.cancel();
    assert_eq!(calls.get(), 0);
    assert_eq!(success_result_of(&d), 1);
}

#[test]
fn cancel_after_errback_does_nothing() {
    let d: Deferred<u8> = Deferred::with_canceller(|_| panic!("must not be called"));
    d.errback(Failure::msg("first")).unwrap();
    d.cancel();
    assert_eq!(failure_result_of(&d).error().to_string(), "first");
}

#[test]
fn cancel_forwards_to_the_inner_deferred_being_waited_on() {
    // test_cancelNestedDeferred
    let inner_cancels = Rc::new(Cell::new(0));
    let c = inner_cancels.clone();
    let b: Deferred<()> = Deferred::with_canceller(move |_| c.set(c.get() + 1));
    let a: Deferred<()> = Deferred::with_canceller(|_| panic!("a has fired; must not be called"));
    a.callback(()).unwrap();
    let b_handle = b.clone();
    let a_end = a.clone().add_callback(move |()| b_handle);
    a_end.cancel();
    assert_eq!(inner_cancels.get(), 1);
    assert!(failure_result_of(&a_end).check::<Cancelled>());
}

#[test]
fn cancel_reaches_the_innermost_of_nested_waits() {
    let innermost: Deferred<u8> = Deferred::new();
    let mut outer = succeed_unit().add_callback({
        let i = innermost.clone();
        move |()| i
    });
    for _ in 0..10 {
        let prev = outer;
        outer = succeed_unit().add_callback(move |()| prev);
    }
    outer.cancel();
    assert!(failure_result_of(&outer).check::<Cancelled>());
    assert!(innermost.called());
}

fn succeed_unit() -> Deferred<()> {
    torsion::defer::succeed(())
}

#[test]
fn cancel_while_waiting_on_a_dropped_deferred_gives_up_waiting() {
    let d = succeed_unit().add_callback(|()| Deferred::<u8>::new());
    assert!(d.paused());
    d.cancel();
    assert!(failure_result_of(&d).check::<Cancelled>());
}

#[test]
fn cancelled_failure_nobody_handles_is_reported() {
    let ((), reports) = capture_unhandled(|| {
        let d: Deferred<u8> = Deferred::new();
        d.cancel();
    });
    assert_eq!(reports.len(), 1);
    assert!(reports[0].failure.check::<Cancelled>());
}

#[test]
fn callbacks_may_cancel_their_own_deferred_source() {
    let a: Deferred<u8> = Deferred::new();
    let b: Deferred<u8> = Deferred::new();
    let b_handle = b.clone();
    let a_end = a.clone().add_callback(move |n| {
        b_handle.cancel();
        Ok(n)
    });
    a.callback(1).unwrap();
    assert_eq!(success_result_of(&a_end), 1);
    assert!(failure_result_of(&b).check::<Cancelled>());
}
