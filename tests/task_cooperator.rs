//! `Cooperator` (Twisted's `CooperatorTests` in `test_cooperator.py`) on the manual Clock,
//! plus torsion's own: failures nobody claims, panics, re-entrancy, the default cooperator
//! of a reactor. The tasks' own states are in `tests/task_cooperative_task.rs`.

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::time::Duration;

use torsion::defer::testing::{
    assert_no_result, capture_unhandled, failure_result_of, success_result_of,
};
use torsion::defer::{fail, Deferred, DeferredList, Failure};
use torsion::task::{cooperate, CooperativeTask, Cooperator, SchedulerError};
use torsion::time::Clock;
use torsion::Reactor;

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

#[test]
fn stopped_rejects_new_tasks() {
    let clock = Clock::new();
    let coop = Cooperator::new(clock.clone());
    coop.stop();
    let d = coop.coiterate(std::iter::empty::<()>());
    let failure = failure_result_of(&d);
    assert_eq!(
        scheduler_error(&failure),
        Some(SchedulerError::SchedulerStopped)
    );
    coop.start();
    let d = coop.coiterate(std::iter::empty::<()>());
    clock.advance(Duration::ZERO);
    success_result_of(&d);
}

#[test]
fn stop_running() {
    let clock = Clock::new();
    let coop = Cooperator::new(clock.clone());
    let advanced = Rc::new(Cell::new(0));
    let a = advanced.clone();
    let d = coop.coiterate((0..3).map(move |_| a.set(a.get() + 1)));
    coop.stop();
    clock.advance(Duration::ZERO);
    assert_eq!(
        scheduler_error(&failure_result_of(&d)),
        Some(SchedulerError::SchedulerStopped)
    );
    assert_eq!(advanced.get(), 0);
    assert_eq!(clock.pending_calls(), 0);
}

#[test]
fn stop_outstanding() {
    // A task waiting on a Deferred ends with SchedulerStopped when the cooperator stops
    // (at once here; Twisted waits for the Deferred to fire); the late result is harmless.
    let clock = Clock::new();
    let coop = Cooperator::new(clock.clone());
    let outstanding: Deferred<&'static str> = Deferred::new();
    let o = outstanding.clone();
    let mut steps = 0;
    let d = coop.coiterate(std::iter::from_fn(move || {
        steps += 1;
        assert_eq!(steps, 1, "no step after the Deferred");
        Some(o.clone())
    }));
    clock.advance(Duration::ZERO);
    assert_no_result(&d);
    coop.stop();
    assert_eq!(
        scheduler_error(&failure_result_of(&d)),
        Some(SchedulerError::SchedulerStopped)
    );
    outstanding.callback("arglebargle").unwrap();
    clock.advance(Duration::ZERO);
}

#[test]
fn unexpected_errors() {
    let clock = Clock::new();
    let coop = Cooperator::new(clock.clone());
    // Failing at once.
    let now = coop.coiterate(std::iter::once(Err::<(), _>(Failure::msg("RuntimeError"))));
    // Failing later, through a Deferred.
    let later: Deferred<()> = Deferred::new();
    let l = later.clone();
    let late = coop.coiterate(std::iter::once(l));
    // A Deferred that has already failed.
    let fired = coop.coiterate(std::iter::once(fail::<()>(Failure::msg("RuntimeError"))));
    clock.advance(Duration::ZERO);
    assert!(failure_result_of(&now)
        .to_string()
        .starts_with("RuntimeError"));
    assert!(failure_result_of(&fired)
        .to_string()
        .starts_with("RuntimeError"));
    assert_no_result(&late);
    later.errback(Failure::msg("RuntimeError")).unwrap();
    assert!(failure_result_of(&late)
        .to_string()
        .starts_with("RuntimeError"));
}

#[test]
fn cooperation_is_round_robin() {
    let clock = Clock::new();
    let coop = Cooperator::new(clock.clone());
    let out = Rc::new(RefCell::new(Vec::new()));
    let groups = [
        ["a", "b", "c"],
        ["1", "2", "3"],
        ["d", "e", "f"],
        ["4", "5", "6"],
    ];
    let tasks: Vec<_> = groups
        .into_iter()
        .map(|group| {
            let o = out.clone();
            coop.coiterate(group.into_iter().map(move |x| o.borrow_mut().push(x)))
        })
        .collect();
    let all = DeferredList::new(tasks).into_deferred();
    clock.advance(Duration::ZERO);
    assert!(success_result_of(&all).iter().all(Result::is_ok));
    assert_eq!(
        *out.borrow(),
        ["a", "1", "d", "4", "b", "2", "e", "5", "c", "3", "f", "6"]
    );
}

