//! What the reactor keeps for its transports: the buffer pool and the shared read buffer.

use std::cell::RefCell;

use super::Reactor;
use crate::buffer::BufferPool;

/// Size of the buffer every read lands in: 64 KiB, Twisted's `bufferSize`.
pub(crate) const READ_BUFFER_SIZE: usize = 64 * 1024;

pub(crate) struct IoShared {
    pub(crate) pool: BufferPool,
    read_buffer: RefCell<Option<Box<[u8]>>>,
}

impl IoShared {
    pub(crate) fn new() -> IoShared {
        IoShared {
            pool: BufferPool::new(1024),
            read_buffer: RefCell::new(None),
        }
    }
}

impl Reactor {
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
