//! The type-erased node behind every `Deferred<T>` handle, and the operations on it that
//! are not the run loop (that is `chain.rs`): firing, adding links, pausing, cancelling,
//! taking the result, and dropping without recursion.
//!
//! Borrow discipline: every function here borrows a node's `RefCell` only for short,
//! user-code-free stretches. Anything that may run user code (calling a link or a
//! canceller, waking a waker, and *dropping* a user value, closure or node) happens after
//! the borrow is released.
//!
//! Tests: `tests/defer_core.rs`, `tests/defer_chain.rs`, `tests/defer_cancel.rs`.

use std::any::{type_name, Any, TypeId};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::panic::Location;
use std::rc::{Rc, Weak};
use std::task::Waker;

use super::chain;
use super::error::{AlreadyCalled, Cancelled, ResultConsumed, TypeMismatch};
use super::unhandled::{self, UnhandledError};
use super::Failure;

/// Any value, with its type's name kept for error messages.
pub(crate) trait AnyValue: Any {
    /// `std::any::type_name` of the concrete type.
    fn type_name_dyn(&self) -> &'static str;
    /// `TypeId` of the concrete type.
    fn type_id_dyn(&self) -> TypeId;
}

impl<T: Any> AnyValue for T {
    fn type_name_dyn(&self) -> &'static str {
        type_name::<T>()
    }
    fn type_id_dyn(&self) -> TypeId {
        TypeId::of::<T>()
    }
}

/// A value of the type the chain currently carries, boxed.
pub(crate) type Value = Box<dyn AnyValue>;

/// A result as it travels down a chain.
pub(crate) type Outcome = Result<Value, Failure>;

/// Boxes a value for the chain.
pub(crate) fn erase<T: 'static>(value: T) -> Value {
    Box::new(value)
}

/// Unboxes a value; a value of another type becomes a [`TypeMismatch`] failure.
#[track_caller]
pub(crate) fn unerase<T: 'static>(value: Value) -> Result<T, Failure> {
    let found = (*value).type_name_dyn();
    let value: Box<dyn Any> = value;
    match value.downcast::<T>() {
        Ok(value) => Ok(*value),
        Err(_) => Err(Failure::new(TypeMismatch {
            expected: type_name::<T>(),
            found,
        })),
    }
}

/// Unboxes a callback input; a stale handle's mismatch becomes a failure.
pub(crate) fn input<T: 'static>(outcome: Outcome) -> Result<T, Failure> {
    outcome.and_then(unerase::<T>)
}

/// The type a node was created with (what `callback` must be given).
#[derive(Clone, Copy)]
pub(crate) struct TypeTag {
    /// Its `TypeId`.
    pub(crate) id: TypeId,
    /// Its name, for errors.
    pub(crate) name: &'static str,
}

impl TypeTag {
    /// The tag of `T`.
    pub(crate) fn of<T: 'static>() -> TypeTag {
        TypeTag {
            id: TypeId::of::<T>(),
            name: type_name::<T>(),
        }
    }
}

/// What a callback produced.
pub(crate) enum Step {
    /// A value or a failure.
    Done(Outcome),
    /// A Deferred to wait for (implicit chaining).
    Chain(Rc<Node>),
    /// The callback took the result away (await, lists); the chain is consumed.
    Consume,
}

/// A link's callback: gets the current result, produces the next.
pub(crate) type Callback = Box<dyn FnOnce(Outcome) -> Step>;

/// A canceller, adapted to the node.
pub(crate) type Canceller = Box<dyn FnOnce(&Rc<Node>)>;

/// One entry of a chain.
pub(crate) enum Link {
    /// A user callback/errback pair.
    Call(Callback),
    /// Twisted's `_CONTINUE`: hand the result to this node, which waits for us.
    Continue(Rc<Node>),
    /// `chain_deferred`: fire this node with the result (from the location given).
    Forward(Rc<Node>, &'static Location<'static>),
}

/// Where a node's result is.
pub(crate) enum Slot {
    /// Not fired yet.
    Pending,
    /// Fired; the current result.
    Ready(Outcome),
    /// A link is running with the result.
    Running,
    /// Waiting for a Deferred returned by a callback.
    Waiting(Weak<Node>),
    /// The result was moved out.
    Consumed,
}

