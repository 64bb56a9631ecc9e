//! [`CooperativeTask`]: one iteration run by a [`Cooperator`](super::Cooperator)
//! (Twisted's `CooperativeTask`), and [`SchedulerError`].
//!
//! A task is runnable (in its cooperator's round) unless it is paused (by
//! [`pause`](CooperativeTask::pause), or while a Deferred it yielded is pending) or
//! finished (done, stopped, failed, or its cooperator stopped). Pauses nest: each `pause`
//! needs a `resume`, and a yielded Deferred counts as one pause, undone when it fires.
//!
//! Tests: `tests/task_cooperator.rs`, `tests/task_cooperative_task.rs`.

use std::cell::RefCell;
use std::fmt;
use std::panic::Location;
use std::rc::Rc;

use super::cooperator::CoopInner;
use super::work::Outcome;
use crate::defer::{fail, Deferred, Failure};

/// Why a task operation was refused, or why a task ended (Twisted's `SchedulerError`
/// family). The `Task*` and `SchedulerStopped` variants also reach
/// [`when_done`](CooperativeTask::when_done) Deferreds, in a [`Failure`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SchedulerError {
    /// The cooperator was stopped (Twisted's `SchedulerStopped`).
    SchedulerStopped,
    /// The task's iterator is exhausted (Twisted's `TaskDone`).
    TaskDone,
    /// The task was stopped (Twisted's `TaskStopped`).
    TaskStopped,
    /// The task failed: an item was an `Err`, or a Deferred it waited on failed (Twisted's
    /// `TaskFailed`).
    TaskFailed,
    /// `resume` on a task that is not paused (Twisted's `NotPaused`).
    NotPaused,
}

impl SchedulerError {
    /// Is this one of the "task already finished" errors (Twisted's `TaskFinished`)?
    pub fn is_task_finished(self) -> bool {
        matches!(
            self,
            SchedulerError::TaskDone | SchedulerError::TaskStopped | SchedulerError::TaskFailed
        )
    }
}

impl fmt::Display for SchedulerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SchedulerError::SchedulerStopped => "the cooperator was stopped",
            SchedulerError::TaskDone => "the task is done",
            SchedulerError::TaskStopped => "the task was stopped",
            SchedulerError::TaskFailed => "the task failed",
            SchedulerError::NotPaused => "the task is not paused",
        })
    }
}

impl std::error::Error for SchedulerError {}

/// The task's iterator, its items type-erased.
type Steps = Box<dyn Iterator<Item = Outcome>>;

pub(super) struct TaskInner {
    cooperator: Rc<CoopInner>,
    /// `None` while a step runs (taken out, so no borrow is held) and once finished.
    iterator: RefCell<Option<Steps>>,
    st: RefCell<TaskState>,
}

struct TaskState {
    pause_count: u32,
    /// How the task ended, and what `when_done` Deferreds get.
    completion: Option<(SchedulerError, Result<(), Failure>)>,
    /// `when_done` Deferreds waiting for the end.
    waiters: Vec<Deferred<()>>,
    /// A failure no `when_done` Deferred was there to receive: kept in a failed Deferred,
    /// so it is reported as unhandled if nobody ever asks for it.
    unclaimed: Option<Deferred<()>>,
}

