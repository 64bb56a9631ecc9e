//! Scheduling helpers: Twisted's `twisted.internet.task`, in Rust.
//!
//! * [`LoopingCall`]: call a function every interval, aligned to the start time, skipping
//!   missed calls (and counting them with [`LoopingCall::with_count`]); a function that
//!   returns a Deferred delays the next call until it fires.
//! * [`defer_later`]: a cancellable Deferred of `f()`, called after a delay.
//! * [`Cooperator`], [`CooperativeTask`], [`cooperate`], [`coiterate`]: run long
//!   iterations a slice at a time, round-robin, without blocking the loop.
//! * [`react`]: run a reactor until a main function's Deferred fires, and get the process
//!   exit status.
//! * `Deferred::add_timeout` (in [`defer`](crate::defer), built on the same clocks).
//!
//! Everything here schedules through a [`ReactorTime`]: the [`Reactor`] in programs, a
//! manual [`Clock`] (Twisted's `task.Clock`, which lives in
//! [`time`](crate::time)) in tests, so tests step time by hand and never sleep.
//!
//! ```
//! use std::{cell::Cell, rc::Rc, time::Duration};
//! use torsion::task::{defer_later, LoopingCall};
//! use torsion::time::Clock;
//!
//! let clock = Clock::new();
//! let beats = Rc::new(Cell::new(0));
//! let b = beats.clone();
//! let heartbeat = LoopingCall::new(clock.clone(), move || b.set(b.get() + 1));
//! heartbeat.start(Duration::from_secs(10), false).unwrap();
//! let h = heartbeat.clone();
//! let stopped = defer_later(&clock, Duration::from_secs(35), move || Ok(h.stop()?));
//! clock.pump([Duration::from_secs(1); 60]); // a minute, a second at a time
//! assert_eq!(beats.get(), 3); // at 10, 20 and 30 s
//! assert!(stopped.take_result().unwrap().is_ok());
//! ```
//!
//! # Re-entrancy
//!
//! No `RefCell` borrow is held while user code runs (a looping function, an iterator's
//! `next`, a termination predicate, the callbacks of the Deferreds fired here). From
//! inside any of them you may stop, reset or start the same or another `LoopingCall`,
//! pause, resume or stop any task, stop the cooperator, add tasks, or schedule and cancel
//! calls on the clock.
//!
//! # Twisted → torsion
//!
//! | Twisted (`twisted.internet.task`) | torsion |
//! |---|---|
//! | `LoopingCall(f, *a, **kw)`, `lc.clock = clock` | [`LoopingCall::new(clock, f)`](LoopingCall::new) (the clock is any [`ReactorTime`]; arguments are the closure's captures) |
//! | `LoopingCall.withCount(f)` | [`LoopingCall::with_count`] (`f(count: u64)`) |
//! | `start(interval, now=True)` → Deferred | [`start(interval, now)`](LoopingCall::start) → `Result<Deferred<LoopingCall>, LoopingCallError>` |
//! | `stop()`, `reset()`, `running`, `interval` | [`stop`](LoopingCall::stop), [`reset`](LoopingCall::reset), [`running()`](LoopingCall::running), [`interval()`](LoopingCall::interval) / [`set_interval`](LoopingCall::set_interval) |
//! | assertion on start twice / stop when stopped | [`LoopingCallError::AlreadyRunning`] / [`LoopingCallError::NotRunning`] |
//! | `deferLater(clock, delay, f, *a, **kw)` | [`defer_later(&clock, delay, f)`](defer_later) |
//! | `Clock`, `advance`, `pump` | [`time::Clock`](crate::time::Clock) |
//! | `Cooperator(terminationPredicateFactory, scheduler, started)` | [`Cooperator::builder`]: [`termination_predicate`](CooperatorBuilder::termination_predicate) / [`time_slice`](CooperatorBuilder::time_slice), [`tick_delay`](CooperatorBuilder::tick_delay), [`started`](CooperatorBuilder::started) |
//! | `Cooperator.cooperate(it)`, `coiterate(it)`, `start()`, `stop()`, `running` | [`cooperate`](Cooperator::cooperate), [`coiterate`](Cooperator::coiterate), [`start`](Cooperator::start), [`stop`](Cooperator::stop), [`running`](Cooperator::running) |
//! | iterator yields a Deferred (wait), anything else (go on), raises (fail) | items are [`WorkResult`]s: a `Deferred`, `()` / `None`, `Err(failure)` |
//! | `CooperativeTask.whenDone()` → `Deferred[iterator]` | [`when_done`](CooperativeTask::when_done) → `Deferred<()>` (the iterator is not handed back) |
//! | `pause()`, `resume()`, `stop()` | [`pause`](CooperativeTask::pause), [`resume`](CooperativeTask::resume), [`stop`](CooperativeTask::stop) → `Result<(), SchedulerError>` |
//! | `SchedulerStopped`, `TaskDone`, `TaskStopped`, `TaskFailed`, `NotPaused` | [`SchedulerError`] variants |
//! | module-level `cooperate(it)`, `coiterate(it)` (global cooperator) | [`cooperate(&reactor, it)`](cooperate), [`coiterate(&reactor, it)`](coiterate) (one default cooperator per reactor) |
//! | `react(main, argv)` → `sys.exit(code)` | [`react(main)`](react) → `i32` for `std::process::exit`; [`react_with`] for a given reactor |
//! | `SystemExit(code)` raised by main | fail with [`SystemExit`]`(code)` |
//! | `Deferred.addTimeout(timeout, clock, onTimeoutCancel)` | [`Deferred::add_timeout`](crate::defer::Deferred::add_timeout), [`add_timeout_with`](crate::defer::Deferred::add_timeout_with) |
//!
//! Tests: `tests/task_looping.rs`, `tests/task_defer_later.rs`, `tests/task_cooperator.rs`,
//! `tests/task_cooperative_task.rs`, `tests/task_react.rs`, `tests/task_timeout.rs`.

