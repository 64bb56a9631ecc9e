//! [`Cooperator`]: run many long iterations in slices, round-robin, without blocking the
//! loop (Twisted's `task.Cooperator`). The tasks themselves are in `cooperative.rs`.
//!
//! Each **tick** of a cooperator takes one step of each runnable task in turn (resuming
//! the round where the last tick left it) until its termination predicate says the slice
//! is used up (by default after 10 ms of real time, Twisted's `_Timer`), then schedules
//! the next tick on its clock. A task that yields a Deferred is paused until it fires.
//!
//! Ownership: a scheduled tick holds the cooperator, and the cooperator holds its runnable
//! tasks, so work in progress goes on when every handle is dropped (as with Twisted's
//! global cooperator). A task waiting on a Deferred is held by that Deferred's callbacks.
//! A cooperator built with `started(false)` and its queued tasks hold each other until it
//! is started or stopped.
//!
//! Tests: `tests/task_cooperator.rs`, `tests/task_cooperative_task.rs`.

use std::cell::RefCell;
use std::fmt;
use std::rc::{Rc, Weak};
use std::time::{Duration, Instant};

use torsion_sys::LocalFn;

use super::cooperative::{CooperativeTask, TaskInner};
use super::work::WorkResult;
use super::SchedulerError;
use crate::defer::{Deferred, Failure};
use crate::time::{DelayedCall, ReactorTime};

/// Makes the termination predicate of one tick: the predicate is asked after each step and
/// ends the tick when it returns true.
type PredicateFactory = Box<dyn FnMut() -> Box<dyn FnMut() -> bool>>;

/// When a tick ends.
enum Termination {
    /// After this much real time (Twisted's `_Timer`, 10 ms by default).
    TimeSlice(Duration),
    /// A user's predicate factory (Twisted's `terminationPredicateFactory`); `None` while
    /// it runs.
    Custom(Option<PredicateFactory>),
}

pub(super) struct CoopInner {
    clock: Box<dyn ReactorTime>,
    tick_delay: Duration,
    termination: RefCell<Termination>,
    st: RefCell<CoopState>,
}

struct CoopState {
    /// Runnable tasks (not paused, not finished), in round-robin order.
    tasks: Vec<Rc<TaskInner>>,
    /// The next task of the round in `tasks` (Twisted's `_metarator`).
    cursor: usize,
    /// Every task made here and not known to be finished, paused ones included, for `stop`.
    all: Vec<Weak<TaskInner>>,
    /// `all`'s length after the last sweep of dead entries.
    swept_len: usize,
    /// The next tick, while one is scheduled.
    delayed_call: Option<DelayedCall>,
    started: bool,
    stopped: bool,
    must_schedule_on_start: bool,
}

/// A cooperative scheduler for long-running iterations (Twisted's `Cooperator`).
///
/// Give it iterators with [`cooperate`](Cooperator::cooperate); each item is one unit of
/// work (a [`WorkResult`]: `()`, `Result<_, Failure>`, a `Deferred` to wait for before the
/// next item, or an `Option` of those). The cooperator takes one item of each task in
/// turn, in ticks of about one time slice, so several long jobs share the loop with each
/// other and with I/O. Ticks are scheduled on the cooperator's clock with a delay of zero
/// by default: on a reactor that is its next timer tick (a later turn of the loop, after
/// I/O; at most one tick a millisecond), on a manual [`Clock`](crate::time::Clock) the
/// same `advance` (so give a `Clock` a non-zero
/// [`tick_delay`](CooperatorBuilder::tick_delay) to step tick by tick).
///
/// Cooperators do not cooperate with each other: share one (see [`super::cooperate`] for
/// the per-reactor default).
///
/// # Examples
///
/// ```
/// use std::{cell::RefCell, rc::Rc, time::Duration};
/// use torsion::defer::testing::success_result_of;
/// use torsion::task::Cooperator;
/// use torsion::time::Clock;
///
/// let clock = Clock::new();
/// let coop = Cooperator::new(clock.clone());
/// let log = Rc::new(RefCell::new(Vec::new()));
/// let (a, b) = (log.clone(), log.clone());
/// let first = coop.coiterate((0..3).map(move |i| a.borrow_mut().push(('a', i))));
/// let second = coop.coiterate((0..2).map(move |i| b.borrow_mut().push(('b', i))));
/// clock.advance(Duration::ZERO);
/// success_result_of(&first);
/// success_result_of(&second);
/// assert_eq!(
///     *log.borrow(),
///     [('a', 0), ('b', 0), ('a', 1), ('b', 1), ('a', 2)] // round-robin
/// );
/// ```
#[derive(Clone)]
pub struct Cooperator {
    pub(super) inner: Rc<CoopInner>,
}

