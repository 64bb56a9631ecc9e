//! [`DeferredQueue`]: a queue whose `get` returns a Deferred (Twisted's `DeferredQueue`).
//!
//! Tests: `tests/defer_primitives.rs`.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::rc::{Rc, Weak};

use super::error::{QueueOverflow, QueueUnderflow};
use super::{succeed, Deferred};

/// The queue's state.
struct Inner<T> {
    /// Unfired `get`s, oldest first.
    waiting: VecDeque<Deferred<T>>,
    /// Values nobody asked for yet, oldest first.
    pending: VecDeque<T>,
    /// Most values held at once (`None`: unbounded).
    size: Option<usize>,
    /// Most waiting `get`s at once (`None`: unbounded).
    backlog: Option<usize>,
}

/// An event-driven queue: `put` values, `get` Deferreds of them.
///
/// A cheap-clone handle (`Rc`). Cancelling a pending `get` removes it from the waiters,
/// so no value is lost to it.
///
/// # Examples
///
/// ```
/// use torsion::defer::DeferredQueue;
///
/// let queue = DeferredQueue::new(Some(1), None);
/// let next = queue.get().unwrap();          // nothing there yet: waits
/// queue.put("a").unwrap();                   // goes straight to the waiting get
/// assert_eq!(next.take_result().unwrap().unwrap(), "a");
/// queue.put("b").unwrap();                   // held
/// assert_eq!(queue.put("c").unwrap_err().into_inner(), "c"); // full (size 1)
/// assert_eq!(queue.get().unwrap().take_result().unwrap().unwrap(), "b");
/// ```
pub struct DeferredQueue<T> {
    inner: Rc<RefCell<Inner<T>>>,
}

impl<T: 'static> DeferredQueue<T> {
    /// A queue holding at most `size` values and `backlog` waiting getters (`None`:
    /// unbounded), as Twisted's `DeferredQueue(size, backlog)`.
    pub fn new(size: Option<usize>, backlog: Option<usize>) -> DeferredQueue<T> {
        DeferredQueue {
            inner: Rc::new(RefCell::new(Inner {
                waiting: VecDeque::new(),
                pending: VecDeque::new(),
                size,
                backlog,
            })),
        }
    }

    /// An unbounded queue.
    pub fn unbounded() -> DeferredQueue<T> {
        DeferredQueue::new(None, None)
    }

    /// Adds a value: fires the oldest waiting `get` with it, or keeps it.
    ///
    /// # Errors
    ///
    /// [`QueueOverflow`] (with the value) if nobody waits and `size` values are held.
    pub fn put(&self, value: T) -> Result<(), QueueOverflow<T>> {
        loop {
            let waiter = {
                let mut inner = self.inner.borrow_mut();
                match inner.waiting.pop_front() {
                    Some(waiter) => waiter,
                    None => {
                        if inner.size.is_some_and(|size| inner.pending.len() >= size) {
                            return Err(QueueOverflow(value));
                        }
                        inner.pending.push_back(value);
                        return Ok(());
                    }
                }
            };
            // A waiter fired by someone else would swallow the value: skip it.
            if !waiter.called() {
                let _ = waiter.callback(value);
                return Ok(());
            }
        }
    }

    /// A Deferred of the next value: already fired if one is held, otherwise fired by a
    /// later `put`. Cancel it to stop waiting.
    ///
    /// # Errors
    ///
    /// [`QueueUnderflow`] if nothing is held and `backlog` getters already wait.
    #[track_caller]
    pub fn get(&self) -> Result<Deferred<T>, QueueUnderflow> {
        let held = self.inner.borrow_mut().pending.pop_front();
        if let Some(value) = held {
            return Ok(succeed(value));
        }
        {
            let inner = self.inner.borrow();
            if inner
                .backlog
                .is_some_and(|backlog| inner.waiting.len() >= backlog)
            {
                return Err(QueueUnderflow);
            }
        }
        let weak: Weak<RefCell<Inner<T>>> = Rc::downgrade(&self.inner);
        let d = Deferred::<T>::with_canceller(move |d| {
            let Some(inner) = weak.upgrade() else { return };
            let removed = {
                let mut inner = inner.borrow_mut();
                let position = inner.waiting.iter().position(|w| Deferred::ptr_eq(w, d));
                position.and_then(|p| inner.waiting.remove(p))
            };
            drop(removed);
        });
        self.inner.borrow_mut().waiting.push_back(d.clone());
        Ok(d)
    }

    /// How many values are held (put, not yet gotten).
    pub fn len(&self) -> usize {
        self.inner.borrow().pending.len()
    }

    /// Is no value held?
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many `get`s wait for a value.
    pub fn waiting(&self) -> usize {
        self.inner.borrow().waiting.len()
    }

    /// The most values held at once (`None`: unbounded).
    pub fn size(&self) -> Option<usize> {
        self.inner.borrow().size
    }

    /// The most waiting `get`s at once (`None`: unbounded).
    pub fn backlog(&self) -> Option<usize> {
        self.inner.borrow().backlog
    }
}

impl<T> Clone for DeferredQueue<T> {
    fn clone(&self) -> DeferredQueue<T> {
        DeferredQueue {
            inner: self.inner.clone(),
        }
    }
}

impl<T: 'static> Default for DeferredQueue<T> {
    fn default() -> DeferredQueue<T> {
        DeferredQueue::unbounded()
    }
}

impl<T> fmt::Debug for DeferredQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.inner.borrow();
        f.debug_struct("DeferredQueue")
            .field("held", &inner.pending.len())
            .field("waiting", &inner.waiting.len())
            .field("size", &inner.size)
            .field("backlog", &inner.backlog)
            .finish()
    }
}
