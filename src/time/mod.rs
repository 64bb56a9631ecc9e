//! Time: scheduled calls ([`DelayedCall`]), the [`ReactorTime`] interface shared by the
//! reactor and the manual [`Clock`], and the timer [`wheel`] underneath.
//!
//! Every time here is a [`Duration`] since the time source's origin: the reactor's creation
//! for a real reactor (a monotonic clock, so timers don't jump with the wall clock), zero for
//! a [`Clock`]. [`ReactorTime::seconds`] gives the same as an `f64`, as Twisted's
//! `seconds()` does.
//!
//! **Resolution and order.** Deadlines are kept exactly (see [`DelayedCall::time`]) but
//! fall due on a one-millisecond grid: a call runs at the first check at or after its time
//! rounded up to a whole millisecond, never early. Calls due in the same millisecond run in
//! the order they were scheduled.
//!
//! Tests: `src/time/tests.rs`, `tests/timer_model.rs`, `tests/timer_alloc.rs`.

mod clock;
mod queue;
mod tick;
pub mod wheel;

#[cfg(test)]
mod tests;

use std::time::Duration;

pub use clock::Clock;
pub(crate) use queue::TimerQueue;
pub use queue::{DelayedCall, DelayedCallError};
pub use torsion_sys::LocalFn;

/// Something that tells the time and schedules calls: the reactor, or a manual [`Clock`] in
/// tests (Twisted's `IReactorTime`). Code that only needs time (timeouts, `LoopingCall`)
/// takes a `ReactorTime` so tests can drive it by hand.
///
/// # Examples
///
/// ```
/// use std::{cell::Cell, rc::Rc, time::Duration};
/// use torsion::time::{Clock, DelayedCall, ReactorTime};
///
/// // A timeout helper that works on any time source.
/// fn arm_timeout(time: &impl ReactorTime, flag: Rc<Cell<bool>>) -> DelayedCall {
///     time.call_later(Duration::from_secs(30), move || flag.set(true))
/// }
///
/// let clock = Clock::new();
/// let timed_out = Rc::new(Cell::new(false));
/// arm_timeout(&clock, timed_out.clone());
/// clock.advance(Duration::from_secs(30));
/// assert!(timed_out.get());
/// ```
pub trait ReactorTime {
    /// The current time since the source's origin.
    fn now(&self) -> Duration;

    /// Schedules an already-wrapped callback; [`call_later`](ReactorTime::call_later) is the
    /// convenient form.
    fn call_later_fn(&self, delay: Duration, f: LocalFn) -> DelayedCall;

    /// Handles to every call still scheduled (Twisted's `getDelayedCalls`).
    fn get_delayed_calls(&self) -> Vec<DelayedCall>;

    /// The current time in seconds.
    fn seconds(&self) -> f64 {
        self.now().as_secs_f64()
    }

    /// Schedules `f` to run `delay` from now and returns its handle. (Through a
    /// `&dyn ReactorTime`, use `call_later_fn(delay, LocalFn::new(f))`.)
    fn call_later<F: FnOnce() + 'static>(&self, delay: Duration, f: F) -> DelayedCall
    where
        Self: Sized,
    {
        self.call_later_fn(delay, LocalFn::new(f))
    }
}

impl<T: ReactorTime + ?Sized> ReactorTime for &T {
    fn now(&self) -> Duration {
        (**self).now()
    }
    fn call_later_fn(&self, delay: Duration, f: LocalFn) -> DelayedCall {
        (**self).call_later_fn(delay, f)
    }
    fn get_delayed_calls(&self) -> Vec<DelayedCall> {
        (**self).get_delayed_calls()
    }
}

impl<T: ReactorTime + ?Sized> ReactorTime for std::rc::Rc<T> {
    fn now(&self) -> Duration {
        (**self).now()
    }
    fn call_later_fn(&self, delay: Duration, f: LocalFn) -> DelayedCall {
        (**self).call_later_fn(delay, f)
    }
    fn get_delayed_calls(&self) -> Vec<DelayedCall> {
        (**self).get_delayed_calls()
    }
}
