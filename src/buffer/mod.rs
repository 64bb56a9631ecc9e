//! Buffers for transports: a [`BufferPool`] of fixed-size chunks and the [`WriteQueue`] that
//! holds a connection's outgoing bytes in chunks from it.
//!
//! Outgoing data is copied into pooled chunks when written and leaves them through vectored
//! writes; an emptied chunk goes back to the pool, so a connection that is not sending holds
//! no buffer memory, and a busy one allocates nothing per message once the pool is warm.
//!
//! Tests: below and in `queue.rs`; `tests/tcp_alloc.rs` (no allocation per echoed message).

mod queue;

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;

pub use queue::WriteQueue;

/// The size of one chunk: 16 KiB, the largest TLS record, and big enough that a typical
/// burst of writes in one turn fits in a single chunk.
pub const CHUNK_SIZE: usize = 16 * 1024;

/// A pool of [`CHUNK_SIZE`] byte chunks, shared by the transports of one reactor.
///
/// The pool keeps at most `max_idle` free chunks; beyond that, returned chunks are freed, so
/// memory taken by a burst goes back to the system afterwards.
///
/// # Examples
///
/// ```
/// use torsion::buffer::{BufferPool, WriteQueue};
///
/// let pool = BufferPool::new(64);
/// let mut queue = WriteQueue::new();
/// queue.write(&pool, b"hello, ");
/// queue.write(&pool, b"world");
/// assert_eq!(queue.len(), 12);
/// queue.consume(&pool, 7);
/// assert_eq!(queue.to_vec(), b"world");
/// queue.consume(&pool, 5);
/// assert_eq!(pool.idle(), 1, "the emptied chunk went back to the pool");
/// ```
#[derive(Clone)]
pub struct BufferPool {
    inner: Rc<PoolInner>,
}

struct PoolInner {
    free: RefCell<Vec<Box<[u8]>>>,
    max_idle: usize,
    allocated: Cell<u64>,
}

impl BufferPool {
    /// A pool that keeps up to `max_idle` free chunks.
    pub fn new(max_idle: usize) -> BufferPool {
        BufferPool {
            inner: Rc::new(PoolInner {
                free: RefCell::new(Vec::with_capacity(max_idle)),
                max_idle,
                allocated: Cell::new(0),
            }),
        }
    }

    /// A chunk, from the free list if there is one.
    pub fn take(&self) -> Box<[u8]> {
        if let Some(chunk) = self.inner.free.borrow_mut().pop() {
            return chunk;
        }
        self.inner.allocated.set(self.inner.allocated.get() + 1);
        vec![0u8; CHUNK_SIZE].into_boxed_slice()
    }

    /// Returns a chunk taken from this pool.
    pub fn give(&self, chunk: Box<[u8]>) {
        debug_assert_eq!(chunk.len(), CHUNK_SIZE);
        let mut free = self.inner.free.borrow_mut();
        if free.len() < self.inner.max_idle {
            free.push(chunk);
        }
    }

    /// Free chunks held now.
    pub fn idle(&self) -> usize {
        self.inner.free.borrow().len()
    }

    /// Chunks ever allocated from the system by this pool.
    pub fn allocated(&self) -> u64 {
        self.inner.allocated.get()
    }
}

impl fmt::Debug for BufferPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufferPool")
            .field("idle", &self.idle())
            .field("max_idle", &self.inner.max_idle)
            .field("allocated", &self.allocated())
            .finish()
    }
}
