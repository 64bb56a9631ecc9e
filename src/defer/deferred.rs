//! [`Deferred<T>`], the typed handle, and [`CallbackResult`], what callbacks may return.
//!
//! Tests: `tests/defer_core.rs`, `tests/defer_chain.rs`, `tests/defer_cancel.rs`.

use std::fmt;
use std::marker::PhantomData;
use std::panic::Location;
use std::rc::Rc;

use super::error::{FireError, TypeMismatch};
use super::node::{self, erase, input, Node, Slot, Step, TypeTag};
use super::Failure;

/// A result that is not there yet: Twisted's `Deferred`, typed.
///
/// A `Deferred<T>` is a cheap-to-clone handle (`Rc`) on a chain of callbacks. `T` is the
/// type the chain currently ends with: [`add_callback`](Deferred::add_callback) consumes
/// the handle and returns one typed with the callback's output, on the same chain. The
/// producer keeps a clone typed with the input type and fires it with
/// [`callback`](Deferred::callback) or [`errback`](Deferred::errback).
///
/// Dropping the last handle while the result is a [`Failure`] no errback consumed reports
/// an unhandled error (see [`set_unhandled_error_hook`](super::set_unhandled_error_hook)).
///
/// # Examples
///
/// ```
/// use torsion::defer::{Deferred, Failure};
///
/// let d: Deferred<u32> = Deferred::new();
/// let producer = d.clone();
///
/// let chain = d
///     .add_callback(|n| Ok(n * 2))                      // u32 -> u32
///     .add_callback(|n| -> Result<String, Failure> {   // fails on the errback track
///         if n > 100 { Err(Failure::msg("too big")) } else { Ok(format!("got {n}")) }
///     })
///     .add_errback(|failure| Ok(format!("recovered from: {}", failure.error())));
///
/// producer.callback(21).unwrap();
/// assert_eq!(chain.take_result().unwrap().unwrap(), "got 42");
/// assert!(producer.callback(1).unwrap_err().is_already_called());
/// ```
pub struct Deferred<T> {
    /// The shared chain.
    pub(crate) node: Rc<Node>,
    /// The type the chain ends with, as far as this handle knows.
    _type: PhantomData<fn(T) -> T>,
}

/// What a callback, errback or `maybe_deferred` closure may return.
///
/// * `Result<U, Failure>`: `Ok` continues on the callback track with a `U`, `Err` moves
///   to the errback track. Inside the closure, `?` converts any error into a `Failure`.
/// * `Deferred<U>`: the chain waits for that Deferred and resumes with its result
///   (Twisted's implicit chaining).
/// * `()`: continue with `()`, for callbacks run for their effect.
///
/// This trait is sealed: the three impls above are all there is.
pub trait CallbackResult: Sized + 'static {
    /// The type the chain carries after the callback.
    type Value: 'static;

    /// The type-erased step (hidden; part of the seal).
    #[doc(hidden)]
    fn into_step(self) -> StepOut;
}

/// A callback's result, type-erased (hidden: only this crate can make one).
#[doc(hidden)]
pub struct StepOut(pub(crate) Step);

impl fmt::Debug for StepOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StepOut")
    }
}

impl<U: 'static> CallbackResult for Result<U, Failure> {
    type Value = U;
    fn into_step(self) -> StepOut {
        StepOut(Step::Done(self.map(erase)))
    }
}

impl<U: 'static> CallbackResult for Deferred<U> {
    type Value = U;
    fn into_step(self) -> StepOut {
        StepOut(Step::Chain(self.node))
    }
}

impl CallbackResult for () {
    type Value = ();
    fn into_step(self) -> StepOut {
        StepOut(Step::Done(Ok(erase(()))))
    }
}

