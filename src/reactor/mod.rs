//! The reactor: a single-threaded event loop over a poller, a timer wheel and a few queues.
//!
//! A [`Reactor`] is a value, not a global. Make one per thread that needs a loop; it is a
//! cheap-to-clone handle (`Rc`) and is not `Send`. Other threads reach it only through a
//! [`ThreadHandle`]. Unlike Twisted's, a reactor can [`run`](Reactor::run) again after it
//! stopped.
//!
//! # One turn of the loop
//!
//! ```text
//!   ┌─► 1. update time        read the monotonic clock once
//!   │   2. run timers         calls due now, in order (not those scheduled this turn)
//!   │   3. run pending        signals, calls from other threads, call_soon (bounded),
//!   │                         and the shutdown sequence once stop() was called
//!   │   4. before poll        call_before_poll hooks (transports flush their writes here)
//!   │   5. poll               sleep until I/O, the next timer or a wake-up
//!   │   6. update time
//!   └── 7. dispatch           call each ready source's handler (stale events skipped)
//! ```
//!
//! The poll timeout is zero when work is already queued, else the time to the timer wheel's
//! next deadline, else forever.
//!
//! # Re-entrancy
//!
//! Every callback (timer, pending call, I/O handler, trigger) runs with no internal borrow
//! held. From inside any of them you may schedule or cancel calls (including one due in the
//! same turn), add, change or remove sources (including the one being dispatched, or one
//! whose event is later in the same batch, which is then not delivered), post thread calls,
//! or stop the reactor. Only driving the loop itself (`run`, `iterate`) from inside it is
//! refused with [`ReactorError::AlreadyRunning`].
//!
//! Tests: `tests/reactor_lifecycle.rs`, `tests/reactor_sources.rs`,
//! `tests/reactor_threads.rs`, `tests/reactor_reentrancy.rs`.

mod builder;
mod error;
mod io_shared;
mod run;
mod sources;
mod threads;
mod triggers;

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use torsion_sys::signal::SignalWatch;
use torsion_sys::{AnyPoller, Backend, Events, Interest, LocalFn, Waker};

use crate::defer::{Deferred, Failure};
use crate::time::{DelayedCall, ReactorTime, TimerQueue};

pub use builder::ReactorBuilder;
pub use error::ReactorError;
pub(crate) use io_shared::Counters;
pub use io_shared::ReactorStats;
pub use sources::{IoHandler, SourceKey};
pub use threads::{ThreadCallError, ThreadHandle};
pub use triggers::{Phase, SystemEvent, TriggerId};

use sources::{Entry, Sources};
use threads::{Mailbox, ThreadCall, ThreadPool};
use triggers::Triggers;

/// A call handed back from the thread pool: its result, type-erased, and what to do with it.
type Completion = Box<dyn FnOnce(&Reactor, Box<dyn std::any::Any + Send>)>;

/// Loop state flags. Twisted's names in brackets.
#[derive(Debug, Default)]
struct Flags {
    /// Inside `run` and not crashed: the loop goes on [`_started`].
    started: Cell<bool>,
    /// Between "during startup" and the crash of shutdown [`running`].
    running: Cell<bool>,
    /// `stop` was called and the shutdown sequence has not finished [`_stopped`].
    stopping: Cell<bool>,
    /// `stop` was called and the shutdown event has not been fired yet [`_justStopped`].
    shutdown_due: Cell<bool>,
    /// A turn is in progress (re-entrancy guard for `run` / `iterate`).
    in_turn: Cell<bool>,
    closed: Cell<bool>,
}

pub(crate) struct Inner {
    poller: RefCell<AnyPoller>,
    events: RefCell<Events>,
    sources: RefCell<Sources>,
    timers: Rc<TimerQueue>,
    origin: Instant,
    soon: RefCell<VecDeque<LocalFn>>,
    before_poll: RefCell<VecDeque<LocalFn>>,
    mailbox: Arc<Mailbox>,
    /// Reused buffer for draining the mailbox.
    thread_calls: RefCell<Vec<ThreadCall>>,
    pool: RefCell<ThreadPool>,
    completions: RefCell<HashMap<u64, Completion>>,
    next_completion: Cell<u64>,
    triggers: RefCell<Triggers>,
    flags: Flags,
    handle_signals: bool,
    signals: RefCell<Option<SignalWatch>>,
    exit_signal: Cell<Option<i32>>,
    catch_panics: bool,
    io: io_shared::IoShared,
}

