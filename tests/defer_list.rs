//! `DeferredList`, `gather_results` and `race` (Twisted's `DeferredListTests`,
//! `test_gatherResults*`, `test_cancelDeferredList*`, `RaceTests`).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use torsion::defer::testing::{
    assert_no_result, capture_unhandled, failure_result_of, success_result_of,
};
use torsion::defer::{
    fail, gather_results, race, succeed, Cancelled, Deferred, DeferredList, Failure, FailureGroup,
    FirstError,
};

fn pending<T: 'static>(n: usize) -> Vec<Deferred<T>> {
    (0..n).map(|_| Deferred::new()).collect()
}

/// Deferreds whose cancellers count their calls (Twisted's `_setupRaceState`).
fn counted(n: usize) -> (Rc<Vec<Cell<u32>>>, Vec<Deferred<u32>>) {
    let counts = Rc::new((0..n).map(|_| Cell::new(0)).collect::<Vec<_>>());
    let ds = (0..n)
        .map(|i| {
            let counts = counts.clone();
            Deferred::with_canceller(move |_| counts[i].set(counts[i].get() + 1))
        })
        .collect();
    (counts, ds)
}

fn cancel_counts(counts: &[Cell<u32>]) -> Vec<u32> {
    counts.iter().map(Cell::get).collect()
}

#[test]
fn deferred_list_collects_every_result_in_order() {
    let ds = pending::<u8>(3);
    let ((), reports) = capture_unhandled(|| {
        let all = DeferredList::new(ds.clone()).into_deferred();
        ds[2].callback(3).unwrap();
        ds[0].callback(1).unwrap();
        assert_no_result(&all);
        ds[1].errback(Failure::msg("two")).unwrap();
        let results = success_result_of(&all);
        assert_eq!(*results[0].as_ref().unwrap(), 1);
        assert_eq!(results[1].as_ref().unwrap_err().error().to_string(), "two");
        assert_eq!(*results[2].as_ref().unwrap(), 3);
        // Without consume_errors the failure stays in its Deferred, like Twisted.
        assert_eq!(failure_result_of(&ds[1]).error().to_string(), "two");
        drop(ds);
    });
    assert!(reports.is_empty(), "{reports:?}");
}

#[test]
fn failures_left_in_inputs_are_reported_unless_consumed() {
    for consume in [false, true] {
        let ((), reports) = capture_unhandled(|| {
            let all = DeferredList::new([fail::<u8>(Failure::msg("lost"))])
                .consume_errors(consume)
                .into_deferred();
            assert!(success_result_of(&all)[0].is_err());
        });
        assert_eq!(reports.len(), usize::from(!consume), "consume={consume}");
    }
}

#[test]
fn empty_deferred_list_fires_at_once() {
    let all = DeferredList::<u8>::new([]).into_deferred();
    assert!(success_result_of(&all).is_empty());
    assert!(success_result_of(&gather_results(Vec::<Deferred<u8>>::new())).is_empty());
    let one = DeferredList::<u8>::new([]).fire_on_one_callback();
    let failure = failure_result_of(&one);
    assert!(failure
        .downcast_ref::<FailureGroup>()
        .unwrap()
        .failures
        .is_empty());
}

#[test]
fn fire_on_one_errback_gives_first_error_with_index() {
    let ds = pending::<u8>(3);
    let all = DeferredList::new(ds.clone())
        .fire_on_one_errback(true)
        .consume_errors(true)
        .into_deferred();
    ds[0].callback(0).unwrap();
    ds[2].errback(std::io::Error::other("third")).unwrap();
    let failure = failure_result_of(&all);
    let first = failure.downcast_ref::<FirstError>().unwrap();
    assert_eq!(first.index, 2);
    assert!(first.failure.check::<std::io::Error>());
    assert!(failure.to_string().starts_with("FirstError[#2, third"));
    // Later results are ignored.
    ds[1].errback(Failure::msg("late")).unwrap();
}

#[test]
fn fire_on_one_callback_gives_index_and_value() {
    let ds = pending::<&str>(3);
    let one = DeferredList::new(ds.clone())
        .consume_errors(true)
        .fire_on_one_callback();
    ds[0].errback(Failure::msg("no")).unwrap();
    assert_no_result(&one);
    ds[1].callback("yes").unwrap();
    assert_eq!(success_result_of(&one), (1, "yes"));
    assert!(!ds[2].called(), "not cancelled: that's race");
}

#[test]
fn fire_on_one_callback_when_all_fail_is_a_failure_group() {
    let one = DeferredList::new([fail::<u8>(Failure::msg("a")), fail(Failure::msg("b"))])
        .consume_errors(true)
        .fire_on_one_callback();
    let failure = failure_result_of(&one);
    let group = failure.downcast_ref::<FailureGroup>().unwrap();
    let messages: Vec<_> = group
        .failures
        .iter()
        .map(|f| f.error().to_string())
        .collect();
    assert_eq!(messages, ["a", "b"]);
}

#[test]
fn cancelling_a_deferred_list_cancels_every_input() {
    let (counts, ds) = counted(2);
    let all = DeferredList::new(ds.clone())
        .consume_errors(true)
        .into_deferred();
    all.cancel();
    assert_eq!(cancel_counts(&counts), [1, 1]);
    let results = success_result_of(&all);
    assert!(results
        .iter()
        .all(|r| r.as_ref().unwrap_err().check::<Cancelled>()));
}