impl<T: 'static> Deferred<T> {
    /// Wraps a node in a handle typed `T`.
    pub(crate) fn from_node(node: Rc<Node>) -> Deferred<T> {
        Deferred {
            node,
            _type: PhantomData,
        }
    }

    /// A new, unfired Deferred that takes a `T`. Records the caller's location for error
    /// reports.
    #[track_caller]
    #[must_use = "a Deferred nobody keeps can never be fired"]
    pub fn new() -> Deferred<T> {
        Deferred::from_node(Node::new(TypeTag::of::<T>(), Location::caller()))
    }

    /// A new Deferred with a canceller: [`cancel`](Deferred::cancel) calls it (once, while
    /// the Deferred is unfired) to stop the operation; it may fire the Deferred itself. If
    /// it does not, `cancel` errbacks with [`Cancelled`](super::Cancelled).
    ///
    /// # Examples
    ///
    /// ```
    /// use torsion::defer::Deferred;
    ///
    /// let d: Deferred<u32> = Deferred::with_canceller(|d| {
    ///     d.callback(0).unwrap(); // stop the work, answer with a default
    /// });
    /// d.cancel();
    /// assert_eq!(d.take_result().unwrap().unwrap(), 0);
    /// ```
    #[track_caller]
    #[must_use = "a Deferred nobody keeps can never be fired"]
    pub fn with_canceller<F>(canceller: F) -> Deferred<T>
    where
        F: FnOnce(&Deferred<T>) + 'static,
    {
        let d = Deferred::<T>::new_at(Location::caller());
        d.node.state.borrow_mut().canceller = Some(Box::new(move |node: &Rc<Node>| {
            canceller(&Deferred::from_node(node.clone()))
        }));
        d
    }

    /// `new` with an explicit creation location.
    pub(crate) fn new_at(at: &'static Location<'static>) -> Deferred<T> {
        Deferred::from_node(Node::new(TypeTag::of::<T>(), at))
    }

    /// Fires the Deferred with a value: runs the callbacks (Twisted's `callback`).
    ///
    /// # Errors
    ///
    /// [`FireError::AlreadyCalled`] if it was already fired, unless it was cancelled
    /// without the producer's cooperation: then this late result is swallowed and `Ok` is
    /// returned. [`FireError::WrongType`] if this handle is typed with something other
    /// than the type the Deferred was created with (a handle returned by `add_callback`).
    #[track_caller]
    pub fn callback(&self, value: T) -> Result<(), FireError> {
        self.fire(Ok(value))
    }

    /// Fires the Deferred with a failure: runs the errbacks (Twisted's `errback`). Takes
    /// a [`Failure`] or any error.
    ///
    /// # Errors
    ///
    /// As [`callback`](Deferred::callback).
    #[track_caller]
    pub fn errback(&self, failure: impl Into<Failure>) -> Result<(), FireError> {
        self.fire(Err(failure.into()))
    }

    /// Fires the Deferred with a value or a failure (Twisted's `callback(result)`, where
    /// a `Failure` result means errback).
    ///
    /// # Errors
    ///
    /// As [`callback`](Deferred::callback).
    #[track_caller]
    pub fn fire(&self, result: Result<T, Failure>) -> Result<(), FireError> {
        self.fire_at(result, Location::caller())
    }

    /// `fire` with an explicit location.
    pub(crate) fn fire_at(
        &self,
        result: Result<T, Failure>,
        at: &'static Location<'static>,
    ) -> Result<(), FireError> {
        if result.is_ok() && self.node.input.id != TypeTag::of::<T>().id {
            return Err(FireError::WrongType(TypeMismatch {
                expected: self.node.input.name,
                found: std::any::type_name::<T>(),
            }));
        }
        node::fire(&self.node, result.map(erase), at).map_err(FireError::AlreadyCalled)
    }

    /// Adds a callback, run with the value if the chain is on the callback track when it
    /// gets there (Twisted's `addCallback`). Failures pass it by.
    ///
    /// The callback returns a [`CallbackResult`]: `Ok(u)`, `Err(failure)`, a
    /// `Deferred<U>` to wait for, or `()`. Runs at once if the result is already there.
    ///
    /// # Examples
    ///
    /// ```
    /// use torsion::defer::{succeed, Deferred};
    ///
    /// let inner: Deferred<String> = Deferred::new();
    /// let inner_producer = inner.clone();
    /// let d = succeed(7)
    ///     .add_callback(move |_n: i32| inner)   // wait for `inner`
    ///     .add_callback(|s: String| Ok(s.len()));
    /// assert!(d.take_result().is_none());
    /// inner_producer.callback("hello".to_string()).unwrap();
    /// assert_eq!(d.take_result().unwrap().unwrap(), 5);
    /// ```
    pub fn add_callback<R, F>(self, callback: F) -> Deferred<R::Value>
    where
        F: FnOnce(T) -> R + 'static,
        R: CallbackResult,
    {
        node::add_link(
            &self.node,
            Box::new(move |outcome| match input::<T>(outcome) {
                Ok(value) => callback(value).into_step().0,
                Err(failure) => Step::Done(Err(failure)),
            }),
        );
        Deferred::from_node(self.node)
    }

    /// Adds an errback, run with the failure if the chain is on the errback track when it
    /// gets there (Twisted's `addErrback`). Returning `Ok` moves the chain back to the
    /// callback track; values pass it by.
    ///
    /// # Examples
    ///
    /// ```
    /// use torsion::defer::{fail, Deferred, Failure};
    ///
    /// let d: Deferred<u32> = fail(Failure::msg("no route"))
    ///     .add_errback(|_failure| Ok(0))          // handled: back on the callback track
    ///     .add_callback(|n| Ok(n + 1));
    /// assert_eq!(d.take_result().unwrap().unwrap(), 1);
    /// ```
    pub fn add_errback<R, F>(self, errback: F) -> Deferred<T>
    where
        F: FnOnce(Failure) -> R + 'static,
        R: CallbackResult<Value = T>,
    {
        node::add_link(
            &self.node,
            Box::new(move |outcome| match outcome {
                Ok(value) => Step::Done(Ok(value)),
                Err(failure) => errback(failure).into_step().0,
            }),
        );
        Deferred::from_node(self.node)
    }

    /// Adds a callback and an errback at the same point of the chain (Twisted's
    /// `addCallbacks`): exactly one of them runs, and the errback does not see failures
    /// from the callback.
    pub fn add_callbacks<R, E, F, G>(self, callback: F, errback: G) -> Deferred<R::Value>
    where
        F: FnOnce(T) -> R + 'static,
        G: FnOnce(Failure) -> E + 'static,
        R: CallbackResult,
        E: CallbackResult<Value = R::Value>,
    {
        node::add_link(
            &self.node,
            Box::new(move |outcome| match input::<T>(outcome) {
                Ok(value) => callback(value).into_step().0,
                Err(failure) => errback(failure).into_step().0,
            }),
        );
        Deferred::from_node(self.node)
    }

    /// Adds one function for both tracks (Twisted's `addBoth`): it gets the result as a
    /// `Result`.
    ///
    /// # Examples
    ///
    /// ```
    /// use torsion::defer::{fail, Failure};
    ///
    /// let d = fail::<u8>(Failure::msg("x")).add_both(|result| Ok(result.is_ok()));
    /// assert_eq!(d.take_result().unwrap().unwrap(), false);
    /// ```
    pub fn add_both<R, F>(self, both: F) -> Deferred<R::Value>
    where
        F: FnOnce(Result<T, Failure>) -> R + 'static,
        R: CallbackResult,
    {
        node::add_link(
            &self.node,
            Box::new(move |outcome| both(input::<T>(outcome)).into_step().0),
        );
        Deferred::from_node(self.node)
    }

    /// Makes `other` fire with this chain's result at this point (Twisted's
    /// `chainDeferred`, i.e. `add_callbacks(other.callback, other.errback)`); this chain
    /// continues with `()` (Twisted's `None`), or with a failure if `other` had already
    /// been fired.
    ///
    /// Unlike Twisted's, a long series of `chain_deferred`s does not grow the stack: the
    /// run loop switches to `other` instead of calling it.
    ///
    /// # Examples
    ///
    /// ```
    /// use torsion::defer::Deferred;
    ///
    /// let first: Deferred<u8> = Deferred::new();
    /// let second: Deferred<u8> = Deferred::new();
    /// let first_done = first.clone().chain_deferred(&second);
    /// first.callback(3).unwrap();
    /// assert_eq!(second.take_result().unwrap().unwrap(), 3);
    /// assert!(first_done.take_result().unwrap().is_ok());
    /// ```
    #[track_caller]
    pub fn chain_deferred(self, other: &Deferred<T>) -> Deferred<()> {
        node::add_forward(&self.node, other.node.clone(), Location::caller());
        Deferred::from_node(self.node)
    }

    /// Stops processing callbacks until as many [`unpause`](Deferred::unpause) calls.
    pub fn pause(&self) {
        node::pause(&self.node);
    }

    /// Undoes one [`pause`](Deferred::pause); at zero, runs the callbacks added meanwhile.
    pub fn unpause(&self) {
        node::unpause(&self.node);
    }

    /// Cancels the Deferred (Twisted's `cancel`).
    ///
    /// * Unfired: calls the canceller, if any. If that does not fire the Deferred (or
    ///   there is none), errbacks with [`Cancelled`](super::Cancelled) and swallows the
    ///   producer's late `callback`/`errback` (which then returns `Ok`).
    /// * Waiting on a Deferred returned by a callback: cancels that one instead (the
    ///   innermost, if they nest).
    /// * Otherwise (already has a result): does nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use torsion::defer::{Cancelled, Deferred};
    ///
    /// let d: Deferred<u32> = Deferred::new();
    /// d.cancel();
    /// assert!(d.callback(5).is_ok()); // the late result is swallowed
    /// assert!(d.take_result().unwrap().unwrap_err().check::<Cancelled>());
    /// ```
    #[track_caller]
    pub fn cancel(&self) {
        node::cancel(&self.node, Location::caller());
    }

    /// Has the Deferred been fired (Twisted's `called`)?
    pub fn called(&self) -> bool {
        !matches!(self.node.state.borrow().slot, Slot::Pending)
    }

    /// Is the chain stopped, by [`pause`](Deferred::pause) or because it waits for a
    /// Deferred a callback returned (Twisted's `paused`, as a flag)?
    pub fn paused(&self) -> bool {
        let st = self.node.state.borrow();
        st.paused > 0 || matches!(st.slot, Slot::Waiting(_))
    }

    /// Takes the result out if the chain has finished with one (fired, not paused, not
    /// waiting, every callback run); the Deferred is then consumed. `None` while there is
    /// no result yet. A consumed Deferred gives `Err` ([`ResultConsumed`](super::ResultConsumed)).
    ///
    /// This is the synchronous counterpart of `.await` (and what Twisted's trial helpers
    /// `successResultOf`/`failureResultOf` do).
    pub fn take_result(&self) -> Option<Result<T, Failure>> {
        node::take_result(&self.node).map(input::<T>)
    }

    /// Where the Deferred was created.
    pub fn created_at(&self) -> &'static Location<'static> {
        self.node.created_at
    }

    /// Do `a` and `b` refer to the same chain?
    pub fn ptr_eq<U: 'static>(a: &Deferred<T>, b: &Deferred<U>) -> bool {
        Rc::ptr_eq(&a.node, &b.node)
    }
}

