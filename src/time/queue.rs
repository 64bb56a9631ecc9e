//! [`TimerQueue`]: the scheduled calls of one reactor or [`Clock`](super::Clock), and the
//! [`DelayedCall`] handles that name them.
//!
//! Tests: `src/time/tests.rs`, `tests/timer_alloc.rs`.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use torsion_sys::LocalFn;

use super::tick::{current_tick, deadline_tick};
use super::wheel::{TimerKey, Wheel};

/// Why a [`DelayedCall`] could not be cancelled, reset or delayed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DelayedCallError {
    /// The call has already run (or is running now). Twisted's `AlreadyCalled`.
    AlreadyCalled,
    /// The call was cancelled before. Twisted's `AlreadyCancelled`.
    AlreadyCancelled,
}

impl fmt::Display for DelayedCallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DelayedCallError::AlreadyCalled => "the delayed call has already been called",
            DelayedCallError::AlreadyCancelled => "the delayed call has already been cancelled",
        })
    }
}

impl std::error::Error for DelayedCallError {}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Scheduled,
    Called,
    Cancelled,
}

struct Entry {
    /// When the call is due, exactly as asked, in nanoseconds (the wheel holds it rounded
    /// up to a tick). Kept as a `u64` to keep the entry small: good for 584 years.
    at: u64,
    /// Scheduling order, for the reactor's "not in the turn that scheduled it" rule.
    seq: u64,
    state: State,
    callback: Option<LocalFn>,
    /// Live `DelayedCall` handles. A finished entry stays (detached) while any remain, so
    /// they can still tell "called" from "cancelled".
    handles: u32,
}

/// A time in nanoseconds, saturating (without a 128-bit multiply).
fn nanos(d: Duration) -> u64 {
    d.as_secs()
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::from(d.subsec_nanos()))
}

struct Inner {
    wheel: Wheel<Entry>,
    next_seq: u64,
    /// Entries in state `Scheduled`.
    scheduled: usize,
}

/// The scheduled calls of one time source, shared by the owner and every [`DelayedCall`].
///
/// No borrow of the queue is ever held while user code runs: callbacks are taken out first
/// and called (or dropped) after the borrow ends, so a callback may schedule, cancel, reset
/// or drop any call, its own included.
pub(crate) struct TimerQueue {
    inner: RefCell<Inner>,
    /// The current time, as last set by the owner (once per reactor turn, or by `advance`).
    now: Cell<Duration>,
}

impl TimerQueue {
    pub(crate) fn new(now: Duration) -> Rc<TimerQueue> {
        Rc::new(TimerQueue {
            inner: RefCell::new(Inner {
                wheel: Wheel::new(),
                next_seq: 0,
                scheduled: 0,
            }),
            now: Cell::new(now),
        })
    }

    pub(crate) fn now(&self) -> Duration {
        self.now.get()
    }

    pub(crate) fn set_now(&self, now: Duration) {
        self.now.set(now);
    }

    /// The sequence number the next scheduled call will get.
    pub(crate) fn next_seq(&self) -> u64 {
        self.inner.borrow().next_seq
    }

    /// Number of calls still scheduled.
    pub(crate) fn pending(&self) -> usize {
        self.inner.borrow().scheduled
    }

    pub(crate) fn schedule(self: &Rc<Self>, delay: Duration, f: LocalFn) -> DelayedCall {
        let at = self.now.get().saturating_add(delay);
        let key = {
            let mut inner = self.inner.borrow_mut();
            let seq = inner.next_seq;
            inner.next_seq += 1;
            inner.scheduled += 1;
            let entry = Entry {
                at: nanos(at),
                seq,
                state: State::Scheduled,
                callback: Some(f),
                handles: 1,
            };
            inner.wheel.insert(deadline_tick(at), entry)
        };
        DelayedCall {
            queue: self.clone(),
            key,
        }
    }

    /// The time of the next wheel deadline, if any; the reactor sleeps until then.
    pub(crate) fn next_deadline(&self) -> Option<Duration> {
        self.inner
            .borrow()
            .wheel
            .next_expiration()
            .map(super::tick::tick_start)
    }

    /// True if a call is due at `now`.
    pub(crate) fn has_due(&self, now: Duration) -> bool {
        self.inner
            .borrow()
            .wheel
            .next_expiration()
            .is_some_and(|t| t <= current_tick(now))
    }

