//! `react` and `react_with` (Twisted's `ReactTests` and `ReactCoroutineFunctionTests`), on
//! real reactors run briefly (every test arms a safety-net `crash`), plus signals.
//!
//! `react()` turns SIGINT/SIGTERM handling on, and a signal sent to the process reaches
//! every reactor watching it, so the tests that use `react()` take `SIGNALS` first.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use torsion::defer::{fail, succeed, Deferred, Failure};
use torsion::reactor::{Phase, SystemEvent};
use torsion::sys::signal;
use torsion::task::{defer_later, react, react_with, SystemExit};
use torsion::Reactor;

static SIGNALS: Mutex<()> = Mutex::new(());

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A reactor whose run can't outlive 10 s, whatever goes wrong.
fn reactor() -> Reactor {
    let reactor = Reactor::new().unwrap();
    let r = reactor.clone();
    reactor.call_later(Duration::from_secs(10), move || r.crash());
    reactor
}

#[test]
fn runs_until_the_deferred_fires() {
    let reactor = reactor();
    let passed = Rc::new(Cell::new(false));
    let p = passed.clone();
    let started = Instant::now();
    let status = react_with(&reactor, move |r| {
        assert!(r.running(), "main runs once the reactor is running");
        r.call_later(ms(5), move || p.set(true));
        defer_later(r, ms(10), || ())
    });
    assert_eq!(status, 0);
    assert!(passed.get());
    assert!(started.elapsed() >= ms(10));
    assert!(!reactor.running());
    reactor.close();
}

#[test]
fn an_already_fired_deferred_stops_at_once() {
    let reactor = reactor();
    let started = Instant::now();
    assert_eq!(react_with(&reactor, |_| succeed(())), 0);
    assert!(started.elapsed() < Duration::from_secs(5));
    reactor.close();
}

#[test]
fn a_failure_gives_status_one() {
    let reactor = reactor();
    let status = react_with(&reactor, |r| {
        defer_later(r, ms(5), || -> Result<(), Failure> {
            Err(Failure::msg("ExpectedException"))
        })
    });
    assert_eq!(status, 1);
    assert_eq!(
        react_with(&reactor, |_| fail::<()>(Failure::msg("at once"))),
        1
    );
    reactor.close();
}

#[test]
fn system_exit_sets_the_status() {
    let reactor = reactor();
    assert_eq!(react_with(&reactor, |_| fail::<u8>(SystemExit(23))), 23);
    assert_eq!(
        react_with(&reactor, |r| defer_later(r, ms(1), || Err::<(), _>(
            SystemExit(0).into()
        ))),
        0
    );
    reactor.close();
}

#[test]
fn a_deferred_fired_during_shutdown_does_not_stop_twice() {
    for fail_it in [false, true] {
        let reactor = reactor();
        let status = react_with(&reactor, move |r| {
            let r2 = r.clone();
            r.call_later(ms(5), move || r2.stop().unwrap());
            let finished: Deferred<()> = Deferred::new();
            let f = finished.clone();
            r.add_system_event_trigger(Phase::During, SystemEvent::Shutdown, move || {
                let result = if fail_it {
                    Err(Failure::msg("ExpectedException"))
                } else {
                    Ok(())
                };
                f.fire(result).unwrap();
            });
            finished
        });
        assert_eq!(status, i32::from(fail_it));
        reactor.close();
    }
}

#[test]
fn main_may_stop_the_reactor_itself() {
    // Stopped just before the Deferred fires.
    let reactor = reactor();
    let status = react_with(&reactor, |r| {
        r.stop().unwrap();
        succeed(())
    });
    assert_eq!(status, 0);

    // Stopped, and the Deferred never fires: status 0 (as Twisted), and it is cancelled.
    let cancelled = Rc::new(Cell::new(false));
    let c = cancelled.clone();
    let status = react_with(&reactor, move |r| {
        let r2 = r.clone();
        r.call_later(ms(5), move || r2.stop().unwrap());
        Deferred::<()>::with_canceller(move |_| c.set(true))
    });
    assert_eq!(status, 0);
    assert!(cancelled.get());
    reactor.close();
}

#[test]
fn an_async_main() {
    let reactor = reactor();
    let status = react_with(&reactor, |r| {
        let r = r.clone();
        Deferred::from_future(async move {
            let a = defer_later(&r, ms(2), || Ok(20)).await?;
            let b = defer_later(&r, ms(2), || Ok(22)).await?;
            assert_eq!(a + b, 42);
            Ok(())
        })
    });
    assert_eq!(status, 0);

    let status = react_with(&reactor, |r| {
        let r = r.clone();
        Deferred::from_future(async move {
            defer_later(&r, ms(2), || ()).await?;
            let port: u16 = "eighty".parse()?;
            Ok(port)
        })
    });
    assert_eq!(status, 1);
    reactor.close();
}

#[test]
fn a_panic_in_main_propagates_after_the_reactor_stopped() {
    let reactor = reactor();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        react_with(&reactor, |_| -> Deferred<()> { panic!("main panicked") })
    }));
    assert!(caught.is_err());
    assert!(!reactor.running());
    // The reactor is still usable.
    assert_eq!(react_with(&reactor, |_| succeed(())), 0);
    reactor.close();
}

#[test]
fn a_running_or_closed_reactor_is_refused() {
    let reactor = reactor();
    let inner_status = Rc::new(Cell::new(None));
    let called = Rc::new(Cell::new(false));
    let (s, c) = (inner_status.clone(), called.clone());
    let status = react_with(&reactor, move |r| {
        s.set(Some(react_with(r, move |_| {
            c.set(true);
            succeed(())
        })));
        succeed(())
    });
    assert_eq!(status, 0);
    assert_eq!(inner_status.get(), Some(1));
    assert!(!called.get());
    reactor.close();
    assert_eq!(react_with(&reactor, |_| succeed(())), 1);
}

#[test]
fn react_builds_and_closes_its_own_reactor() {
    let _guard = SIGNALS.lock().unwrap_or_else(|e| e.into_inner());
    let kept: Rc<Cell<Option<Reactor>>> = Rc::new(Cell::new(None));
    let k = kept.clone();
    let status = react(move |r| {
        k.set(Some(r.clone()));
        defer_later(r, ms(5), || ())
    });
    assert_eq!(status, 0);
    assert!(kept.take().unwrap().is_closed());
}

#[test]
fn a_signal_before_main_finishes_gives_128_plus_the_signal() {
    let _guard = SIGNALS.lock().unwrap_or_else(|e| e.into_inner());
    for (signo, expected) in [(signal::SIGINT, 130), (signal::SIGTERM, 143)] {
        let dropped = Rc::new(Cell::new(false));
        let d = dropped.clone();
        let status = react(move |r| {
            let r2 = r.clone();
            r.call_later(Duration::from_secs(10), move || r2.crash()); // safety net
            r.call_later(ms(5), move || signal::send_to_self(signo).unwrap());
            let never: Deferred<()> = Deferred::new();
            let guard = DropFlag(d);
            Deferred::from_future(async move {
                let _guard = guard;
                never.await
            })
        });
        assert_eq!(status, expected);
        assert!(dropped.get(), "the unfinished main was cancelled");
    }
}

/// Sets its flag when dropped.
struct DropFlag(Rc<Cell<bool>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}
