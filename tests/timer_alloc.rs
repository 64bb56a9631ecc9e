//! Scheduling, cancelling and firing timers allocates nothing per timer in steady state,
//! on the manual clock and on a real reactor loop. A counting global allocator proves it.
//!
//! The closures capture an `Rc` (the usual case), so this also shows they are stored inline.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use torsion::reactor::Reactor;
use torsion::time::Clock;

mod alloc_count;

use alloc_count::count;

const N: usize = 10_000;

fn round_on_clock(clock: &Clock, hits: &Rc<Cell<usize>>) {
    for i in 0..N {
        let h = hits.clone();
        let call = clock.call_later(Duration::from_millis(1 + (i % 300) as u64), move || {
            h.set(h.get() + 1)
        });
        if i % 2 == 0 {
            call.cancel().unwrap();
        } else if i % 7 == 0 {
            call.reset(Duration::from_millis(500)).unwrap();
        }
    }
    clock.advance(Duration::from_secs(1));
}

#[test]
fn clock_timers_allocate_nothing_in_steady_state() {
    let clock = Clock::new();
    let hits = Rc::new(Cell::new(0));
    // Warm-up: the wheel's node table grows to its working size.
    round_on_clock(&clock, &hits);
    let (allocs, ()) = count(|| {
        for _ in 0..5 {
            round_on_clock(&clock, &hits);
        }
    });
    assert_eq!(allocs, 0, "{allocs} allocations for {} timers", 5 * N);
    assert_eq!(hits.get(), 6 * N / 2);
}

#[test]
fn reactor_timers_allocate_nothing_in_steady_state() {
    let reactor = Reactor::new().unwrap();
    let hits = Rc::new(Cell::new(0usize));
    let mut expected = 0;
    let mut round = |reactor: &Reactor| {
        for i in 0..N {
            let h = hits.clone();
            // Due at once (rounded up to the next millisecond), or cancelled.
            let call = reactor.call_later(Duration::ZERO, move || h.set(h.get() + 1));
            if i % 2 == 0 {
                call.cancel().unwrap();
            }
        }
        expected += N / 2;
        let mut turns = 0;
        while hits.get() < expected {
            turns += 1;
            assert!(turns < 10_000, "timers did not fire");
            reactor.iterate(Duration::from_millis(1)).unwrap();
        }
    };
    round(&reactor);
    round(&reactor);
    let (allocs, ()) = count(|| {
        for _ in 0..5 {
            round(&reactor);
        }
    });
    assert_eq!(allocs, 0, "{allocs} allocations for {} timers", 5 * N);
    assert_eq!(hits.get(), 7 * N / 2);
    reactor.close();
}
