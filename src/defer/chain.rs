//! The run loop: Twisted's `Deferred._runCallbacks`, iterative.
//!
//! One call of [`run`] processes a node's links in order. Three things would recurse in a
//! naive implementation, and none does here:
//!
//! * **Implicit chaining** (a callback returns a Deferred that has not fired). The outer
//!   node goes to [`Slot::Waiting`] and a [`Link::Continue`] naming it is appended to the
//!   inner node. When the inner node reaches that link, the loop moves the result across
//!   and *switches* to the outer node (`current = outer`): no new stack frame, however
//!   deep the nesting.
//! * **An inner Deferred that already has its result** is stolen on the spot (its result
//!   moves to the outer node and the inner one is consumed), as Twisted does.
//! * **`chain_deferred`** ([`Link::Forward`]): instead of calling the target's `callback`
//!   (which would run its chain in a nested loop), the loop stores the result in the
//!   target, pushes the current node on its own `stack` and switches to the target; when
//!   the target has run as far as it can, the loop pops back. A chain of 100,000
//!   `chain_deferred`s runs in constant stack depth, in the same order as Twisted's
//!   synchronous calls.
//!
//! A node owned by a loop is `busy` (running one of its links or suspended on a loop's
//! stack); `run` on a busy node returns at once, since the owning loop will get to the new
//! links. This is Twisted's `_runningCallbacks`.
//!
//! Only a user callback that itself calls `callback()` on another Deferred starts a nested
//! loop; its depth is that of the user's own calls.
//!
//! Tests: `tests/defer_chain.rs`, `tests/defer_deep.rs`.

use std::rc::Rc;

use super::error::{CircularChain, FireError, ResultConsumed, TypeMismatch};
use super::node::{
    erase, quiescent, take_wakers, wake_all, Link, Node, Outcome, Slot, State, Step,
};
use super::Failure;

/// Runs `node`'s chain as far as it can go now, unless a loop already owns it.
pub(crate) fn run(node: &Rc<Node>) {
    {
        let mut st = node.state.borrow_mut();
        if st.busy || st.paused > 0 || !matches!(st.slot, Slot::Ready(_) | Slot::Consumed) {
            return;
        }
        if matches!(st.slot, Slot::Consumed) && st.links.is_empty() {
            return;
        }
        st.busy = true;
    }
    let mut run_loop = RunLoop {
        current: Some(node.clone()),
        stack: Vec::new(),
    };
    run_loop.run();
}

/// What stopped the processing of one node.
enum Transition {
    /// Nothing more can run on it now (no links, paused, waiting or consumed).
    Finished,
    /// A `Continue` link handed its result to `outer`; `more` is true when links were
    /// added to the (now consumed) node after it was chained, and must still run.
    HandOff { outer: Rc<Node>, more: bool },
    /// A `Forward` link fired `target`, which can run now.
    Forward(Rc<Node>),
}

/// The loop's own state; on a panic its `Drop` releases the nodes it owned.
struct RunLoop {
    /// The node being processed (busy).
    current: Option<Rc<Node>>,
    /// Nodes suspended by a `Forward`, to resume afterwards (all busy).
    stack: Vec<Rc<Node>>,
}

impl RunLoop {
    fn run(&mut self) {
        // `current` stays in `self` while it is processed, so a panic releases it.
        while let Some(current) = self.current.clone() {
            match process(&current) {
                Transition::Finished => {
                    finish(&current);
                    self.current = self.stack.pop();
                }
                Transition::HandOff { outer, more } => {
                    if more {
                        self.stack.push(current);
                    } else {
                        finish(&current);
                    }
                    let runnable = {
                        let mut st = outer.state.borrow_mut();
                        let runnable = !st.busy && st.paused == 0;
                        if runnable {
                            st.busy = true;
                        }
                        runnable
                    };
                    self.current = if runnable {
                        Some(outer)
                    } else {
                        // Paused by its user: `unpause` will run it.
                        self.stack.pop()
                    };
                }
                Transition::Forward(target) => {
                    self.stack.push(current);
                    self.current = Some(target);
                }
            }
        }
    }
}