impl<T> Clone for Deferred<T> {
    fn clone(&self) -> Deferred<T> {
        Deferred {
            node: self.node.clone(),
            _type: PhantomData,
        }
    }
}

impl<T: 'static> Default for Deferred<T> {
    #[track_caller]
    fn default() -> Deferred<T> {
        Deferred::new()
    }
}

impl<T> fmt::Debug for Deferred<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("Deferred");
        out.field("type", &std::any::type_name::<T>());
        out.field("created_at", &format_args!("{}", self.node.created_at));
        match self.node.state.try_borrow() {
            Ok(st) => {
                match &st.slot {
                    Slot::Pending => out.field("state", &"pending"),
                    Slot::Ready(Ok(_)) => out.field("state", &"has a result"),
                    Slot::Ready(Err(failure)) => out.field("failure", failure),
                    Slot::Running => out.field("state", &"running a callback"),
                    Slot::Waiting(inner) => match inner.upgrade() {
                        Some(inner) => out.field(
                            "waiting_on",
                            &format_args!("Deferred created at {}", inner.created_at),
                        ),
                        None => out.field("waiting_on", &"a dropped Deferred"),
                    },
                    Slot::Consumed => out.field("state", &"consumed"),
                };
                if st.paused > 0 {
                    out.field("paused", &st.paused);
                }
            }
            Err(_) => {
                out.field("state", &"busy");
            }
        }
        out.finish()
    }
}