    /// Runs the calls due at `now` in order. With `before_seq`, stops at the first call
    /// scheduled at or after that sequence number (the reactor leaves calls made during this
    /// turn for the next one); without it, runs those too if due (Twisted's `Clock.advance`).
    /// Each callback is handed to `call` (which runs it, perhaps guarding against panics).
    /// Returns how many ran.
    pub(crate) fn run_due(
        &self,
        now: Duration,
        before_seq: Option<u64>,
        mut call: impl FnMut(LocalFn),
    ) -> usize {
        self.now.set(now);
        let tick = current_tick(now);
        let mut ran = 0;
        loop {
            let callback = {
                let mut guard = self.inner.borrow_mut();
                let inner = &mut *guard;
                let Some(key) = inner.wheel.peek_expired(tick) else {
                    break;
                };
                let entry = inner.wheel.get_mut(key).expect("expired key is live");
                if before_seq.is_some_and(|limit| entry.seq >= limit) {
                    break;
                }
                entry.state = State::Called;
                let callback = entry.callback.take();
                inner.scheduled -= 1;
                if entry.handles == 0 {
                    inner.wheel.remove(key);
                } else {
                    inner.wheel.detach(key);
                }
                callback
            };
            if let Some(callback) = callback {
                call(callback);
                ran += 1;
            }
        }
        ran
    }

    /// Handles to every call still scheduled, in no particular order.
    pub(crate) fn delayed_calls(self: &Rc<Self>) -> Vec<DelayedCall> {
        let keys = self.inner.borrow().scheduled_keys();
        keys.into_iter()
            .map(|key| {
                self.inner
                    .borrow_mut()
                    .wheel
                    .get_mut(key)
                    .expect("listed key is live")
                    .handles += 1;
                DelayedCall {
                    queue: self.clone(),
                    key,
                }
            })
            .collect()
    }

    /// Cancels every scheduled call (their callbacks are dropped, not run).
    pub(crate) fn cancel_all(self: &Rc<Self>) {
        for call in self.delayed_calls() {
            let _ = call.cancel();
        }
    }
}

impl Inner {
    fn scheduled_keys(&self) -> Vec<TimerKey> {
        self.wheel
            .iter()
            .filter(|(_, e)| e.state == State::Scheduled)
            .map(|(k, _)| k)
            .collect()
    }
}

impl fmt::Debug for TimerQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerQueue")
            .field("now", &self.now.get())
            .field("pending", &self.pending())
            .finish()
    }
}

/// A call scheduled with `call_later`: Twisted's `IDelayedCall`.
///
/// Cloning a handle is cheap (a reference count); every clone names the same call. Dropping
/// every handle does **not** cancel the call.
///
/// # Examples
///
/// ```
/// use std::{cell::Cell, rc::Rc, time::Duration};
/// use torsion::time::{Clock, DelayedCallError};
///
/// let clock = Clock::new();
/// let fired = Rc::new(Cell::new(false));
/// let f = fired.clone();
/// let call = clock.call_later(Duration::from_secs(5), move || f.set(true));
/// assert!(call.active());
/// call.delay(Duration::from_secs(1)).unwrap(); // now due at 6 s
/// clock.advance(Duration::from_secs(5));
/// assert!(!fired.get());
/// clock.advance(Duration::from_secs(1));
/// assert!(fired.get());
/// assert_eq!(call.cancel(), Err(DelayedCallError::AlreadyCalled));
/// ```
pub struct DelayedCall {
    queue: Rc<TimerQueue>,
    key: TimerKey,
}

impl DelayedCall {
    fn with_entry<R>(&self, f: impl FnOnce(&mut Entry) -> R) -> R {
        let mut inner = self.queue.inner.borrow_mut();
        f(inner
            .wheel
            .get_mut(self.key)
            .expect("a DelayedCall keeps its entry alive"))
    }

    fn check_scheduled(&self) -> Result<(), DelayedCallError> {
        match self.with_entry(|e| e.state) {
            State::Scheduled => Ok(()),
            State::Called => Err(DelayedCallError::AlreadyCalled),
            State::Cancelled => Err(DelayedCallError::AlreadyCancelled),
        }
    }

