//! `Deferred::add_timeout` (Twisted's `DeferredAddTimeoutTests`), on the manual Clock.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use torsion::defer::testing::{
    assert_no_result, capture_unhandled, failure_result_of, success_result_of,
};
use torsion::defer::{Cancelled, Deferred, Failure, TimedOut};
use torsion::time::{Clock, ReactorTime};

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Twisted's `_overrideFunc`: whatever happened, answer "OVERRIDDEN".
fn overridden<T>(_: Result<T, Failure>, _: Duration) -> Result<&'static str, Failure> {
    Ok("OVERRIDDEN")
}

#[test]
fn add_timeout_is_chainable() {
    let d: Deferred<()> = Deferred::new();
    let end = d
        .clone()
        .add_timeout(secs(5), &Clock::new())
        .add_callback(|()| Ok("done"));
    d.callback(()).unwrap();
    assert_eq!(success_result_of(&end), "done");
}

#[test]
fn success_before_timeout_cancels_the_timer() {
    for custom in [false, true] {
        let clock = Clock::new();
        let d: Deferred<&'static str> = Deferred::new();
        let d2 = if custom {
            d.clone()
                .add_timeout_with(secs(10), &clock, |_, _| Ok("OVERRIDDEN"))
        } else {
            d.clone().add_timeout(secs(10), &clock)
        };
        assert_eq!(clock.pending_calls(), 1);
        let inner: Deferred<()> = Deferred::new();
        let seen = Rc::new(RefCell::new(None));
        let s = seen.clone();
        let i = inner.clone();
        let end = d2.add_callback(move |v| {
            *s.borrow_mut() = Some(v);
            i
        });
        d.callback("results").unwrap();
        assert_eq!(*seen.borrow(), Some("results"));
        // The timer is gone, so the timeout can't cancel the inner Deferred later.
        assert_eq!(clock.pending_calls(), 0);
        clock.advance(secs(15));
        assert_no_result(&inner);
        assert_no_result(&end);
    }
}

#[test]
fn failure_before_timeout_is_passed_on_and_cancels_the_timer() {
    let clock = Clock::new();
    let d: Deferred<()> = Deferred::new();
    let inner: Deferred<()> = Deferred::new();
    let i = inner.clone();
    let seen = Rc::new(RefCell::new(None));
    let s = seen.clone();
    let end = d
        .clone()
        .add_timeout(secs(10), &clock)
        .add_errback(move |f| {
            *s.borrow_mut() = Some(f.to_string());
            i
        });
    d.errback(Failure::msg("fail")).unwrap();
    assert!(seen.borrow().as_deref().unwrap().starts_with("fail"));
    clock.advance(secs(15));
    assert_no_result(&inner);
    assert_no_result(&end);
    assert_eq!(clock.pending_calls(), 0);
}

#[test]
fn timed_out_gives_timed_out_not_cancelled() {
    let clock = Clock::new();
    let d: Deferred<()> = Deferred::new();
    let line = line!() + 1;
    let d = d.add_timeout(secs(10), &clock);
    assert_no_result(&d);
    clock.advance(secs(9));
    assert_no_result(&d);
    clock.advance(secs(1));
    let failure = failure_result_of(&d);
    assert!(failure.check::<TimedOut>(), "{failure}");
    assert!(!failure.check::<Cancelled>());
    assert_eq!(failure.location().line(), line, "points at add_timeout");
}

#[test]
fn timed_out_custom_handler_gets_the_cancellation() {
    let clock = Clock::new();
    let d: Deferred<&'static str> = Deferred::new();
    let got = Rc::new(Cell::new(None));
    let g = got.clone();
    let d = d.add_timeout_with(secs(10), &clock, move |result, delay| {
        g.set(Some((result.unwrap_err().check::<Cancelled>(), delay)));
        Ok("OVERRIDDEN")
    });
    clock.advance(secs(15));
    assert_eq!(success_result_of(&d), "OVERRIDDEN");
    assert_eq!(got.get(), Some((true, secs(10))));
}

#[test]
fn canceller_that_succeeds_wins_over_the_timeout() {
    let clock = Clock::new();
    let d: Deferred<&'static str> =
        Deferred::with_canceller(|d| d.callback("I was cancelled!").unwrap());
    let d = d.add_timeout(secs(10), &clock);
    clock.advance(secs(15));
    assert_eq!(success_result_of(&d), "I was cancelled!");
}

#[test]
fn canceller_that_fails_otherwise_keeps_its_failure() {
    let clock = Clock::new();
    let d: Deferred<()> =
        Deferred::with_canceller(|d| d.errback(std::io::Error::other("what!")).unwrap());
    let d = d.add_timeout(secs(10), &clock);
    clock.advance(secs(15));
    let failure = failure_result_of(&d);
    assert!(failure.check::<std::io::Error>());
    assert!(!failure.check::<TimedOut>());

    // With a custom handler, the handler decides.
    let d: Deferred<&'static str> =
        Deferred::with_canceller(|d| d.errback(std::io::Error::other("what!")).unwrap());
    let d = d.add_timeout_with(secs(10), &clock, overridden);
    clock.advance(secs(15));
    assert_eq!(success_result_of(&d), "OVERRIDDEN");
}

