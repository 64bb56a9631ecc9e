//! Chains never recurse: 100,000-deep chains of every kind run (and drop) on a thread
//! with a 256 KiB stack. Twisted's `test_boundedStackDepth`, scaled up.

use std::cell::Cell;
use std::rc::Rc;

use torsion::defer::testing::{failure_result_of, success_result_of};
use torsion::defer::{succeed, Cancelled, Deferred};

const DEPTH: usize = 100_000;
const SMALL_STACK: usize = 256 * 1024;

/// Runs `f` on a thread with a 256 KiB stack (a recursive implementation would need
/// tens of megabytes for these depths).
fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(SMALL_STACK)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn chain_of_100k_callbacks() {
    on_small_stack(|| {
        let d: Deferred<u64> = Deferred::new();
        let mut end = d.clone();
        for _ in 0..DEPTH {
            end = end.add_callback(|n| Ok(n + 1));
        }
        d.callback(0).unwrap();
        assert_eq!(success_result_of(&end), DEPTH as u64);
    });
}

#[test]
fn chain_of_100k_callbacks_alternating_tracks() {
    on_small_stack(|| {
        let d: Deferred<u64> = Deferred::new();
        let mut end = d.clone();
        for _ in 0..DEPTH / 2 {
            end = end
                .add_callback(|_| -> Result<u64, torsion::defer::Failure> {
                    Err(torsion::defer::Failure::msg("flip"))
                })
                .add_errback(|_| Ok(1));
        }
        d.callback(0).unwrap();
        assert_eq!(success_result_of(&end), 1);
    });
}

#[test]
fn nested_100k_returned_deferreds_fired_outside_in() {
    // Twisted's test_boundedStackDepth: top waits on inner 1, which waits on inner 2, ...,
    // which waits on `last`; firing `last` unwinds the whole nest.
    on_small_stack(|| {
        let depth_at_end = Rc::new(Cell::new(0u64));
        let top: Deferred<()> = Deferred::new();
        let inners: Vec<Deferred<u64>> = (0..DEPTH).map(|_| Deferred::new()).collect();
        let last: Deferred<u64> = Deferred::new();
        let first_inner = inners[0].clone();
        let top_end = top.clone().add_callback(move |()| first_inner);
        for i in 0..DEPTH {
            let next = if i + 1 < DEPTH {
                inners[i + 1].clone()
            } else {
                last.clone()
            };
            drop(inners[i].clone().add_callback(move |_| next));
        }
        let seen = depth_at_end.clone();
        let top_end = top_end.add_callback(move |n| seen.set(n));
        top.callback(()).unwrap();
        for inner in &inners {
            inner.callback(0).unwrap();
        }
        assert_eq!(depth_at_end.get(), 0, "nothing before `last` fires");
        last.callback(7).unwrap();
        assert_eq!(depth_at_end.get(), 7);
        success_result_of(&top_end);
    });
}

#[test]
fn nested_100k_returned_deferreds_built_inside_out() {
    // Each level's callback returns the next level's (already waiting) Deferred.
    on_small_stack(|| {
        let innermost: Deferred<u64> = Deferred::new();
        let mut current = succeed(()).add_callback({
            let i = innermost.clone();
            move |()| i
        });
        for _ in 0..DEPTH {
            let prev = current;
            current = succeed(()).add_callback(move |()| prev);
        }
        innermost.callback(3).unwrap();
        assert_eq!(success_result_of(&current), 3);
    });
}

#[test]
fn cancel_through_100k_nested_waits() {
    on_small_stack(|| {
        let innermost: Deferred<u64> = Deferred::new();
        let mut current = succeed(()).add_callback({
            let i = innermost.clone();
            move |()| i
        });
        for _ in 0..DEPTH {
            let prev = current;
            current = succeed(()).add_callback(move |()| prev);
        }
        current.cancel();
        assert!(failure_result_of(&current).check::<Cancelled>());
    });
}

#[test]
fn chain_deferred_100k_deep() {
    on_small_stack(|| {
        let ds: Vec<Deferred<u64>> = (0..=DEPTH).map(|_| Deferred::new()).collect();
        let mut ends = Vec::with_capacity(DEPTH);
        for i in 0..DEPTH {
            ends.push(
                ds[i]
                    .clone()
                    .add_callback(|n| Ok(n + 1))
                    .chain_deferred(&ds[i + 1]),
            );
        }
        ds[0].callback(0).unwrap();
        assert_eq!(success_result_of(&ds[DEPTH]), DEPTH as u64);
        for end in &ends {
            success_result_of(end);
        }
    });
}

#[test]
fn dropping_100k_unfired_nested_deferreds() {
    on_small_stack(|| {
        // A nest of waiting Deferreds nobody will fire: each holds the next.
        let innermost: Deferred<u64> = Deferred::new();
        let mut current = succeed(()).add_callback({
            let i = innermost.clone();
            move |()| i
        });
        for _ in 0..DEPTH {
            let prev = current;
            current = succeed(()).add_callback(move |()| prev);
        }
        drop(current);
        drop(innermost);
        // And a 100k chain_deferred series never fired.
        let ds: Vec<Deferred<u64>> = (0..=DEPTH).map(|_| Deferred::new()).collect();
        let ends: Vec<_> = (0..DEPTH)
            .map(|i| ds[i].clone().chain_deferred(&ds[i + 1]))
            .collect();
        drop(ends);
        let mut ds = ds;
        // Drop from the far end first so each drop frees the whole remaining series.
        while let Some(d) = ds.pop() {
            drop(d);
        }
    });
}