#[test]
fn cancelling_a_fired_deferred_list_does_nothing() {
    let (counts, ds) = counted(2);
    let one = DeferredList::new(ds.clone())
        .consume_errors(true)
        .fire_on_one_callback();
    ds[0].callback(5).unwrap();
    one.cancel();
    assert_eq!(cancel_counts(&counts), [0, 0]);
    assert_eq!(success_result_of(&one), (0, 5));
}

#[test]
fn gather_results_gives_values_or_first_error() {
    assert_eq!(
        success_result_of(&gather_results([succeed(1), succeed(2)])),
        [1, 2]
    );
    let ((), reports) = capture_unhandled(|| {
        let d = gather_results([succeed(1), fail(std::io::Error::other("bad"))]);
        let failure = failure_result_of(&d);
        assert_eq!(failure.downcast_ref::<FirstError>().unwrap().index, 1);
    });
    // consume_errors=false, as in Twisted: the input's failure is also reported.
    assert_eq!(reports.len(), 1);
    let ((), reports) = capture_unhandled(|| {
        let d = DeferredList::new([succeed(1), fail(std::io::Error::other("bad"))])
            .consume_errors(true)
            .gather();
        failure_result_of(&d);
    });
    assert!(reports.is_empty());
}

#[test]
fn cancelling_gather_results_cancels_inputs() {
    let (counts, ds) = counted(2);
    // The producers keep their Deferreds: the list only holds them weakly.
    let d = DeferredList::new(ds.clone()).consume_errors(true).gather();
    d.cancel();
    assert_eq!(cancel_counts(&counts), [1, 1]);
    let failure = failure_result_of(&d);
    assert!(failure
        .downcast_ref::<FirstError>()
        .unwrap()
        .failure
        .check::<Cancelled>());
}

#[test]
fn continue_callback_need_not_be_first() {
    // test_continueCallbackNotFirst / test_callbackOrderPreserved
    let seen = Rc::new(RefCell::new(Vec::<String>::new()));
    let a: Deferred<&str> = Deferred::new();
    let (s, a2) = (seen.clone(), a.clone());
    let outer: Deferred<&str> = Deferred::new();
    let end = outer
        .clone()
        .add_callback(move |r| {
            s.borrow_mut().push(format!("cb {r}"));
            let d: Deferred<()> = Deferred::new();
            let (s1, s2) = (s.clone(), s.clone());
            let returner = d
                .clone()
                .add_callback(move |()| {
                    s1.borrow_mut().push("firstCallback".into());
                    gather_results([a2])
                })
                .add_callback(move |r| s2.borrow_mut().push(format!("secondCallback {r:?}")));
            d.callback(()).unwrap();
            returner
        })
        .add_callback({
            let s = seen.clone();
            move |()| s.borrow_mut().push("final".into())
        });
    outer.callback("outer").unwrap();
    assert_eq!(*seen.borrow(), ["cb outer", "firstCallback"]);
    a.callback("withers").unwrap();
    assert_eq!(
        *seen.borrow(),
        [
            "cb outer",
            "firstCallback",
            "secondCallback [\"withers\"]",
            "final"
        ]
    );
    success_result_of(&end);
}

#[test]
fn race_success_cancels_the_others() {
    for before in 0..3 {
        for after in 0..3 {
            let (counts, ds) = counted(before + 1 + after);
            let winner = race(ds.clone());
            ds[before].callback(42).unwrap();
            assert_eq!(success_result_of(&winner), (before, 42));
            let mut expected = vec![1; before + 1 + after];
            expected[before] = 0;
            assert_eq!(cancel_counts(&counts), expected);
        }
    }
}

#[test]
fn race_failure_when_all_fail_keeps_input_order() {
    let (counts, ds) = counted(3);
    let winner = race(ds.clone());
    let failures: Vec<Failure> = (0..3).map(|i| Failure::msg(format!("f{i}"))).collect();
    for i in [2, 0, 1] {
        ds[i].errback(failures[i].clone()).unwrap();
    }
    let failure = failure_result_of(&winner);
    let group = failure.downcast_ref::<FailureGroup>().unwrap();
    assert!(group
        .failures
        .iter()
        .zip(&failures)
        .all(|(a, b)| Failure::ptr_eq(a, b)));
    assert_eq!(cancel_counts(&counts), [0, 0, 0]);
}

#[test]
fn race_result_after_cancel_goes_nowhere() {
    let ((), reports) = capture_unhandled(|| {
        let ds = pending::<()>(3);
        let winner = race(ds.clone());
        ds[0].callback(()).unwrap();
        assert!(ds[1].callback(()).is_ok(), "swallowed: it was cancelled");
        success_result_of(&winner);
    });
    assert!(reports.is_empty(), "{reports:?}");
}

#[test]
fn race_loser_whose_canceller_succeeds_is_ignored() {
    let winner_d: Deferred<u32> = Deferred::new();
    let loser: Deferred<u32> = Deferred::with_canceller(|d| d.callback(99).unwrap());
    let winner = race([winner_d.clone(), loser]);
    winner_d.callback(1).unwrap();
    assert_eq!(success_result_of(&winner), (0, 1));
}

#[test]
fn cancelling_a_race_cancels_everything() {
    for n in 1..4 {
        let (counts, ds) = counted(n);
        let winner = race(ds.clone());
        winner.cancel();
        assert_eq!(cancel_counts(&counts), vec![1; n]);
        assert!(failure_result_of(&winner)
            .downcast_ref::<FailureGroup>()
            .is_some());
    }
}