impl Drop for RunLoop {
    /// A callback panicked: release every node this loop owned, so they can be dropped and
    /// inspected; a node whose callback was running gets a failure saying so.
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        for node in self.current.iter().chain(self.stack.iter()) {
            if let Ok(mut st) = node.state.try_borrow_mut() {
                st.busy = false;
                if matches!(st.slot, Slot::Running) {
                    st.slot =
                        Slot::Ready(Err(Failure::new_at(PanickedInCallback, node.created_at)));
                }
            }
        }
    }
}

/// The failure left on a Deferred whose callback panicked.
#[derive(Debug)]
struct PanickedInCallback;

impl std::fmt::Display for PanickedInCallback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a callback of this Deferred panicked")
    }
}

impl std::error::Error for PanickedInCallback {}

/// Releases a node the loop is done with, waking its awaiters if the result can be taken.
fn finish(node: &Rc<Node>) {
    let wakers = {
        let mut st = node.state.borrow_mut();
        st.busy = false;
        let takeable = match st.slot {
            Slot::Ready(_) | Slot::Consumed => quiescent(&st),
            _ => false,
        };
        if !takeable || (st.waker.is_none() && st.extra_wakers.is_empty()) {
            return;
        }
        take_wakers(&mut st)
    };
    wake_all(wakers);
}

/// Takes the current result out of `st` (which must be `Ready`), leaving `replacement`.
fn take_outcome(st: &mut State, replacement: Slot) -> Outcome {
    match std::mem::replace(&mut st.slot, replacement) {
        Slot::Ready(outcome) => outcome,
        _ => unreachable!("take_outcome on a node without a result"),
    }
}

/// Runs `node`'s links until one of the [`Transition`]s.
fn process(node: &Rc<Node>) -> Transition {
    loop {
        let link = {
            let mut st = node.state.borrow_mut();
            if st.paused > 0 {
                return Transition::Finished;
            }
            match st.slot {
                Slot::Ready(_) => {}
                Slot::Consumed if !st.links.is_empty() => {
                    // Links added after the result was moved out see that as a failure.
                    st.slot = Slot::Ready(Err(Failure::new_at(ResultConsumed, node.created_at)));
                }
                _ => return Transition::Finished,
            }
            match st.links.pop_front() {
                Some(link) => link,
                None => return Transition::Finished,
            }
        };
        match link {
            Link::Call(callback) => {
                let input = take_outcome(&mut node.state.borrow_mut(), Slot::Running);
                let step = callback(input);
                match step {
                    Step::Done(outcome) => node.state.borrow_mut().slot = Slot::Ready(outcome),
                    Step::Consume => node.state.borrow_mut().slot = Slot::Consumed,
                    Step::Chain(inner) => {
                        if let Some(outcome) = chain_onto(node, inner) {
                            node.state.borrow_mut().slot = Slot::Ready(outcome);
                        } else {
                            return Transition::Finished;
                        }
                    }
                }
            }
            Link::Continue(outer) => {
                let (outcome, more) = {
                    let mut st = node.state.borrow_mut();
                    let outcome = take_outcome(&mut st, Slot::Consumed);
                    (outcome, !st.links.is_empty())
                };
                outer.state.borrow_mut().slot = Slot::Ready(outcome);
                return Transition::HandOff { outer, more };
            }
            Link::Forward(target, at) => {
                let outcome = take_outcome(&mut node.state.borrow_mut(), Slot::Running);
                match forward(&target, outcome, at) {
                    Ok(runnable) => {
                        node.state.borrow_mut().slot = Slot::Ready(Ok(erase(())));
                        if runnable {
                            return Transition::Forward(target);
                        }
                    }
                    Err(error) => {
                        node.state.borrow_mut().slot = Slot::Ready(Err(Failure::new_at(error, at)));
                    }
                }
            }
        }
    }
}

