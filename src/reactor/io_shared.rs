//! What the reactor keeps for its transports: the buffer pool, the shared read buffer, and
//! the count of ports using each factory.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use super::Reactor;
use crate::buffer::BufferPool;
use crate::protocol::Factory;

/// Size of the buffer every read lands in: 64 KiB, Twisted's `bufferSize`.
pub(crate) const READ_BUFFER_SIZE: usize = 64 * 1024;

pub(crate) struct IoShared {
    pub(crate) pool: BufferPool,
    read_buffer: RefCell<Option<Box<[u8]>>>,
    /// Factory (by address) -> ports and connectors using it.
    factories: RefCell<HashMap<*const (), usize>>,
}

impl IoShared {
    pub(crate) fn new() -> IoShared {
        IoShared {
            pool: BufferPool::new(1024),
            read_buffer: RefCell::new(None),
            factories: RefCell::new(HashMap::new()),
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

    /// A port or connector starts using `factory`: the first one calls `start_factory`.
    pub(crate) fn factory_started(&self, factory: &Rc<dyn Factory>) {
        let key = Rc::as_ptr(factory) as *const ();
        let first = {
            let mut map = self.inner.io.factories.borrow_mut();
            let n = map.entry(key).or_insert(0);
            *n += 1;
            *n == 1
        };
        if first {
            factory.start_factory();
        }
    }

    /// A port or connector stops using `factory`: the last one calls `stop_factory`.
    pub(crate) fn factory_stopped(&self, factory: &Rc<dyn Factory>) {
        let key = Rc::as_ptr(factory) as *const ();
        let last = {
            let mut map = self.inner.io.factories.borrow_mut();
            match map.get_mut(&key) {
                Some(n) if *n > 1 => {
                    *n -= 1;
                    false
                }
                Some(_) => {
                    map.remove(&key);
                    true
                }
                None => false,
            }
        };
        if last {
            factory.stop_factory();
        }
    }
}
