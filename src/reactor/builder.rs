//! [`ReactorBuilder`]: the reactor's few settings.
//!
//! Tests: `tests/reactor_lifecycle.rs`.

use std::io;

use torsion_sys::Backend;

use super::Reactor;

/// Settings for a new [`Reactor`].
///
/// # Examples
///
/// ```
/// use torsion::reactor::Reactor;
/// use torsion_sys::Backend;
///
/// let reactor = Reactor::builder()
///     .backend(Backend::Poll)
///     .events_capacity(256)
///     .thread_pool_size(4)
///     .build()
///     .unwrap();
/// assert_eq!(reactor.backend(), Backend::Poll);
/// ```
#[derive(Clone, Debug)]
pub struct ReactorBuilder {
    pub(crate) backend: Option<Backend>,
    pub(crate) events_capacity: usize,
    pub(crate) thread_pool_size: usize,
    pub(crate) handle_signals: bool,
    pub(crate) catch_panics: bool,
}

impl Default for ReactorBuilder {
    fn default() -> Self {
        ReactorBuilder {
            backend: None,
            events_capacity: 1024,
            thread_pool_size: 10,
            handle_signals: false,
            catch_panics: true,
        }
    }
}

impl ReactorBuilder {
    /// The defaults: the platform's best poller (or the one `TORSION_POLLER` names), 1024
    /// events per wait, up to 10 pool threads, no signal handling, panics in callbacks caught
    /// and logged.
    pub fn new() -> ReactorBuilder {
        ReactorBuilder::default()
    }

    /// Uses this poller backend instead of the default.
    pub fn backend(mut self, backend: Backend) -> Self {
        self.backend = Some(backend);
        self
    }

    /// How many readiness events one wait can return (at least 1). More ready sources than
    /// this are served on the next turn.
    pub fn events_capacity(mut self, capacity: usize) -> Self {
        self.events_capacity = capacity.max(1);
        self
    }

    /// The most worker threads `call_in_thread` may start (Twisted's default is 10).
    pub fn thread_pool_size(mut self, threads: usize) -> Self {
        self.thread_pool_size = threads.max(1);
        self
    }

    /// While [`Reactor::run`] runs, SIGINT and SIGTERM stop the reactor gracefully (the
    /// shutdown triggers run) instead of killing the process. Off by default: a library
    /// should not take over a host program's signals unasked.
    pub fn handle_signals(mut self, yes: bool) -> Self {
        self.handle_signals = yes;
        self
    }

    /// Whether a panic in a callback (timer, call-soon, I/O handler, trigger) is caught and
    /// logged so the loop goes on (on by default, as Twisted logs and goes on), or unwinds
    /// out of `run`.
    pub fn catch_panics(mut self, yes: bool) -> Self {
        self.catch_panics = yes;
        self
    }

    /// Creates the reactor.
    ///
    /// # Errors
    ///
    /// If `TORSION_POLLER` names an unknown backend, or the poller or waker cannot be made
    /// (out of descriptors, say).
    pub fn build(self) -> io::Result<Reactor> {
        Reactor::from_builder(self)
    }
}