/// Settings for a [`Cooperator`] (Twisted's constructor arguments).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use torsion::task::Cooperator;
/// use torsion::time::Clock;
///
/// let clock = Clock::new();
/// // One step per tick, one tick per millisecond of clock time, not started yet.
/// let coop = Cooperator::builder(clock.clone())
///     .termination_predicate(|| || true)
///     .tick_delay(Duration::from_millis(1))
///     .started(false)
///     .build();
/// assert!(!coop.running());
/// coop.start();
/// assert!(coop.running());
/// ```
pub struct CooperatorBuilder {
    clock: Box<dyn ReactorTime>,
    termination: Termination,
    tick_delay: Duration,
    started: bool,
}

impl CooperatorBuilder {
    /// Ends each tick after `slice` of real (monotonic) time, measured with
    /// `std::time::Instant` whatever the clock (as Twisted's `_Timer` uses `time.time()`).
    /// The default is 10 ms. At least one step is taken per tick.
    pub fn time_slice(mut self, slice: Duration) -> Self {
        self.termination = Termination::TimeSlice(slice);
        self
    }

    /// Ends ticks by a predicate instead (Twisted's `terminationPredicateFactory`): at the
    /// start of each tick `factory` makes a predicate, which is asked after each step and
    /// ends the tick by returning true. `|| || true` takes one step per tick, for tests.
    pub fn termination_predicate<F, P>(mut self, mut factory: F) -> Self
    where
        F: FnMut() -> P + 'static,
        P: FnMut() -> bool + 'static,
    {
        self.termination = Termination::Custom(Some(Box::new(move || Box::new(factory()))));
        self
    }

    /// The delay with which each tick is scheduled on the clock (default zero: the next
    /// timer tick, never the current turn). Twisted's `scheduler` argument (a `callLater`
    /// of a tiny delay), reduced to the part that varies.
    pub fn tick_delay(mut self, delay: Duration) -> Self {
        self.tick_delay = delay;
        self
    }

    /// Whether tasks run as soon as they are added (the default) or only once
    /// [`Cooperator::start`] is called.
    pub fn started(mut self, started: bool) -> Self {
        self.started = started;
        self
    }

    /// Makes the cooperator.
    pub fn build(self) -> Cooperator {
        Cooperator {
            inner: Rc::new(CoopInner {
                clock: self.clock,
                tick_delay: self.tick_delay,
                termination: RefCell::new(self.termination),
                st: RefCell::new(CoopState {
                    tasks: Vec::new(),
                    cursor: 0,
                    all: Vec::new(),
                    swept_len: 0,
                    delayed_call: None,
                    started: self.started,
                    stopped: false,
                    must_schedule_on_start: false,
                }),
            }),
        }
    }
}

impl fmt::Debug for CooperatorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CooperatorBuilder")
            .field("tick_delay", &self.tick_delay)
            .field("started", &self.started)
            .finish_non_exhaustive()
    }
}

impl Cooperator {
    /// A started cooperator on `clock` with 10 ms time slices and a zero tick delay.
    pub fn new<C: ReactorTime + 'static>(clock: C) -> Cooperator {
        Cooperator::builder(clock).build()
    }

    /// Settings for a cooperator on `clock`.
    pub fn builder<C: ReactorTime + 'static>(clock: C) -> CooperatorBuilder {
        CooperatorBuilder {
            clock: Box::new(clock),
            termination: Termination::TimeSlice(Duration::from_millis(10)),
            tick_delay: Duration::ZERO,
            started: true,
        }
    }

    /// Adds a long-running task: the items of `iterator` are taken one per turn of the
    /// round-robin (Twisted's `cooperate`). Nothing runs before the next tick.
    ///
    /// If the cooperator was stopped, the task is finished at once with
    /// [`SchedulerError::SchedulerStopped`].
    pub fn cooperate<I>(&self, iterator: I) -> CooperativeTask
    where
        I: IntoIterator + 'static,
        I::Item: WorkResult,
    {
        let iterator = iterator.into_iter().map(|item| item.into_work().0);
        let task = TaskInner::new(self.inner.clone(), Box::new(iterator));
        {
            let mut st = self.inner.st.borrow_mut();
            if st.all.len() >= 2 * st.swept_len.max(8) {
                st.all
                    .retain(|t| t.upgrade().is_some_and(|t| !t.finished()));
                st.swept_len = st.all.len();
            }
            st.all.push(Rc::downgrade(&task));
        }
        self.inner.add_task(&task);
        CooperativeTask::from_inner(task)
    }

    /// [`cooperate`](Cooperator::cooperate), returning only the task's
    /// [`when_done`](CooperativeTask::when_done) Deferred (Twisted's `coiterate`).
    #[track_caller]
    pub fn coiterate<I>(&self, iterator: I) -> Deferred<()>
    where
        I: IntoIterator + 'static,
        I::Item: WorkResult,
    {
        self.cooperate(iterator).when_done()
    }

    /// Starts (or restarts, after [`stop`](Cooperator::stop)) scheduling ticks.
    pub fn start(&self) {
        let schedule = {
            let mut st = self.inner.st.borrow_mut();
            st.stopped = false;
            st.started = true;
            std::mem::take(&mut st.must_schedule_on_start)
        };
        if schedule {
            self.inner.reschedule();
        }
    }

    /// Stops: every unfinished task, paused ones included, ends with a
    /// [`SchedulerError::SchedulerStopped`] failure, and tasks added later end the same way
    /// at once, until [`start`](Cooperator::start) is called again.
    pub fn stop(&self) {
        // The runnable tasks are held here (strongly); the paused ones are found through
        // `all`. Both lists are taken out first: completing a task runs user code.
        let (runnable, all, call) = {
            let mut st = self.inner.st.borrow_mut();
            st.stopped = true;
            st.cursor = 0;
            st.swept_len = 0;
            (
                std::mem::take(&mut st.tasks),
                std::mem::take(&mut st.all),
                st.delayed_call.take(),
            )
        };
        if let Some(call) = call {
            let _ = call.cancel();
        }
        let paused = all.iter().filter_map(Weak::upgrade);
        for task in runnable.iter().cloned().chain(paused) {
            task.complete_with(
                SchedulerError::SchedulerStopped,
                Err(Failure::new(SchedulerError::SchedulerStopped)),
            );
        }
    }

    /// Started and not stopped (Twisted's `running`).
    pub fn running(&self) -> bool {
        let st = self.inner.st.borrow();
        st.started && !st.stopped
    }
}

