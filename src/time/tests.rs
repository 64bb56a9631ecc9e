//! Behaviour of scheduled calls on the manual clock (ported from the intent of Twisted's
//! `test_task.ClockTests` and `test_base.DelayedCallTests`).

use super::*;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

type Log = Rc<RefCell<Vec<&'static str>>>;

fn logger() -> (Log, impl Fn(&'static str) -> Box<dyn FnOnce()>) {
    let log: Log = Rc::new(RefCell::new(Vec::new()));
    let l = log.clone();
    (log, move |name| {
        let l = l.clone();
        Box::new(move || l.borrow_mut().push(name)) as Box<dyn FnOnce()>
    })
}

#[test]
fn calls_run_in_time_order_then_scheduling_order() {
    let clock = Clock::new();
    let (log, note) = logger();
    clock.call_later(ms(20), note("c"));
    clock.call_later(ms(10), note("a"));
    clock.call_later(ms(20), note("d"));
    clock.call_later(ms(10), note("b"));
    clock.advance(ms(9));
    assert!(log.borrow().is_empty());
    clock.advance(ms(100));
    assert_eq!(*log.borrow(), ["a", "b", "c", "d"]);
}

#[test]
fn advance_runs_calls_scheduled_by_calls_when_due() {
    let clock = Clock::new();
    let (log, note) = logger();
    let c = clock.clone();
    let n = note("second");
    clock.call_later(ms(1), move || {
        c.call_later(Duration::ZERO, n);
    });
    clock.call_later(ms(5), note("later"));
    clock.advance(ms(5));
    // Time moves to 5 ms before anything runs, so the new call is due at 5 ms too and runs
    // after the call already scheduled for then (what Twisted's Clock does).
    assert_eq!(*log.borrow(), ["later", "second"]);
}

#[test]
fn never_fires_early_sub_millisecond() {
    let clock = Clock::new();
    let hit = Rc::new(Cell::new(false));
    let h = hit.clone();
    clock.call_later(Duration::from_micros(1500), move || h.set(true));
    clock.advance(Duration::from_micros(1499));
    assert!(!hit.get());
    clock.advance(Duration::from_micros(501)); // now 2 ms: the rounded-up tick
    assert!(hit.get());
}

#[test]
fn cancel_twice_and_cancel_after_call_are_errors() {
    let clock = Clock::new();
    let call = clock.call_later(ms(1), || {});
    assert_eq!(call.cancel(), Ok(()));
    assert!(call.cancelled() && !call.active());
    assert_eq!(call.cancel(), Err(DelayedCallError::AlreadyCancelled));
    assert_eq!(call.reset(ms(1)), Err(DelayedCallError::AlreadyCancelled));
    let done = clock.call_later(ms(1), || {});
    clock.advance(ms(1));
    assert!(done.called());
    assert_eq!(done.cancel(), Err(DelayedCallError::AlreadyCalled));
    assert_eq!(done.delay(ms(1)), Err(DelayedCallError::AlreadyCalled));
}

#[test]
fn cancel_drops_the_closure_at_once() {
    let clock = Clock::new();
    let token = Rc::new(());
    let t = token.clone();
    let call = clock.call_later(ms(1), move || drop(t));
    assert_eq!(Rc::strong_count(&token), 2);
    call.cancel().unwrap();
    assert_eq!(Rc::strong_count(&token), 1);
}

#[test]
fn reset_and_delay_move_the_deadline() {
    let clock = Clock::new();
    let (log, note) = logger();
    let a = clock.call_later(ms(10), note("a"));
    clock.call_later(ms(15), note("b"));
    clock.advance(ms(5));
    a.reset(ms(20)).unwrap(); // due at 25
    assert_eq!(a.time(), ms(25));
    a.delay(ms(5)).unwrap(); // due at 30
    assert_eq!(a.get_time(), 0.030);
    clock.advance(ms(24)); // 29 ms
    assert_eq!(*log.borrow(), ["b"]);
    clock.advance(ms(1)); // 30 ms
    assert_eq!(*log.borrow(), ["b", "a"]);
}

#[test]
fn a_call_may_cancel_another_due_in_the_same_advance() {
    let clock = Clock::new();
    let (log, note) = logger();
    let victim: Rc<RefCell<Option<DelayedCall>>> = Rc::new(RefCell::new(None));
    let v = victim.clone();
    let n = note("killer");
    clock.call_later(ms(1), move || {
        n();
        v.borrow().as_ref().unwrap().cancel().unwrap();
    });
    *victim.borrow_mut() = Some(clock.call_later(ms(1), note("victim")));
    clock.advance(ms(1));
    assert_eq!(*log.borrow(), ["killer"]);
}

#[test]
fn a_running_call_sees_itself_as_called() {
    let clock = Clock::new();
    let me: Rc<RefCell<Option<DelayedCall>>> = Rc::new(RefCell::new(None));
    let seen = Rc::new(Cell::new(None));
    let (m, s) = (me.clone(), seen.clone());
    let call = clock.call_later(ms(1), move || {
        let me = m.borrow_mut().take().unwrap();
        s.set(Some((me.active(), me.cancel())));
    });
    *me.borrow_mut() = Some(call.clone());
    clock.advance(ms(1));
    assert_eq!(
        seen.get(),
        Some((false, Err(DelayedCallError::AlreadyCalled)))
    );
    assert!(call.called());
}

#[test]
fn a_call_capturing_its_own_handle_is_freed_when_cancelled() {
    let clock = Clock::new();
    let slot: Rc<RefCell<Option<DelayedCall>>> = Rc::new(RefCell::new(None));
    let s = slot.clone();
    let call = clock.call_later(ms(1), move || drop(s));
    *slot.borrow_mut() = Some(call.clone());
    drop(slot);
    call.cancel().unwrap(); // drops the closure, which drops the slot and its handle
    assert_eq!(clock.pending_calls(), 0);
}

#[test]
fn dropping_handles_does_not_cancel() {
    let clock = Clock::new();
    let hit = Rc::new(Cell::new(0));
    let h = hit.clone();
    drop(clock.call_later(ms(3), move || h.set(h.get() + 1)));
    assert_eq!(clock.pending_calls(), 1);
    clock.advance(ms(3));
    assert_eq!(hit.get(), 1);
    assert_eq!(clock.pending_calls(), 0);
}

#[test]
fn clones_name_the_same_call() {
    let clock = Clock::new();
    let a = clock.call_later(ms(3), || {});
    let b = a.clone();
    assert_eq!(a, b);
    b.cancel().unwrap();
    assert!(a.cancelled());
    assert_ne!(a, clock.call_later(ms(3), || {}));
}

#[test]
fn get_delayed_calls_lists_only_scheduled_ones() {
    let clock = Clock::new();
    let a = clock.call_later(ms(3), || {});
    let b = clock.call_later(ms(1), || {});
    let c = clock.call_later(ms(2), || {});
    c.cancel().unwrap();
    clock.advance(ms(1));
    let calls = clock.get_delayed_calls();
    assert_eq!(calls, vec![a.clone()]);
    assert!(b.called());
    let dyn_time: &dyn ReactorTime = &clock;
    assert_eq!(dyn_time.get_delayed_calls().len(), 1);
    dyn_time.call_later_fn(ms(1), LocalFn::new(|| {}));
    assert_eq!(clock.pending_calls(), 2);
}

#[test]
fn zero_delay_runs_on_advance_zero() {
    let clock = Clock::new();
    let hit = Rc::new(Cell::new(false));
    let h = hit.clone();
    clock.call_later(Duration::ZERO, move || h.set(true));
    assert!(!hit.get(), "never synchronously");
    clock.advance(Duration::ZERO);
    assert!(hit.get());
}

#[test]
fn entries_are_reused_once_every_handle_is_gone() {
    let clock = Clock::new();
    for _ in 0..1000 {
        let call = clock.call_later(ms(5), || {});
        let other = clock.call_later(ms(1), || {});
        clock.advance(ms(1));
        call.cancel().unwrap();
        drop(other);
    }
    assert_eq!(clock.pending_calls(), 0);
}
