//! Scheduling helpers: Twisted's `twisted.internet.task`, in Rust.
//!
//! * [`LoopingCall`]: call a function every interval, aligned to the start time, skipping
//!   missed calls (and counting them with [`LoopingCall::with_count`]); a function that
//!   returns a Deferred delays the next call until it fires.
//! * [`defer_later`]: a cancellable Deferred of `f()`, called after a delay.
//! * `Deferred::add_timeout` (in [`defer`](crate::defer), built on the same clocks).
//!
//! Everything here schedules through a [`ReactorTime`](crate::time::ReactorTime): the [`Reactor`](crate::Reactor) in programs, a
//! manual [`Clock`](crate::time::Clock) (Twisted's `task.Clock`, which lives in
//! [`time`](crate::time)) in tests, so tests step time by hand and never sleep.
//!
//! ```
//! use std::{cell::Cell, rc::Rc, time::Duration};
//! use torsion::task::{defer_later, LoopingCall};
//! use torsion::time::Clock;
//!
//! let clock = Clock::new();
//! let beats = Rc::new(Cell::new(0));
//! let b = beats.clone();
//! let heartbeat = LoopingCall::new(clock.clone(), move || b.set(b.get() + 1));
//! heartbeat.start(Duration::from_secs(10), false).unwrap();
//! let h = heartbeat.clone();
//! let stopped = defer_later(&clock, Duration::from_secs(35), move || Ok(h.stop()?));
//! clock.pump([Duration::from_secs(1); 60]); // a minute, a second at a time
//! assert_eq!(beats.get(), 3); // at 10, 20 and 30 s
//! assert!(stopped.take_result().unwrap().is_ok());
//! ```
//!
//! # Re-entrancy
//!
//! No `RefCell` borrow is held while user code runs (a looping function, the callbacks of
//! the Deferreds fired here). From inside any of them you may stop, reset or start the
//! same or another `LoopingCall`, or schedule and cancel calls on the clock.
//!
//! # Twisted → torsion
//!
//! | Twisted (`twisted.internet.task`) | torsion |
//! |---|---|
//! | `LoopingCall(f, *a, **kw)`, `lc.clock = clock` | [`LoopingCall::new(clock, f)`](LoopingCall::new) (the clock is any [`ReactorTime`](crate::time::ReactorTime); arguments are the closure's captures) |
//! | `LoopingCall.withCount(f)` | [`LoopingCall::with_count`] (`f(count: u64)`) |
//! | `start(interval, now=True)` → Deferred | [`start(interval, now)`](LoopingCall::start) → `Result<Deferred<LoopingCall>, LoopingCallError>` |
//! | `stop()`, `reset()`, `running`, `interval` | [`stop`](LoopingCall::stop), [`reset`](LoopingCall::reset), [`running()`](LoopingCall::running), [`interval()`](LoopingCall::interval) / [`set_interval`](LoopingCall::set_interval) |
//! | assertion on start twice / stop when stopped | [`LoopingCallError::AlreadyRunning`] / [`LoopingCallError::NotRunning`] |
//! | `deferLater(clock, delay, f, *a, **kw)` | [`defer_later(&clock, delay, f)`](defer_later) |
//! | `Clock`, `advance`, `pump` | [`time::Clock`](crate::time::Clock) |
//! | `Deferred.addTimeout(timeout, clock, onTimeoutCancel)` | [`Deferred::add_timeout`](crate::defer::Deferred::add_timeout), [`add_timeout_with`](crate::defer::Deferred::add_timeout_with) |
//!
//! Tests: `tests/task_looping.rs`, `tests/task_defer_later.rs`, `tests/task_timeout.rs`.

mod later;
mod looping;
mod work;

pub use later::defer_later;
pub use looping::{LoopingCall, LoopingCallError, WeakLoopingCall};
pub use work::{Work, WorkResult};