impl fmt::Debug for Cooperator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("Cooperator");
        if let Ok(st) = self.inner.st.try_borrow() {
            out.field("running", &(st.started && !st.stopped))
                .field("runnable_tasks", &st.tasks.len())
                .field("tick_scheduled", &st.delayed_call.is_some());
        }
        out.finish_non_exhaustive()
    }
}

impl CoopInner {
    /// Makes a task runnable (Twisted's `_addTask`): on a stopped cooperator it is
    /// finished at once instead.
    pub(super) fn add_task(self: &Rc<Self>, task: &Rc<TaskInner>) {
        if self.st.borrow().stopped {
            task.complete_with(
                SchedulerError::SchedulerStopped,
                Err(Failure::new(SchedulerError::SchedulerStopped)),
            );
            return;
        }
        self.st.borrow_mut().tasks.push(task.clone());
        self.reschedule();
    }

    /// Takes a task out of the round (Twisted's `_removeTask`); with none left, the
    /// scheduled tick is cancelled.
    pub(super) fn remove_task(&self, task: &Rc<TaskInner>) {
        let (removed, call) = {
            let mut st = self.st.borrow_mut();
            let removed = match st.tasks.iter().position(|t| Rc::ptr_eq(t, task)) {
                Some(i) => {
                    if i < st.cursor {
                        st.cursor -= 1;
                    }
                    Some(st.tasks.remove(i))
                }
                None => None,
            };
            let call = if st.tasks.is_empty() {
                st.delayed_call.take()
            } else {
                None
            };
            (removed, call)
        };
        drop(removed);
        if let Some(call) = call {
            let _ = call.cancel();
        }
    }

    /// Schedules a tick if there is work and none is scheduled (Twisted's `_reschedule`).
    fn reschedule(self: &Rc<Self>) {
        {
            let mut st = self.st.borrow_mut();
            if !st.started {
                st.must_schedule_on_start = true;
                return;
            }
            if st.delayed_call.is_some() || st.tasks.is_empty() {
                return;
            }
        }
        let coop = self.clone();
        let call = self
            .clock
            .call_later_fn(self.tick_delay, LocalFn::new(move || coop.tick()));
        self.st.borrow_mut().delayed_call = Some(call);
    }

    /// One tick: steps of the runnable tasks, round-robin, until the predicate says stop
    /// or no task is runnable (Twisted's `_tick`).
    fn tick(self: &Rc<Self>) {
        self.st.borrow_mut().delayed_call = None;
        let guard = TickGuard(self);
        let mut done = self.predicate();
        loop {
            let task = {
                let mut st = self.st.borrow_mut();
                if st.tasks.is_empty() {
                    break;
                }
                if st.cursor >= st.tasks.len() {
                    st.cursor = 0;
                }
                let task = st.tasks[st.cursor].clone();
                st.cursor += 1;
                task
            };
            task.one_work_unit();
            if done() {
                break;
            }
        }
        drop(guard);
        self.reschedule();
    }

    /// This tick's termination predicate.
    fn predicate(&self) -> Box<dyn FnMut() -> bool> {
        let factory = match &mut *self.termination.borrow_mut() {
            Termination::TimeSlice(slice) => {
                let end = Instant::now() + *slice;
                return Box::new(move || Instant::now() >= end);
            }
            Termination::Custom(factory) => factory.take(),
        };
        let Some(mut factory) = factory else {
            // A tick inside a tick (the factory advanced the clock): one step.
            return Box::new(|| true);
        };
        let predicate = factory();
        if let Termination::Custom(slot) = &mut *self.termination.borrow_mut() {
            *slot = Some(factory);
        }
        predicate
    }
}

/// If a step panics, the panic propagates out of the tick, but the next tick is still
/// scheduled, so the other tasks go on (the panicking task has left the round).
struct TickGuard<'a>(&'a Rc<CoopInner>);

impl Drop for TickGuard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.reschedule();
        }
    }
}
