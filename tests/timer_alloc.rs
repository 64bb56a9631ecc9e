//! Scheduling, cancelling and firing timers allocates nothing per timer in steady state,
//! on the manual clock and on a real reactor loop. A counting global allocator proves it.
//!
//! The closures capture an `Rc` (the usual case), so this also shows they are stored inline.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use torsion::reactor::Reactor;
use torsion::time::Clock;

struct Counting;

thread_local! {
    /// Only this thread's allocations count (tests run in parallel on other threads).
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn note_allocation() {
    if COUNTING.try_with(|c| c.get()).unwrap_or(false) {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
    }
}

// SAFETY: every method forwards to the system allocator unchanged; the counter is a side
// effect that does not touch the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: forwarded with the caller's layout.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded; `ptr` came from `System.alloc` above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        // SAFETY: forwarded; `ptr` came from this allocator with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by `f` on this thread.
fn count<R>(f: impl FnOnce() -> R) -> (usize, R) {
    let before = ALLOCATIONS.with(Cell::get);
    COUNTING.with(|c| c.set(true));
    let r = f();
    COUNTING.with(|c| c.set(false));
    (ALLOCATIONS.with(Cell::get) - before, r)
}

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
