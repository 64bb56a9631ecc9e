//! run / stop / crash / iterate, system event triggers in Twisted's order, restarting,
//! several reactors, signals, close, and timers on a real loop.

mod util;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use torsion::reactor::{Phase, Reactor, ReactorError, SystemEvent};
use util::{open_fds, reactors};

type Log = Rc<RefCell<Vec<String>>>;

fn log() -> Log {
    Rc::new(RefCell::new(Vec::new()))
}

fn note(log: &Log, s: impl Into<String>) {
    log.borrow_mut().push(s.into());
}

#[test]
fn run_until_stop_then_run_again() {
    for reactor in reactors() {
        for round in 0..3 {
            let r = reactor.clone();
            let fired = Rc::new(Cell::new(false));
            let f = fired.clone();
            reactor.call_later(Duration::from_millis(5), move || {
                f.set(true);
                r.stop().unwrap();
            });
            reactor.run().unwrap();
            assert!(fired.get(), "round {round}");
            assert!(!reactor.running());
        }
        reactor.close();
    }
}

#[test]
fn stop_is_an_error_when_not_running_or_already_stopping() {
    for reactor in reactors() {
        assert!(matches!(reactor.stop(), Err(ReactorError::NotRunning)));
        let r = reactor.clone();
        let second = Rc::new(RefCell::new(None));
        let s = second.clone();
        reactor.call_when_running(move || {
            r.stop().unwrap();
            *s.borrow_mut() = Some(matches!(r.stop(), Err(ReactorError::NotRunning)));
        });
        reactor.run().unwrap();
        assert_eq!(*second.borrow(), Some(true));
        reactor.close();
    }
}

#[test]
fn triggers_run_in_twisted_order() {
    let reactor = Reactor::new().unwrap();
    let l = log();
    for event in [SystemEvent::Startup, SystemEvent::Shutdown] {
        for phase in [Phase::After, Phase::During, Phase::Before] {
            let (l2, r) = (l.clone(), reactor.clone());
            reactor.add_system_event_trigger(phase, event, move || {
                note(&l2, format!("{event:?}/{phase:?} running={}", r.running()));
            });
        }
    }
    let (l2, r) = (l.clone(), reactor.clone());
    reactor.call_when_running(move || {
        note(&l2, "when running");
        r.stop().unwrap();
    });
    reactor.run().unwrap();
    assert_eq!(
        *l.borrow(),
        [
            "Startup/Before running=false",
            "Startup/During running=true",
            "Startup/After running=true",
            "when running",
            "Shutdown/Before running=true",
            "Shutdown/During running=false",
            "Shutdown/After running=false",
        ]
    );
    // Triggers run once: a second run fires none of them.
    l.borrow_mut().clear();
    let r = reactor.clone();
    reactor.call_later(Duration::ZERO, move || r.stop().unwrap());
    reactor.run().unwrap();
    assert!(l.borrow().is_empty(), "{:?}", l.borrow());
    reactor.close();
}

#[test]
fn call_when_running_while_running_calls_at_once() {
    let reactor = Reactor::new().unwrap();
    let r = reactor.clone();
    let got = Rc::new(Cell::new(None));
    let g = got.clone();
    reactor.call_when_running(move || {
        let inner = Rc::new(Cell::new(false));
        let i = inner.clone();
        let id = r.call_when_running(move || i.set(true));
        g.set(Some((inner.get(), id.is_none())));
        r.stop().unwrap();
    });
    reactor.run().unwrap();
    assert_eq!(got.get(), Some((true, true)));
    reactor.close();
}

#[test]
fn removed_triggers_do_not_run_and_added_ones_do() {
    let reactor = Reactor::new().unwrap();
    let l = log();
    let l2 = l.clone();
    let id = reactor.add_system_event_trigger(Phase::Before, SystemEvent::Shutdown, move || {
        note(&l2, "removed")
    });
    assert!(reactor.remove_system_event_trigger(id));
    assert!(!reactor.remove_system_event_trigger(id));
    let (l2, r) = (l.clone(), reactor.clone());
    reactor.add_system_event_trigger(Phase::Before, SystemEvent::Shutdown, move || {
        let l3 = l2.clone();
        // A trigger added for the phase being fired runs in the same firing.
        r.add_system_event_trigger(Phase::Before, SystemEvent::Shutdown, move || {
            note(&l3, "added while firing")
        });
        note(&l2, "first");
    });
    let r = reactor.clone();
    reactor.call_when_running(move || r.stop().unwrap());
    reactor.run().unwrap();
    assert_eq!(*l.borrow(), ["first", "added while firing"]);
    reactor.close();
}

#[test]
fn crash_leaves_without_shutdown_triggers() {
    let reactor = Reactor::new().unwrap();
    let l = log();
    let l2 = l.clone();
    reactor.add_system_event_trigger(Phase::Before, SystemEvent::Shutdown, move || {
        note(&l2, "shutdown")
    });
    let r = reactor.clone();
    reactor.call_when_running(move || r.crash());
    reactor.run().unwrap();
    assert!(l.borrow().is_empty());
    assert!(!reactor.running());
    reactor.close();
}

#[test]
fn driving_the_loop_from_inside_is_refused() {
    let reactor = Reactor::new().unwrap();
    let r = reactor.clone();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    reactor.call_when_running(move || {
        s.borrow_mut()
            .push(matches!(r.run(), Err(ReactorError::AlreadyRunning)));
        s.borrow_mut().push(matches!(
            r.iterate(Duration::ZERO),
            Err(ReactorError::AlreadyRunning)
        ));
        r.stop().unwrap();
    });
    reactor.run().unwrap();
    assert_eq!(*seen.borrow(), [true, true]);
    reactor.close();
}