/// The event loop. See the [module docs](self) for the turn's phases and the re-entrancy
/// rules.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use torsion::reactor::Reactor;
///
/// let reactor = Reactor::new().unwrap();
/// let r = reactor.clone();
/// reactor.call_later(Duration::from_millis(10), move || {
///     println!("ten milliseconds later, at {:.3}s", r.seconds());
///     r.stop().unwrap();
/// });
/// reactor.run().unwrap();
/// ```
#[derive(Clone)]
pub struct Reactor {
    pub(crate) inner: Rc<Inner>,
}

impl Reactor {
    /// A reactor with the default settings (see [`ReactorBuilder::new`]).
    ///
    /// # Errors
    ///
    /// As for [`ReactorBuilder::build`].
    pub fn new() -> io::Result<Reactor> {
        ReactorBuilder::new().build()
    }

    /// Settings for a new reactor.
    pub fn builder() -> ReactorBuilder {
        ReactorBuilder::new()
    }

    fn from_builder(b: ReactorBuilder) -> io::Result<Reactor> {
        let backend = match b.backend {
            Some(backend) => backend,
            None => Backend::from_env()?,
        };
        let mut poller = AnyPoller::with_backend(backend)?;
        let waker = Waker::new()?;
        poller.register(waker.as_fd(), torsion_sys::Token::WAKER, Interest::READABLE)?;
        let origin = Instant::now();
        let inner = Inner {
            poller: RefCell::new(poller),
            events: RefCell::new(Events::with_capacity(b.events_capacity)),
            sources: RefCell::new(Sources::new()),
            timers: TimerQueue::new(Duration::ZERO),
            origin,
            soon: RefCell::new(VecDeque::new()),
            before_poll: RefCell::new(VecDeque::new()),
            mailbox: Mailbox::new(waker),
            thread_calls: RefCell::new(Vec::new()),
            pool: RefCell::new(ThreadPool::new(b.thread_pool_size)),
            completions: RefCell::new(HashMap::new()),
            next_completion: Cell::new(0),
            triggers: RefCell::new(Triggers::new()),
            flags: Flags::default(),
            handle_signals: b.handle_signals,
            signals: RefCell::new(None),
            exit_signal: Cell::new(None),
            catch_panics: b.catch_panics,
            io: io_shared::IoShared::new(),
        };
        // `from_future` tasks on this thread that are woken from other threads get the
        // loop's attention through the mailbox.
        let mailbox = inner.mailbox.clone();
        crate::defer::set_remote_wake_hook(Some(Arc::new(move || mailbox.wake_tasks())));
        Ok(Reactor {
            inner: Rc::new(inner),
        })
    }

    /// The poller backend in use.
    pub fn backend(&self) -> Backend {
        self.inner.poller.borrow().backend()
    }

    /// True while the reactor runs: from "during startup" until shutdown leaves the loop.
    pub fn running(&self) -> bool {
        self.inner.flags.running.get()
    }

    /// True once [`close`](Reactor::close) was called.
    pub fn is_closed(&self) -> bool {
        self.inner.flags.closed.get()
    }

    /// The signal that stopped the reactor, if one did (with signal handling on).
    pub fn exit_signal(&self) -> Option<i32> {
        self.inner.exit_signal.get()
    }

    // ----- time -----

    /// The current time since the reactor was made (monotonic). Inside a turn this is the
    /// time read at the start of the phase; outside, the clock is read afresh.
    pub fn now(&self) -> Duration {
        if !self.inner.flags.in_turn.get() {
            self.update_time();
        }
        self.inner.timers.now()
    }

    /// [`now`](Reactor::now) in seconds, as Twisted's `seconds()`.
    pub fn seconds(&self) -> f64 {
        self.now().as_secs_f64()
    }

    pub(crate) fn update_time(&self) {
        self.inner.timers.set_now(self.inner.origin.elapsed());
    }

