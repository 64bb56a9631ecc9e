//! Crossing threads: [`ThreadHandle`] (the one thread-safe way into a reactor) and the
//! reactor's bounded thread pool.
//!
//! Tests: `tests/reactor_threads.rs`.

use std::collections::VecDeque;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle, ThreadId};

use torsion_sys::Waker;

use super::{closed_error, panic_message, Completion, Reactor};
use crate::defer::{Deferred, Failure};
use std::io;

/// A call sent to the reactor thread.
pub(crate) type ThreadCall = Box<dyn FnOnce(&Reactor) + Send>;

/// The queue other threads post calls to, and the waker that gets the loop's attention.
pub(crate) struct Mailbox {
    queue: Mutex<Vec<ThreadCall>>,
    /// Set when calls were posted since the reactor last looked; a post wakes the loop only
    /// when it sets this, so a burst costs one wake-up.
    pending: AtomicBool,
    closed: AtomicBool,
    /// Set when a `from_future` task of this thread was woken from another thread.
    tasks_woken: AtomicBool,
    pub(crate) waker: Waker,
    owner: ThreadId,
}

impl Mailbox {
    pub(crate) fn new(waker: Waker) -> Arc<Mailbox> {
        Arc::new(Mailbox {
            queue: Mutex::new(Vec::new()),
            pending: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            tasks_woken: AtomicBool::new(false),
            waker,
            owner: thread::current().id(),
        })
    }

    fn post(&self, call: ThreadCall) -> Result<(), ThreadCallError> {
        {
            let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
            // Checked under the lock, so `close` either sees this call or refuses it.
            if self.closed.load(Ordering::Acquire) {
                return Err(ThreadCallError::ReactorClosed);
            }
            queue.push(call);
        }
        if !self.pending.swap(true, Ordering::AcqRel) {
            // A failed wake (say, the eventfd counter is full) means a wake is already due.
            let _ = self.waker.wake();
        }
        Ok(())
    }

    /// True if calls may be waiting.
    pub(crate) fn has_pending(&self) -> bool {
        self.pending.load(Ordering::Acquire) || self.tasks_woken.load(Ordering::Acquire)
    }

    /// Called (from any thread) when a task of the reactor's thread was woken remotely:
    /// the loop wakes and moves it to the thread's run queue.
    pub(crate) fn wake_tasks(&self) {
        if !self.tasks_woken.swap(true, Ordering::AcqRel) {
            let _ = self.waker.wake();
        }
    }

    /// True (once) if tasks were woken remotely since the last call.
    pub(crate) fn take_tasks_woken(&self) -> bool {
        self.tasks_woken.swap(false, Ordering::AcqRel)
    }

    /// Moves the posted calls into `into` (an empty vector whose capacity is reused).
    pub(crate) fn take(&self, into: &mut Vec<ThreadCall>) {
        // Clear the flag first: a post that lands after the swap below sets it again and
        // wakes the loop, so nothing is left behind unseen.
        self.pending.store(false, Ordering::Release);
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::swap(&mut *queue, into);
    }

    /// Refuses further calls; returns those still queued, for the caller to drop.
    pub(crate) fn close(&self) -> Vec<ThreadCall> {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        self.closed.store(true, Ordering::Release);
        std::mem::take(&mut *queue)
    }
}

/// Why a call from another thread did not happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ThreadCallError {
    /// The reactor has been closed; it takes no more calls.
    ReactorClosed,
    /// `blocking_call_from_thread` was called on the reactor's own thread, where it would
    /// wait forever.
    OnReactorThread,
    /// The call was accepted but dropped without finishing: the reactor closed first, or the
    /// call panicked.
    NotRun,
}

impl fmt::Display for ThreadCallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ThreadCallError::ReactorClosed => "the reactor is closed",
            ThreadCallError::OnReactorThread => {
                "blocking_call_from_thread called on the reactor thread (it would deadlock)"
            }
            ThreadCallError::NotRun => "the call was dropped before it finished",
        })
    }
}

impl std::error::Error for ThreadCallError {}

/// A `Send + Sync` handle for reaching a reactor from other threads: Twisted's
/// `callFromThread`, the one thread-safe entry point.
///
/// Calls run on the reactor thread, in the order they were posted, in the loop's pending
/// phase. Posting wakes a sleeping loop; a burst of posts costs one wake-up.
///
/// # Examples
///
/// ```no_run
/// use torsion::reactor::Reactor;
///
/// let reactor = Reactor::new().unwrap();
/// let handle = reactor.thread_handle();
/// std::thread::spawn(move || {
///     let sum = handle.blocking_call_from_thread(|_reactor| 2 + 2).unwrap();
///     handle.call_from_thread(move |reactor| {
///         println!("computed {sum}");
///         reactor.stop().unwrap();
///     }).unwrap();
/// });
/// reactor.run().unwrap();
/// ```
#[derive(Clone)]
pub struct ThreadHandle {
    pub(crate) mailbox: Arc<Mailbox>,
}

