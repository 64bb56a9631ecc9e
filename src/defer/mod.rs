//! Deferred results: Twisted's `twisted.internet.defer`, in Rust.
//!
//! A [`Deferred<T>`] is a result that is not there yet, plus a chain of callbacks and
//! errbacks to run on it. The producer fires it once, with [`Deferred::callback`] or
//! [`Deferred::errback`]; the chain runs at once if the result is there, later otherwise.
//!
//! ```
//! use torsion::defer::Deferred;
//!
//! // A producer hands out a Deferred and keeps a clone to fire it later.
//! fn fetch_port() -> (Deferred<String>, Deferred<String>) {
//!     let d = Deferred::new();
//!     (d.clone(), d)
//! }
//!
//! let (producer, d) = fetch_port();
//! let port = d
//!     .add_callback(|text| Ok(text.trim().parse::<u16>()?))   // String -> u16; `?` fails
//!     .add_errback(|failure| {
//!         failure.trap::<std::num::ParseIntError>()?;          // anything else goes on
//!         Ok(8080)                                             // back on the callback track
//!     });
//! producer.callback(" 80x ".to_string()).unwrap();
//! assert_eq!(port.take_result().unwrap().unwrap(), 8080);
//! ```
//!
//! # Design
//!
//! ```text
//!  Deferred<String> ─┐                ┌────────────── Node (Rc, type-erased) ──────────────┐
//!  Deferred<u16>   ──┼──── Rc ──────▶ │ slot: Pending | Ready(Result<Box<dyn Any>, Failure>)│
//!  (typed handles)  ─┘                │       | Running | Waiting(inner) | Consumed         │
//!                                     │ links: [Call(Box<dyn FnOnce>), Continue(outer), …] │
//!                                     │ paused, busy, canceller, waker, created_at         │
//!                                     └─────────────────────────────────────────────────────┘
//! ```
//!
//! * **Handles and nodes.** A `Deferred<T>` is an `Rc` handle on a type-erased node. The
//!   result travels as `Result<Box<dyn Any>, Failure>` and each link is a boxed closure
//!   that downcasts its input and boxes its output, so a chain can change type from link to
//!   link: [`add_callback`](Deferred::add_callback) consumes the handle and returns one
//!   typed with the callback's output, on the same node. The producer keeps a clone typed
//!   with the input type. The node records that input type, so firing through a handle of
//!   another type is an error ([`FireError::WrongType`]), and a link added through a stale
//!   handle fails with [`TypeMismatch`] instead of misbehaving. This is the price of
//!   Twisted's one-object API with static types; the alternative (a new node per link)
//!   would allocate more and lose Twisted's "callbacks added later run later" model.
//! * **What callbacks return** ([`CallbackResult`]): `Result<U, Failure>` (`Err` moves to
//!   the errback track, an errback's `Ok` moves back), `Deferred<U>` (the chain waits for
//!   it: implicit chaining), or `()`. One trait keeps one `add_callback`; because the
//!   `Result` impl fixes the error type to [`Failure`], `Ok(x)` infers and `?` converts any
//!   `std::error::Error` into a `Failure` (which records the `?`'s source location).
//! * **No recursion.** The run loop (`chain.rs`) is Twisted's `_runCallbacks`, iterative:
//!   implicit chaining switches the loop to the waiting Deferred instead of calling into
//!   it, `chain_deferred` uses an explicit stack instead of a nested `callback`, cancelling
//!   walks down to the innermost waited-on Deferred in a loop, and dropping a nest of
//!   Deferreds is iterative too. 100,000-deep chains of each kind run on a 256 KiB stack
//!   (`tests/defer_deep.rs`). Only user code that calls `callback` from inside a callback
//!   nests a loop, as deep as the user's own calls go.
//! * **Ownership follows the results.** A Deferred is kept alive by whoever will fire it
//!   (its producer; an inner Deferred holds the outer one it will resume; an input of a
//!   `DeferredList` holds the list). The reverse links, used only for cancellation (outer
//!   to inner, list to inputs, task to awaited Deferred), are weak. So there are no `Rc`
//!   cycles, and a Deferred that nobody can fire any more is freed: cancelling something
//!   that waits on it then simply gives up waiting (with [`Cancelled`]).
//! * **Results are moved, not shared.** `await`, [`take_result`](Deferred::take_result),
//!   implicit chaining and the lists move the result out; the Deferred is then *consumed*.
//!   Where Twisted would hand later callbacks `None`, here they run on the errback track
//!   with [`ResultConsumed`] (so a mistake shows up as an error, or as an unhandled-error
//!   report, instead of silence).
//! * **Failures** ([`Failure`]) wrap any error in an `Rc` (cheap to clone), can be checked
//!   and trapped by type, and carry the source location where they were made, in place of
//!   a traceback.
//!
//! # Panics in callbacks
//!
//! Callbacks report errors by returning `Err`; a **panic propagates** out of whatever fired
//! the chain (`callback`, `add_callback` on a fired Deferred, a waker...). It is not turned
//! into a `Failure`: `catch_unwind` would need `UnwindSafe` bounds on every closure, would
//! hide bugs, and costs on every call. The run loop and the executor release the nodes
//! and tasks they held while unwinding; a Deferred whose callback panicked is left with a
//! failure saying so. [`maybe_deferred`] does not catch panics either.
//!
//! # Unhandled errors
//!
//! When the last handle on a Deferred is dropped while its result is a [`Failure`] that no
//! errback consumed, the error is reported **at that moment** (Twisted waits for the
//! garbage collector), with the place the Deferred was created, through a per-thread hook:
//! [`set_unhandled_error_hook`] (the default logs with `log::error!` and prints to
//! stderr). Tests collect reports with [`testing::capture_unhandled`].
//!
//! # Async
//!
//! `Deferred<T>` is a `Future<Output = Result<T, Failure>>`. [`Deferred::from_future`]
//! runs a (non-`Send`) future on the current thread and gives a Deferred of its output,
//! so an `async fn` plays the part of `inlineCallbacks`. There is no event loop inside:
//! the future is polled at once, and when an awaited Deferred fires, its task is queued
//! on a thread-local run queue that the first waker up the stack drains (a trampoline: no
//! recursion, no re-entrant poll). Wakes from other threads go through
//! [`set_remote_wake_hook`] and [`run_remote_wakeups`], for the reactor's
//! `call_from_thread`. Waking allocates nothing (`tests/defer_alloc.rs`).
//!
//! # Re-entrancy rules
//!
//! Every operation may be called from inside a callback, a canceller, an unhandled-error
//! hook or a task, on any Deferred including the one running:
//!
//! 1. No `RefCell` borrow is held while user code runs (callbacks, cancellers, hooks,
//!    wakers, and the `Drop` of user values and closures), so no "already borrowed" panic
//!    can come from this module.
//! 2. A callback added to a Deferred whose chain is running (by one of its own callbacks,
//!    say) is appended and runs after the running callback returns, in order; never
//!    re-entrantly (Twisted's `_runningCallbacks`).
//! 3. Firing, cancelling, pausing another Deferred from a callback takes effect at once
//!    (its callbacks run before the call returns), as in Twisted; `chain_deferred`
//!    runs the target's callbacks before the source's next ones, without nesting.
//! 4. A task is never polled re-entrantly: a wake during its own poll re-polls it after the
//!    poll returns `Pending`; tasks woken while another is being polled run after it.
//!
//! # Twisted → torsion
//!
//! | Twisted (`twisted.internet.defer`) | torsion (`torsion::defer`) |
//! |---|---|
//! | `Deferred(canceller)` | [`Deferred::new`], [`Deferred::with_canceller`] |
//! | `d.callback(r)` / `d.errback(f)` | [`callback`](Deferred::callback) / [`errback`](Deferred::errback) → `Result<(), FireError>`; [`fire`](Deferred::fire) for either |
//! | `AlreadyCalledError` | `Err(`[`FireError::AlreadyCalled`]`)` (not a panic), with creation and first-firing locations |
//! | `addCallback`, `addErrback`, `addBoth`, `addCallbacks` | [`add_callback`](Deferred::add_callback), [`add_errback`](Deferred::add_errback), [`add_both`](Deferred::add_both), [`add_callbacks`](Deferred::add_callbacks) (consume the handle, return the next one) |
//! | callback returns a `Deferred` | callback returns a `Deferred<U>` |
//! | raise / return `Failure` in a callback | return `Err(failure)` (or `?`) |
//! | `chainDeferred(d2)` | [`chain_deferred(&d2)`](Deferred::chain_deferred) → `Deferred<()>` |
//! | `pause()`, `unpause()`, `cancel()`, `called`, `paused` | [`pause`](Deferred::pause), [`unpause`](Deferred::unpause), [`cancel`](Deferred::cancel), [`called()`](Deferred::called), [`paused()`](Deferred::paused) |
//! | `CancelledError`, `TimeoutError` | [`Cancelled`], [`TimedOut`] (in a `Failure`) |
//! | `Failure`, `.check`, `.trap`, `.value` | [`Failure`], [`check`](Failure::check), [`trap`](Failure::trap), [`downcast_ref`](Failure::downcast_ref) / [`error`](Failure::error) |
//! | `succeed`, `fail`, `maybeDeferred` | [`succeed`], [`fail`], [`maybe_deferred`] |
//! | `DeferredList(ds, fireOnOneCallback, fireOnOneErrback, consumeErrors)` | [`DeferredList::new`] + `.fire_on_one_errback(b)`, `.consume_errors(b)`, then `.into_deferred()` (`Vec<Result<T, Failure>>`) or `.fire_on_one_callback()` (`(index, value)`) |
//! | `gatherResults`, `FirstError` | [`gather_results`] / [`DeferredList::gather`], [`FirstError`] `{ index, failure }` |
//! | `race`, `FailureGroup` | [`race`] → `(index, value)`, [`FailureGroup`] |
//! | `DeferredLock`, `DeferredSemaphore` | [`DeferredLock`], [`DeferredSemaphore`] (`acquire` fires with `()`) |
//! | `DeferredQueue(size, backlog)`, `QueueOverflow`, `QueueUnderflow` | [`DeferredQueue::new`]`(size, backlog)`, [`QueueOverflow`] (gives the value back), [`QueueUnderflow`] |
//! | `await d`, `ensureDeferred` / `Deferred.fromCoroutine`, `inlineCallbacks` | `d.await`, [`Deferred::from_future`], an `async fn` |
//! | "Unhandled error in Deferred" (at GC) | reported when the last handle drops: [`set_unhandled_error_hook`] |
//! | trial's `successResultOf`, `failureResultOf`, `assertNoResult` | [`testing::success_result_of`], [`testing::failure_result_of`], [`testing::assert_no_result`]; [`Deferred::take_result`] |
//!
//! | `addTimeout(timeout, clock)` | [`Deferred::add_timeout`] (a timeout reaches later callbacks as [`TimedOut`]) |
//! | `task.deferLater`, `LoopingCall`, `Cooperator`, `react` | [`crate::task`] |
//! | `threads.deferToThread` | [`Reactor::defer_to_thread`](crate::Reactor::defer_to_thread) |
//!
//! Tests: unit tests in each file; `tests/defer_core.rs`, `tests/defer_chain.rs`,
//! `tests/defer_cancel.rs`, `tests/defer_list.rs`, `tests/defer_primitives.rs`,
//! `tests/defer_unhandled.rs`, `tests/defer_async.rs`, `tests/defer_deep.rs`,
//! `tests/defer_alloc.rs`; benchmarks in `benches/deferred.rs`.

mod chain;
mod deferred;
mod error;
mod executor;
mod failure;
mod future;
mod list;
mod lock;
mod node;
mod queue;
pub mod testing;
mod timeout;
mod unhandled;

pub use deferred::{fail, maybe_deferred, succeed, CallbackResult, Deferred, StepOut};
pub use error::{
    AlreadyCalled, Cancelled, CircularChain, FailureGroup, FireError, FirstError, QueueOverflow,
    QueueUnderflow, ResultConsumed, TimedOut, TypeMismatch,
};
pub use executor::{live_tasks, run_remote_wakeups, set_remote_wake_hook, RemoteWakeHook};
pub use failure::Failure;
pub use list::{gather_results, race, DeferredList};
pub use lock::{DeferredLock, DeferredSemaphore};
pub use queue::DeferredQueue;
pub use unhandled::{reset_unhandled_error_hook, set_unhandled_error_hook, UnhandledError};
