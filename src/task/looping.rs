//! [`LoopingCall`]: call a function every interval (Twisted's `task.LoopingCall`).
//!
//! Scheduling follows Twisted's exactly: calls are aligned to `start + k·interval` (each
//! next call is computed from the start time, not from the previous call, so there is no
//! drift), a call that comes late by several intervals skips the ones missed (the next one
//! is the next boundary still in the future), and if the function returns a Deferred the
//! next call waits for it. The arithmetic is in whole nanoseconds, so Twisted's
//! floating-point edge cases (`test_withCountFloatingPointBoundary`) cannot happen.
//!
//! Ownership: while a call is scheduled the clock holds the loop (the scheduled closure
//! holds it), and while the function's Deferred is pending, that Deferred does. So a
//! running loop goes on when every handle is dropped, as Twisted's does; a stopped loop
//! belongs to its handles only.
//!
//! Tests: `tests/task_looping.rs`.

use std::cell::RefCell;
use std::fmt;
use std::panic::Location;
use std::rc::{Rc, Weak};
use std::time::Duration;

use torsion_sys::LocalFn;

use super::work::{Outcome, WorkResult};
use crate::defer::{Deferred, Failure};
use crate::time::{DelayedCall, ReactorTime};

/// Why [`LoopingCall::start`], [`stop`](LoopingCall::stop) or
/// [`reset`](LoopingCall::reset) refused (Twisted asserts instead).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LoopingCallError {
    /// `start` on a loop that is running, or that was stopped while a call was still in
    /// progress (its function running, or its Deferred pending): the Deferred `start`
    /// returned has not fired yet.
    AlreadyRunning,
    /// `stop` or `reset` on a loop that is not running.
    NotRunning,
}

impl fmt::Display for LoopingCallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LoopingCallError::AlreadyRunning => "the LoopingCall is already running",
            LoopingCallError::NotRunning => "the LoopingCall is not running",
        })
    }
}

impl std::error::Error for LoopingCallError {}

/// The user's function, type-erased; gets the count (1 unless counting).
type LoopFn = Box<dyn FnMut(u64) -> Outcome>;

struct Inner {
    clock: Box<dyn ReactorTime>,
    /// `None` while the function runs (it is taken out, so no borrow is held).
    f: RefCell<Option<LoopFn>>,
    /// Made by `with_count`: work out the count, and skip the call when it is zero.
    counting: bool,
    st: RefCell<State>,
}

struct State {
    running: bool,
    interval: Duration,
    start_time: Duration,
    run_at_start: bool,
    /// When counting: when the function was last called (Twisted's `_realLastTime`).
    real_last_time: Option<Duration>,
    /// The next call, while one is scheduled.
    call: Option<DelayedCall>,
    /// The Deferred `start` returned, until it fires.
    deferred: Option<Deferred<LoopingCall>>,
}

/// Calls a function repeatedly, every `interval` (Twisted's `LoopingCall`).
///
/// The function returns a [`WorkResult`]: `()`, `Result<(), Failure>` (an `Err` stops the
/// loop and errbacks the Deferred [`start`](LoopingCall::start) returned), or a
/// `Deferred` (the next call waits until it fires; a failure stops the loop the same way).
///
/// Calls fall on `start + k·interval`. A call that could not run on time (the loop was
/// late, or the function or its Deferred took longer than an interval) is skipped, not
/// made up; [`with_count`](LoopingCall::with_count) tells the function how many intervals
/// went by. With an interval of zero the function runs again as soon as the clock allows:
/// on the reactor at its next timer tick (never twice in one turn, at most once a
/// millisecond); on a manual [`Clock`](crate::time::Clock), `advance` keeps calling it
/// while it neither stops nor waits, as Twisted's `Clock` does. The timers have a
/// resolution of one millisecond, so shorter intervals also run at most once a
/// millisecond, and count as skipping.
///
/// A `LoopingCall` is a cheap handle (`Rc`); clones name the same loop. A function that
/// must stop its own loop should hold a [`WeakLoopingCall`] (see
/// [`new_cyclic`](LoopingCall::new_cyclic)): a strong clone captured in the function is an
/// `Rc` cycle that keeps both alive for good once the loop stops.
///
/// # Examples
///
/// ```
/// use std::{cell::Cell, rc::Rc, time::Duration};
/// use torsion::defer::testing::success_result_of;
/// use torsion::task::LoopingCall;
/// use torsion::time::Clock;
///
/// let clock = Clock::new();
/// let ticks = Rc::new(Cell::new(0));
/// let t = ticks.clone();
/// let lc = LoopingCall::new(clock.clone(), move || t.set(t.get() + 1));
/// let done = lc.start(Duration::from_secs(1), true)?; // runs once now
/// clock.pump([Duration::from_secs(1); 3]);             // and at 1 s, 2 s, 3 s
/// assert_eq!(ticks.get(), 4);
/// clock.advance(Duration::from_secs(3));               // late: one call, at 6 s
/// assert_eq!(ticks.get(), 5);
/// lc.stop()?;
/// assert!(LoopingCall::ptr_eq(&success_result_of(&done), &lc));
/// # Ok::<(), torsion::task::LoopingCallError>(())
/// ```
#[derive(Clone)]
pub struct LoopingCall {
    inner: Rc<Inner>,
}

