//! `CooperativeTask`: pause, resume, stop and `when_done` (Twisted's `RunStateTests` in
//! `test_cooperator.py`), on the manual Clock with a one-step-per-tick cooperator, so
//! every tick is stepped by hand.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use torsion::defer::testing::{capture_unhandled, failure_result_of, success_result_of};
use torsion::defer::{Deferred, Failure};
use torsion::task::{CooperativeTask, Cooperator, SchedulerError};
use torsion::time::Clock;

const TICK: Duration = Duration::from_millis(1);

/// A cooperator that takes one step per tick, one tick per millisecond of clock time.
fn stepping(clock: &Clock) -> Cooperator {
    Cooperator::builder(clock.clone())
        .termination_predicate(|| || true)
        .tick_delay(TICK)
        .build()
}

fn scheduler_error(failure: &Failure) -> Option<SchedulerError> {
    failure.downcast_ref::<SchedulerError>().copied()
}

#[derive(Debug)]
struct Unhandled;

impl std::fmt::Display for Unhandled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UnhandledException")
    }
}

impl std::error::Error for Unhandled {}

/// What the worker did at each step.
#[derive(Debug)]
enum Done {
    Number(u32),
    Waiting(Deferred<()>),
}

/// Twisted's `RunStateTests` fixture: a worker whose next step is steered by flags.
struct Fixture {
    clock: Clock,
    coop: Cooperator,
    task: CooperativeTask,
    ctl: Rc<Control>,
}

#[derive(Default)]
struct Control {
    defer_next: Cell<bool>,
    stop_next: Cell<bool>,
    die_next: Cell<bool>,
    work: RefCell<Vec<Done>>,
}

impl Fixture {
    fn new() -> Fixture {
        let clock = Clock::new();
        let coop = stepping(&clock);
        let ctl = Rc::new(Control::default());
        let c = ctl.clone();
        let mut i = 0;
        let worker = std::iter::from_fn(move || {
            i += 1;
            if c.defer_next.replace(false) {
                let d = Deferred::new();
                c.work.borrow_mut().push(Done::Waiting(d.clone()));
                Some(Ok(Some(d)))
            } else if c.stop_next.get() {
                None
            } else if c.die_next.get() {
                Some(Err(Failure::new(Unhandled)))
            } else {
                c.work.borrow_mut().push(Done::Number(i));
                Some(Ok(None))
            }
        });
        let task = coop.cooperate(worker);
        Fixture {
            clock,
            coop,
            task,
            ctl,
        }
    }

    /// One tick (Twisted's `FakeScheduler.pump`).
    fn pump(&self) {
        self.clock.advance(TICK);
    }

    fn numbers(&self) -> Vec<u32> {
        self.ctl
            .work
            .borrow()
            .iter()
            .filter_map(|w| match w {
                Done::Number(n) => Some(*n),
                Done::Waiting(_) => None,
            })
            .collect()
    }

    fn work_len(&self) -> usize {
        self.ctl.work.borrow().len()
    }
}

#[test]
fn pause_resume() {
    let f = Fixture::new();
    f.pump();
    assert_eq!(f.numbers(), [1]);
    f.pump();
    assert_eq!(f.numbers(), [1, 2]);
    f.task.pause().unwrap();
    f.pump();
    assert_eq!(f.numbers(), [1, 2]);
    f.task.resume().unwrap();
    assert_eq!(f.numbers(), [1, 2], "resuming does no work by itself");
    f.pump();
    assert_eq!(f.numbers(), [1, 2, 3]);
}

#[test]
fn resume_not_paused() {
    let f = Fixture::new();
    assert_eq!(f.task.resume(), Err(SchedulerError::NotPaused));
    f.task.pause().unwrap();
    f.task.resume().unwrap();
    assert_eq!(f.task.resume(), Err(SchedulerError::NotPaused));
}

#[test]
fn pauses_nest() {
    let f = Fixture::new();
    f.task.pause().unwrap();
    f.pump();
    f.task.pause().unwrap();
    f.pump();
    f.task.resume().unwrap();
    f.pump();
    assert_eq!(f.work_len(), 0);
    f.task.resume().unwrap();
    f.pump();
    assert_eq!(f.numbers(), [1]);
}

