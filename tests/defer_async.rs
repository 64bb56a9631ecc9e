//! `async`: awaiting Deferreds, `Deferred::from_future` (Twisted's `fromCoroutine` /
//! `inlineCallbacks`), cancellation of tasks, and wakes from other threads.

// The point of several tests is a task whose body is one `.await` of a Deferred.
#![allow(clippy::redundant_async_block)]

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Waker};

use torsion::defer::testing::{
    assert_no_result, capture_unhandled, failure_result_of, success_result_of,
};
use torsion::defer::{
    live_tasks, run_remote_wakeups, set_remote_wake_hook, succeed, Cancelled, Deferred, Failure,
    ResultConsumed,
};

#[test]
fn async_fn_awaits_deferreds_fired_later() {
    let inputs: Vec<Deferred<u32>> = (0..5).map(|_| Deferred::new()).collect();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let (ds, s) = (inputs.clone(), seen.clone());
    let total = Deferred::from_future(async move {
        let mut sum = 0;
        for d in ds {
            let n = d.await?;
            s.borrow_mut().push(n);
            sum += n;
        }
        Ok(sum)
    });
    assert_no_result(&total);
    for (i, d) in inputs.iter().enumerate() {
        assert_eq!(seen.borrow().len(), i);
        d.callback(i as u32 * 10).unwrap();
        assert_eq!(
            seen.borrow().len(),
            i + 1,
            "resumed synchronously by the firing"
        );
    }
    assert_eq!(success_result_of(&total), 100);
    assert_eq!(live_tasks(), 0);
}

#[test]
fn awaiting_an_already_fired_deferred_completes_at_once() {
    let d = Deferred::from_future(async { Ok(succeed(5).await? + 1) });
    assert_eq!(success_result_of(&d), 6);
    let d = Deferred::from_future(async {
        let mut sum = 0u64;
        for i in 0..1000 {
            sum += succeed(i).await?;
        }
        Ok(sum)
    });
    assert_eq!(success_result_of(&d), 499_500);
}

#[test]
fn awaiting_a_chain_gets_its_final_result() {
    let input: Deferred<u32> = Deferred::new();
    let inner: Deferred<u32> = Deferred::new();
    let (i2, inner2) = (input.clone(), inner.clone());
    let d = Deferred::from_future(async move {
        let chained = i2.add_callback(move |_| inner2).add_callback(|n| Ok(n * 2));
        chained.await
    });
    input.callback(1).unwrap();
    assert_no_result(&d);
    inner.callback(21).unwrap();
    assert_eq!(success_result_of(&d), 42);
}

#[test]
fn failures_propagate_with_question_mark_and_can_be_caught() {
    let d: Deferred<u8> = Deferred::new();
    let d2 = d.clone();
    let out = Deferred::from_future(async move {
        match d2.await {
            Err(f) if f.check::<std::io::Error>() => Ok("caught"),
            Err(f) => Err(f),
            Ok(_) => Ok("value"),
        }
    });
    d.errback(std::io::Error::other("boom")).unwrap();
    assert_eq!(success_result_of(&out), "caught");
    let out: Deferred<()> = Deferred::from_future(async { Err(Failure::msg("from async")) });
    assert_eq!(failure_result_of(&out).error().to_string(), "from async");
}