#[test]
fn iterate_embeds_without_run() {
    for reactor in reactors() {
        let hits = Rc::new(Cell::new(0));
        let h = hits.clone();
        reactor.call_later(Duration::ZERO, move || h.set(h.get() + 1));
        let h = hits.clone();
        reactor.call_soon(move || h.set(h.get() + 10));
        // iterate never fires startup/shutdown and never blocks longer than asked.
        let start = Instant::now();
        reactor.iterate(Duration::from_millis(1)).unwrap();
        reactor.iterate(Duration::from_millis(1)).unwrap();
        assert_eq!(hits.get(), 11);
        assert!(!reactor.running());
        reactor.iterate(Duration::from_millis(20)).unwrap();
        assert!(
            start.elapsed() >= Duration::from_millis(20),
            "waited its timeout"
        );
        assert!(start.elapsed() < Duration::from_secs(5));
        reactor.close();
    }
}

#[test]
fn timers_never_fire_early_and_the_wait_comes_from_the_wheel() {
    for reactor in reactors() {
        let start = Instant::now();
        let r = reactor.clone();
        let at = Rc::new(Cell::new(None));
        let a = at.clone();
        reactor.call_later(Duration::from_millis(30), move || {
            a.set(Some(start.elapsed()));
            r.stop().unwrap();
        });
        reactor.run().unwrap();
        let at = at.get().unwrap();
        assert!(at >= Duration::from_millis(30), "fired early: {at:?}");
        assert!(at < Duration::from_secs(5), "slept far too long: {at:?}");
        reactor.close();
    }
}

#[test]
fn same_instant_calls_run_in_scheduling_order_on_a_real_loop() {
    let reactor = Reactor::new().unwrap();
    let l = log();
    for i in 0..50 {
        let l2 = l.clone();
        reactor.call_later(Duration::from_millis(2), move || note(&l2, i.to_string()));
    }
    let r = reactor.clone();
    reactor.call_later(Duration::from_millis(2), move || r.stop().unwrap());
    reactor.run().unwrap();
    let want: Vec<String> = (0..50).map(|i| i.to_string()).collect();
    assert_eq!(*l.borrow(), want);
    reactor.close();
}

#[test]
fn a_self_rescheduling_zero_delay_call_does_not_starve_other_work() {
    let reactor = Reactor::new().unwrap();
    let spins = Rc::new(Cell::new(0u32));
    fn spin(r: Reactor, spins: Rc<Cell<u32>>) {
        spins.set(spins.get() + 1);
        let r2 = r.clone();
        r.call_later(Duration::ZERO, move || spin(r2, spins));
    }
    spin(reactor.clone(), spins.clone());
    let r = reactor.clone();
    reactor.call_soon(move || {
        r.call_later(Duration::from_millis(5), {
            let r = r.clone();
            move || r.stop().unwrap()
        });
    });
    reactor.run().unwrap();
    assert!(spins.get() > 1, "the spinning call ran once per turn");
    reactor.close();
}

#[test]
fn a_panicking_callback_is_logged_and_the_loop_goes_on() {
    let reactor = Reactor::new().unwrap();
    let after = Rc::new(Cell::new(false));
    reactor.call_later(Duration::ZERO, || panic!("deliberate test panic"));
    let (a, r) = (after.clone(), reactor.clone());
    reactor.call_later(Duration::from_millis(1), move || {
        a.set(true);
        r.stop().unwrap();
    });
    reactor.run().unwrap();
    assert!(after.get());
    reactor.close();
}

#[test]
fn several_reactors_run_on_their_own_threads() {
    let threads: Vec<_> = (0..4)
        .map(|i| {
            std::thread::spawn(move || {
                let reactor = Reactor::new().unwrap();
                let count = Rc::new(Cell::new(0));
                for k in 0..20 {
                    let c = count.clone();
                    reactor.call_later(Duration::from_millis(k % 4), move || c.set(c.get() + 1));
                }
                let r = reactor.clone();
                reactor.call_later(Duration::from_millis(10), move || r.stop().unwrap());
                reactor.run().unwrap();
                reactor.close();
                (i, count.get())
            })
        })
        .collect();
    for t in threads {
        let (_, count) = t.join().unwrap();
        assert_eq!(count, 20);
    }
}

#[test]
fn sigterm_stops_the_reactor_gracefully_when_asked_to() {
    let reactor = Reactor::builder().handle_signals(true).build().unwrap();
    let l = log();
    let l2 = l.clone();
    reactor.add_system_event_trigger(Phase::Before, SystemEvent::Shutdown, move || {
        note(&l2, "shutdown ran")
    });
    reactor.call_when_running(|| {
        torsion::sys::signal::send_to_self(torsion::sys::signal::SIGTERM).unwrap();
    });
    // A safety net in case the signal never arrives.
    let r = reactor.clone();
    reactor.call_later(Duration::from_secs(10), move || r.crash());
    reactor.run().unwrap();
    assert_eq!(*l.borrow(), ["shutdown ran"]);
    assert_eq!(reactor.exit_signal(), Some(15));
    reactor.close();
}

#[test]
fn close_breaks_cycles_and_releases_descriptors() {
    let before = open_fds();
    for _ in 0..50 {
        let reactor = Reactor::new().unwrap();
        // A timer and a trigger that capture the reactor: an Rc cycle until close().
        let r = reactor.clone();
        reactor.call_later(Duration::from_secs(3600), move || drop(r));
        let r = reactor.clone();
        reactor.add_system_event_trigger(Phase::After, SystemEvent::Startup, move || drop(r));
        reactor.close();
        assert!(reactor.is_closed());
        assert!(matches!(reactor.run(), Err(ReactorError::Closed)));
    }
    assert!(
        open_fds() <= before + 2,
        "descriptors leaked: {before} -> {}",
        open_fds()
    );
}
