//! The per-thread executor behind [`Deferred::from_future`](super::Deferred::from_future):
//! a slab of tasks, a run queue drained as a trampoline, and a thread-safe queue for wakes
//! that come from other threads.
//!
//! * **Same-thread wake** (the usual case: an awaited Deferred fires): the task id goes on
//!   this thread's run queue; if no drain is running up the stack, the queue is drained
//!   right there. Wakes during a drain (including a task waking itself while it is being
//!   polled) only enqueue, so there is no recursion and no re-entrant poll.
//! * **Other-thread wake**: the id goes on the owning thread's [`RemoteQueue`] and the
//!   wake hook installed by the reactor ([`set_remote_wake_hook`]) is called; the reactor
//!   then calls [`run_remote_wakeups`] on the owning thread.
//!
//! Waking allocates nothing: each task's waker is one `Arc<TaskWaker>` made at spawn time
//! (cloning it is a reference count), a task is queued at most once at a time (an atomic
//! flag), and the queues keep their capacity.
//!
//! Tests: `tests/defer_async.rs`, `tests/defer_alloc.rs`.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};

use super::node::{self, Node};

/// A task's future, type-erased (its output is delivered to a Deferred by the future).
type TaskFuture = Pin<Box<dyn Future<Output = ()>>>;

/// The reactor's "please call `run_remote_wakeups` on the owning thread" hook.
pub type RemoteWakeHook = Arc<dyn Fn() + Send + Sync>;

/// A task's identity: slab index and generation (so stale wakes are ignored).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct TaskId {
    index: u32,
    generation: u32,
}

/// Wakes from other threads, for one owning thread.
struct RemoteQueue {
    /// Tasks woken remotely, not yet moved to the run queue.
    ids: Mutex<Vec<TaskId>>,
    /// Called after each remote wake that queued something.
    hook: Mutex<Option<RemoteWakeHook>>,
}

/// Locks, ignoring poisoning (the data is a plain list).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A task's waker: made once per task, shared by every `Waker` clone.
struct TaskWaker {
    /// The task.
    id: TaskId,
    /// The owning thread's token (see [`THREAD_TOKEN`]).
    owner: u64,
    /// Queued on the owner's run queue (or being moved there).
    queued_local: AtomicBool,
    /// Queued on the owner's remote queue.
    queued_remote: AtomicBool,
    /// The owner's remote queue.
    remote: Arc<RemoteQueue>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if THREAD_TOKEN.try_with(|t| *t) == Ok(self.owner) {
            if !self.queued_local.swap(true, Ordering::AcqRel) {
                let _ = EXECUTOR.try_with(|e| e.schedule(self.id));
            }
            return;
        }
        if self.queued_remote.swap(true, Ordering::AcqRel) {
            return;
        }
        lock(&self.remote.ids).push(self.id);
        let hook = lock(&self.remote.hook).clone();
        if let Some(hook) = hook {
            hook();
        }
    }
}

/// One task.
struct Task {
    /// The future; `None` while it is being polled.
    future: Option<TaskFuture>,
    /// Its waker.
    waker: Arc<TaskWaker>,
    /// The Deferred it awaits now (recorded by `Deferred::poll`), for cancellation.
    awaited: Option<Weak<Node>>,
    /// Cancelled while being polled: drop the future when the poll returns.
    cancelled: bool,
}

/// A slab entry.
struct Entry {
    generation: u32,
    task: Option<Task>,
}

/// This thread's executor.
struct Executor {
    /// Tasks by index.
    slots: RefCell<Vec<Entry>>,
    /// Free slab indices.
    free: RefCell<Vec<u32>>,
    /// Tasks to poll, in wake order.
    run_queue: RefCell<VecDeque<TaskId>>,
    /// A drain (or a task's first poll) is running up the stack.
    draining: Cell<bool>,
    /// The task being polled.
    current: Cell<Option<TaskId>>,
    /// Wakes from other threads.
    remote: Arc<RemoteQueue>,
    /// Spare buffer swapped with `remote.ids`, to keep both capacities.
    remote_spare: RefCell<Vec<TaskId>>,
}

