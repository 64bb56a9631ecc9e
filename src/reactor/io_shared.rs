//! What the reactor keeps for its transports: the buffer pool and the shared read buffer.

use std::cell::{Cell, RefCell};

use super::Reactor;
use crate::buffer::BufferPool;

/// Size of the buffer every read lands in: 64 KiB, Twisted's `bufferSize`.
pub(crate) const READ_BUFFER_SIZE: usize = 64 * 1024;

pub(crate) struct IoShared {
    pub(crate) pool: BufferPool,
    read_buffer: RefCell<Option<Box<[u8]>>>,
    pub(crate) stats: Counters,
}

/// Running totals, kept with plain `Cell`s (a handful of increments per message).
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) turns: Cell<u64>,
    pub(crate) polls: Cell<u64>,
    pub(crate) reads: Cell<u64>,
    pub(crate) writes: Cell<u64>,
    pub(crate) accepts: Cell<u64>,
}

/// What a reactor has done so far: turns of the loop and the system calls its transports
/// made. Useful to check batching (one write per connection per turn) and to compute
/// system calls per message in benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReactorStats {
    /// Turns of the loop.
    pub turns: u64,
    /// Waits on the poller (epoll_wait / poll / kevent).
    pub polls: u64,
    /// Reads made by transports.
    pub reads: u64,
    /// Writes (send / sendmsg) made by transports.
    pub writes: u64,
    /// Connections accepted.
    pub accepts: u64,
}

impl Counters {
    pub(crate) fn bump(cell: &Cell<u64>) {
        cell.set(cell.get() + 1);
    }
}

impl IoShared {
    pub(crate) fn new() -> IoShared {
        IoShared {
            pool: BufferPool::new(1024),
            read_buffer: RefCell::new(None),
            stats: Counters::default(),
        }
    }
}

impl Reactor {
    /// Counts of turns and transport system calls since the reactor was made.
    pub fn stats(&self) -> ReactorStats {
        let c = &self.inner.io.stats;
        ReactorStats {
            turns: c.turns.get(),
            polls: c.polls.get(),
            reads: c.reads.get(),
            writes: c.writes.get(),
            accepts: c.accepts.get(),
        }
    }

    pub(crate) fn counters(&self) -> &Counters {
        &self.inner.io.stats
    }

    /// The reactor's chunk pool for write queues.
    pub(crate) fn buffer_pool(&self) -> &BufferPool {
        &self.inner.io.pool
    }

    /// Lends the shared read buffer to `f`. The buffer is taken out while `f` runs (a
    /// nested call, which the loop never makes, would get a fresh one).
    pub(crate) fn with_read_buffer<R>(&self, f: impl FnOnce(&mut [u8]) -> R) -> R {
        let taken = self.inner.io.read_buffer.borrow_mut().take();
        let mut buf = taken.unwrap_or_else(|| vec![0u8; READ_BUFFER_SIZE].into_boxed_slice());
        let out = f(&mut buf);
        *self.inner.io.read_buffer.borrow_mut() = Some(buf);
        out
    }
}
