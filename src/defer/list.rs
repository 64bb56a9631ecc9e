//! Waiting for several Deferreds: [`DeferredList`], [`gather_results`], [`race`].
//!
//! All three take the Deferreds **by value** and move each result out of its Deferred
//! (a Rust value has one owner; Twisted passes the same object along). What is left behind
//! in each input Deferred:
//!
//! * a value: moved into the list; the input is consumed;
//! * a failure: a clone stays in the input (so errbacks added later see it, and dropping
//!   it unhandled is reported, as in Twisted), unless `consume_errors` is set, in which case
//!   the input is consumed. `race` always consumes.
//!
//! Cancelling the combined Deferred while it is unfired cancels every input (Twisted's
//! `DeferredList.cancel`).
//!
//! Tests: `tests/defer_list.rs`.

use std::cell::RefCell;
use std::panic::Location;
use std::rc::{Rc, Weak};

use super::error::{FailureGroup, FirstError};
use super::node::{self, input, Node, Step};
use super::{Deferred, Failure};

/// Collects the results of several Deferreds (Twisted's `DeferredList`).
///
/// Configure it, then turn it into a Deferred with [`into_deferred`](Self::into_deferred)
/// (all results), [`gather`](Self::gather) (values only, first failure wins) or
/// [`fire_on_one_callback`](Self::fire_on_one_callback) (first value wins).
///
/// # Examples
///
/// ```
/// use torsion::defer::{fail, succeed, DeferredList, Failure};
///
/// let all = DeferredList::new([succeed(1), fail(Failure::msg("two")), succeed(3)])
///     .consume_errors(true)
///     .into_deferred();
/// let results = all.take_result().unwrap().unwrap();
/// assert_eq!(results.len(), 3);
/// assert_eq!(*results[0].as_ref().unwrap(), 1);
/// assert!(results[1].is_err());
/// ```
#[derive(Debug)]
#[must_use = "a DeferredList does nothing until turned into a Deferred"]
pub struct DeferredList<T> {
    /// The inputs, in order.
    deferreds: Vec<Deferred<T>>,
    /// Errback as soon as one input fails.
    fire_on_one_errback: bool,
    /// Leave no failure behind in the inputs.
    consume_errors: bool,
    /// Where the list was made (the combined Deferred's creation place).
    created_at: &'static Location<'static>,
}

impl<T: 'static> DeferredList<T> {
    /// A list over `deferreds`, with Twisted's defaults (all flags off).
    #[track_caller]
    pub fn new(deferreds: impl IntoIterator<Item = Deferred<T>>) -> DeferredList<T> {
        DeferredList {
            deferreds: deferreds.into_iter().collect(),
            fire_on_one_errback: false,
            consume_errors: false,
            created_at: Location::caller(),
        }
    }

    /// Errback with [`FirstError`] as soon as one input fails, instead of waiting for all
    /// (Twisted's `fireOnOneErrback`).
    pub fn fire_on_one_errback(mut self, yes: bool) -> DeferredList<T> {
        self.fire_on_one_errback = yes;
        self
    }

    /// Consume the inputs' failures, so none is reported as unhandled when the inputs are
    /// dropped (Twisted's `consumeErrors`). Recommended, since the list owns its inputs.
    pub fn consume_errors(mut self, yes: bool) -> DeferredList<T> {
        self.consume_errors = yes;
        self
    }

    /// A Deferred of every result, in input order, once all inputs have fired (or the
    /// first [`FirstError`] with `fire_on_one_errback`). An empty list fires at once.
    pub fn into_deferred(self) -> Deferred<Vec<Result<T, Failure>>> {
        let fire_on_one_errback = self.fire_on_one_errback;
        collect(
            self,
            || Ok(Vec::new()),
            move |state, index, result| {
                if let (Err(failure), true) = (&result, fire_on_one_errback) {
                    let failure = failure.clone();
                    state.results[index] = Some(result);
                    return Some(Err(Failure::new(FirstError { index, failure })));
                }
                state.results[index] = Some(result);
                state.all_done().then(|| Ok(state.take_all()))
            },
        )
    }

    /// A Deferred of every value, in input order; errbacks with [`FirstError`] at the first
    /// failure (Twisted's `gatherResults`).
    pub fn gather(self) -> Deferred<Vec<T>> {
        collect(
            self,
            || Ok(Vec::new()),
            |state, index, result| match result {
                Err(failure) => Some(Err(Failure::new(FirstError { index, failure }))),
                Ok(value) => {
                    state.results[index] = Some(Ok(value));
                    state.all_done().then(|| {
                        Ok(state
                            .take_all()
                            .into_iter()
                            .map(|r| r.unwrap_or_else(|_| unreachable!("only values are stored")))
                            .collect())
                    })
                }
            },
        )
    }

    /// A Deferred of the first value and its index (Twisted's `fireOnOneCallback`, whose
    /// result is `(result, index)`; here `(index, value)` as for [`race`]). If every input
    /// fails, errbacks with [`FailureGroup`] (Twisted would fire with the list of
    /// failures; an empty list errbacks at once). The other inputs are *not* cancelled;
    /// use [`race`] for that.
    pub fn fire_on_one_callback(self) -> Deferred<(usize, T)> {
        let fire_on_one_errback = self.fire_on_one_errback;
        let created_at = self.created_at;
        let empty = move || {
            Err(Failure::new_at(
                FailureGroup {
                    failures: Vec::new(),
                },
                created_at,
            ))
        };
        collect(self, empty, move |state, index, result| match result {
            Ok(value) => Some(Ok((index, value))),
            Err(failure) if fire_on_one_errback => {
                Some(Err(Failure::new(FirstError { index, failure })))
            }
            Err(failure) => {
                state.results[index] = Some(Err(failure));
                state.all_done().then(|| {
                    let failures = state
                        .take_all()
                        .into_iter()
                        .filter_map(Result::err)
                        .collect();
                    Err(Failure::new(FailureGroup { failures }))
                })
            }
        })
    }
}

