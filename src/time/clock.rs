//! [`Clock`]: a manual time source for deterministic tests (Twisted's `task.Clock`).
//!
//! Tests: `src/time/tests.rs`.

use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use torsion_sys::LocalFn;

use super::queue::{DelayedCall, TimerQueue};
use super::ReactorTime;

/// A clock that moves only when told to, for tests that must not sleep.
///
/// It schedules calls exactly as a reactor does (same timer wheel, same ordering, same
/// [`DelayedCall`] handles) but its time starts at zero and moves only through
/// [`advance`](Clock::advance) and [`pump`](Clock::pump). Clones share one clock.
///
/// Like Twisted's `Clock`, `advance` runs every call that becomes due, including calls
/// scheduled by those calls if they are due by the new time. Calls due at the same time run
/// in the order they were scheduled. Timers have a resolution of one millisecond: advance in
/// whole milliseconds to hit a deadline exactly.
///
/// # Examples
///
/// ```
/// use std::{cell::RefCell, rc::Rc, time::Duration};
/// use torsion::time::Clock;
///
/// let clock = Clock::new();
/// let log = Rc::new(RefCell::new(Vec::new()));
/// for (name, secs) in [("b", 2), ("a", 1), ("c", 2)] {
///     let log = log.clone();
///     clock.call_later(Duration::from_secs(secs), move || log.borrow_mut().push(name));
/// }
/// clock.pump([Duration::from_secs(1), Duration::from_secs(1)]);
/// assert_eq!(*log.borrow(), ["a", "b", "c"]);
/// assert_eq!(clock.seconds(), 2.0);
/// ```
#[derive(Clone)]
pub struct Clock {
    queue: Rc<TimerQueue>,
}

impl Clock {
    /// A clock at time zero with nothing scheduled.
    pub fn new() -> Clock {
        Clock {
            queue: TimerQueue::new(Duration::ZERO),
        }
    }

    /// The clock's current time, since its origin.
    pub fn now(&self) -> Duration {
        self.queue.now()
    }

    /// The current time in seconds, as Twisted's `seconds()`.
    pub fn seconds(&self) -> f64 {
        self.now().as_secs_f64()
    }

    /// Schedules `f` to run `delay` from now.
    pub fn call_later<F: FnOnce() + 'static>(&self, delay: Duration, f: F) -> DelayedCall {
        self.queue.schedule(delay, LocalFn::new(f))
    }

    /// Moves time forward by `amount` and runs every call that is then due, in order.
    pub fn advance(&self, amount: Duration) {
        let now = self.queue.now().saturating_add(amount);
        self.queue.run_due(now, None, LocalFn::call);
    }

    /// Advances by each amount in turn (Twisted's `pump(timings)`).
    pub fn pump<I: IntoIterator<Item = Duration>>(&self, timings: I) {
        for amount in timings {
            self.advance(amount);
        }
    }

    /// Handles to every call still scheduled.
    pub fn get_delayed_calls(&self) -> Vec<DelayedCall> {
        self.queue.delayed_calls()
    }

    /// Number of calls still scheduled.
    pub fn pending_calls(&self) -> usize {
        self.queue.pending()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Clock")
            .field("now", &self.now())
            .field("pending_calls", &self.pending_calls())
            .finish()
    }
}

impl ReactorTime for Clock {
    fn now(&self) -> Duration {
        Clock::now(self)
    }

    fn call_later_fn(&self, delay: Duration, f: LocalFn) -> DelayedCall {
        self.queue.schedule(delay, f)
    }

    fn get_delayed_calls(&self) -> Vec<DelayedCall> {
        Clock::get_delayed_calls(self)
    }
}