#[test]
fn the_predicate_ends_the_tick() {
    // Twisted's testResourceExhaustion: the predicate says stop after the 10th step.
    let clock = Clock::new();
    let exhausted = Rc::new(Cell::new(false));
    let e = exhausted.clone();
    let coop = Cooperator::builder(clock.clone())
        .termination_predicate(move || {
            let e = e.clone();
            move || e.get()
        })
        .tick_delay(TICK)
        .build();
    let output = Rc::new(RefCell::new(Vec::new()));
    let (o, e) = (output.clone(), exhausted.clone());
    let task = coop.cooperate((0..100).map(move |i| {
        o.borrow_mut().push(i);
        if i == 9 {
            e.set(true);
        }
    }));
    clock.advance(TICK);
    assert!(exhausted.get());
    assert_eq!(*output.borrow(), (0..10).collect::<Vec<_>>());
    task.stop().unwrap();
}

#[test]
fn a_zero_time_slice_takes_one_step_per_tick() {
    let clock = Clock::new();
    let coop = Cooperator::builder(clock.clone())
        .time_slice(Duration::ZERO)
        .tick_delay(TICK)
        .build();
    let steps = Rc::new(Cell::new(0));
    let s = steps.clone();
    let d = coop.coiterate((0..3).map(move |_| s.set(s.get() + 1)));
    for expected in 1..=3 {
        clock.advance(TICK);
        assert_eq!(steps.get(), expected);
    }
    clock.advance(TICK);
    success_result_of(&d);
}

#[test]
fn re_coiterate_from_a_callback_schedules_one_tick() {
    // Twisted's testCallbackReCoiterate: at most one tick is ever scheduled.
    let clock = Clock::new();
    let coop = stepping(&clock);
    let done = Rc::new(Cell::new(false));
    let (c, dn) = (coop.clone(), done.clone());
    drop(
        coop.coiterate(std::iter::empty::<()>())
            .add_callback(move |()| {
                c.coiterate(std::iter::empty::<()>())
                    .add_callback(move |()| dn.set(true))
            }),
    );
    for _ in 0..50 {
        assert!(clock.pending_calls() <= 1);
        if done.get() {
            break;
        }
        clock.advance(TICK);
    }
    assert!(done.get());
    assert_eq!(clock.pending_calls(), 0);
}

#[test]
fn removing_the_last_task_cancels_the_tick() {
    let clock = Clock::new();
    let coop = Cooperator::new(clock.clone());
    let one = coop.cooperate([(), ()]);
    let two = coop.cooperate([(), ()]);
    assert_eq!(clock.pending_calls(), 1);
    one.stop().unwrap();
    assert_eq!(clock.pending_calls(), 1);
    two.stop().unwrap();
    assert_eq!(clock.pending_calls(), 0);
    let three = coop.cooperate([(), ()]);
    assert_eq!(clock.pending_calls(), 1);
    three.pause().unwrap();
    assert_eq!(clock.pending_calls(), 0, "a paused task needs no tick");
}

#[test]
fn running_states() {
    let clock = Clock::new();
    assert!(Cooperator::new(clock.clone()).running());
    let coop = Cooperator::builder(clock.clone()).started(false).build();
    assert!(!coop.running());
    let steps = Rc::new(Cell::new(0));
    let s = steps.clone();
    let d = coop.coiterate((0..2).map(move |_| s.set(s.get() + 1)));
    clock.advance(Duration::ZERO);
    assert_eq!(steps.get(), 0, "queued until started");
    coop.start();
    assert!(coop.running());
    clock.advance(Duration::ZERO);
    success_result_of(&d);
    coop.stop();
    assert!(!coop.running());
}

#[test]
fn a_waiting_task_does_not_hold_up_the_others() {
    let clock = Clock::new();
    let coop = stepping(&clock);
    let gate: Deferred<()> = Deferred::new();
    let log = Rc::new(RefCell::new(Vec::new()));
    let (l, g) = (log.clone(), gate.clone());
    let waiting = coop.coiterate((0..3).map(move |i| {
        l.borrow_mut().push(("w", i));
        (i == 0).then(|| g.clone())
    }));
    let l = log.clone();
    let busy = coop.coiterate((0..3).map(move |i| l.borrow_mut().push(("b", i))));
    clock.pump([TICK; 4]);
    assert_eq!(*log.borrow(), [("w", 0), ("b", 0), ("b", 1), ("b", 2)]);
    gate.callback(()).unwrap();
    clock.pump([TICK; 4]);
    success_result_of(&waiting);
    success_result_of(&busy);
    assert_eq!(log.borrow()[4..], [("w", 1), ("w", 2)]);
}

#[test]
fn steps_may_pause_stop_and_add_tasks() {
    let clock = Clock::new();
    let coop = Cooperator::new(clock.clone());
    let victim = coop.cooperate(std::iter::repeat(()));
    let victim_done = victim.when_done();
    let added = Rc::new(RefCell::new(None));
    let (c, a, v) = (coop.clone(), added.clone(), victim.clone());
    let mut step = 0;
    let actor = coop.cooperate(std::iter::from_fn(move || {
        step += 1;
        match step {
            1 => Some(v.stop().map_err(Failure::from)),
            2 => {
                *a.borrow_mut() = Some(c.coiterate([(), ()]));
                Some(Ok(()))
            }
            _ => None,
        }
    }));
    let actor_done = actor.when_done();
    clock.advance(Duration::ZERO);
    assert_eq!(
        scheduler_error(&failure_result_of(&victim_done)),
        Some(SchedulerError::TaskStopped)
    );
    success_result_of(&actor_done);
    success_result_of(added.borrow().as_ref().unwrap());
}

