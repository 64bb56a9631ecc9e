//! The error types of `torsion::defer` (Twisted's `CancelledError`, `AlreadyCalledError`,
//! `FirstError`, `FailureGroup`, `QueueOverflow`, ...).
//!
//! Errors that travel down a chain are wrapped in a [`Failure`]; check them with
//! `failure.check::<Cancelled>()`. Errors returned synchronously (firing twice, a full
//! queue) are plain `Result` errors.
//!
//! Tests: `tests/defer_core.rs`, `tests/defer_list.rs`, `tests/defer_primitives.rs`.

use std::error::Error;
use std::fmt;
use std::panic::Location;

use super::Failure;

/// The Deferred was cancelled (Twisted's `CancelledError`).
///
/// [`Deferred::cancel`](super::Deferred::cancel) errbacks with this when there is no
/// canceller or the canceller did not fire the Deferred.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cancelled;

impl fmt::Display for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Deferred was cancelled")
    }
}

impl Error for Cancelled {}

/// The operation timed out (Twisted's `defer.TimeoutError`).
///
/// Reserved for `Deferred::add_timeout`, which turns the [`Cancelled`] it causes into this
/// error (built on the reactor's clock, outside this module).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimedOut;

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Deferred timed out")
    }
}

impl Error for TimedOut {}

/// A Deferred was fired a second time (Twisted's `AlreadyCalledError`).
///
/// Carries the three places that matter when debugging it: where the Deferred was made,
/// where it was first fired, and where the second firing came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlreadyCalled {
    /// Where the Deferred was created.
    pub created_at: &'static Location<'static>,
    /// Where it was first fired (`callback`, `errback`, `cancel`, ...).
    pub first_fired_at: Option<&'static Location<'static>>,
    /// Where the rejected second firing was attempted.
    pub fired_again_at: &'static Location<'static>,
}

impl fmt::Display for AlreadyCalled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Deferred already called (created at {}, ",
            self.created_at
        )?;
        if let Some(first) = self.first_fired_at {
            write!(f, "first fired at {first}, ")?;
        }
        write!(f, "fired again at {})", self.fired_again_at)
    }
}

impl Error for AlreadyCalled {}

/// A value of the wrong type reached a point of a type-erased chain.
///
/// This happens only through a *stale handle*: a clone of a `Deferred<T>` kept after the
/// chain moved on to another type with `add_callback`, then used to fire the Deferred or to
/// add a link expecting `T`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeMismatch {
    /// The type that was expected here.
    pub expected: &'static str,
    /// The type that was found (or offered).
    pub found: &'static str,
}

impl fmt::Display for TypeMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Deferred type mismatch: expected {}, found {} (a stale handle kept across add_callback?)",
            self.expected, self.found
        )
    }
}

impl Error for TypeMismatch {}

/// Why [`Deferred::callback`](super::Deferred::callback) (or `errback`, `fire`) refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FireError {
    /// The Deferred has already been fired.
    AlreadyCalled(AlreadyCalled),
    /// The handle's value type is not the type the Deferred was created with.
    WrongType(TypeMismatch),
}

impl FireError {
    /// Is this [`FireError::AlreadyCalled`]?
    pub fn is_already_called(&self) -> bool {
        matches!(self, FireError::AlreadyCalled(_))
    }
}

impl fmt::Display for FireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FireError::AlreadyCalled(e) => e.fmt(f),
            FireError::WrongType(e) => e.fmt(f),
        }
    }
}

impl Error for FireError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            FireError::AlreadyCalled(e) => Some(e),
            FireError::WrongType(e) => Some(e),
        }
    }
}

/// The Deferred's result was already moved out: awaited, taken with `take_result`, handed
/// to a Deferred waiting on it (implicit chaining), or collected by a `DeferredList`.
///
/// Links added after that run on the errback track with this error (Twisted would give
/// them `None`; Rust has no such value of every type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResultConsumed;

impl fmt::Display for ResultConsumed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the Deferred's result was already consumed")
    }
}

impl Error for ResultConsumed {}

/// A callback returned the very Deferred it was attached to, which could never fire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CircularChain;

impl fmt::Display for CircularChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("callback returned the Deferred it was attached to")
    }
}

impl Error for CircularChain {}

/// The first failure among several Deferreds (`gather_results`, or a `DeferredList` with
/// `fire_on_one_errback`), with the index of the Deferred it came from.
#[derive(Debug, Clone)]
pub struct FirstError {
    /// Index of the failed Deferred in the list.
    pub index: usize,
    /// Its failure.
    pub failure: Failure,
}

impl fmt::Display for FirstError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FirstError[#{}, {}]", self.index, self.failure)
    }
}

impl Error for FirstError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(self.failure.error())
    }
}

/// Every Deferred failed (`race`, `DeferredList::fire_on_one_callback`); the failures are
/// in input order.
#[derive(Debug, Clone)]
pub struct FailureGroup {
    /// One failure per input Deferred, in input order.
    pub failures: Vec<Failure>,
}

impl fmt::Display for FailureGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failures", self.failures.len())?;
        for (index, failure) in self.failures.iter().enumerate() {
            write!(f, "; #{index}: {failure}")?;
        }
        Ok(())
    }
}

impl Error for FailureGroup {}

/// `DeferredQueue::put` on a full queue; gives the rejected value back.
pub struct QueueOverflow<T>(pub T);

impl<T> QueueOverflow<T> {
    /// The value that did not fit.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for QueueOverflow<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("QueueOverflow(..)")
    }
}

impl<T> fmt::Display for QueueOverflow<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeferredQueue is full")
    }
}

impl<T> Error for QueueOverflow<T> {}

/// `DeferredQueue::get` while the backlog of waiting getters is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueUnderflow;

impl fmt::Display for QueueUnderflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("too many getters waiting on the DeferredQueue")
    }
}

impl Error for QueueUnderflow {}
