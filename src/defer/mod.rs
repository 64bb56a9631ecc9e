//! Deferred results: Twisted's `twisted.internet.defer`, in Rust.
//!
//! (Design notes are filled in below as the module grows.)

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