/// Implicit chaining: `node`'s callback returned `inner`. Returns the result to continue
/// with if `inner` already has one (stolen, as Twisted does); otherwise makes `node` wait
/// for it and returns `None`.
fn chain_onto(node: &Rc<Node>, inner: Rc<Node>) -> Option<Outcome> {
    if Rc::ptr_eq(node, &inner) {
        return Some(Err(Failure::new_at(CircularChain, node.created_at)));
    }
    let stolen = {
        let mut ist = inner.state.borrow_mut();
        match ist.slot {
            Slot::Ready(_) if quiescent(&ist) => {
                let outcome = take_outcome(&mut ist, Slot::Consumed);
                Some((outcome, take_wakers(&mut ist)))
            }
            Slot::Consumed if quiescent(&ist) => Some((
                Err(Failure::new_at(ResultConsumed, inner.created_at)),
                (None, Vec::new()),
            )),
            _ => {
                ist.links.push_back(Link::Continue(node.clone()));
                None
            }
        }
    };
    match stolen {
        Some((outcome, wakers)) => {
            wake_all(wakers);
            Some(outcome)
        }
        None => {
            node.state.borrow_mut().slot = Slot::Waiting(Rc::downgrade(&inner));
            None
        }
    }
}

/// `chain_deferred`: fires `target` with `outcome`. `Ok(true)` when the target can run
/// now (the caller switches to it; it is marked busy here).
fn forward(
    target: &Rc<Node>,
    outcome: Outcome,
    at: &'static std::panic::Location<'static>,
) -> Result<bool, FireError> {
    if let Ok(value) = &outcome {
        let found = (**value).type_id_dyn();
        if found != target.input.id {
            return Err(FireError::WrongType(TypeMismatch {
                expected: target.input.name,
                found: (**value).type_name_dyn(),
            }));
        }
    }
    let mut st = target.state.borrow_mut();
    if !matches!(st.slot, Slot::Pending) {
        let swallowed = st.suppress_already_called;
        st.suppress_already_called = false;
        let error = super::error::AlreadyCalled {
            created_at: target.created_at,
            first_fired_at: st.fired_at,
            fired_again_at: at,
        };
        drop(st);
        drop(outcome);
        return if swallowed {
            Ok(false)
        } else {
            Err(FireError::AlreadyCalled(error))
        };
    }
    st.slot = Slot::Ready(outcome);
    st.fired_at = Some(at);
    let canceller = st.canceller.take();
    let runnable = !st.busy && st.paused == 0;
    if runnable {
        st.busy = true;
    }
    drop(st);
    drop(canceller);
    Ok(runnable)
}

#[cfg(test)]
mod tests {
    use std::panic::{catch_unwind, AssertUnwindSafe};

    use crate::defer::{Deferred, Failure};

    #[test]
    fn a_panicking_callback_leaves_a_usable_deferred_with_a_failure() {
        let d: Deferred<u8> = Deferred::new();
        let end = d
            .clone()
            .add_callback(|_| -> Result<u8, Failure> { panic!("boom") });
        let caught = catch_unwind(AssertUnwindSafe(|| d.callback(1)));
        assert!(caught.is_err());
        let failure = end.take_result().unwrap().unwrap_err();
        assert!(failure.to_string().contains("panicked"), "{failure}");
        // Nothing is left borrowed or busy: the chain goes on.
        let again = d.clone().add_errback(|_| Ok(0));
        assert_eq!(again.take_result().unwrap().unwrap(), 0);
    }

    #[test]
    fn busy_node_only_appends() {
        let d: Deferred<u8> = Deferred::new();
        let handle = d.clone();
        let order = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let o = order.clone();
        let end = d.clone().add_callback(move |n| {
            let o2 = o.clone();
            drop(handle.clone().add_callback(move |m: u8| {
                o2.borrow_mut().push(("appended", m));
                Ok(m)
            }));
            o.borrow_mut().push(("running", n));
            Ok(n + 1)
        });
        d.callback(1).unwrap();
        assert_eq!(*order.borrow(), [("running", 1), ("appended", 2)]);
        assert_eq!(end.take_result().unwrap().unwrap(), 2);
    }
}
