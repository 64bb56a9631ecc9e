//! torsion: Twisted's event-driven networking model, in Rust, on a hand-rolled
//! epoll / kqueue / poll(2) reactor with no async runtime underneath.
//!
//! # Layers
//!
//! ```text
//!  ┌──────────────────────────────────────────────────────────────────────────┐
//!  │ protocols     LineReceiver, HTTP (web), IMAP4 client ...   (sans-IO parsers)│
//!  ├──────────────────────────────────────────────────────────────────────────┤
//!  │ transports    TCP, UDP, Unix, TLS: buffers, backpressure, Protocol/Factory │
//!  ├──────────────────────────────────────────────────────────────────────────┤
//!  │ reactor       one thread's loop: timers (wheel), pending calls, dispatch   │
//!  │               Deferred / async for results; ThreadHandle to cross threads  │
//!  ├──────────────────────────────────────────────────────────────────────────┤
//!  │ torsion-sys   epoll | kqueue | poll(2) backends, waker, signals, sockets   │
//!  │               (every `unsafe` of the project lives here)                   │
//!  └──────────────────────────────────────────────────────────────────────────┘
//! ```
//!
//! Each layer only calls the one below it. Protocols never own sockets: they are fed bytes
//! and write to a transport, so they can be tested without any I/O.
//!
//! # The loop's phases
//!
//! Each turn of [`Reactor`]: **update time → run timers → run pending** (signals, calls
//! from other threads, `call_soon`, the shutdown sequence) **→ before-poll hooks** (write
//! flushes) **→ poll** (sleep until I/O, the next timer or a wake-up) **→ update time →
//! dispatch**. See [`reactor`] for the details and the re-entrancy rules, and
//! [`manual`] for the design notes and the Twisted name map.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use torsion::Reactor;
//!
//! let reactor = Reactor::new()?;
//! let r = reactor.clone();
//! reactor.call_when_running(move || {
//!     let r2 = r.clone();
//!     r.call_later(Duration::from_millis(5), move || r2.stop().unwrap());
//! });
//! reactor.run()?;
//! # reactor.close();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs, missing_debug_implementations)]
#![doc(test(attr(deny(warnings), allow(dead_code))))]

pub mod buffer;
pub mod defer;
pub mod endpoints;
pub mod mail;
pub mod manual;
pub mod protocol;
pub mod protocols;
pub mod reactor;
pub mod task;
pub mod tcp;
pub mod testing;
pub mod time;
#[cfg(feature = "tls")]
pub mod tls;
pub mod transport;
pub mod udp;
pub mod web;

pub use defer::{Deferred, Failure};
pub use reactor::Reactor;
pub use torsion_sys as sys;