/// Shorthand for `DeferredList::new(deferreds).gather()` (Twisted's `gatherResults`, with
/// `consumeErrors=False`).
///
/// # Examples
///
/// ```
/// use torsion::defer::{gather_results, succeed};
///
/// let d = gather_results([succeed(1), succeed(2)]);
/// assert_eq!(d.take_result().unwrap().unwrap(), vec![1, 2]);
/// ```
#[track_caller]
pub fn gather_results<T: 'static>(
    deferreds: impl IntoIterator<Item = Deferred<T>>,
) -> Deferred<Vec<T>> {
    DeferredList::new(deferreds).gather()
}

/// The results gathered so far.
struct Collected<T> {
    /// One slot per input.
    results: Vec<Option<Result<T, Failure>>>,
    /// How many inputs have fired.
    finished: usize,
}

impl<T> Collected<T> {
    fn all_done(&self) -> bool {
        self.finished == self.results.len()
    }

    fn take_all(&mut self) -> Vec<Result<T, Failure>> {
        self.results
            .iter_mut()
            .map(|r| r.take().unwrap_or_else(|| unreachable!("all inputs fired")))
            .collect()
    }
}

/// The machinery of a `DeferredList`: `decide` records one result and says whether (and
/// with what) the combined Deferred fires.
fn collect<T: 'static, O: 'static>(
    list: DeferredList<T>,
    empty: impl FnOnce() -> Result<O, Failure>,
    decide: impl Fn(&mut Collected<T>, usize, Result<T, Failure>) -> Option<Result<O, Failure>>
        + 'static,
) -> Deferred<O> {
    let members: Vec<Weak<Node>> = list
        .deferreds
        .iter()
        .map(|d| Rc::downgrade(&d.node))
        .collect();
    let out: Deferred<O> = cancelling_all(members, list.created_at);
    if list.deferreds.is_empty() {
        let _ = out.fire_at(empty(), list.created_at);
        return out;
    }
    let shared = Rc::new(Shared {
        collected: RefCell::new(Collected {
            results: list.deferreds.iter().map(|_| None).collect(),
            finished: 0,
        }),
        decide,
        out: out.clone(),
    });
    let consume_errors = list.consume_errors;
    for (index, d) in list.deferreds.into_iter().enumerate() {
        let shared = shared.clone();
        node::add_link(
            &d.node,
            Box::new(move |outcome| {
                let result = input::<T>(outcome);
                let left_behind = match &result {
                    Err(failure) if !consume_errors => Step::Done(Err(failure.clone())),
                    _ => Step::Consume,
                };
                shared.record(index, result);
                left_behind
            }),
        );
    }
    out
}

/// State shared by the links of one list.
struct Shared<T, O, D> {
    collected: RefCell<Collected<T>>,
    decide: D,
    out: Deferred<O>,
}