/// A task running in a [`Cooperator`](super::Cooperator) (Twisted's `CooperativeTask`):
/// wait for its end, pause, resume or stop it.
///
/// # Examples
///
/// ```
/// use std::{cell::Cell, rc::Rc, time::Duration};
/// use torsion::defer::testing::failure_result_of;
/// use torsion::task::{Cooperator, SchedulerError};
/// use torsion::time::Clock;
///
/// let clock = Clock::new();
/// // One step per tick, one tick per millisecond of clock time.
/// let coop = Cooperator::builder(clock.clone())
///     .termination_predicate(|| || true)
///     .tick_delay(Duration::from_millis(1))
///     .build();
/// let steps = Rc::new(Cell::new(0));
/// let s = steps.clone();
/// let task = coop.cooperate(std::iter::repeat_with(move || s.set(s.get() + 1)));
/// let done = task.when_done();
///
/// clock.pump([Duration::from_millis(1); 3]);
/// assert_eq!(steps.get(), 3);
/// task.pause()?;
/// clock.pump([Duration::from_millis(1); 3]);
/// assert_eq!(steps.get(), 3); // paused
/// task.resume()?;
/// clock.advance(Duration::from_millis(1));
/// assert_eq!(steps.get(), 4);
/// task.stop()?;
/// let failure = failure_result_of(&done);
/// assert_eq!(failure.downcast_ref(), Some(&SchedulerError::TaskStopped));
/// assert_eq!(task.stop(), Err(SchedulerError::TaskStopped));
/// # Ok::<(), SchedulerError>(())
/// ```
#[derive(Clone)]
pub struct CooperativeTask {
    inner: Rc<TaskInner>,
}

impl CooperativeTask {
    pub(super) fn from_inner(inner: Rc<TaskInner>) -> CooperativeTask {
        CooperativeTask { inner }
    }

    /// A new Deferred that fires with `()` when the iterator is exhausted, or fails with
    /// the task's failure (an item's, or a waited-on Deferred's), with
    /// [`SchedulerError::TaskStopped`] if it was stopped, or
    /// [`SchedulerError::SchedulerStopped`] if its cooperator was (Twisted's `whenDone`).
    /// Each call gives a separate Deferred; after the end, it has its result at once.
    #[track_caller]
    pub fn when_done(&self) -> Deferred<()> {
        let d = Deferred::new_at(Location::caller());
        let (result, unclaimed) = {
            let mut st = self.inner.st.borrow_mut();
            match &st.completion {
                None => {
                    st.waiters.push(d.clone());
                    return d;
                }
                Some((_, result)) => (result.clone(), st.unclaimed.take()),
            }
        };
        if let Some(unclaimed) = unclaimed {
            // Claimed now: take the failure out, so dropping it reports nothing.
            drop(unclaimed.take_result());
        }
        let _ = d.fire(result);
        d
    }

    /// Stops taking steps until as many [`resume`](CooperativeTask::resume) calls.
    ///
    /// # Errors
    ///
    /// The way the task finished (`TaskDone`, `TaskStopped`, `TaskFailed`,
    /// `SchedulerStopped`) if it has.
    pub fn pause(&self) -> Result<(), SchedulerError> {
        self.inner.check_finish()?;
        self.inner.pause();
        Ok(())
    }

    /// Undoes one [`pause`](CooperativeTask::pause); at zero the task rejoins the round
    /// (on the next tick), unless it has finished meanwhile.
    ///
    /// # Errors
    ///
    /// [`SchedulerError::NotPaused`] if it is not paused.
    pub fn resume(&self) -> Result<(), SchedulerError> {
        self.inner.resume()
    }

    /// Stops the task for good: its iterator is dropped and its `when_done` Deferreds fail
    /// with [`SchedulerError::TaskStopped`].
    ///
    /// # Errors
    ///
    /// The way the task finished, if it has.
    #[track_caller]
    pub fn stop(&self) -> Result<(), SchedulerError> {
        self.inner.check_finish()?;
        let failure = Failure::new_at(SchedulerError::TaskStopped, Location::caller());
        self.inner
            .complete_with(SchedulerError::TaskStopped, Err(failure));
        Ok(())
    }
}

impl fmt::Debug for CooperativeTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("CooperativeTask");
        if let Ok(st) = self.inner.st.try_borrow() {
            out.field("paused", &st.pause_count)
                .field("finished", &st.completion.as_ref().map(|(how, _)| how));
        }
        out.finish_non_exhaustive()
    }
}

impl TaskInner {
    pub(super) fn new(cooperator: Rc<CoopInner>, steps: Steps) -> Rc<TaskInner> {
        Rc::new(TaskInner {
            cooperator,
            iterator: RefCell::new(Some(steps)),
            st: RefCell::new(TaskState {
                pause_count: 0,
                completion: None,
                waiters: Vec::new(),
                unclaimed: None,
            }),
        })
    }

