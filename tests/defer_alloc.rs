//! "Waking a task allocates nothing in steady state", checked with a counting global
//! allocator.
//!
//! What is measured is the wake path: a Deferred the task awaits fires, the task's waker
//! queues it, the run queue is drained, the task is polled, takes the result and suspends
//! on the next Deferred. Creating Deferreds and tasks allocates (a node, a boxed future, a
//! waker), so everything is created before the measured region. Firing with a value boxes
//! the value (one allocation, unless the type is zero-sized): that is part of firing, not
//! of waking, and the `u64` test checks it is the only allocation.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use torsion::defer::testing::success_result_of;
use torsion::defer::{run_remote_wakeups, set_remote_wake_hook, succeed, Deferred};

mod alloc_count;

/// Allocations made by this thread while running `f`.
fn allocations_in(f: impl FnOnce()) -> u64 {
    alloc_count::count(f).0 as u64
}

const WARM_UP: usize = 16;
const MEASURED: usize = 1000;

#[test]
fn waking_a_task_on_its_own_thread_allocates_nothing() {
    let ds: Vec<Deferred<()>> = (0..WARM_UP + MEASURED).map(|_| Deferred::new()).collect();
    let inputs = ds.clone();
    let task = Deferred::from_future(async move {
        let mut n = 0usize;
        for d in inputs {
            d.await?;
            n += 1;
        }
        Ok(n)
    });
    for d in &ds[..WARM_UP] {
        d.callback(()).unwrap();
    }
    let allocations = allocations_in(|| {
        for d in &ds[WARM_UP..WARM_UP + MEASURED - 1] {
            d.callback(()).unwrap();
        }
    });
    assert_eq!(allocations, 0, "wakes of a task allocated");
    ds.last().unwrap().callback(()).unwrap();
    assert_eq!(success_result_of(&task), WARM_UP + MEASURED);
}

#[test]
fn firing_with_a_value_allocates_only_the_boxed_value() {
    let ds: Vec<Deferred<u64>> = (0..WARM_UP + MEASURED).map(|_| Deferred::new()).collect();
    let inputs = ds.clone();
    let task = Deferred::from_future(async move {
        let mut sum = 0;
        for d in inputs {
            sum += d.await?;
        }
        Ok(sum)
    });
    for d in &ds[..WARM_UP] {
        d.callback(1).unwrap();
    }
    let allocations = allocations_in(|| {
        for d in &ds[WARM_UP..WARM_UP + MEASURED - 1] {
            d.callback(1).unwrap();
        }
    });
    assert_eq!(
        allocations,
        (MEASURED - 1) as u64,
        "one Box<u64> per fire, nothing else"
    );
    ds.last().unwrap().callback(1).unwrap();
    assert_eq!(success_result_of(&task), (WARM_UP + MEASURED) as u64);
}

#[test]
fn awaiting_already_fired_deferreds_allocates_nothing() {
    let warm: Deferred<()> = Deferred::new();
    let start: Deferred<()> = Deferred::new();
    let end: Deferred<()> = Deferred::new();
    let ready: Vec<Deferred<u64>> = (0..1000).map(succeed).collect();
    let (w, s, e) = (warm.clone(), start.clone(), end.clone());
    let task = Deferred::from_future(async move {
        w.await?; // the first wake of this thread sizes the run queue
        s.await?;
        let mut sum = 0;
        for d in ready {
            sum += d.await?;
        }
        e.await?;
        Ok(sum)
    });
    warm.callback(()).unwrap();
    let allocations = allocations_in(|| start.callback(()).unwrap());
    assert_eq!(allocations, 0);
    end.callback(()).unwrap();
    assert_eq!(success_result_of(&task), 499_500);
}

/// A future woken from another thread, over and over.
#[derive(Clone, Default)]
struct Remote {
    state: Arc<Mutex<(u32, Option<Waker>)>>,
}

impl Future for Remote {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut st = self.state.lock().unwrap();
        if st.0 > 0 {
            st.0 -= 1;
            Poll::Ready(())
        } else {
            match &st.1 {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => st.1 = Some(cx.waker().clone()),
            }
            Poll::Pending
        }
    }
}

#[test]
fn remote_wakes_allocate_nothing_on_either_thread() {
    let rung = Arc::new(AtomicBool::new(false));
    let r = rung.clone();
    set_remote_wake_hook(Some(Arc::new(move || r.store(true, Ordering::SeqCst))));
    let remote = Remote::default();
    let rounds = WARM_UP + MEASURED;
    let fut = remote.clone();
    let task = Deferred::from_future(async move {
        for _ in 0..rounds {
            fut.clone().await;
        }
        Ok(())
    });
    let mut owner_allocations = 0;
    let mut waker_allocations = 0;
    for round in 0..rounds {
        let state = remote.state.clone();
        let worker = std::thread::spawn(move || {
            allocations_in(|| {
                let waker = {
                    let mut st = state.lock().unwrap();
                    st.0 += 1;
                    st.1.clone().unwrap()
                };
                waker.wake();
            })
        });
        let in_worker = worker.join().unwrap();
        assert!(rung.swap(false, Ordering::SeqCst));
        let in_owner = allocations_in(run_remote_wakeups);
        // The last round completes the task (freeing its slot): not a wake.
        if round >= WARM_UP && round + 1 < rounds {
            owner_allocations += in_owner;
            waker_allocations += in_worker;
        }
    }
    set_remote_wake_hook(None);
    success_result_of(&task);
    assert_eq!(owner_allocations, 0, "run_remote_wakeups allocated");
    assert_eq!(waker_allocations, 0, "a remote wake allocated");
}