/// Source of thread tokens.
static NEXT_THREAD_TOKEN: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// A number unique to this thread (cheaper to compare than `ThreadId`).
    static THREAD_TOKEN: u64 = NEXT_THREAD_TOKEN.fetch_add(1, Ordering::Relaxed);
    /// This thread's executor.
    static EXECUTOR: Executor = Executor {
        slots: RefCell::new(Vec::new()),
        free: RefCell::new(Vec::new()),
        run_queue: RefCell::new(VecDeque::new()),
        draining: Cell::new(false),
        current: Cell::new(None),
        remote: Arc::new(RemoteQueue {
            ids: Mutex::new(Vec::new()),
            hook: Mutex::new(None),
        }),
        remote_spare: RefCell::new(Vec::new()),
    };
}

/// Resets `draining` when a drain ends, even by a panic.
struct DrainGuard<'a>(&'a Executor, bool);

impl Drop for DrainGuard<'_> {
    fn drop(&mut self) {
        self.0.draining.set(self.1);
    }
}

/// Restores `current` and frees the task's slot if its poll panics.
struct PollGuard<'a> {
    executor: &'a Executor,
    id: TaskId,
    previous: Option<TaskId>,
}

impl Drop for PollGuard<'_> {
    fn drop(&mut self) {
        self.executor.current.set(self.previous);
        if std::thread::panicking() {
            let task = self.executor.free_slot(self.id);
            drop(task);
        }
    }
}

impl Executor {
    /// Queues a woken task; drains if no drain is running.
    fn schedule(&self, id: TaskId) {
        self.run_queue.borrow_mut().push_back(id);
        self.drain();
    }

    /// Polls queued tasks until the queue is empty, unless a drain is already running up
    /// the stack (which will get to them).
    fn drain(&self) {
        if self.draining.get() {
            return;
        }
        self.draining.set(true);
        let _guard = DrainGuard(self, false);
        loop {
            let next = self.run_queue.borrow_mut().pop_front();
            match next {
                Some(id) => self.poll_task(id),
                None => break,
            }
        }
    }

    /// Polls one task once (nothing if it is gone or already being polled).
    fn poll_task(&self, id: TaskId) {
        let (mut future, waker) = {
            let mut slots = self.slots.borrow_mut();
            let Some(task) = slots
                .get_mut(id.index as usize)
                .filter(|e| e.generation == id.generation)
                .and_then(|e| e.task.as_mut())
            else {
                return;
            };
            let Some(future) = task.future.take() else {
                return;
            };
            task.waker.queued_local.store(false, Ordering::Release);
            task.awaited = None;
            (future, task.waker.clone())
        };
        let waker = Waker::from(waker);
        let mut cx = Context::from_waker(&waker);
        let guard = PollGuard {
            executor: self,
            id,
            previous: self.current.replace(Some(id)),
        };
        let poll = future.as_mut().poll(&mut cx);
        drop(guard);
        let finished = match poll {
            Poll::Ready(()) => true,
            Poll::Pending => {
                let mut slots = self.slots.borrow_mut();
                match slots[id.index as usize].task.as_mut() {
                    Some(task) if !task.cancelled => {
                        task.future = Some(future);
                        return;
                    }
                    _ => true,
                }
            }
        };
        if finished {
            let task = self.free_slot(id);
            drop(future);
            drop(task);
        }
    }

    /// Removes a task from the slab (returned, to be dropped without a borrow held).
    fn free_slot(&self, id: TaskId) -> Option<Task> {
        let mut slots = self.slots.borrow_mut();
        let entry = slots.get_mut(id.index as usize)?;
        if entry.generation != id.generation {
            return None;
        }
        let task = entry.task.take();
        entry.generation = entry.generation.wrapping_add(1);
        self.free.borrow_mut().push(id.index);
        task
    }