/// The mutable part of a node.
pub(crate) struct State {
    /// The result.
    pub(crate) slot: Slot,
    /// Links not run yet, in order.
    pub(crate) links: VecDeque<Link>,
    /// Unmatched `pause()` calls.
    pub(crate) paused: u32,
    /// A run loop owns this node right now (running one of its links, or holding it on its
    /// stack); everyone else only appends.
    pub(crate) busy: bool,
    /// Cancelled without the producer's cooperation: swallow the next firing.
    pub(crate) suppress_already_called: bool,
    /// Called by `cancel` while pending; dropped once fired.
    pub(crate) canceller: Option<Canceller>,
    /// Where the node was fired, for `AlreadyCalled`.
    pub(crate) fired_at: Option<&'static Location<'static>>,
    /// The task awaiting this node (usually the only one).
    pub(crate) waker: Option<Waker>,
    /// Further awaiting tasks, if clones are awaited in several places.
    pub(crate) extra_wakers: Vec<Waker>,
}

/// The shared, type-erased core of a Deferred.
pub(crate) struct Node {
    /// Everything that changes.
    pub(crate) state: RefCell<State>,
    /// Where the Deferred was created.
    pub(crate) created_at: &'static Location<'static>,
    /// The type `callback` takes.
    pub(crate) input: TypeTag,
}

impl Node {
    /// A pending node.
    pub(crate) fn new(input: TypeTag, created_at: &'static Location<'static>) -> Rc<Node> {
        Node::with_slot(input, created_at, Slot::Pending, None)
    }

    /// A node fired at creation (`succeed`, `fail`).
    pub(crate) fn new_fired(
        input: TypeTag,
        outcome: Outcome,
        created_at: &'static Location<'static>,
    ) -> Rc<Node> {
        Node::with_slot(input, created_at, Slot::Ready(outcome), Some(created_at))
    }

    fn with_slot(
        input: TypeTag,
        created_at: &'static Location<'static>,
        slot: Slot,
        fired_at: Option<&'static Location<'static>>,
    ) -> Rc<Node> {
        Rc::new(Node {
            state: RefCell::new(State {
                slot,
                links: VecDeque::new(),
                paused: 0,
                busy: false,
                suppress_already_called: false,
                canceller: None,
                fired_at,
                waker: None,
                extra_wakers: Vec::new(),
            }),
            created_at,
            input,
        })
    }
}

/// Is `st` a fired result with nothing left to run (so it can be taken)?
pub(crate) fn quiescent(st: &State) -> bool {
    !st.busy && st.paused == 0 && st.links.is_empty()
}

/// Takes every registered waker out of `st` (call them after releasing the borrow).
pub(crate) fn take_wakers(st: &mut State) -> (Option<Waker>, Vec<Waker>) {
    let extra = if st.extra_wakers.is_empty() {
        Vec::new()
    } else {
        std::mem::take(&mut st.extra_wakers)
    };
    (st.waker.take(), extra)
}

/// Wakes what [`take_wakers`] returned.
pub(crate) fn wake_all((waker, extra): (Option<Waker>, Vec<Waker>)) {
    if let Some(waker) = waker {
        waker.wake();
    }
    for waker in extra {
        waker.wake();
    }
}

/// Fires `node` with `outcome`. Swallows the firing if the node was cancelled without the
/// producer's cooperation.
pub(crate) fn fire(
    node: &Rc<Node>,
    outcome: Outcome,
    at: &'static Location<'static>,
) -> Result<(), AlreadyCalled> {
    let canceller = {
        let mut st = node.state.borrow_mut();
        if !matches!(st.slot, Slot::Pending) {
            let swallowed = st.suppress_already_called;
            let error = AlreadyCalled {
                created_at: node.created_at,
                first_fired_at: st.fired_at,
                fired_again_at: at,
            };
            st.suppress_already_called = false;
            drop(st);
            drop(outcome);
            return if swallowed { Ok(()) } else { Err(error) };
        }
        st.slot = Slot::Ready(outcome);
        st.fired_at = Some(at);
        st.canceller.take()
    };
    drop(canceller);
    chain::run(node);
    Ok(())
}

/// Appends a callback link and runs the chain if it can run now.
pub(crate) fn add_link(node: &Rc<Node>, callback: Callback) {
    let runnable = {
        let mut st = node.state.borrow_mut();
        st.links.push_back(Link::Call(callback));
        if matches!(st.slot, Slot::Consumed) && !st.busy {
            st.slot = Slot::Ready(Err(Failure::new_at(ResultConsumed, node.created_at)));
        }
        matches!(st.slot, Slot::Ready(_)) && !st.busy && st.paused == 0
    };
    if runnable {
        chain::run(node);
    }
}

