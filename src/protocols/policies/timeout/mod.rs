//! Timeouts: [`IdleTimeout`] for a whole factory's connections (Twisted's `TimeoutFactory`),
//! and [`Timeout`] / [`TimeoutMixin`] / [`WithTimeout`] for a protocol that manages its own
//! (Twisted's `TimeoutMixin`).
//!
//! # How a timer reaches a protocol
//!
//! A protocol is owned by its connection, so a timer cannot borrow it. The two halves
//! solve this differently:
//!
//! - [`IdleTimeout`] needs nothing from the wrapped protocol: its timer closes the
//!   connection through the wrapper's transport (a transport call, allowed anywhere), and
//!   the wrapper, which sees `connection_lost` first, tells the wrapped protocol the reason
//!   was [`ConnectionLost::TimedOut`](crate::protocol::ConnectionLost::TimedOut).
//! - [`TimeoutMixin::timeout_connection`] is the protocol's own code, with `&mut self`. So
//!   the protocol runs inside a [`WithTimeout`], which owns it in a `RefCell` the
//!   connection never sees: the timer borrows it from the top of the loop, where no
//!   callback of that protocol can be running.
//!
//! Neither needs a change to the transports: the "timed out" reason is the wrappers'
//! doing, and the real transport closes with its usual reason underneath.
//!
//! Tests: `tests/policies_timeout.rs`, `tests/policies_timeout_mixin.rs`.

mod idle;
mod mixin;

pub use idle::{IdleState, IdleTimeout, TimeoutFactory, DEFAULT_TIMEOUT_PERIOD};
pub use mixin::{Timeout, TimeoutMixin, WithTimeout};