    /// Allocates a slot and the task's waker; the future is set by [`start`].
    fn reserve(&self) -> TaskId {
        let owner = THREAD_TOKEN.with(|t| *t);
        let mut slots = self.slots.borrow_mut();
        let index = match self.free.borrow_mut().pop() {
            Some(index) => index,
            None => {
                slots.push(Entry {
                    generation: 0,
                    task: None,
                });
                u32::try_from(slots.len() - 1).expect("more than 2^32 tasks")
            }
        };
        let entry = &mut slots[index as usize];
        let id = TaskId {
            index,
            generation: entry.generation,
        };
        entry.task = Some(Task {
            future: None,
            waker: Arc::new(TaskWaker {
                id,
                owner,
                queued_local: AtomicBool::new(false),
                queued_remote: AtomicBool::new(false),
                remote: self.remote.clone(),
            }),
            awaited: None,
            cancelled: false,
        });
        id
    }
}

/// Reserves a task slot (so its id can be captured by the Deferred's canceller).
pub(crate) fn reserve() -> TaskId {
    EXECUTOR.with(Executor::reserve)
}

/// Installs the future of a reserved task and polls it at once; then drains the run queue
/// unless a drain is already running up the stack.
pub(crate) fn start(id: TaskId, future: TaskFuture) {
    EXECUTOR.with(|e| {
        {
            let mut slots = e.slots.borrow_mut();
            if let Some(task) = slots[id.index as usize].task.as_mut() {
                task.future = Some(future);
            }
        }
        let was_draining = e.draining.replace(true);
        {
            let _guard = DrainGuard(e, was_draining);
            e.poll_task(id);
        }
        if !was_draining {
            e.drain();
        }
    });
}

/// Cancels a task: drops its future (or marks it, if it is being polled), then cancels the
/// Deferred it was awaiting and discards that Deferred's result.
pub(crate) fn cancel(id: TaskId, at: &'static Location<'static>) {
    let Ok((future, awaited)) = EXECUTOR.try_with(|e| {
        let mut slots = e.slots.borrow_mut();
        let Some(task) = slots
            .get_mut(id.index as usize)
            .filter(|entry| entry.generation == id.generation)
            .and_then(|entry| entry.task.as_mut())
        else {
            return (None, None);
        };
        let awaited = task.awaited.take().and_then(|w| w.upgrade());
        match task.future.take() {
            Some(future) => {
                drop(slots);
                let task = e.free_slot(id);
                (Some((future, task)), awaited)
            }
            None => {
                task.cancelled = true;
                (None, awaited)
            }
        }
    }) else {
        return;
    };
    drop(future);
    if let Some(awaited) = awaited {
        node::cancel(&awaited, at);
        // The dropped future would have consumed the result.
        drop(node::take_result(&awaited));
    }
}

/// Records `node` as the Deferred the task being polled now awaits.
pub(crate) fn note_awaited(node: &Rc<Node>) {
    let _ = EXECUTOR.try_with(|e| {
        let Some(id) = e.current.get() else { return };
        if let Ok(mut slots) = e.slots.try_borrow_mut() {
            if let Some(task) = slots[id.index as usize].task.as_mut() {
                let same = task
                    .awaited
                    .as_ref()
                    .is_some_and(|w| std::ptr::eq(w.as_ptr(), Rc::as_ptr(node)));
                if !same {
                    task.awaited = Some(Rc::downgrade(node));
                }
            }
        }
    });
}