mod cooperative;
mod cooperator;
mod later;
mod looping;
mod react;
mod work;

use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::time::Duration;

use torsion_sys::LocalFn;

use crate::defer::Deferred;
use crate::reactor::{self, Reactor};
use crate::time::{Clock, DelayedCall, ReactorTime};

pub use cooperative::{CooperativeTask, SchedulerError};
pub use cooperator::{Cooperator, CooperatorBuilder};
pub use later::defer_later;
pub use looping::{LoopingCall, LoopingCallError, WeakLoopingCall};
pub use react::{react, react_with, SystemExit};
pub use work::{Work, WorkResult};

/// Runs `iterator` as a task of `reactor`'s default cooperator (Twisted's module-level
/// `cooperate`, which uses the global cooperator).
///
/// Each reactor gets one default [`Cooperator`] per thread, made on first use with the
/// default settings (10 ms slices, zero tick delay); all tasks given to it share the
/// loop round-robin. It holds the reactor weakly, so it does not keep the reactor alive.
/// Once the reactor is closed or dropped, the next `cooperate` or `coiterate` on this
/// thread stops its default cooperator (its unfinished tasks end with
/// [`SchedulerError::SchedulerStopped`]) and forgets it.
///
/// # Examples
///
/// ```
/// use std::{cell::Cell, rc::Rc};
/// use torsion::task::cooperate;
/// use torsion::Reactor;
///
/// let reactor = Reactor::new()?;
/// let sum = Rc::new(Cell::new(0u64));
/// let s = sum.clone();
/// let task = cooperate(&reactor, (1..=1000u64).map(move |i| s.set(s.get() + i)));
/// let r = reactor.clone();
/// drop(task.when_done().add_callback(move |()| Ok(r.stop()?)));
/// reactor.run()?;
/// assert_eq!(sum.get(), 500_500);
/// # reactor.close();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn cooperate<I>(reactor: &Reactor, iterator: I) -> CooperativeTask
where
    I: IntoIterator + 'static,
    I::Item: WorkResult,
{
    default_cooperator(reactor).cooperate(iterator)
}