    /// Cancels the call: it will not run, and its closure is dropped now.
    ///
    /// # Errors
    ///
    /// [`AlreadyCalled`](DelayedCallError::AlreadyCalled) if it has run (or is running),
    /// [`AlreadyCancelled`](DelayedCallError::AlreadyCancelled) if it was cancelled before.
    pub fn cancel(&self) -> Result<(), DelayedCallError> {
        let callback = {
            let mut guard = self.queue.inner.borrow_mut();
            let inner = &mut *guard;
            let entry = inner
                .wheel
                .get_mut(self.key)
                .expect("a DelayedCall keeps its entry alive");
            match entry.state {
                State::Scheduled => {}
                State::Called => return Err(DelayedCallError::AlreadyCalled),
                State::Cancelled => return Err(DelayedCallError::AlreadyCancelled),
            }
            entry.state = State::Cancelled;
            let callback = entry.callback.take();
            inner.scheduled -= 1;
            // Scheduled entries are always queued.
            inner.wheel.detach_queued(self.key);
            callback
        };
        // Dropped outside the borrow: the closure's captures may run code on drop.
        drop(callback);
        Ok(())
    }

    /// Re-arms the call to run `delay` from now (Twisted's `reset(secondsFromNow)`).
    ///
    /// # Errors
    ///
    /// As for [`cancel`](DelayedCall::cancel).
    pub fn reset(&self, delay: Duration) -> Result<(), DelayedCallError> {
        self.check_scheduled()?;
        let at = self.queue.now().saturating_add(delay);
        self.move_to(at);
        Ok(())
    }

    /// Pushes the call back by `later` (Twisted's `delay(secondsLater)`).
    ///
    /// # Errors
    ///
    /// As for [`cancel`](DelayedCall::cancel).
    pub fn delay(&self, later: Duration) -> Result<(), DelayedCallError> {
        self.check_scheduled()?;
        let at = self.time().saturating_add(later);
        self.move_to(at);
        Ok(())
    }

    fn move_to(&self, at: Duration) {
        let mut inner = self.queue.inner.borrow_mut();
        let seq = inner.next_seq;
        inner.next_seq += 1;
        let entry = inner.wheel.get_mut(self.key).expect("live");
        entry.at = nanos(at);
        entry.seq = seq;
        inner.wheel.reschedule(self.key, deadline_tick(at));
    }

    /// True until the call runs or is cancelled.
    pub fn active(&self) -> bool {
        self.with_entry(|e| e.state == State::Scheduled)
    }

    /// True once the call has run (or while it runs).
    pub fn called(&self) -> bool {
        self.with_entry(|e| e.state == State::Called)
    }

    /// True if the call was cancelled.
    pub fn cancelled(&self) -> bool {
        self.with_entry(|e| e.state == State::Cancelled)
    }

    /// When the call is (or was) due, on its clock's time line.
    pub fn time(&self) -> Duration {
        self.with_entry(|e| Duration::from_nanos(e.at))
    }

    /// [`time`](DelayedCall::time) in seconds, as Twisted's `getTime()`.
    pub fn get_time(&self) -> f64 {
        self.time().as_secs_f64()
    }
}

impl Clone for DelayedCall {
    fn clone(&self) -> Self {
        self.with_entry(|e| e.handles += 1);
        DelayedCall {
            queue: self.queue.clone(),
            key: self.key,
        }
    }
}

impl Drop for DelayedCall {
    fn drop(&mut self) {
        // Never fails: the queue is borrowed only by code that runs no user code (and so
        // drops no handle) while it holds the borrow.
        let Ok(mut inner) = self.queue.inner.try_borrow_mut() else {
            debug_assert!(false, "DelayedCall dropped while its queue was borrowed");
            return;
        };
        let Some(entry) = inner.wheel.get_mut(self.key) else {
            return;
        };
        entry.handles -= 1;
        if entry.handles == 0 && entry.state != State::Scheduled {
            // The callback is gone already (run or cancelled): nothing user-made is dropped.
            inner.wheel.free(self.key);
        }
    }
}

impl PartialEq for DelayedCall {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.queue, &other.queue) && self.key == other.key
    }
}

impl Eq for DelayedCall {}

impl fmt::Debug for DelayedCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (at, state) = self.with_entry(|e| (Duration::from_nanos(e.at), e.state));
        f.debug_struct("DelayedCall")
            .field("time", &at)
            .field("state", &state)
            .finish()
    }
}