impl ThreadHandle {
    /// Runs `f` on the reactor thread, soon.
    ///
    /// # Errors
    ///
    /// [`ThreadCallError::ReactorClosed`] if the reactor no longer takes calls.
    pub fn call_from_thread<F>(&self, f: F) -> Result<(), ThreadCallError>
    where
        F: FnOnce(&Reactor) + Send + 'static,
    {
        self.mailbox.post(Box::new(f))
    }

    /// Runs `f` on the reactor thread and waits for its result (Twisted's
    /// `blockingCallFromThread`).
    ///
    /// # Errors
    ///
    /// [`OnReactorThread`](ThreadCallError::OnReactorThread) when called on the reactor's
    /// thread; [`ReactorClosed`](ThreadCallError::ReactorClosed) or
    /// [`NotRun`](ThreadCallError::NotRun) if the call cannot complete.
    pub fn blocking_call_from_thread<T, F>(&self, f: F) -> Result<T, ThreadCallError>
    where
        T: Send + 'static,
        F: FnOnce(&Reactor) -> T + Send + 'static,
    {
        if thread::current().id() == self.mailbox.owner {
            return Err(ThreadCallError::OnReactorThread);
        }
        let (tx, rx) = mpsc::sync_channel(1);
        self.call_from_thread(move |reactor| {
            let _ = tx.send(f(reactor));
        })?;
        rx.recv().map_err(|_| ThreadCallError::NotRun)
    }

    /// Asks the reactor to stop (a `stop()` posted from this thread; a reactor that is not
    /// running ignores it).
    ///
    /// # Errors
    ///
    /// As for [`call_from_thread`](ThreadHandle::call_from_thread).
    pub fn stop(&self) -> Result<(), ThreadCallError> {
        self.call_from_thread(|reactor| {
            let _ = reactor.stop();
        })
    }
}

impl fmt::Debug for ThreadHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadHandle")
            .field("closed", &self.mailbox.closed.load(Ordering::Relaxed))
            .finish()
    }
}

type Job = Box<dyn FnOnce() + Send>;

struct PoolState {
    jobs: VecDeque<Job>,
    idle: usize,
    stopping: bool,
}

struct PoolShared {
    state: Mutex<PoolState>,
    cond: Condvar,
}

/// A bounded pool of worker threads, started lazily (Twisted's reactor thread pool).
pub(crate) struct ThreadPool {
    shared: Arc<PoolShared>,
    threads: Vec<JoinHandle<()>>,
    max_threads: usize,
}

impl ThreadPool {
    pub(crate) fn new(max_threads: usize) -> ThreadPool {
        ThreadPool {
            shared: Arc::new(PoolShared {
                state: Mutex::new(PoolState {
                    jobs: VecDeque::new(),
                    idle: 0,
                    stopping: false,
                }),
                cond: Condvar::new(),
            }),
            threads: Vec::new(),
            max_threads: max_threads.max(1),
        }
    }

    pub(crate) fn set_max_threads(&mut self, n: usize) {
        self.max_threads = n.max(1);
    }

    pub(crate) fn max_threads(&self) -> usize {
        self.max_threads
    }

    pub(crate) fn started_threads(&self) -> usize {
        self.threads.len()
    }

    /// Queues a job, starting a worker if none is idle and the pool is below its size.
    pub(crate) fn submit(&mut self, job: Job) -> io::Result<()> {
        let start_worker = {
            let mut state = self.shared.state.lock().unwrap_or_else(|e| e.into_inner());
            state.jobs.push_back(job);
            if state.idle > 0 {
                self.shared.cond.notify_one();
                false
            } else {
                self.threads.len() < self.max_threads
            }
        };
        if start_worker {
            let shared = self.shared.clone();
            let name = format!("torsion-pool-{}", self.threads.len());
            let handle = thread::Builder::new()
                .name(name)
                .spawn(move || worker(&shared))?;
            self.threads.push(handle);
        }
        Ok(())
    }

    /// Lets the workers finish the queued jobs, then joins them. The pool can be used again
    /// afterwards (it starts new workers on demand).
    pub(crate) fn stop(&mut self) {
        {
            let mut state = self.shared.state.lock().unwrap_or_else(|e| e.into_inner());
            state.stopping = true;
            self.shared.cond.notify_all();
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        let mut state = self.shared.state.lock().unwrap_or_else(|e| e.into_inner());
        state.stopping = false;
    }
}

fn worker(shared: &PoolShared) {
    loop {
        let job = {
            let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                if let Some(job) = state.jobs.pop_front() {
                    break Some(job);
                }
                if state.stopping {
                    break None;
                }
                state.idle += 1;
                state = shared.cond.wait(state).unwrap_or_else(|e| e.into_inner());
                state.idle -= 1;
            }
        };
        match job {
            // A panicking job must not take the worker down with it; the job's own wrapper
            // reports the panic to whoever waits for the result.
            Some(job) => {
                let _ = catch_unwind(AssertUnwindSafe(job));
            }
            None => return,
        }
    }
}

