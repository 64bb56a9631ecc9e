//! [`DeferredLock`] and [`DeferredSemaphore`]: mutual exclusion and limited concurrency
//! for event-driven code (Twisted's `DeferredLock`, `DeferredSemaphore`).
//!
//! Both are cheap-clone handles (`Rc`). Acquiring returns a Deferred that fires with `()`
//! once the lock or a token is yours (Twisted fires with the lock itself; you already have
//! it here); cancelling a pending acquisition removes it from the waiters. `run(f)`
//! acquires, calls `f`, and releases when the Deferred `f` returns has fired, whatever
//! its outcome.
//!
//! Tests: `tests/defer_primitives.rs`.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::rc::{Rc, Weak};

use super::{maybe_deferred, CallbackResult, Deferred, Failure};

/// Waiters shared by the lock and the semaphore: unfired acquisitions in arrival order.
struct Waiters {
    /// Pending acquisitions.
    queue: VecDeque<Deferred<()>>,
    /// Free tokens (a lock has one).
    tokens: usize,
    /// Tokens in all.
    limit: usize,
}

/// The shared core of both primitives.
#[derive(Clone)]
struct Tokens(Rc<RefCell<Waiters>>);

impl Tokens {
    fn new(limit: usize) -> Tokens {
        Tokens(Rc::new(RefCell::new(Waiters {
            queue: VecDeque::new(),
            tokens: limit,
            limit,
        })))
    }

    #[track_caller]
    fn acquire(&self) -> Deferred<()> {
        let weak: Weak<RefCell<Waiters>> = Rc::downgrade(&self.0);
        let d = Deferred::<()>::with_canceller(move |d| {
            let Some(waiters) = weak.upgrade() else {
                return;
            };
            let removed = {
                let mut waiters = waiters.borrow_mut();
                let position = waiters.queue.iter().position(|w| Deferred::ptr_eq(w, d));
                position.and_then(|p| waiters.queue.remove(p))
            };
            drop(removed);
        });
        let granted = {
            let mut waiters = self.0.borrow_mut();
            if waiters.tokens > 0 {
                waiters.tokens -= 1;
                true
            } else {
                waiters.queue.push_back(d.clone());
                false
            }
        };
        if granted {
            let _ = d.callback(());
        }
        d
    }

    /// Returns a token, handing it straight to the first live waiter if there is one.
    #[track_caller]
    fn release(&self, what: &str) {
        {
            let mut waiters = self.0.borrow_mut();
            assert!(
                waiters.tokens < waiters.limit,
                "{what} released more often than acquired"
            );
            waiters.tokens += 1;
        }
        loop {
            let next = {
                let mut waiters = self.0.borrow_mut();
                if waiters.tokens == 0 {
                    return;
                }
                match waiters.queue.pop_front() {
                    Some(next) => {
                        waiters.tokens -= 1;
                        next
                    }
                    None => return,
                }
            };
            if next.callback(()).is_ok() {
                return;
            }
            // Fired by someone else meanwhile: give the token back and try the next one.
            self.0.borrow_mut().tokens += 1;
        }
    }

    fn state(&self) -> (usize, usize, usize) {
        let waiters = self.0.borrow();
        (waiters.tokens, waiters.limit, waiters.queue.len())
    }
}