#[test]
fn cancel_before_timeout_keeps_cancelled_and_stops_the_timer() {
    for custom in [false, true] {
        let clock = Clock::new();
        let d: Deferred<&'static str> = Deferred::new();
        let d2 = if custom {
            d.clone().add_timeout_with(secs(10), &clock, overridden)
        } else {
            d.clone().add_timeout(secs(10), &clock)
        };
        let inner: Deferred<&'static str> = Deferred::new();
        let i = inner.clone();
        let cancelled = Rc::new(Cell::new(false));
        let c = cancelled.clone();
        let end = d2.add_errback(move |f| {
            c.set(f.check::<Cancelled>());
            i
        });
        d.cancel();
        assert!(cancelled.get());
        assert_eq!(clock.pending_calls(), 0);
        clock.advance(secs(15));
        assert_no_result(&inner);
        assert_no_result(&end);
    }
}

#[test]
fn errback_added_before_timeout_sees_cancelled_then_timed_out() {
    let clock = Clock::new();
    let d: Deferred<()> = Deferred::new();
    let seen = Rc::new(Cell::new(false));
    let s = seen.clone();
    let d = d
        .add_errback(move |f| -> Result<(), Failure> {
            s.set(f.check::<Cancelled>());
            Err(f)
        })
        .add_timeout(secs(10), &clock);
    clock.advance(secs(15));
    assert!(seen.get());
    assert!(failure_result_of(&d).check::<TimedOut>());
}

#[test]
fn errback_added_before_timeout_may_suppress_the_cancellation() {
    let clock = Clock::new();
    let d: Deferred<()> = Deferred::new();
    let d = d
        .add_errback(|f| {
            f.trap::<Cancelled>()?;
            Ok(())
        })
        .add_timeout(secs(10), &clock);
    clock.advance(secs(15));
    success_result_of(&d);

    // A custom handler still runs (the timeout did strike), with the success.
    let d: Deferred<&'static str> = Deferred::new();
    let d = d
        .add_errback(|_| Ok("suppressed"))
        .add_timeout_with(secs(10), &clock, |result, _| {
            assert_eq!(result.unwrap(), "suppressed");
            Ok("OVERRIDDEN")
        });
    clock.advance(secs(15));
    assert_eq!(success_result_of(&d), "OVERRIDDEN");
}

#[test]
fn callback_added_before_timeout_runs_when_canceller_resumes() {
    let clock = Clock::new();
    let d: Deferred<&'static str> = Deferred::with_canceller(|d| d.callback("success").unwrap());
    let ran = Rc::new(Cell::new(false));
    let r = ran.clone();
    let d = d
        .add_callback(move |v| {
            r.set(true);
            Ok(v)
        })
        .add_timeout(secs(10), &clock);
    clock.advance(secs(15));
    assert!(ran.get());
    assert_eq!(success_result_of(&d), "success");
}

#[test]
fn timeout_cancels_the_inner_deferred_a_covered_callback_waits_on() {
    let clock = Clock::new();
    let d: Deferred<()> = Deferred::new();
    let inner: Deferred<u8> = Deferred::new();
    let i = inner.clone();
    let end = d
        .clone()
        .add_callback(move |()| i)
        .add_timeout(secs(1), &clock);
    d.callback(()).unwrap();
    assert_no_result(&end);
    clock.advance(secs(1));
    assert!(failure_result_of(&end).check::<TimedOut>());
    // The inner Deferred was cancelled; its late result is swallowed.
    assert!(inner.callback(1).is_ok());
}

#[test]
fn dropping_an_unfired_deferred_cancels_its_timer() {
    let clock = Clock::new();
    let d: Deferred<()> = Deferred::new();
    let timed = d.add_timeout(secs(10), &clock);
    assert_eq!(clock.pending_calls(), 1);
    drop(timed);
    assert_eq!(clock.pending_calls(), 0);
    clock.advance(secs(15));
}

#[test]
fn a_timed_out_deferred_nobody_reads_is_reported_when_dropped() {
    // The consumer drops its handle; the producer still holds the chain (and so the timer's
    // weak link still reaches it): the timeout strikes, and the TimedOut failure nobody
    // consumed is reported when the producer lets go.
    let clock = Clock::new();
    let producer: Deferred<u8> = Deferred::new();
    drop(producer.clone().add_timeout(secs(1), &clock));
    assert_eq!(clock.pending_calls(), 1);
    let ((), reports) = capture_unhandled(|| clock.advance(secs(1)));
    assert!(reports.is_empty(), "the producer still holds the failure");
    let ((), reports) = capture_unhandled(|| drop(producer));
    assert_eq!(reports.len(), 1);
    assert!(reports[0].failure.check::<TimedOut>());
}

#[test]
fn works_through_a_dyn_reactor_time() {
    let clock = Clock::new();
    let time: &dyn ReactorTime = &clock;
    let d: Deferred<()> = Deferred::new();
    let d = d.add_timeout(Duration::from_millis(250), time);
    clock.advance(Duration::from_millis(250));
    assert!(failure_result_of(&d).check::<TimedOut>());
}

#[test]
fn the_timer_may_be_cancelled_from_a_callback_of_the_timed_out_chain() {
    // Re-entrancy: the timeout's own cancel runs callbacks that touch the clock.
    let clock = Clock::new();
    let d: Deferred<()> = Deferred::new();
    let c = clock.clone();
    let end = d
        .add_timeout(secs(1), &clock)
        .add_errback(move |f| -> Result<(), Failure> {
            for call in c.get_delayed_calls() {
                let _ = call.cancel();
            }
            c.call_later(secs(1), || {});
            Err(f)
        });
    clock.advance(secs(1));
    assert!(failure_result_of(&end).check::<TimedOut>());
    assert_eq!(clock.pending_calls(), 1);
}
