//! [`Deferred::add_timeout`]: cancel a Deferred that has not fired in time (Twisted's
//! `Deferred.addTimeout`).
//!
//! The timeout is a call scheduled on any [`ReactorTime`] (the reactor, or a manual
//! [`Clock`](crate::time::Clock) in tests) plus one link on the chain:
//!
//! * the **timer** holds the Deferred *weakly* (cancellation links are weak, see the module
//!   documentation): if nobody can fire or read the Deferred any more, there is nothing to
//!   time out. When it runs it notes that the timeout struck and calls
//!   [`cancel`](Deferred::cancel);
//! * the **link** holds the timer. When the chain reaches it (the Deferred fired, or was
//!   cancelled), it cancels the timer and, if the timeout caused the cancellation, turns
//!   the [`Cancelled`] failure into [`TimedOut`]. If the chain is dropped unfired, dropping
//!   the link cancels the timer too, so no call is left behind.
//!
//! Tests: `tests/task_timeout.rs`.

use std::cell::Cell;
use std::panic::Location;
use std::rc::Rc;
use std::time::Duration;

use torsion_sys::LocalFn;

use super::error::{Cancelled, TimedOut};
use super::{node, Deferred, Failure};
use crate::time::{DelayedCall, ReactorTime};

/// Cancels the timer when dropped: when the link has run, or when the chain is dropped
/// with the link still on it.
struct TimerGuard(DelayedCall);

impl Drop for TimerGuard {
    fn drop(&mut self) {
        // Err means it already ran (it is what cancelled us) or was cancelled: both fine.
        let _ = self.0.cancel();
    }
}

impl<T: 'static> Deferred<T> {
    /// Cancels this Deferred if it has not fired `delay` from now on `clock` (Twisted's
    /// `addTimeout`). A cancellation caused by the timeout reaches the callbacks added
    /// after this one as a [`TimedOut`] failure instead of [`Cancelled`]; if the canceller
    /// fires the Deferred with a value instead, that value goes on unchanged.
    ///
    /// Only the callbacks added **before** `add_timeout` are covered: if one of them
    /// returns a Deferred that is still unfired when time runs out, that inner Deferred is
    /// cancelled. Once the chain gets past this point (the Deferred fired in time, or was
    /// cancelled by someone else) the timer is cancelled, so it leaves no call scheduled.
    /// Dropping an unfired Deferred cancels the timer too.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use torsion::defer::{testing::failure_result_of, Deferred, TimedOut};
    /// use torsion::time::Clock;
    ///
    /// let clock = Clock::new();
    /// let reply: Deferred<String> = Deferred::new();
    /// let d = reply.clone().add_timeout(Duration::from_secs(30), &clock);
    /// clock.advance(Duration::from_secs(30));
    /// assert!(failure_result_of(&d).check::<TimedOut>());
    /// assert!(reply.callback("too late".into()).is_ok()); // swallowed, as after cancel()
    /// ```
    #[track_caller]
    pub fn add_timeout<C>(self, delay: Duration, clock: &C) -> Deferred<T>
    where
        C: ReactorTime + ?Sized,
    {
        self.add_timeout_at(delay, clock, Location::caller(), |result, _| {
            result.map_err(|failure| {
                if failure.check::<Cancelled>() {
                    Failure::new_at(TimedOut, failure.location())
                } else {
                    failure
                }
            })
        })
    }

    /// [`add_timeout`](Deferred::add_timeout) with its own handling of a timeout (Twisted's
    /// `onTimeoutCancel`): when the timeout cancelled the Deferred, `on_timeout_cancel` gets
    /// the result the cancellation produced (usually `Err` with [`Cancelled`]) and the
    /// delay, and returns the result the chain goes on with. It is not called when the
    /// Deferred fires in time or is cancelled by someone else.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use torsion::defer::{testing::success_result_of, Deferred};
    /// use torsion::time::Clock;
    ///
    /// let clock = Clock::new();
    /// let lookup: Deferred<Vec<String>> = Deferred::new();
    /// // A slow lookup answers "nothing found" rather than failing.
    /// let d = lookup.add_timeout_with(Duration::from_secs(5), &clock, |_cancelled, _delay| {
    ///     Ok(Vec::new())
    /// });
    /// clock.advance(Duration::from_secs(5));
    /// assert!(success_result_of(&d).is_empty());
    /// ```
    #[track_caller]
    pub fn add_timeout_with<C, F>(
        self,
        delay: Duration,
        clock: &C,
        on_timeout_cancel: F,
    ) -> Deferred<T>
    where
        C: ReactorTime + ?Sized,
        F: FnOnce(Result<T, Failure>, Duration) -> Result<T, Failure> + 'static,
    {
        self.add_timeout_at(delay, clock, Location::caller(), on_timeout_cancel)
    }

    fn add_timeout_at<C, F>(
        self,
        delay: Duration,
        clock: &C,
        at: &'static Location<'static>,
        on_timeout_cancel: F,
    ) -> Deferred<T>
    where
        C: ReactorTime + ?Sized,
        F: FnOnce(Result<T, Failure>, Duration) -> Result<T, Failure> + 'static,
    {
        let timed_out = Rc::new(Cell::new(false));
        let target = Rc::downgrade(&self.node);
        let flag = timed_out.clone();
        let timer = clock.call_later_fn(
            delay,
            LocalFn::new(move || {
                if let Some(node) = target.upgrade() {
                    flag.set(true);
                    node::cancel(&node, at);
                }
            }),
        );
        let guard = TimerGuard(timer);
        self.add_both(move |result| {
            drop(guard);
            if timed_out.get() {
                on_timeout_cancel(result, delay)
            } else {
                result
            }
        })
    }
}