    pub(super) fn finished(&self) -> bool {
        self.st.borrow().completion.is_some()
    }

    fn check_finish(&self) -> Result<(), SchedulerError> {
        match &self.st.borrow().completion {
            Some((how, _)) => Err(*how),
            None => Ok(()),
        }
    }

    fn pause(self: &Rc<Self>) {
        let first = {
            let mut st = self.st.borrow_mut();
            st.pause_count += 1;
            st.pause_count == 1
        };
        if first {
            self.cooperator.remove_task(self);
        }
    }

    fn resume(self: &Rc<Self>) -> Result<(), SchedulerError> {
        let rejoin = {
            let mut st = self.st.borrow_mut();
            if st.pause_count == 0 {
                return Err(SchedulerError::NotPaused);
            }
            st.pause_count -= 1;
            st.pause_count == 0 && st.completion.is_none()
        };
        if rejoin {
            self.cooperator.add_task(self);
        }
        Ok(())
    }

    /// Takes one item of the iterator and acts on it (Twisted's `_oneWorkUnit`).
    pub(super) fn one_work_unit(self: &Rc<Self>) {
        let Some(iterator) = self.iterator.borrow_mut().take() else {
            return; // finished, or a step inside a step (its code advanced the clock)
        };
        let mut guard = StepGuard {
            task: self,
            iterator: Some(iterator),
        };
        let item = guard.iterator.as_mut().expect("just set").next();
        let iterator = guard.iterator.take();
        drop(guard);
        if self.finished() {
            drop(iterator); // it stopped its own task
        } else {
            *self.iterator.borrow_mut() = iterator;
        }
        match item {
            None => self.complete_with(SchedulerError::TaskDone, Ok(())),
            Some(Outcome::Done) => {}
            Some(Outcome::Failed(failure)) => {
                self.complete_with(SchedulerError::TaskFailed, Err(failure));
            }
            Some(Outcome::Wait(d)) => {
                if self.finished() {
                    return;
                }
                self.pause();
                let (ok, err) = (self.clone(), self.clone());
                drop(d.add_callbacks(
                    move |()| {
                        let _ = ok.resume();
                    },
                    move |failure| err.complete_with(SchedulerError::TaskFailed, Err(failure)),
                ));
            }
        }
    }

    /// Finishes the task (Twisted's `_completeWith`), once: leaves the round, drops the
    /// iterator, then fires the `when_done` Deferreds (last, so their callbacks see the
    /// task gone and may stop the cooperator or start other tasks).
    pub(super) fn complete_with(self: &Rc<Self>, how: SchedulerError, result: Result<(), Failure>) {
        let (waiters, paused) = {
            let mut st = self.st.borrow_mut();
            if st.completion.is_some() {
                return;
            }
            let waiters = std::mem::take(&mut st.waiters);
            if let (true, Err(failure)) = (waiters.is_empty(), &result) {
                if how == SchedulerError::TaskFailed {
                    st.unclaimed = Some(fail(failure.clone()));
                }
            }
            st.completion = Some((how, result.clone()));
            (waiters, st.pause_count > 0)
        };
        if !paused {
            self.cooperator.remove_task(self);
        }
        let iterator = self.iterator.borrow_mut().take();
        drop(iterator);
        for d in waiters {
            let _ = d.fire(result.clone());
        }
    }
}

/// On a panic in the iterator's `next`, takes the task out of the round (so a panicking
/// iterator is not called again every tick) and drops the iterator. The panic propagates;
/// the task's `when_done` Deferreds are left unfired.
struct StepGuard<'a> {
    task: &'a Rc<TaskInner>,
    iterator: Option<Steps>,
}

impl Drop for StepGuard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.task.st.borrow_mut().pause_count += 1;
            self.task.cooperator.remove_task(self.task);
        }
    }
}
