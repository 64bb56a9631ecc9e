//! torsion's OS layer: poller backends, the waker, signal delivery and non-blocking socket
//! calls. Every `unsafe` block of torsion lives in this crate, each with a `// SAFETY:` line
//! (enforced by `clippy::undocumented_unsafe_blocks`).
//!
//! | OS | backend | module | tested here |
//! |---|---|---|---|
//! | Linux, Android | [epoll(7)](https://man7.org/linux/man-pages/man7/epoll.7.html) | `epoll` | yes |
//! | macOS, iOS, *BSD | [kqueue(2)](https://man.freebsd.org/cgi/man.cgi?kqueue) | `kqueue` | translation logic only |
//! | every Unix | [poll(2)](https://man7.org/linux/man-pages/man2/poll.2.html) | `poll` | yes (on Linux) |
//!
//! The contract every backend meets is [`Poller`]; [`AnyPoller`] picks one at run time
//! ([`Backend::from_env`] reads `TORSION_POLLER`).
//!
//! Beside the pollers:
//!
//! - [`Waker`]: wakes a blocked wait from another thread (eventfd on Linux, a pipe
//!   elsewhere); register it under [`Token::WAKER`].
//! - [`signal`]: opt-in delivery of SIGINT, SIGTERM, … to a `Waker`
//!   ([`SignalWatch`](signal::SignalWatch)).
//! - [`socket`]: safe non-blocking, close-on-exec TCP, UDP and Unix socket calls.
//!
//! Tests: unit tests beside each module; `sys/tests/conformance.rs` (every backend).

#![deny(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

mod event;
mod interest;
mod local_fn;
mod poller;
mod token;
mod waker;

#[cfg(any(target_os = "linux", target_os = "android"))]
pub mod epoll;
pub mod kqueue;
pub mod poll;
pub mod process;
pub mod signal;
pub mod socket;

pub use event::{Event, Events};
pub use interest::{Interest, Readiness};
pub use local_fn::LocalFn;
pub use poller::{AnyPoller, Backend, Poller};
pub use token::Token;
pub use waker::Waker;