/// A weak handle on a [`LoopingCall`], for its own function to hold without making a
/// cycle.
#[derive(Clone)]
pub struct WeakLoopingCall {
    inner: Weak<Inner>,
}

impl WeakLoopingCall {
    /// The loop, if it still exists (it does while running, and while its function runs).
    pub fn upgrade(&self) -> Option<LoopingCall> {
        self.inner.upgrade().map(|inner| LoopingCall { inner })
    }
}

impl fmt::Debug for WeakLoopingCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WeakLoopingCall")
    }
}

impl LoopingCall {
    /// A loop that will call `f` on `clock` (any [`ReactorTime`]: the reactor, or a manual
    /// `Clock`) once started.
    pub fn new<C, F, R>(clock: C, mut f: F) -> LoopingCall
    where
        C: ReactorTime + 'static,
        F: FnMut() -> R + 'static,
        R: WorkResult,
    {
        LoopingCall::build(clock, false, Box::new(move |_| f().into_work().0))
    }

    /// A loop whose function gets the number of intervals that elapsed since it was last
    /// called (Twisted's `LoopingCall.withCount`): normally 1, more when calls were
    /// skipped, never 0 (a call that finds no whole interval elapsed is skipped). With an
    /// interval of zero the count is always 1.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{cell::RefCell, rc::Rc, time::Duration};
    /// use torsion::task::LoopingCall;
    /// use torsion::time::Clock;
    ///
    /// let clock = Clock::new();
    /// let counts = Rc::new(RefCell::new(Vec::new()));
    /// let c = counts.clone();
    /// let lc = LoopingCall::with_count(clock.clone(), move |n| c.borrow_mut().push(n));
    /// lc.start(Duration::from_millis(500), true).unwrap();
    /// clock.advance(Duration::from_millis(500));  // on time
    /// clock.advance(Duration::from_millis(1500)); // late: two calls missed
    /// assert_eq!(*counts.borrow(), [1, 1, 3]);
    /// ```
    pub fn with_count<C, F, R>(clock: C, mut f: F) -> LoopingCall
    where
        C: ReactorTime + 'static,
        F: FnMut(u64) -> R + 'static,
        R: WorkResult,
    {
        LoopingCall::build(clock, true, Box::new(move |n| f(n).into_work().0))
    }

    /// [`new`](LoopingCall::new), for a function that needs a handle on its own loop
    /// (to stop it, say): `make` gets a [`WeakLoopingCall`] and returns the function (as
    /// `Rc::new_cyclic` does).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc, time::Duration};
    /// use torsion::defer::testing::success_result_of;
    /// use torsion::task::LoopingCall;
    /// use torsion::time::Clock;
    ///
    /// let clock = Clock::new();
    /// let left = Rc::new(Cell::new(3));
    /// let l = left.clone();
    /// let lc = LoopingCall::new_cyclic(clock.clone(), move |this| {
    ///     let this = this.clone();
    ///     move || {
    ///         l.set(l.get() - 1);
    ///         if l.get() == 0 {
    ///             this.upgrade().unwrap().stop().unwrap();
    ///         }
    ///     }
    /// });
    /// let done = lc.start(Duration::from_secs(1), false).unwrap();
    /// clock.pump([Duration::from_secs(1); 5]);
    /// assert_eq!(left.get(), 0);
    /// success_result_of(&done);
    /// ```
    pub fn new_cyclic<C, M, F, R>(clock: C, make: M) -> LoopingCall
    where
        C: ReactorTime + 'static,
        M: FnOnce(&WeakLoopingCall) -> F,
        F: FnMut() -> R + 'static,
        R: WorkResult,
    {
        LoopingCall::build_cyclic(clock, false, |weak| {
            let mut f = make(weak);
            Box::new(move |_| f().into_work().0)
        })
    }

    /// [`with_count`](LoopingCall::with_count) with a handle on its own loop, as
    /// [`new_cyclic`](LoopingCall::new_cyclic).
    pub fn with_count_cyclic<C, M, F, R>(clock: C, make: M) -> LoopingCall
    where
        C: ReactorTime + 'static,
        M: FnOnce(&WeakLoopingCall) -> F,
        F: FnMut(u64) -> R + 'static,
        R: WorkResult,
    {
        LoopingCall::build_cyclic(clock, true, |weak| {
            let mut f = make(weak);
            Box::new(move |n| f(n).into_work().0)
        })
    }