#[test]
fn pause_while_waiting_on_a_deferred_needs_both() {
    let f = Fixture::new();
    f.ctl.defer_next.set(true);
    f.pump();
    assert_eq!(f.work_len(), 1);
    f.pump();
    assert_eq!(f.work_len(), 1, "waiting");
    f.task.pause().unwrap();
    f.pump();
    f.task.resume().unwrap();
    f.pump();
    assert_eq!(f.work_len(), 1, "still waiting");
    let d = match &f.ctl.work.borrow()[0] {
        Done::Waiting(d) => d.clone(),
        Done::Number(_) => panic!("expected a Deferred"),
    };
    d.callback(()).unwrap();
    f.pump();
    assert_eq!(f.numbers(), [2]);
}

#[test]
fn when_done_gives_separate_deferreds() {
    let f = Fixture::new();
    let first = f.task.when_done().add_callback(|()| Ok(1));
    let second = f.task.when_done().add_callback(|()| Ok(2));
    f.ctl.stop_next.set(true);
    f.pump();
    assert_eq!(success_result_of(&first), 1);
    assert_eq!(success_result_of(&second), 2);
}

#[test]
fn when_done_error() {
    let f = Fixture::new();
    let d = f.task.when_done();
    f.ctl.die_next.set(true);
    f.pump();
    assert!(failure_result_of(&d).check::<Unhandled>());
}

#[test]
fn when_done_stop() {
    let f = Fixture::new();
    let d = f.task.when_done();
    f.task.stop().unwrap();
    let failure = failure_result_of(&d);
    assert_eq!(scheduler_error(&failure), Some(SchedulerError::TaskStopped));
}

#[test]
fn when_done_already_done() {
    let f = Fixture::new();
    f.ctl.stop_next.set(true);
    f.pump();
    success_result_of(&f.task.when_done());
}

#[test]
fn stop_stops() {
    let f = Fixture::new();
    f.task.stop().unwrap();
    f.pump();
    assert_eq!(f.work_len(), 0);
    assert_eq!(f.task.stop(), Err(SchedulerError::TaskStopped));
    assert_eq!(f.task.pause(), Err(SchedulerError::TaskStopped));
    f.pump();
    assert_eq!(f.work_len(), 0);
    assert_eq!(f.clock.pending_calls(), 0);
}

#[test]
fn pause_stop_resume() {
    let f = Fixture::new();
    f.task.pause().unwrap();
    f.task.stop().unwrap();
    f.task.resume().unwrap();
    f.pump();
    assert_eq!(f.work_len(), 0);
}

#[test]
fn stop_while_waiting_on_a_deferred() {
    let f = Fixture::new();
    f.ctl.defer_next.set(true);
    f.pump();
    let Some(Done::Waiting(d)) = f.ctl.work.borrow_mut().pop() else {
        panic!("expected a Deferred")
    };
    f.pump();
    f.task.stop().unwrap();
    f.pump();
    let ((), reports) = capture_unhandled(|| {
        d.callback(()).unwrap();
        f.pump();
    });
    assert!(reports.is_empty());
    assert_eq!(f.work_len(), 0, "no further work");
    // The cooperator consumed the value; the chain ends with ().
    success_result_of(&d);
}

#[test]
fn stop_exhausted_and_stop_errored() {
    let f = Fixture::new();
    f.ctl.stop_next.set(true);
    f.pump();
    assert_eq!(f.task.stop(), Err(SchedulerError::TaskDone));

    let f = Fixture::new();
    let done = f.task.when_done();
    f.ctl.die_next.set(true);
    f.pump();
    assert_eq!(f.task.stop(), Err(SchedulerError::TaskFailed));
    assert!(SchedulerError::TaskFailed.is_task_finished());
    drop(failure_result_of(&done));
}

#[test]
fn stopping_the_cooperator_from_a_when_done_callback() {
    let f = Fixture::new();
    let phases = Rc::new(RefCell::new(Vec::new()));
    let (p, coop) = (phases.clone(), f.coop.clone());
    let d = f.task.when_done().add_callback(move |()| {
        p.borrow_mut().push("called");
        coop.stop();
        p.borrow_mut().push("done");
        Ok(())
    });
    f.ctl.stop_next.set(true);
    f.pump();
    assert_eq!(*phases.borrow(), ["called", "done"]);
    success_result_of(&d);
    assert!(!f.coop.running());
}