/// Appends a `chain_deferred` link.
pub(crate) fn add_forward(node: &Rc<Node>, target: Rc<Node>, at: &'static Location<'static>) {
    let runnable = {
        let mut st = node.state.borrow_mut();
        st.links.push_back(Link::Forward(target, at));
        if matches!(st.slot, Slot::Consumed) && !st.busy {
            st.slot = Slot::Ready(Err(Failure::new_at(ResultConsumed, node.created_at)));
        }
        matches!(st.slot, Slot::Ready(_)) && !st.busy && st.paused == 0
    };
    if runnable {
        chain::run(node);
    }
}

/// `pause()`.
pub(crate) fn pause(node: &Rc<Node>) {
    node.state.borrow_mut().paused += 1;
}

/// `unpause()`: runs the chain when the count reaches zero.
pub(crate) fn unpause(node: &Rc<Node>) {
    let run = {
        let mut st = node.state.borrow_mut();
        st.paused = st.paused.saturating_sub(1);
        st.paused == 0
    };
    if run {
        chain::run(node);
    }
}

/// `cancel()`: forwards to the innermost Deferred this one waits on, then calls its
/// canceller, then errbacks it with `Cancelled` if the canceller did not fire it.
pub(crate) fn cancel(node: &Rc<Node>, at: &'static Location<'static>) {
    let mut current = node.clone();
    loop {
        let mut st = current.state.borrow_mut();
        match &st.slot {
            Slot::Pending => {
                let canceller = st.canceller.take();
                drop(st);
                if let Some(canceller) = canceller {
                    canceller(&current);
                }
                let still_pending = {
                    let mut st = current.state.borrow_mut();
                    let pending = matches!(st.slot, Slot::Pending);
                    if pending {
                        st.suppress_already_called = true;
                    }
                    pending
                };
                if still_pending {
                    let _ = fire(&current, Err(Failure::new_at(Cancelled, at)), at);
                }
                return;
            }
            Slot::Waiting(inner) => match inner.upgrade() {
                Some(inner) => {
                    drop(st);
                    current = inner;
                }
                None => {
                    // Nobody can fire what we wait for any more: give up waiting.
                    st.slot = Slot::Ready(Err(Failure::new_at(Cancelled, at)));
                    drop(st);
                    chain::run(&current);
                    return;
                }
            },
            _ => return,
        }
    }
}

/// Takes the result if it is there and nothing is left to run; a consumed result gives
/// `ResultConsumed`. Returns `None` while the result is not available.
pub(crate) fn take_result(node: &Rc<Node>) -> Option<Outcome> {
    let (outcome, wakers) = {
        let mut st = node.state.borrow_mut();
        match st.slot {
            Slot::Ready(_) if quiescent(&st) => {}
            Slot::Consumed if quiescent(&st) => {
                return Some(Err(Failure::new_at(ResultConsumed, node.created_at)));
            }
            _ => return None,
        }
        let Slot::Ready(outcome) = std::mem::replace(&mut st.slot, Slot::Consumed) else {
            unreachable!("checked above")
        };
        (outcome, take_wakers(&mut st))
    };
    wake_all(wakers);
    Some(outcome)
}

impl Drop for Node {
    /// Reports an unhandled failure, then drops the nodes this one links to without
    /// recursing (a chain of 100,000 `Continue` links must not overflow the stack).
    fn drop(&mut self) {
        let created_at = self.created_at;
        let st = self.state.get_mut();
        let failure = match std::mem::replace(&mut st.slot, Slot::Consumed) {
            Slot::Ready(Err(failure)) => Some(failure),
            _ => None,
        };
        let mut nested = Vec::new();
        take_linked_nodes(st, &mut nested);
        if let Some(failure) = failure {
            unhandled::report(UnhandledError {
                failure,
                created_at,
            });
        }
        while let Some(node) = nested.pop() {
            if let Some(mut node) = Rc::into_inner(node) {
                take_linked_nodes(node.state.get_mut(), &mut nested);
                drop(node);
            }
        }
    }
}

/// Moves the nodes `st`'s links hold into `out`, dropping the other links.
fn take_linked_nodes(st: &mut State, out: &mut Vec<Rc<Node>>) {
    for link in std::mem::take(&mut st.links) {
        match link {
            Link::Call(callback) => drop(callback),
            Link::Continue(node) | Link::Forward(node, _) => out.push(node),
        }
    }
}