/// A Deferred that already has a value (Twisted's `succeed`).
///
/// # Examples
///
/// ```
/// let d = torsion::defer::succeed("ready");
/// assert_eq!(d.take_result().unwrap().unwrap(), "ready");
/// ```
#[track_caller]
#[must_use = "dropping it drops the value"]
pub fn succeed<T: 'static>(value: T) -> Deferred<T> {
    let at = Location::caller();
    Deferred::from_node(Node::new_fired(TypeTag::of::<T>(), Ok(erase(value)), at))
}

/// A Deferred that already has a failure (Twisted's `fail`). Dropping it unhandled
/// reports the failure.
///
/// # Examples
///
/// ```
/// use torsion::defer::fail;
///
/// let d = fail::<u32>(std::io::Error::other("refused"));
/// let failure = d.take_result().unwrap().unwrap_err();
/// assert!(failure.check::<std::io::Error>());
/// ```
#[track_caller]
#[must_use = "an unhandled failure is reported when dropped"]
pub fn fail<T: 'static>(failure: impl Into<Failure>) -> Deferred<T> {
    let at = Location::caller();
    Deferred::from_node(Node::new_fired(TypeTag::of::<T>(), Err(failure.into()), at))
}

/// Calls `f` and wraps what it returns in a Deferred (Twisted's `maybeDeferred`): a
/// `Result` becomes a fired Deferred, a `Deferred` is returned as it is, `()` becomes
/// `succeed(())`.
///
/// A panic in `f` is **not** caught: it propagates, as panics in callbacks do (see the
/// module documentation). Return `Err` to fail.
///
/// # Examples
///
/// ```
/// use torsion::defer::{maybe_deferred, Failure};
///
/// let d = maybe_deferred(|| Ok::<_, Failure>("42".parse::<u8>()?));
/// assert_eq!(d.take_result().unwrap().unwrap(), 42);
/// let d = maybe_deferred(|| Ok::<_, Failure>("x".parse::<u8>()?));
/// assert!(d.take_result().unwrap().is_err());
/// ```
#[track_caller]
pub fn maybe_deferred<R, F>(f: F) -> Deferred<R::Value>
where
    F: FnOnce() -> R,
    R: CallbackResult,
{
    let at = Location::caller();
    match f().into_step().0 {
        Step::Chain(node) => Deferred::from_node(node),
        Step::Done(outcome) => {
            Deferred::from_node(Node::new_fired(TypeTag::of::<R::Value>(), outcome, at))
        }
        Step::Consume => unreachable!("CallbackResult never consumes"),
    }
}
