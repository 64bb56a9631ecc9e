//! torsion: Twisted's event-driven networking model on a hand-rolled epoll/kqueue reactor.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod defer;
pub use defer::{Deferred, Failure};
