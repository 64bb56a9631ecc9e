//! [`defer_later`]: a Deferred that fires with `f()` after a delay (Twisted's
//! `task.deferLater`).
//!
//! Tests: `tests/task_defer_later.rs`.

use std::cell::OnceCell;
use std::rc::Rc;
use std::time::Duration;

use torsion_sys::LocalFn;

use crate::defer::{CallbackResult, Deferred};
use crate::time::{DelayedCall, ReactorTime};

/// Calls `f` `delay` from now on `clock` and returns a Deferred of what it returns
/// (Twisted's `deferLater`).
///
/// `f` returns what a callback may ([`CallbackResult`]): `Ok(value)`, `Err(failure)` (the
/// Deferred fails), a `Deferred<U>` (the result waits for it) or `()`. Cancelling the
/// Deferred before the delay is up cancels the call (`f` never runs) and fails it with
/// [`Cancelled`](crate::defer::Cancelled).
///
/// The scheduled call holds the Deferred (it is its producer), so `f` runs even if every
/// handle on the result is dropped, as Twisted's does.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use torsion::defer::testing::{assert_no_result, success_result_of};
/// use torsion::task::defer_later;
/// use torsion::time::Clock;
///
/// let clock = Clock::new();
/// let d = defer_later(&clock, Duration::from_secs(3), || Ok(6 * 7));
/// clock.advance(Duration::from_secs(2));
/// assert_no_result(&d);
/// clock.advance(Duration::from_secs(1));
/// assert_eq!(success_result_of(&d), 42);
/// ```
#[track_caller]
pub fn defer_later<C, F, R>(clock: &C, delay: Duration, f: F) -> Deferred<R::Value>
where
    C: ReactorTime + ?Sized,
    F: FnOnce() -> R + 'static,
    R: CallbackResult,
{
    // The canceller needs the call, which needs the Deferred: the cell ties the knot. It
    // lives only until the call runs or is cancelled (both drop the canceller).
    let timer: Rc<OnceCell<DelayedCall>> = Rc::new(OnceCell::new());
    let cell = timer.clone();
    let d: Deferred<()> = Deferred::with_canceller(move |_| {
        if let Some(call) = cell.get() {
            let _ = call.cancel();
        }
    });
    let producer = d.clone();
    let call = clock.call_later_fn(
        delay,
        LocalFn::new(move || {
            // Err only if it was cancelled meanwhile: the late result is swallowed.
            let _ = producer.callback(());
        }),
    );
    let _ = timer.set(call);
    d.add_callback(move |()| f())
}
