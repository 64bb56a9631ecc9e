//! Chaining: callbacks and errbacks returning Deferreds (implicit chaining), and
//! `chain_deferred` (explicit). Behaviour ported from Twisted's `test_defer.py`.

use std::cell::RefCell;
use std::rc::Rc;

use torsion::defer::testing::{
    assert_no_result, capture_unhandled, failure_result_of, success_result_of,
};
use torsion::defer::{fail, succeed, CircularChain, Deferred, Failure, FireError, ResultConsumed};

fn log<T>() -> Rc<RefCell<Vec<T>>> {
    Rc::new(RefCell::new(Vec::new()))
}

#[test]
fn callback_returning_a_deferred_waits_for_it() {
    // test_callbackReturnsDeferred
    let d1: Deferred<i32> = Deferred::new();
    let d2: Deferred<i32> = Deferred::new();
    d2.pause();
    let d2_handle = d2.clone();
    let seen = log();
    let s = seen.clone();
    let end = d1
        .clone()
        .add_callback(move |_| d2_handle)
        .add_callback(move |n| s.borrow_mut().push(n));
    d1.callback(1).unwrap();
    assert!(seen.borrow().is_empty());
    assert!(d1.paused(), "waiting counts as paused");
    d2.callback(2).unwrap();
    assert!(seen.borrow().is_empty(), "d2 is paused");
    d2.unpause();
    assert_eq!(*seen.borrow(), [2]);
    success_result_of(&end);
}

#[test]
fn errback_returning_a_deferred_waits_for_it_and_changes_track() {
    let d: Deferred<String> = Deferred::new();
    let d2: Deferred<String> = Deferred::new();
    let d2_handle = d2.clone();
    let end = d
        .clone()
        .add_errback(move |_| d2_handle)
        .add_callback(|s| Ok(s + "!"));
    d.errback(std::io::Error::other("x")).unwrap();
    assert_no_result(&end);
    d2.callback("result".into()).unwrap();
    assert_eq!(success_result_of(&end), "result!");
}

#[test]
fn returned_deferred_with_a_result_is_stolen() {
    // test_synchronousImplicitChain: the inner Deferred's result moves to the outer one.
    let first = succeed(7);
    let second: Deferred<()> = Deferred::new();
    let f = first.clone();
    let end = second.clone().add_callback(move |()| f);
    second.callback(()).unwrap();
    assert_eq!(success_result_of(&end), 7);
    // Twisted leaves None behind; here later links see ResultConsumed.
    assert!(failure_result_of(&first).check::<ResultConsumed>());
}

#[test]
fn returned_failed_deferred_passes_its_failure_and_is_not_reported() {
    // test_synchronousImplicitErrorChain + test_chainedErrorCleanup
    let ((), reports) = capture_unhandled(|| {
        let d: Deferred<()> = Deferred::new();
        let end = d
            .clone()
            .add_callback(|()| fail::<u8>(std::io::Error::other("zoop")));
        d.callback(()).unwrap();
        assert!(failure_result_of(&end).check::<std::io::Error>());
    });
    assert!(reports.is_empty(), "{reports:?}");
}

#[test]
fn asynchronous_implicit_error_chain() {
    let first: Deferred<()> = Deferred::new();
    let second: Deferred<()> = Deferred::new();
    let f = first.clone();
    let end = second
        .clone()
        .add_callback(move |()| f)
        .add_errback(|failure| {
            assert!(failure.check::<std::io::Error>());
        });
    second.callback(()).unwrap();
    assert_no_result(&end);
    first.errback(std::io::Error::other("first")).unwrap();
    success_result_of(&end);
}

#[test]
fn implicit_chaining_is_transitive() {
    // test_doubleAsynchronousImplicitChaining
    let first: Deferred<u8> = Deferred::new();
    let second: Deferred<()> = Deferred::new();
    let third: Deferred<()> = Deferred::new();
    let f = first.clone();
    let second_end = second.clone().add_callback(move |()| f);
    let third_end = third.clone().add_callback(move |()| second_end);
    second.callback(()).unwrap();
    third.callback(()).unwrap();
    assert_no_result(&third_end);
    first.callback(42).unwrap();
    assert_eq!(success_result_of(&third_end), 42);
}

#[test]
fn inner_callbacks_run_before_the_outer_chain_resumes() {
    // test_innerCallbacksPreserved / test_nestedAsynchronousChainedDeferreds
    let seen = log::<String>();
    let inner: Deferred<String> = Deferred::new();
    let (s, inner_handle) = (seen.clone(), inner.clone());
    let outer = succeed("outer".to_string())
        .add_callback(move |r| {
            s.borrow_mut().push(format!("start-of-cb {r}"));
            let (s1, s2) = (s.clone(), s.clone());
            succeed("inner".to_string())
                .add_callback(move |_| {
                    s1.borrow_mut().push("firstCallback".into());
                    inner_handle
                })
                .add_callback(move |r| {
                    s2.borrow_mut().push(format!("secondCallback {r}"));
                    Ok(r.repeat(2))
                })
        })
        .add_callback({
            let s = seen.clone();
            move |r| s.borrow_mut().push(r)
        });
    assert_eq!(*seen.borrow(), ["start-of-cb outer", "firstCallback"]);
    inner.callback("orange".into()).unwrap();
    assert_eq!(
        *seen.borrow(),
        [
            "start-of-cb outer",
            "firstCallback",
            "secondCallback orange",
            "orangeorange"
        ]
    );
    success_result_of(&outer);
}

