//! Deferreds and `async`: awaiting a `Deferred<T>` (it is a
//! `Future<Output = Result<T, Failure>>`), and [`Deferred::from_future`], Twisted's
//! `Deferred.fromCoroutine` / `ensureDeferred`. An `async fn` plays the part of
//! `inlineCallbacks`.
//!
//! Awaiting registers the task's waker in the Deferred; when the chain finishes with a
//! result, the run loop wakes it, and the await takes the result out (the Deferred is then
//! consumed). Awaiting a Deferred that already has its result completes at once.
//!
//! Tests: `tests/defer_async.rs`, `tests/defer_alloc.rs`.

use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::executor;
use super::node::{self, input};
use super::{Deferred, Failure};

impl<T: 'static> Future for Deferred<T> {
    type Output = Result<T, Failure>;

    /// Ready once the chain has finished with a result (fired, not paused, not waiting,
    /// every callback run): takes it. Otherwise registers the waker (and, inside a
    /// `from_future` task, records this Deferred as the one the task awaits, so cancelling
    /// the task cancels it).
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(outcome) = node::take_result(&self.node) {
            return Poll::Ready(input::<T>(outcome));
        }
        {
            let mut st = self.node.state.borrow_mut();
            let waker = cx.waker();
            match &st.waker {
                None => st.waker = Some(waker.clone()),
                Some(registered) if registered.will_wake(waker) => {}
                Some(_) => {
                    if !st.extra_wakers.iter().any(|w| w.will_wake(waker)) {
                        st.extra_wakers.push(waker.clone());
                    }
                }
            }
        }
        executor::note_awaited(&self.node);
        Poll::Pending
    }
}

impl<T: 'static> Deferred<T> {
    /// Runs `future` on this thread and returns a Deferred of its output (Twisted's
    /// `Deferred.fromCoroutine`).
    ///
    /// The future is polled at once, and then whenever it is woken: a wake on this thread
    /// (typically an awaited Deferred firing) resumes it promptly, without an event loop;
    /// a wake from another thread goes through the hook set with
    /// [`set_remote_wake_hook`](super::set_remote_wake_hook).
    ///
    /// Cancelling the returned Deferred drops the future and cancels the Deferred it is
    /// awaiting at that moment (the last one it polled).
    ///
    /// The task lives until the future completes or is cancelled, even if every handle on
    /// the returned Deferred is dropped (like a running coroutine).
    ///
    /// # Examples
    ///
    /// ```
    /// use torsion::defer::{Deferred, Failure};
    ///
    /// async fn add_one(d: Deferred<u32>) -> Result<u32, Failure> {
    ///     Ok(d.await? + 1)
    /// }
    ///
    /// let input: Deferred<u32> = Deferred::new();
    /// let result = Deferred::from_future(add_one(input.clone()));
    /// assert!(!result.called());   // suspended in `d.await`
    /// input.callback(41).unwrap();  // resumes the task right here
    /// assert_eq!(result.take_result().unwrap().unwrap(), 42);
    /// ```
    #[track_caller]
    pub fn from_future<F>(future: F) -> Deferred<T>
    where
        F: Future<Output = Result<T, Failure>> + 'static,
    {
        let at = Location::caller();
        let id = executor::reserve();
        let out: Deferred<T> = Deferred::new_at(at);
        out.node.state.borrow_mut().canceller = Some(Box::new(move |_| executor::cancel(id, at)));
        let output = out.clone();
        executor::start(
            id,
            Box::pin(async move {
                let result = future.await;
                let _ = output.fire_at(result, at);
            }),
        );
        out
    }
}
