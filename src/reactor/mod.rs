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
use std::os::fd::AsFd;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use torsion_sys::signal::SignalWatch;
use torsion_sys::{AnyPoller, Backend, Events, Interest, LocalFn, Waker};

use crate::time::{DelayedCall, ReactorTime, TimerQueue};

pub use builder::ReactorBuilder;
pub use error::ReactorError;
pub(crate) use io_shared::Counters;
pub use io_shared::ReactorStats;
pub use sources::{IoHandler, SourceKey};
pub use threads::{ThreadCallError, ThreadHandle};
pub use triggers::{Phase, SystemEvent, TriggerId};

use sources::Sources;
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