#[test]
fn paused_deferred_with_a_result_is_waited_for() {
    // test_chainedPausedDeferredWithResult
    let paused = succeed(5);
    paused.pause();
    let chained: Deferred<()> = Deferred::new();
    let p = paused.clone();
    let end = chained.clone().add_callback(move |()| p);
    chained.callback(()).unwrap();
    assert_no_result(&end);
    paused.unpause();
    assert_eq!(success_result_of(&end), 5);
}

#[test]
fn paused_outer_does_not_block_the_inner_chain() {
    // test_pausedDeferredChained
    let first: Deferred<()> = Deferred::new();
    let second: Deferred<()> = Deferred::new();
    let s = second.clone();
    let first_end = first.clone().add_callback(move |()| s);
    first.callback(()).unwrap();
    first.pause();
    second.callback(()).unwrap();
    assert_no_result(&first_end);
    first.unpause();
    success_result_of(&first_end);
}

#[test]
fn callbacks_added_to_the_middle_deferred_run_once_the_last_fires() {
    // test_resultOfDeferredResultOfDeferredOfFiredDeferredCalled, adapted: the middle
    // Deferred's later links see ResultConsumed instead of None.
    let first: Deferred<()> = Deferred::new();
    let second: Deferred<()> = Deferred::new();
    let third: Deferred<()> = Deferred::new();
    let (s, t) = (second.clone(), third.clone());
    let first_end = first.clone().add_callback(move |()| s);
    let second_end = second.clone().add_callback(move |()| t);
    second.callback(()).unwrap();
    first.callback(()).unwrap();
    third.callback(()).unwrap();
    success_result_of(&first_end);
    let seen = log();
    let s = seen.clone();
    let later = second_end.add_errback(move |f| s.borrow_mut().push(f.check::<ResultConsumed>()));
    assert_eq!(*seen.borrow(), [true]);
    success_result_of(&later);
}

#[test]
fn returning_the_same_deferred_is_a_circular_chain_failure() {
    let d: Deferred<u8> = Deferred::new();
    let handle = d.clone();
    let end = d.clone().add_callback(move |_| handle);
    d.callback(1).unwrap();
    assert!(failure_result_of(&end).check::<CircularChain>());
}

#[test]
fn chain_deferred_fires_the_other_and_continues_with_unit() {
    let a: Deferred<u8> = Deferred::new();
    let b: Deferred<u8> = Deferred::new();
    let seen = log();
    let s = seen.clone();
    let b_end = b
        .clone()
        .add_callback(move |n| s.borrow_mut().push(("b", n)));
    let s = seen.clone();
    let a_end = a
        .clone()
        .chain_deferred(&b)
        .add_callback(move |()| s.borrow_mut().push(("a", 0)));
    a.callback(9).unwrap();
    assert_eq!(*seen.borrow(), [("b", 9), ("a", 0)], "b's chain runs first");
    success_result_of(&a_end);
    success_result_of(&b_end);
}

#[test]
fn chain_deferred_passes_failures() {
    let a: Deferred<u8> = Deferred::new();
    let b: Deferred<u8> = Deferred::new();
    let a_end = a.clone().chain_deferred(&b);
    a.errback(Failure::msg("down")).unwrap();
    assert_eq!(failure_result_of(&b).error().to_string(), "down");
    success_result_of(&a_end);
}

#[test]
fn chain_deferred_into_a_fired_deferred_fails_the_source() {
    let a: Deferred<u8> = Deferred::new();
    let b = succeed(1u8);
    let a_end = a.clone().chain_deferred(&b);
    a.callback(2).unwrap();
    let failure = failure_result_of(&a_end);
    let err = failure.downcast_ref::<FireError>().unwrap();
    assert!(err.is_already_called());
    assert_eq!(success_result_of(&b), 1);
}

#[test]
fn chain_deferred_into_a_paused_deferred_waits_for_unpause() {
    let a: Deferred<u8> = Deferred::new();
    let b: Deferred<u8> = Deferred::new();
    b.pause();
    let b_end = b.clone().add_callback(|n| Ok(n * 2));
    let a_end = a.clone().chain_deferred(&b);
    a.callback(4).unwrap();
    success_result_of(&a_end);
    assert_no_result(&b_end);
    b.unpause();
    assert_eq!(success_result_of(&b_end), 8);
}

#[test]
fn chain_deferred_order_matches_synchronous_calls() {
    // a -> b -> c via chain_deferred, each with a callback after the forward.
    let seen = log();
    let ds: Vec<Deferred<u8>> = (0..3).map(|_| Deferred::new()).collect();
    let mut ends = Vec::new();
    for (i, d) in ds.iter().enumerate() {
        let s = seen.clone();
        let d = d.clone().add_callback(move |n| {
            s.borrow_mut().push(format!("before {i}"));
            Ok(n)
        });
        let d = if i + 1 < ds.len() {
            d.chain_deferred(&ds[i + 1])
        } else {
            d.add_callback(|_| ())
        };
        let s = seen.clone();
        ends.push(d.add_callback(move |()| s.borrow_mut().push(format!("after {i}"))));
    }
    ds[0].callback(1).unwrap();
    assert_eq!(
        *seen.borrow(),
        ["before 0", "before 1", "before 2", "after 2", "after 1", "after 0"]
    );
    for end in &ends {
        success_result_of(end);
    }
}