    fn build<C: ReactorTime + 'static>(clock: C, counting: bool, f: LoopFn) -> LoopingCall {
        LoopingCall::build_cyclic(clock, counting, |_| f)
    }

    fn build_cyclic<C: ReactorTime + 'static>(
        clock: C,
        counting: bool,
        make: impl FnOnce(&WeakLoopingCall) -> LoopFn,
    ) -> LoopingCall {
        let inner = Rc::new_cyclic(|weak| Inner {
            clock: Box::new(clock),
            f: RefCell::new(Some(make(&WeakLoopingCall {
                inner: weak.clone(),
            }))),
            counting,
            st: RefCell::new(State {
                running: false,
                interval: Duration::ZERO,
                start_time: Duration::ZERO,
                run_at_start: false,
                real_last_time: None,
                call: None,
                deferred: None,
            }),
        });
        LoopingCall { inner }
    }

    /// Starts calling the function every `interval`: at once if `now`, else first after
    /// one interval (Twisted's `start(interval, now)`).
    ///
    /// Returns a Deferred that fires with this `LoopingCall` once the loop has stopped
    /// (after [`stop`](LoopingCall::stop), and after the call in progress then, if any, has
    /// finished), or fails with the function's failure. By the time it fires,
    /// [`running`](LoopingCall::running) is false and the loop can be started again.
    ///
    /// # Errors
    ///
    /// [`LoopingCallError::AlreadyRunning`] if it is running, or was stopped while a call
    /// was in progress that has not finished yet.
    #[track_caller]
    pub fn start(
        &self,
        interval: Duration,
        now: bool,
    ) -> Result<Deferred<LoopingCall>, LoopingCallError> {
        let d = Deferred::new_at(Location::caller());
        let start_time = self.inner.clock.now();
        {
            let mut st = self.inner.st.borrow_mut();
            if st.running || st.deferred.is_some() {
                return Err(LoopingCallError::AlreadyRunning);
            }
            st.running = true;
            st.deferred = Some(d.clone());
            st.start_time = start_time;
            st.interval = interval;
            st.run_at_start = now;
            st.real_last_time = None;
        }
        if now {
            self.inner.run();
        } else {
            self.inner.schedule_from(start_time);
        }
        Ok(d)
    }

    /// Stops the loop: no more calls. If none is in progress, the Deferred `start` returned
    /// fires now; if the function is running (this is called from inside it) or its
    /// Deferred is pending, it fires when that call finishes.
    ///
    /// # Errors
    ///
    /// [`LoopingCallError::NotRunning`] if the loop is not running.
    pub fn stop(&self) -> Result<(), LoopingCallError> {
        let (call, d) = {
            let mut st = self.inner.st.borrow_mut();
            if !st.running {
                return Err(LoopingCallError::NotRunning);
            }
            st.running = false;
            match st.call.take() {
                Some(call) => (Some(call), st.deferred.take()),
                None => (None, None),
            }
        };
        if let Some(call) = call {
            let _ = call.cancel();
        }
        if let Some(d) = d {
            let _ = d.callback(self.clone());
        }
        Ok(())
    }

    /// Skips the next call and restarts the timing from now (Twisted's `reset`): the next
    /// call is one interval from now. Does nothing while a call is in progress.
    ///
    /// # Errors
    ///
    /// [`LoopingCallError::NotRunning`] if the loop is not running.
    pub fn reset(&self) -> Result<(), LoopingCallError> {
        let call = {
            let mut st = self.inner.st.borrow_mut();
            if !st.running {
                return Err(LoopingCallError::NotRunning);
            }
            st.call.take()
        };
        if let Some(call) = call {
            let _ = call.cancel();
            let now = self.inner.clock.now();
            self.inner.st.borrow_mut().start_time = now;
            self.inner.schedule_from(now);
        }
        Ok(())
    }

    /// True from `start` until `stop` or a failure (Twisted's `running`).
    pub fn running(&self) -> bool {
        self.inner.st.borrow().running
    }

    /// The interval given to the last `start` (or set since).
    pub fn interval(&self) -> Duration {
        self.inner.st.borrow().interval
    }

    /// Changes the interval (Twisted code assigns `loop.interval`). It applies from the
    /// next scheduling: the call already scheduled keeps its time.
    pub fn set_interval(&self, interval: Duration) {
        self.inner.st.borrow_mut().interval = interval;
    }

    /// A weak handle on this loop.
    pub fn downgrade(&self) -> WeakLoopingCall {
        WeakLoopingCall {
            inner: Rc::downgrade(&self.inner),
        }
    }

    /// Do `a` and `b` name the same loop?
    pub fn ptr_eq(a: &LoopingCall, b: &LoopingCall) -> bool {
        Rc::ptr_eq(&a.inner, &b.inner)
    }
}

