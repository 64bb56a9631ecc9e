//! Helpers for testing code that uses Deferreds (Twisted trial's `successResultOf`,
//! `failureResultOf`, `assertNoResult`, and `flushLoggedErrors` for unhandled errors).
//!
//! Tests: used throughout `tests/defer_*.rs`.

use std::fmt::Debug;

use super::unhandled::{self, UnhandledError};
use super::{Deferred, Failure};

/// Runs `f` and returns the unhandled errors reported on this thread meanwhile, instead of
/// passing them to the hook. Scopes nest; the innermost collects.
///
/// # Examples
///
/// ```
/// use torsion::defer::{fail, testing, Failure};
///
/// let ((), reports) = testing::capture_unhandled(|| {
///     drop(fail::<u8>(Failure::msg("lost")));
/// });
/// assert_eq!(reports.len(), 1);
/// assert!(reports[0].to_string().contains("lost"));
/// ```
pub fn capture_unhandled<R>(f: impl FnOnce() -> R) -> (R, Vec<UnhandledError>) {
    unhandled::capture(f)
}

/// The value `d` has now; takes it (the Deferred is consumed).
///
/// # Panics
///
/// If `d` has no result yet, or has a failure.
#[track_caller]
pub fn success_result_of<T: 'static>(d: &Deferred<T>) -> T {
    match d.take_result() {
        Some(Ok(value)) => value,
        Some(Err(failure)) => panic!("expected a success result, got {failure:#}"),
        None => panic!("expected a success result, but {d:?} has no result"),
    }
}

/// The failure `d` has now; takes it (the Deferred is consumed, so the failure counts as
/// handled).
///
/// # Panics
///
/// If `d` has no result yet, or has a value.
#[track_caller]
pub fn failure_result_of<T: 'static + Debug>(d: &Deferred<T>) -> Failure {
    match d.take_result() {
        Some(Err(failure)) => failure,
        Some(Ok(value)) => panic!("expected a failure, got the value {value:?}"),
        None => panic!("expected a failure, but {d:?} has no result"),
    }
}

/// Checks that `d` has no result available now (unfired, paused or waiting).
///
/// # Panics
///
/// If it has one (the result is left in place).
#[track_caller]
pub fn assert_no_result<T: 'static>(d: &Deferred<T>) {
    if d.called() && !d.paused() {
        let st = d.node.state.borrow();
        if matches!(
            st.slot,
            super::node::Slot::Ready(_) | super::node::Slot::Consumed
        ) {
            panic!("expected no result, but {d:?} has one");
        }
    }
}