impl fmt::Debug for ThreadPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadPool")
            .field("threads", &self.threads.len())
            .field("max_threads", &self.max_threads)
            .finish()
    }
}

/// Threads: the thread pool and the way results come back (Twisted's `IReactorThreads`).
impl Reactor {
    /// A `Send` handle other threads use to post calls to this reactor.
    pub fn thread_handle(&self) -> ThreadHandle {
        ThreadHandle {
            mailbox: self.inner.mailbox.clone(),
        }
    }

    /// Runs `f` on the reactor's thread pool (Twisted's `callInThread`). The pool starts
    /// threads on demand, up to its size, and is stopped (after finishing queued work) when
    /// the reactor shuts down.
    ///
    /// # Errors
    ///
    /// If a worker thread cannot be spawned, or the reactor is closed.
    pub fn call_in_thread<F: FnOnce() + Send + 'static>(&self, f: F) -> io::Result<()> {
        if self.inner.flags.closed.get() {
            return Err(closed_error());
        }
        self.inner.pool.borrow_mut().submit(Box::new(f))
    }

    /// Runs `f` on the thread pool and `then` with its result (or its panic) back on the
    /// reactor thread. The building block of `defer_to_thread`.
    ///
    /// # Errors
    ///
    /// As for [`call_in_thread`](Reactor::call_in_thread).
    pub fn call_in_thread_then<T, F, G>(&self, f: F, then: G) -> io::Result<()>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
        G: FnOnce(&Reactor, thread::Result<T>) + 'static,
    {
        let id = self.inner.next_completion.get();
        self.inner.next_completion.set(id + 1);
        let completion: Completion = Box::new(move |reactor, any| {
            let result = *any
                .downcast::<thread::Result<T>>()
                .expect("completion result has the job's type");
            then(reactor, result)
        });
        self.inner.completions.borrow_mut().insert(id, completion);
        let handle = self.thread_handle();
        let job = move || {
            let result = catch_unwind(AssertUnwindSafe(f));
            let boxed: Box<dyn std::any::Any + Send> = Box::new(result);
            let _ = handle.call_from_thread(move |reactor| reactor.complete(id, boxed));
        };
        if let Err(e) = self.call_in_thread(job) {
            let dropped = self.inner.completions.borrow_mut().remove(&id);
            drop(dropped);
            return Err(e);
        }
        Ok(())
    }

    /// Runs `f` on the thread pool and returns a Deferred that fires, on the reactor
    /// thread, with its result (Twisted's `deferToThread`). An `Err` from `f` becomes the
    /// Deferred's failure; so does a panic.
    ///
    /// # Examples
    ///
    /// ```
    /// use torsion::Reactor;
    ///
    /// let reactor = Reactor::new()?;
    /// let r = reactor.clone();
    /// let sum = reactor
    ///     .defer_to_thread(|| Ok::<_, std::io::Error>((1..=100u32).sum::<u32>()))
    ///     .add_callback(move |sum| {
    ///         r.stop().unwrap();
    ///         Ok(sum)
    ///     });
    /// reactor.run()?;
    /// assert_eq!(sum.take_result().unwrap().unwrap(), 5050);
    /// # reactor.close();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[track_caller]
    pub fn defer_to_thread<T, E, F>(&self, f: F) -> Deferred<T>
    where
        T: Send + 'static,
        E: std::error::Error + Send + 'static,
        F: FnOnce() -> Result<T, E> + Send + 'static,
    {
        let d = Deferred::new();
        let target = d.clone();
        let submitted = self.call_in_thread_then(f, move |_, result| {
            let result = match result {
                Ok(Ok(value)) => Ok(value),
                Ok(Err(e)) => Err(Failure::new(e)),
                Err(panic) => Err(Failure::msg(format!(
                    "the function given to defer_to_thread panicked: {}",
                    panic_message(&*panic)
                ))),
            };
            let _ = target.fire(result);
        });
        if let Err(e) = submitted {
            let _ = d.errback(Failure::new(e));
        }
        d
    }

    fn complete(&self, id: u64, result: Box<dyn std::any::Any + Send>) {
        let completion = self.inner.completions.borrow_mut().remove(&id);
        if let Some(completion) = completion {
            completion(self, result);
        }
    }

    /// Sets the most threads the pool may start (Twisted's `suggestThreadPoolSize`).
    pub fn suggest_thread_pool_size(&self, threads: usize) {
        self.inner.pool.borrow_mut().set_max_threads(threads);
    }

    /// The pool's size limit and the number of workers started now.
    pub fn thread_pool_stats(&self) -> (usize, usize) {
        let pool = self.inner.pool.borrow();
        (pool.max_threads(), pool.started_threads())
    }
}