#[test]
fn a_step_may_stop_its_own_task_and_the_cooperator() {
    let clock = Clock::new();
    let coop = Cooperator::new(clock.clone());
    let me: Rc<RefCell<Option<CooperativeTask>>> = Rc::new(RefCell::new(None));
    let m = me.clone();
    let task = coop.cooperate(std::iter::repeat_with(move || {
        m.borrow().as_ref().unwrap().stop().unwrap();
    }));
    *me.borrow_mut() = Some(task.clone());
    let done = task.when_done();
    clock.advance(Duration::ZERO);
    assert_eq!(
        scheduler_error(&failure_result_of(&done)),
        Some(SchedulerError::TaskStopped)
    );
    me.borrow_mut().take(); // break the cycle task -> iterator -> task

    let c = coop.clone();
    let other = coop.coiterate(std::iter::repeat_with(move || c.stop()));
    clock.advance(Duration::ZERO);
    assert_eq!(
        scheduler_error(&failure_result_of(&other)),
        Some(SchedulerError::SchedulerStopped)
    );
}

#[test]
fn stop_also_ends_paused_tasks() {
    let clock = Clock::new();
    let coop = Cooperator::new(clock.clone());
    let task = coop.cooperate(std::iter::repeat(()));
    let done = task.when_done();
    task.pause().unwrap();
    coop.stop();
    assert_eq!(
        scheduler_error(&failure_result_of(&done)),
        Some(SchedulerError::SchedulerStopped)
    );
    assert_eq!(task.pause(), Err(SchedulerError::SchedulerStopped));
}

#[test]
fn a_failure_nobody_asked_for_is_reported_when_the_task_goes() {
    let clock = Clock::new();
    let coop = Cooperator::new(clock.clone());
    let ((), reports) = capture_unhandled(|| {
        let task = coop.cooperate(std::iter::once(Err::<(), _>(Failure::msg("lost"))));
        clock.advance(Duration::ZERO);
        drop(task);
    });
    assert_eq!(reports.len(), 1);
    assert!(reports[0].failure.to_string().starts_with("lost"));

    // Asking for it afterwards claims it.
    let ((), reports) = capture_unhandled(|| {
        let task = coop.cooperate(std::iter::once(Err::<(), _>(Failure::msg("kept"))));
        clock.advance(Duration::ZERO);
        let d = task.when_done();
        assert!(failure_result_of(&d).to_string().starts_with("kept"));
        drop(task);
    });
    assert!(reports.is_empty());
}

#[test]
fn a_panicking_step_leaves_the_round_and_the_others_go_on() {
    let clock = Clock::new();
    let coop = stepping(&clock);
    let bad = coop.cooperate(std::iter::from_fn(|| -> Option<()> { panic!("step") }));
    let steps = Rc::new(Cell::new(0));
    let s = steps.clone();
    let good = coop.coiterate((0..3).map(move |_| s.set(s.get() + 1)));
    let caught = catch_unwind(AssertUnwindSafe(|| clock.advance(TICK)));
    assert!(caught.is_err());
    clock.pump([TICK; 4]);
    assert_eq!(steps.get(), 3);
    success_result_of(&good);
    assert_no_result(&bad.when_done());
}

#[test]
fn the_default_cooperator_of_a_reactor_is_shared() {
    let reactor = Reactor::new().unwrap();
    let log = Rc::new(RefCell::new(Vec::new()));
    let (a, b) = (log.clone(), log.clone());
    let first = cooperate(&reactor, (0..3).map(move |i| a.borrow_mut().push(('a', i))));
    let second = cooperate(&reactor, (0..3).map(move |i| b.borrow_mut().push(('b', i))));
    let both = DeferredList::new(vec![first.when_done(), second.when_done()]).into_deferred();
    let r = reactor.clone();
    let both = both.add_callback(move |_| Ok(r.stop()?));
    let r = reactor.clone();
    reactor.call_later(Duration::from_secs(10), move || r.crash()); // safety net
    reactor.run().unwrap();
    success_result_of(&both);
    assert_eq!(
        *log.borrow(),
        [('a', 0), ('b', 0), ('a', 1), ('b', 1), ('a', 2), ('b', 2)]
    );
    reactor.close();
}

#[test]
fn a_closed_reactors_default_cooperator_is_stopped_at_the_next_lookup() {
    let reactor = Reactor::new().unwrap();
    let r = reactor.clone();
    // The task holds the reactor: without the clean-up, a cycle through the thread-local.
    let task = cooperate(&reactor, std::iter::repeat_with(move || drop(r.clone())));
    let done = task.when_done();
    reactor.close();
    assert_no_result(&done);
    let other = Reactor::new().unwrap();
    drop(cooperate(&other, std::iter::empty::<()>()));
    assert_eq!(
        scheduler_error(&failure_result_of(&done)),
        Some(SchedulerError::SchedulerStopped)
    );
    other.close();
}