/// Acquire, run `f`, release once its Deferred fires.
fn run_with<R, F>(tokens: &Tokens, what: &'static str, f: F) -> Deferred<R::Value>
where
    F: FnOnce() -> R + 'static,
    R: CallbackResult,
{
    let releaser = tokens.clone();
    tokens.acquire().add_callback(move |()| {
        maybe_deferred(f).add_both(move |result: Result<R::Value, Failure>| {
            releaser.release(what);
            result
        })
    })
}

/// A lock for event-driven code (Twisted's `DeferredLock`).
///
/// # Examples
///
/// ```
/// use torsion::defer::{Deferred, DeferredLock};
///
/// let lock = DeferredLock::new();
/// let slow: Deferred<u32> = Deferred::new();
/// let s = slow.clone();
/// let first = lock.run(move || s);           // holds the lock until `slow` fires
/// let second = lock.run(|| Ok(2));            // waits for the lock
/// assert!(lock.locked() && !second.called());
/// slow.callback(1).unwrap();
/// assert_eq!(first.take_result().unwrap().unwrap(), 1);
/// assert_eq!(second.take_result().unwrap().unwrap(), 2);
/// assert!(!lock.locked());
/// ```
#[derive(Clone)]
pub struct DeferredLock {
    tokens: Tokens,
}

impl DeferredLock {
    /// An unlocked lock.
    pub fn new() -> DeferredLock {
        DeferredLock {
            tokens: Tokens::new(1),
        }
    }

    /// A Deferred that fires with `()` once the lock is yours: at once if it is free,
    /// otherwise after the earlier holders release it. Cancel it to stop waiting.
    #[track_caller]
    pub fn acquire(&self) -> Deferred<()> {
        self.tokens.acquire()
    }

    /// Releases the lock, handing it to the next waiter if any.
    ///
    /// # Panics
    ///
    /// If the lock is not locked.
    #[track_caller]
    pub fn release(&self) {
        self.tokens.release("DeferredLock");
    }

    /// Is the lock held?
    pub fn locked(&self) -> bool {
        self.tokens.state().0 == 0
    }

    /// Acquires the lock, calls `f`, and releases the lock when what `f` returns (a
    /// `Result`, a Deferred or `()`) has a result. The returned Deferred has `f`'s result.
    #[track_caller]
    pub fn run<R, F>(&self, f: F) -> Deferred<R::Value>
    where
        F: FnOnce() -> R + 'static,
        R: CallbackResult,
    {
        run_with(&self.tokens, "DeferredLock", f)
    }
}

impl Default for DeferredLock {
    fn default() -> DeferredLock {
        DeferredLock::new()
    }
}

impl fmt::Debug for DeferredLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (_, _, waiting) = self.tokens.state();
        f.debug_struct("DeferredLock")
            .field("locked", &self.locked())
            .field("waiting", &waiting)
            .finish()
    }
}

/// A semaphore for event-driven code (Twisted's `DeferredSemaphore`): at most `limit`
/// holders at once.
///
/// # Examples
///
/// ```
/// use torsion::defer::{Deferred, DeferredSemaphore};
///
/// let sem = DeferredSemaphore::new(2);
/// let jobs: Vec<Deferred<()>> = (0..3).map(|_| Deferred::new()).collect();
/// let runs: Vec<_> = jobs.iter().map(|j| { let j = j.clone(); sem.run(move || j) }).collect();
/// assert_eq!(sem.tokens(), 0);
/// assert!(!runs[2].called());        // the third waits for a token
/// jobs[0].callback(()).unwrap();
/// jobs[2].callback(()).unwrap();     // fired early: its run only starts now
/// assert!(runs[2].called());
/// ```
#[derive(Clone)]
pub struct DeferredSemaphore {
    tokens: Tokens,
}

impl DeferredSemaphore {
    /// A semaphore with `tokens` tokens.
    ///
    /// # Panics
    ///
    /// If `tokens` is 0 (Twisted raises `ValueError`).
    pub fn new(tokens: usize) -> DeferredSemaphore {
        assert!(tokens >= 1, "DeferredSemaphore requires tokens >= 1");
        DeferredSemaphore {
            tokens: Tokens::new(tokens),
        }
    }

    /// A Deferred that fires with `()` once a token is yours. Cancel it to stop waiting.
    #[track_caller]
    pub fn acquire(&self) -> Deferred<()> {
        self.tokens.acquire()
    }

    /// Returns a token, handing it to the next waiter if any.
    ///
    /// # Panics
    ///
    /// If every token is already free (released more often than acquired).
    #[track_caller]
    pub fn release(&self) {
        self.tokens.release("DeferredSemaphore");
    }

    /// How many holders there may be at once.
    pub fn limit(&self) -> usize {
        self.tokens.state().1
    }

    /// Free tokens now (`limit` minus current holders).
    pub fn tokens(&self) -> usize {
        self.tokens.state().0
    }

    /// Acquires a token, calls `f`, and releases the token when what `f` returns has a
    /// result.
    #[track_caller]
    pub fn run<R, F>(&self, f: F) -> Deferred<R::Value>
    where
        F: FnOnce() -> R + 'static,
        R: CallbackResult,
    {
        run_with(&self.tokens, "DeferredSemaphore", f)
    }
}

impl fmt::Debug for DeferredSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (tokens, limit, waiting) = self.tokens.state();
        f.debug_struct("DeferredSemaphore")
            .field("tokens", &tokens)
            .field("limit", &limit)
            .field("waiting", &waiting)
            .finish()
    }
}