/// [`cooperate`] on `reactor`'s default cooperator, returning only the task's
/// [`when_done`](CooperativeTask::when_done) Deferred (Twisted's module-level `coiterate`).
///
/// # Examples
///
/// ```
/// use torsion::task::coiterate;
/// use torsion::Reactor;
///
/// let reactor = Reactor::new()?;
/// let r = reactor.clone();
/// let done = coiterate(&reactor, (0..100).map(|_| ()))
///     .add_callback(move |()| Ok(r.stop()?));
/// reactor.run()?;
/// assert!(done.take_result().unwrap().is_ok());
/// # reactor.close();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[track_caller]
pub fn coiterate<I>(reactor: &Reactor, iterator: I) -> Deferred<()>
where
    I: IntoIterator + 'static,
    I::Item: WorkResult,
{
    cooperate(reactor, iterator).when_done()
}

thread_local! {
    /// The default cooperator of each live reactor of this thread.
    static DEFAULT_COOPERATORS: RefCell<Vec<(Weak<reactor::Inner>, Cooperator)>> =
        const { RefCell::new(Vec::new()) };
}

/// `reactor`'s default cooperator on this thread, made on first use.
fn default_cooperator(reactor: &Reactor) -> Cooperator {
    let key = Rc::downgrade(&reactor.inner);
    let (found, dead) = DEFAULT_COOPERATORS.with(|all| {
        let mut all = all.borrow_mut();
        // Entries of dropped reactors go first, so a new reactor at a reused address
        // can't match one; so do those of closed reactors, whose tasks can never run
        // again (and may hold the reactor in a cycle through the thread-local).
        let gone = |r: &Weak<reactor::Inner>| {
            r.upgrade()
                .is_none_or(|inner| Reactor { inner }.is_closed())
        };
        let dead: Vec<_> = all
            .iter()
            .filter(|(r, _)| gone(r))
            .map(|(_, c)| c.clone())
            .collect();
        all.retain(|(r, _)| !gone(r));
        let found = all
            .iter()
            .find(|(r, _)| Weak::ptr_eq(r, &key))
            .map(|(_, c)| c.clone());
        (found, dead)
    });
    // Their tasks (user iterators) are dropped outside the borrow.
    for cooperator in dead {
        cooperator.stop();
    }
    if let Some(cooperator) = found {
        return cooperator;
    }
    let cooperator = Cooperator::new(WeakReactor {
        reactor: key.clone(),
        dead: Clock::new(),
    });
    DEFAULT_COOPERATORS.with(|all| all.borrow_mut().push((key, cooperator.clone())));
    cooperator
}

/// A reactor's time, held weakly. Once the reactor is gone, calls are scheduled on a
/// private clock and cancelled at once (they could never run anyway).
struct WeakReactor {
    reactor: Weak<reactor::Inner>,
    dead: Clock,
}

impl WeakReactor {
    fn get(&self) -> Option<Reactor> {
        self.reactor.upgrade().map(|inner| Reactor { inner })
    }
}

impl ReactorTime for WeakReactor {
    fn now(&self) -> Duration {
        self.get().map_or_else(|| self.dead.now(), |r| r.now())
    }

    fn call_later_fn(&self, delay: Duration, f: LocalFn) -> DelayedCall {
        match self.get() {
            Some(reactor) => reactor.call_later_fn(delay, f),
            None => {
                let call = self.dead.call_later_fn(delay, f);
                let _ = call.cancel();
                call
            }
        }
    }

    fn get_delayed_calls(&self) -> Vec<DelayedCall> {
        self.get()
            .map_or_else(Vec::new, |r| ReactorTime::get_delayed_calls(&r))
    }
}