impl<T: 'static, O: 'static, D> Shared<T, O, D>
where
    D: Fn(&mut Collected<T>, usize, Result<T, Failure>) -> Option<Result<O, Failure>>,
{
    /// Records one input's result; fires the combined Deferred when `decide` says so.
    fn record(&self, index: usize, result: Result<T, Failure>) {
        if self.out.called() {
            return; // already decided (first callback/errback); drop the late result
        }
        let fire = {
            let mut collected = self.collected.borrow_mut();
            collected.finished += 1;
            (self.decide)(&mut collected, index, result)
        };
        if let Some(result) = fire {
            let _ = self.out.fire_at(result, self.out.created_at());
        }
    }
}

/// An unfired Deferred whose canceller cancels every live member.
fn cancelling_all<O: 'static>(
    members: Vec<Weak<Node>>,
    created_at: &'static Location<'static>,
) -> Deferred<O> {
    let out: Deferred<O> = Deferred::new_at(created_at);
    out.node.state.borrow_mut().canceller = Some(Box::new(move |_| {
        for member in members {
            if let Some(member) = member.upgrade() {
                node::cancel(&member, created_at);
            }
        }
    }));
    out
}

/// The first success among `deferreds`, with its index; the others are cancelled
/// (Twisted's `race`). If all fail, errbacks with a [`FailureGroup`] of their failures in
/// input order. Cancelling the result cancels every input. `race` consumes its inputs'
/// failures (losers are expected to fail with `Cancelled`). An empty input errbacks at
/// once with an empty `FailureGroup`.
///
/// # Examples
///
/// ```
/// use torsion::defer::{race, Deferred};
///
/// let slow: Deferred<&str> = Deferred::new();
/// let fast: Deferred<&str> = Deferred::new();
/// let winner = race([slow.clone(), fast.clone()]);
/// fast.callback("fast").unwrap();
/// assert_eq!(winner.take_result().unwrap().unwrap(), (1, "fast"));
/// assert!(slow.called()); // cancelled
/// ```
#[track_caller]
pub fn race<T: 'static>(deferreds: impl IntoIterator<Item = Deferred<T>>) -> Deferred<(usize, T)> {
    let created_at = Location::caller();
    let deferreds: Vec<Deferred<T>> = deferreds.into_iter().collect();
    let members: Vec<Weak<Node>> = deferreds.iter().map(|d| Rc::downgrade(&d.node)).collect();
    let out: Deferred<(usize, T)> = cancelling_all(members.clone(), created_at);
    if deferreds.is_empty() {
        let _ = out.fire_at(
            Err(Failure::new_at(
                FailureGroup {
                    failures: Vec::new(),
                },
                created_at,
            )),
            created_at,
        );
        return out;
    }
    let state = Rc::new(RefCell::new(RaceState {
        winner: None,
        failures: deferreds.iter().map(|_| None).collect(),
        failed: 0,
        members,
    }));
    for (index, d) in deferreds.into_iter().enumerate() {
        let (state, out) = (state.clone(), out.clone());
        node::add_link(
            &d.node,
            Box::new(move |outcome| {
                match input::<T>(outcome) {
                    Ok(value) => {
                        let losers = {
                            let mut st = state.borrow_mut();
                            if st.winner.is_some() {
                                return Step::Consume;
                            }
                            st.winner = Some(index);
                            let mut losers = st.members.clone();
                            losers.remove(index);
                            losers
                        };
                        for loser in losers {
                            if let Some(loser) = loser.upgrade() {
                                node::cancel(&loser, created_at);
                            }
                        }
                        let _ = out.fire_at(Ok((index, value)), created_at);
                    }
                    Err(failure) => {
                        let all_failed = {
                            let mut st = state.borrow_mut();
                            st.failures[index] = Some(failure);
                            st.failed += 1;
                            if st.failed == st.failures.len() {
                                Some(st.failures.iter_mut().filter_map(Option::take).collect())
                            } else {
                                None
                            }
                        };
                        if let Some(failures) = all_failed {
                            let group = Failure::new_at(FailureGroup { failures }, created_at);
                            let _ = out.fire_at(Err(group), created_at);
                        }
                    }
                }
                Step::Consume
            }),
        );
    }
    out
}

/// `race`'s bookkeeping.
struct RaceState {
    /// Index of the first success.
    winner: Option<usize>,
    /// Failures so far, by input index.
    failures: Vec<Option<Failure>>,
    /// How many inputs failed.
    failed: usize,
    /// Every input, to cancel the losers.
    members: Vec<Weak<Node>>,
}