    /// Runs `f` `delay` from now (Twisted's `callLater`). A call never runs in the turn that
    /// scheduled it, so a call that reschedules itself with no delay cannot starve I/O.
    pub fn call_later<F: FnOnce() + 'static>(&self, delay: Duration, f: F) -> DelayedCall {
        self.call_later_fn(delay, LocalFn::new(f))
    }

    fn schedule(&self, delay: Duration, f: LocalFn) -> DelayedCall {
        if !self.inner.flags.in_turn.get() {
            self.update_time();
        }
        let call = self.inner.timers.schedule(delay, f);
        if self.inner.flags.closed.get() {
            let _ = call.cancel();
        }
        call
    }

    /// Handles to every call still scheduled.
    pub fn get_delayed_calls(&self) -> Vec<DelayedCall> {
        self.inner.timers.delayed_calls()
    }

    /// Runs `f` in the next pending phase: after this callback returns and before the loop
    /// sleeps again. Calls queued by such calls run one turn later.
    pub fn call_soon<F: FnOnce() + 'static>(&self, f: F) {
        if self.inner.flags.closed.get() {
            return;
        }
        self.inner.soon.borrow_mut().push_back(LocalFn::new(f));
    }

    /// Runs `f` once, just before the loop next waits for I/O: after this turn's timers,
    /// pending calls and I/O. Transports use it to flush everything written during a turn
    /// in one system call.
    pub fn call_before_poll<F: FnOnce() + 'static>(&self, f: F) {
        if self.inner.flags.closed.get() {
            return;
        }
        self.inner
            .before_poll
            .borrow_mut()
            .push_back(LocalFn::new(f));
    }

    // ----- I/O sources -----

    /// Watches `fd` for `interest` and calls `handler` when it is ready (Twisted's
    /// `addReader` / `addWriter` in one). The caller keeps owning the descriptor and must
    /// [`remove_source`](Reactor::remove_source) it before closing it.
    ///
    /// # Errors
    ///
    /// The poller's error (say, the descriptor is already registered), or `Other` if the
    /// reactor is closed.
    pub fn add_source(
        &self,
        fd: &impl AsFd,
        interest: Interest,
        handler: Rc<dyn IoHandler>,
    ) -> io::Result<SourceKey> {
        if self.inner.flags.closed.get() {
            return Err(closed_error());
        }
        let fd = fd.as_fd();
        let key = self.inner.sources.borrow_mut().insert(Entry {
            handler,
            interest,
            in_poller: false,
            fd: fd.as_raw_fd(),
        });
        if !interest.is_empty() {
            if let Err(e) = self.inner.poller.borrow_mut().register(fd, key, interest) {
                let entry = self.inner.sources.borrow_mut().remove(key);
                drop(entry);
                return Err(e);
            }
            if let Some(entry) = self.inner.sources.borrow_mut().get_mut(key) {
                entry.in_poller = true;
            }
        }
        Ok(key)
    }

    /// Changes what a source is watched for. No system call is made if nothing changes.
    /// An empty interest takes the descriptor out of the kernel poller (so a hung-up
    /// descriptor nobody reads cannot spin the loop) while keeping its key.
    ///
    /// # Errors
    ///
    /// `NotFound` for a stale key; the poller's error otherwise.
    pub fn set_interest(
        &self,
        key: SourceKey,
        fd: &impl AsFd,
        interest: Interest,
    ) -> io::Result<()> {
        let (old, in_poller) = {
            let sources = self.inner.sources.borrow();
            let entry = sources.get(key).ok_or_else(stale_key)?;
            (entry.interest, entry.in_poller)
        };
        if old == interest && in_poller != interest.is_empty() {
            return Ok(());
        }
        let fd = fd.as_fd();
        {
            let mut poller = self.inner.poller.borrow_mut();
            match (in_poller, interest.is_empty()) {
                (true, true) => poller.deregister(fd)?,
                (true, false) => poller.reregister(fd, key, interest)?,
                (false, false) => poller.register(fd, key, interest)?,
                (false, true) => {}
            }
        }
        let mut sources = self.inner.sources.borrow_mut();
        let entry = sources.get_mut(key).ok_or_else(stale_key)?;
        entry.interest = interest;
        entry.in_poller = !interest.is_empty();
        Ok(())
    }

    /// The current interest of a source, or `None` for a stale key.
    pub fn source_interest(&self, key: SourceKey) -> Option<Interest> {
        self.inner.sources.borrow().get(key).map(|e| e.interest)
    }

    /// Stops watching a source and drops the reactor's reference to its handler. Events
    /// already collected for it in this turn are not delivered.
    ///
    /// # Errors
    ///
    /// `NotFound` for a stale key; the poller's error otherwise (the source is removed from
    /// the reactor all the same).
    pub fn remove_source(&self, key: SourceKey, fd: &impl AsFd) -> io::Result<()> {
        let entry = self
            .inner
            .sources
            .borrow_mut()
            .remove(key)
            .ok_or_else(stale_key)?;
        let result = if entry.in_poller {
            self.inner.poller.borrow_mut().deregister(fd.as_fd())
        } else {
            Ok(())
        };
        // The handler may own anything; drop it with no borrow held.
        drop(entry);
        result
    }

    /// Number of registered sources.
    pub fn source_count(&self) -> usize {
        self.inner.sources.borrow().len()
    }

    // ----- threads -----

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
        G: FnOnce(&Reactor, std::thread::Result<T>) + 'static,
    {
        let id = self.inner.next_completion.get();
        self.inner.next_completion.set(id + 1);
        let completion: Completion = Box::new(move |reactor, any| {
            let result = *any
                .downcast::<std::thread::Result<T>>()
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

    // ----- teardown -----

    /// Tears the reactor down: cancels every scheduled call, drops every queued call,
    /// handler and trigger, refuses further thread calls and stops the thread pool. A
    /// running loop leaves after the current turn.
    ///
    /// Callbacks that capture a clone of the reactor keep it alive (an `Rc` cycle);
    /// `close` breaks those cycles so the poller and waker descriptors are released once
    /// the last handle goes.
    pub fn close(&self) {
        let inner = &self.inner;
        if inner.flags.closed.replace(true) {
            return;
        }
        self.crash();
        inner.timers.cancel_all();
        let soon = std::mem::take(&mut *inner.soon.borrow_mut());
        drop(soon);
        let before = std::mem::take(&mut *inner.before_poll.borrow_mut());
        drop(before);
        // Sources are forgotten, not deregistered: the descriptors are their owners', and
        // a closed reactor never waits on its poller again.
        let keys = inner.sources.borrow().keys();
        for key in keys {
            let entry = inner.sources.borrow_mut().remove(key);
            drop(entry);
        }
        let triggers = inner.triggers.borrow_mut().take_all();
        drop(triggers);
        let calls = inner.mailbox.close();
        drop(calls);
        let completions = std::mem::take(&mut *inner.completions.borrow_mut());
        drop(completions);
        inner.pool.borrow_mut().stop();
        let signals = inner.signals.borrow_mut().take();
        drop(signals);
        crate::defer::set_remote_wake_hook(None);
    }

    /// Runs `f`, catching and logging a panic if the reactor is set to.
    pub(crate) fn guarded(&self, what: &str, f: impl FnOnce()) {
        if !self.inner.catch_panics {
            return f();
        }
        if let Err(panic) = catch_unwind(AssertUnwindSafe(f)) {
            log::error!(
                "panic in {what} caught by the reactor: {}",
                panic_message(&*panic)
            );
        }
    }
}

/// The message of a panic payload, if it is a string.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(non-string panic payload)".to_string())
}

fn stale_key() -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, "stale or unknown source key")
}

fn closed_error() -> io::Error {
    io::Error::other("the reactor is closed")
}

impl ReactorTime for Reactor {
    fn now(&self) -> Duration {
        Reactor::now(self)
    }

    fn call_later_fn(&self, delay: Duration, f: LocalFn) -> DelayedCall {
        self.schedule(delay, f)
    }

    fn get_delayed_calls(&self) -> Vec<DelayedCall> {
        Reactor::get_delayed_calls(self)
    }
}

impl fmt::Debug for Reactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reactor")
            .field("backend", &self.backend())
            .field("running", &self.running())
            .field("sources", &self.source_count())
            .field("pending_calls", &self.inner.timers.pending())
            .finish_non_exhaustive()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let calls = self.mailbox.close();
        drop(calls);
        self.pool.get_mut().stop();
    }
}
