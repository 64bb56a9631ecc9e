//! [`WorkResult`]: what a [`LoopingCall`](super::LoopingCall)'s function or one step of a
//! [`Cooperator`](super::Cooperator) task may return.
//!
//! Tests: `tests/task_looping.rs`, `tests/task_cooperator.rs`.

use std::fmt;

use crate::defer::{Deferred, Failure};

/// What one unit of work returns: done now, failed, or finishing later.
///
/// * `()`: done.
/// * `Result<W, Failure>`: `Err` fails (a `LoopingCall` stops and errbacks the Deferred
///   its `start` returned; a cooperative task ends with that failure), `Ok(w)` is `w`.
///   Inside the closure `?` turns any error into a `Failure`.
/// * `Deferred<T>`: wait for it before the next unit of work (its value is ignored and
///   consumed, as Twisted ignores it; a failure fails as `Err` does).
/// * `Option<W>`: `None` is done, `Some(w)` is `w`. A step that only sometimes waits
///   yields `Option<Deferred<T>>`.
///
/// The trait is sealed: these impls are all there is.
///
/// # Examples
///
/// ```
/// use torsion::defer::{Deferred, Failure};
/// use torsion::task::WorkResult;
///
/// fn accepts<W: WorkResult>(_: W) {}
/// accepts(());
/// accepts(Ok::<(), Failure>(()));
/// accepts(Deferred::<String>::new());
/// accepts(None::<Deferred<()>>);
/// accepts(Ok::<_, Failure>(Some(Deferred::<u8>::new())));
/// ```
pub trait WorkResult: Sized + 'static {
    /// The type-erased form (hidden; part of the seal).
    #[doc(hidden)]
    fn into_work(self) -> Work;
}

/// A unit of work's outcome, type-erased (hidden: only this crate can make one).
#[doc(hidden)]
pub struct Work(pub(crate) Outcome);

/// What the schedulers act on.
pub(crate) enum Outcome {
    /// Done; go on.
    Done,
    /// Failed.
    Failed(Failure),
    /// Go on when this fires (with `Ok` or a failure).
    Wait(Deferred<()>),
}

impl fmt::Debug for Work {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            Outcome::Done => "Work::Done",
            Outcome::Failed(_) => "Work::Failed",
            Outcome::Wait(_) => "Work::Wait",
        })
    }
}

impl WorkResult for () {
    fn into_work(self) -> Work {
        Work(Outcome::Done)
    }
}

impl<W: WorkResult> WorkResult for Result<W, Failure> {
    fn into_work(self) -> Work {
        match self {
            Ok(w) => w.into_work(),
            Err(failure) => Work(Outcome::Failed(failure)),
        }
    }
}

impl<T: 'static> WorkResult for Deferred<T> {
    fn into_work(self) -> Work {
        Work(Outcome::Wait(self.add_callback(drop::<T>)))
    }
}

impl<W: WorkResult> WorkResult for Option<W> {
    fn into_work(self) -> Work {
        match self {
            Some(w) => w.into_work(),
            None => Work(Outcome::Done),
        }
    }
}