/// Sets (or clears) the hook called when a task owned by **this** thread is woken from
/// another thread. The reactor installs its `call_from_thread` waker here, and has the
/// woken loop call [`run_remote_wakeups`].
///
/// Without a hook, remote wakes wait in the queue until `run_remote_wakeups` is called.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
/// use torsion::defer::{run_remote_wakeups, set_remote_wake_hook};
///
/// let rung = Arc::new(AtomicBool::new(false));
/// let flag = rung.clone();
/// set_remote_wake_hook(Some(Arc::new(move || flag.store(true, Ordering::SeqCst))));
/// // ... a task of this thread is woken from another thread; the hook runs there, and
/// // the reactor, woken up, calls on this thread:
/// run_remote_wakeups();
/// set_remote_wake_hook(None);
/// ```
pub fn set_remote_wake_hook(hook: Option<RemoteWakeHook>) {
    let old = EXECUTOR.with(|e| std::mem::replace(&mut *lock(&e.remote.hook), hook));
    drop(old);
}

/// Moves the tasks of this thread that were woken from other threads onto the run queue,
/// and runs them. Call it on the owning thread (the reactor does, after its wake hook).
pub fn run_remote_wakeups() {
    EXECUTOR.with(|e| {
        {
            let mut batch = e.remote_spare.borrow_mut();
            std::mem::swap(&mut *lock(&e.remote.ids), &mut *batch);
            let slots = e.slots.borrow();
            let mut run_queue = e.run_queue.borrow_mut();
            for id in batch.drain(..) {
                let Some(task) = slots
                    .get(id.index as usize)
                    .filter(|entry| entry.generation == id.generation)
                    .and_then(|entry| entry.task.as_ref())
                else {
                    continue;
                };
                task.waker.queued_remote.store(false, Ordering::Release);
                if !task.waker.queued_local.swap(true, Ordering::AcqRel) {
                    run_queue.push_back(id);
                }
            }
        }
        e.drain();
    });
}

/// How many `from_future` tasks this thread has that have not finished (nor been
/// cancelled). For leak checks in tests.
pub fn live_tasks() -> usize {
    EXECUTOR.with(|e| e.slots.borrow().iter().filter(|s| s.task.is_some()).count())
}

#[cfg(test)]
mod tests {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::task::Waker;

    use super::*;
    use crate::defer::{Deferred, Failure};

    /// A future that hands out its waker, then finishes when polled again.
    struct Once(Rc<Cell<Option<Waker>>>, bool);

    impl Future for Once {
        type Output = Result<(), Failure>;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            if self.1 {
                return Poll::Ready(Ok(()));
            }
            self.1 = true;
            self.0.set(Some(cx.waker().clone()));
            Poll::Pending
        }
    }

    #[test]
    fn a_stale_waker_does_not_poll_the_task_reusing_its_slot() {
        let first_waker = Rc::new(Cell::new(None));
        let first = Deferred::from_future(Once(first_waker.clone(), false));
        let stale = first_waker.take().unwrap();
        stale.wake_by_ref();
        assert!(first.take_result().unwrap().is_ok());
        // The slot is reused by a new task; the old waker must not touch it.
        let second_waker = Rc::new(Cell::new(None));
        let second = Deferred::from_future(Once(second_waker.clone(), false));
        stale.wake();
        assert!(second.take_result().is_none(), "polled by a stale waker");
        second_waker.take().unwrap().wake();
        assert!(second.take_result().unwrap().is_ok());
        assert_eq!(live_tasks(), 0);
    }

    #[test]
    fn a_panicking_task_is_removed_and_the_executor_keeps_working() {
        let gate: Deferred<()> = Deferred::new();
        let g = gate.clone();
        let _task: Deferred<()> = Deferred::from_future(async move {
            g.await?;
            panic!("task panic");
        });
        assert_eq!(live_tasks(), 1);
        assert!(catch_unwind(AssertUnwindSafe(|| gate.callback(()))).is_err());
        assert_eq!(live_tasks(), 0);
        EXECUTOR.with(|e| assert!(!e.draining.get()));
        let d = Deferred::from_future(async { Ok(crate::defer::succeed(3).await? + 1) });
        assert_eq!(d.take_result().unwrap().unwrap(), 4);
    }
}