/// Sets a flag when dropped.
struct DropFlag(Rc<Cell<bool>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

#[test]
fn cancelling_a_task_drops_it_and_cancels_the_awaited_deferred() {
    let ((), reports) = capture_unhandled(|| {
        let cancels = Rc::new(Cell::new(0));
        let c = cancels.clone();
        let awaited: Deferred<u8> = Deferred::with_canceller(move |_| c.set(c.get() + 1));
        let dropped = Rc::new(Cell::new(false));
        let (a, flag) = (awaited.clone(), DropFlag(dropped.clone()));
        let resumed = Rc::new(Cell::new(false));
        let r = resumed.clone();
        let task = Deferred::from_future(async move {
            let _flag = flag;
            let n = a.await?;
            r.set(true);
            Ok(n)
        });
        assert_eq!(live_tasks(), 1);
        task.cancel();
        assert!(dropped.get(), "the future is dropped");
        assert_eq!(cancels.get(), 1, "the awaited Deferred is cancelled");
        assert!(!resumed.get());
        assert!(failure_result_of(&task).check::<Cancelled>());
        assert!(awaited.called());
        assert_eq!(live_tasks(), 0);
        // The producer's late result is swallowed.
        assert!(awaited.callback(1).is_ok());
    });
    assert!(reports.is_empty(), "{reports:?}");
}

#[test]
fn cancelling_an_outer_task_cancels_the_inner_task_it_awaits() {
    let inner_input: Deferred<u8> = Deferred::new();
    let i = inner_input.clone();
    let inner_task = Deferred::from_future(async move { i.await });
    let it = inner_task.clone();
    let outer_task = Deferred::from_future(async move { it.await });
    assert_eq!(live_tasks(), 2);
    outer_task.cancel();
    assert!(failure_result_of(&outer_task).check::<Cancelled>());
    assert!(
        inner_input.called(),
        "cancellation reached the innermost Deferred"
    );
    assert_eq!(live_tasks(), 0);
}

#[test]
fn cancelling_a_deferred_waiting_on_a_task_cancels_the_task() {
    let input: Deferred<u8> = Deferred::new();
    let i = input.clone();
    let outer = succeed(()).add_callback(move |()| Deferred::from_future(async move { i.await }));
    outer.cancel();
    assert!(failure_result_of(&outer).check::<Cancelled>());
    assert!(input.called());
    assert_eq!(live_tasks(), 0);
}

#[test]
fn a_task_may_cancel_itself() {
    let slot: Rc<RefCell<Option<Deferred<u8>>>> = Rc::new(RefCell::new(None));
    let go: Deferred<()> = Deferred::new();
    let (s, g) = (slot.clone(), go.clone());
    let task = Deferred::from_future(async move {
        g.await?;
        let me = s.borrow().clone().unwrap();
        me.cancel();
        Ok(1)
    });
    *slot.borrow_mut() = Some(task.clone());
    go.callback(()).unwrap();
    assert!(failure_result_of(&task).check::<Cancelled>());
    slot.borrow_mut().take();
    assert_eq!(live_tasks(), 0);
}

/// A future that wakes itself while being polled, `times` times (like `yield_now`).
struct WakeSelf {
    times: u32,
    polls: Rc<Cell<u32>>,
}

impl Future for WakeSelf {
    type Output = Result<u32, Failure>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.polls.set(self.polls.get() + 1);
        if self.times == 0 {
            return Poll::Ready(Ok(self.polls.get()));
        }
        self.times -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[test]
fn a_wake_during_its_own_poll_repolls_after_pending() {
    let polls = Rc::new(Cell::new(0));
    let d = Deferred::from_future(WakeSelf {
        times: 3,
        polls: polls.clone(),
    });
    assert_eq!(success_result_of(&d), 4);
}

#[test]
fn tasks_started_inside_tasks_run_and_interleave() {
    let order = Rc::new(RefCell::new(Vec::new()));
    let gate: Deferred<()> = Deferred::new();
    let (o, g) = (order.clone(), gate.clone());
    let outer = Deferred::from_future(async move {
        o.borrow_mut().push("outer start");
        let o2 = o.clone();
        let inner = Deferred::from_future(async move {
            o2.borrow_mut().push("inner start");
            g.await?;
            o2.borrow_mut().push("inner end");
            Ok(7)
        });
        o.borrow_mut().push("outer awaits inner");
        let n = inner.await?;
        o.borrow_mut().push("outer end");
        Ok(n)
    });
    gate.callback(()).unwrap();
    assert_eq!(success_result_of(&outer), 7);
    assert_eq!(
        *order.borrow(),
        [
            "outer start",
            "inner start",
            "outer awaits inner",
            "inner end",
            "outer end"
        ]
    );
}

#[test]
fn ping_pong_between_tasks_does_not_recurse() {
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            const ROUNDS: usize = 100_000;
            // Two tasks hand a token back and forth through fresh Deferreds.
            type Mailbox = Rc<RefCell<Option<Deferred<usize>>>>;
            let ping: Mailbox = Rc::new(RefCell::new(Some(Deferred::new())));
            let pong: Mailbox = Rc::new(RefCell::new(Some(Deferred::new())));
            let player = |mine: Mailbox, theirs: Mailbox| async move {
                loop {
                    let d = mine.borrow().clone().unwrap();
                    let n = d.await?;
                    if n >= ROUNDS {
                        return Ok(n);
                    }
                    *mine.borrow_mut() = Some(Deferred::new());
                    let other = theirs.borrow().clone().unwrap();
                    other.callback(n + 1).unwrap();
                }
            };
            let a = Deferred::from_future(player(ping.clone(), pong.clone()));
            let b = Deferred::from_future(player(pong.clone(), ping.clone()));
            let first = ping.borrow().clone().unwrap();
            first.callback(0).unwrap();
            let (a, b) = (success_result_of(&a), b.take_result());
            assert!(a >= ROUNDS - 1);
            drop(b);
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn two_awaiters_of_one_deferred_first_gets_the_value() {
    let d: Deferred<u8> = Deferred::new();
    let (d1, d2) = (d.clone(), d.clone());
    let t1 = Deferred::from_future(async move { d1.await });
    let t2 = Deferred::from_future(async move {
        match d2.await {
            Err(f) if f.check::<ResultConsumed>() => Ok(0),
            other => other,
        }
    });
    d.callback(9).unwrap();
    assert_eq!(success_result_of(&t1), 9);
    assert_eq!(success_result_of(&t2), 0);
}

#[test]
fn dropping_the_handle_does_not_stop_the_task() {
    let input: Deferred<u8> = Deferred::new();
    let seen = Rc::new(Cell::new(0));
    let (i, s) = (input.clone(), seen.clone());
    drop(Deferred::from_future(async move {
        s.set(i.await?);
        Ok(())
    }));
    input.callback(3).unwrap();
    assert_eq!(seen.get(), 3);
    assert_eq!(live_tasks(), 0);
}

#[test]
fn failed_task_nobody_awaits_is_reported_unhandled() {
    let ((), reports) = capture_unhandled(|| {
        let d: Deferred<()> = Deferred::from_future(async { Err(Failure::msg("lost in async")) });
        drop(d);
    });
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].created_at.file(), file!());
}

/// A future completed by another thread: it stores its waker where the thread finds it.
#[derive(Clone, Default)]
struct CrossThread {
    inner: Arc<Mutex<(bool, Option<Waker>)>>,
}

impl Future for CrossThread {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut inner = self.inner.lock().unwrap();
        if inner.0 {
            Poll::Ready(())
        } else {
            inner.1 = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

#[test]
fn task_woken_from_another_thread_runs_via_the_remote_hook() {
    let (tx, rx) = mpsc::channel::<()>();
    let tx = Mutex::new(tx);
    let hook_calls = Arc::new(AtomicUsize::new(0));
    let calls = hook_calls.clone();
    set_remote_wake_hook(Some(Arc::new(move || {
        calls.fetch_add(1, Ordering::SeqCst);
        tx.lock().unwrap().send(()).unwrap();
    })));
    let signal = CrossThread::default();
    let s = signal.clone();
    let task = Deferred::from_future(async move {
        s.await;
        Ok("woken")
    });
    assert_no_result(&task);
    let remote = signal.clone();
    let worker = std::thread::spawn(move || {
        let waker = {
            let mut inner = remote.inner.lock().unwrap();
            inner.0 = true;
            inner.1.take().unwrap()
        };
        waker.wake_by_ref();
        waker.wake(); // a second wake before the owner runs: queued once
    });
    worker.join().unwrap();
    // The reactor would be woken by the hook; here we wait for it and run the wakeups.
    rx.recv().unwrap();
    assert_no_result(&task);
    run_remote_wakeups();
    assert_eq!(success_result_of(&task), "woken");
    assert_eq!(hook_calls.load(Ordering::SeqCst), 1);
    set_remote_wake_hook(None);
    assert_eq!(live_tasks(), 0);
}

#[test]
fn remote_wake_without_a_hook_waits_for_run_remote_wakeups() {
    let signal = CrossThread::default();
    let s = signal.clone();
    let task = Deferred::from_future(async move {
        s.await;
        Ok(1)
    });
    let done = Arc::new(AtomicBool::new(false));
    let (remote, d) = (signal.clone(), done.clone());
    std::thread::spawn(move || {
        let waker = {
            let mut inner = remote.inner.lock().unwrap();
            inner.0 = true;
            inner.1.take().unwrap()
        };
        waker.wake();
        d.store(true, Ordering::SeqCst);
    })
    .join()
    .unwrap();
    assert!(done.load(Ordering::SeqCst));
    assert_no_result(&task);
    run_remote_wakeups();
    assert_eq!(success_result_of(&task), 1);
    // Nothing pending: a no-op.
    run_remote_wakeups();
    assert_eq!(live_tasks(), 0);
}