impl Inner {
    /// One call of the function (Twisted's `__call__`).
    fn run(self: &Rc<Self>) {
        self.st.borrow_mut().call = None;
        let count = if self.counting { self.count() } else { 1 };
        if count == 0 {
            // No whole interval since the last call: skip it, but keep looping.
            return self.called();
        }
        let Some(f) = self.f.borrow_mut().take() else {
            // Only reachable if the function's own code got us here re-entrantly.
            debug_assert!(false, "LoopingCall function re-entered");
            return;
        };
        let mut guard = Restore {
            inner: self,
            f: Some(f),
        };
        let outcome = (guard.f.as_mut().expect("just set"))(count);
        drop(guard);
        match outcome {
            Outcome::Done => self.called(),
            Outcome::Failed(failure) => self.failed(failure),
            Outcome::Wait(d) => {
                let (ok, err) = (self.clone(), self.clone());
                drop(d.add_callbacks(move |()| ok.called(), move |failure| err.failed(failure)));
            }
        }
    }

    /// The call finished: schedule the next, or fire the `start` Deferred if stopped.
    fn called(self: &Rc<Self>) {
        let d = {
            let mut st = self.st.borrow_mut();
            if st.running {
                None
            } else {
                Some(st.deferred.take())
            }
        };
        match d {
            None => self.schedule_from(self.clock.now()),
            Some(Some(d)) => {
                let _ = d.callback(LoopingCall {
                    inner: self.clone(),
                });
            }
            Some(None) => {}
        }
    }

    /// The call failed: stop, and fail the `start` Deferred.
    fn failed(self: &Rc<Self>, failure: Failure) {
        let d = {
            let mut st = self.st.borrow_mut();
            st.running = false;
            st.deferred.take()
        };
        if let Some(d) = d {
            let _ = d.errback(failure);
        }
    }

    /// Schedules the next call at the first `start + k·interval` after `when` (Twisted's
    /// `_scheduleFrom`); with a zero interval, as soon as possible.
    fn schedule_from(self: &Rc<Self>, when: Duration) {
        let delay = {
            let st = self.st.borrow();
            let interval = st.interval.as_nanos();
            if interval == 0 {
                Duration::ZERO
            } else {
                let running_for = when.saturating_sub(st.start_time).as_nanos();
                nanos(interval - running_for % interval)
            }
        };
        let inner = self.clone();
        let call = self
            .clock
            .call_later_fn(delay, LocalFn::new(move || inner.run()));
        self.st.borrow_mut().call = Some(call);
    }

    /// Twisted's `withCount` counter: whole intervals since the last call (0: skip this one).
    fn count(&self) -> u64 {
        let now = self.clock.now();
        let mut st = self.st.borrow_mut();
        if st.interval.is_zero() {
            st.real_last_time = Some(now);
            return 1;
        }
        let start = st.start_time.as_nanos() as i128;
        let interval = st.interval.as_nanos() as i128;
        let last = match st.real_last_time {
            Some(t) => t.as_nanos() as i128,
            // Started with `now`: the first call counts the interval "before" the start.
            None if st.run_at_start => start - interval,
            None => start,
        };
        // Truncating division, as Twisted's `int(elapsed / interval)`.
        let intervals_of = |t: i128| (t - start) / interval;
        let count = intervals_of(now.as_nanos() as i128) - intervals_of(last);
        if count > 0 {
            st.real_last_time = Some(now);
            u64::try_from(count).unwrap_or(u64::MAX)
        } else {
            0
        }
    }
}

/// Puts the function back after a call, also when it panics (the loop is then marked
/// stopped, and its `start` Deferred is left unfired: a panic propagates, it is not a
/// failure).
struct Restore<'a> {
    inner: &'a Rc<Inner>,
    f: Option<LoopFn>,
}

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        *self.inner.f.borrow_mut() = self.f.take();
        if std::thread::panicking() {
            let deferred = {
                let mut st = self.inner.st.borrow_mut();
                st.running = false;
                st.deferred.take()
            };
            drop(deferred);
        }
    }
}

/// A nanosecond count back to a `Duration` (saturating: 584 years).
fn nanos(n: u128) -> Duration {
    Duration::from_nanos(u64::try_from(n).unwrap_or(u64::MAX))
}

impl fmt::Debug for LoopingCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("LoopingCall");
        match self.inner.st.try_borrow() {
            Ok(st) => out
                .field("running", &st.running)
                .field("interval", &st.interval)
                .field("scheduled", &st.call.is_some())
                .field("counting", &self.inner.counting),
            Err(_) => out.field("state", &"busy"),
        };
        out.finish()
    }
}
