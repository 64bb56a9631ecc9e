//! Core Deferred behaviour: firing, the two tracks, adding callbacks, pause/unpause,
//! re-entrancy. Ported from the behaviour tested by Twisted's `test_defer.py`
//! (`DeferredTests`, `AlreadyCalledTests`).

use std::cell::RefCell;
use std::rc::Rc;

use torsion::defer::testing::{assert_no_result, failure_result_of, success_result_of};
use torsion::defer::{
    fail, maybe_deferred, succeed, Deferred, Failure, FireError, ResultConsumed, TypeMismatch,
};

/// A shared log the callbacks append to.
fn log<T>() -> Rc<RefCell<Vec<T>>> {
    Rc::new(RefCell::new(Vec::new()))
}

#[derive(Debug)]
struct GenericError(&'static str);

impl std::fmt::Display for GenericError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for GenericError {}

#[test]
fn callback_runs_callbacks_added_before_and_after() {
    let seen = log();
    let d: Deferred<&str> = Deferred::new();
    let s = seen.clone();
    let d2 = d.clone().add_callback(move |v| {
        s.borrow_mut().push(format!("first {v}"));
        Ok(v.len())
    });
    assert!(seen.borrow().is_empty());
    d.callback("hello").unwrap();
    assert_eq!(*seen.borrow(), ["first hello"]);
    let s = seen.clone();
    let d3 = d2.add_callback(move |n| s.borrow_mut().push(format!("second {n}")));
    assert_eq!(*seen.borrow(), ["first hello", "second 5"]);
    success_result_of(&d3);
}

#[test]
fn firing_twice_is_already_called_in_every_combination() {
    for (first_ok, second_ok) in [(true, true), (true, false), (false, true), (false, false)] {
        let (created_line, d) = (line!(), Deferred::<u8>::new());
        let chain = d.clone().add_callbacks(|_| (), |_| ());
        let (fired_line, first) = if first_ok {
            (line!(), d.callback(1))
        } else {
            (line!(), d.errback(Failure::msg("one")))
        };
        first.unwrap();
        let err = if second_ok {
            d.callback(2)
        } else {
            d.errback(Failure::msg("two"))
        }
        .unwrap_err();
        let FireError::AlreadyCalled(info) = err else {
            panic!("expected AlreadyCalled, got {err:?}")
        };
        assert_eq!(info.created_at.line(), created_line);
        assert_eq!(info.first_fired_at.unwrap().line(), fired_line);
        assert!(err.to_string().contains("already called"));
        success_result_of(&chain);
    }
}

#[test]
fn error_moves_to_errback_track_and_back() {
    let seen = log();
    let (s1, s2, s3, s4) = (seen.clone(), seen.clone(), seen.clone(), seen.clone());
    let d: Deferred<u32> = Deferred::new();
    let end = d
        .clone()
        .add_callback(move |n| -> Result<u32, Failure> {
            s1.borrow_mut().push("cb1");
            Err(GenericError("bad").into()).map(|()| n)
        })
        .add_callback(move |n| {
            s2.borrow_mut().push("cb2 (skipped)");
            Ok(n)
        })
        .add_errback(move |f| {
            assert!(f.check::<GenericError>());
            s3.borrow_mut().push("eb");
            Ok(10)
        })
        .add_errback(|_f| -> Result<u32, Failure> { panic!("no failure to handle") })
        .add_callback(move |n| {
            s4.borrow_mut().push("cb3");
            Ok(n + 1)
        });
    d.callback(1).unwrap();
    assert_eq!(*seen.borrow(), ["cb1", "eb", "cb3"]);
    assert_eq!(success_result_of(&end), 11);
}

#[test]
fn add_callbacks_errback_does_not_see_the_callbacks_failure() {
    let d = succeed(1u8).add_callbacks(
        |_| -> Result<u8, Failure> { Err(Failure::msg("from callback")) },
        |_| -> Result<u8, Failure> { panic!("same link's errback must not run") },
    );
    let f = failure_result_of(&d);
    assert_eq!(f.error().to_string(), "from callback");
}

#[test]
fn add_both_sees_both_tracks() {
    let ok = succeed(3).add_both(|r: Result<i32, Failure>| Ok(r.is_ok()));
    let err = fail::<i32>(Failure::msg("x")).add_both(|r| Ok(r.is_ok()));
    assert!(success_result_of(&ok));
    assert!(!success_result_of(&err));
}

#[test]
fn question_mark_converts_errors_in_callbacks() {
    let d = succeed("12x").add_callback(|s| Ok(s.parse::<u32>()?));
    let f = failure_result_of(&d);
    assert!(f.check::<std::num::ParseIntError>());
    assert_eq!(f.location().file(), file!());
}

#[test]
fn pause_holds_callbacks_until_unpause() {
    let seen = log();
    let d: Deferred<u8> = Deferred::new();
    d.pause();
    let s = seen.clone();
    let chain = d.clone().add_callback(move |n| s.borrow_mut().push(n));
    d.callback(5).unwrap();
    assert!(seen.borrow().is_empty());
    assert!(d.paused());
    d.pause();
    d.unpause();
    assert!(seen.borrow().is_empty());
    d.unpause();
    assert_eq!(*seen.borrow(), [5]);
    success_result_of(&chain);
}

#[test]
fn pause_inside_a_callback_stops_the_rest_of_the_chain() {
    let seen = log();
    let d: Deferred<u8> = Deferred::new();
    let (handle, s1, s2) = (d.clone(), seen.clone(), seen.clone());
    let chain = d
        .clone()
        .add_callback(move |n| {
            handle.pause();
            s1.borrow_mut().push("first");
            Ok(n)
        })
        .add_callback(move |n| {
            s2.borrow_mut().push("second");
            Ok(n)
        });
    d.callback(1).unwrap();
    assert_eq!(*seen.borrow(), ["first"]);
    assert_no_result(&chain);
    d.unpause();
    assert_eq!(*seen.borrow(), ["first", "second"]);
    assert_eq!(success_result_of(&chain), 1);
}

#[test]
fn callback_added_by_a_callback_runs_after_the_current_ones() {
    // Twisted's test_reentrantRunCallbacks / test_nonReentrantCallbacks.
    let seen = log();
    let d: Deferred<()> = Deferred::new();
    let (handle, s1, s2) = (d.clone(), seen.clone(), seen.clone());
    let chain = d
        .clone()
        .add_callback(move |()| {
            s1.borrow_mut().push(1);
            let s3 = s1.clone();
            let again = handle
                .clone()
                .add_callback(move |()| s3.borrow_mut().push(3));
            drop(again);
            assert_eq!(*s1.borrow(), [1], "must not run re-entrantly");
        })
        .add_callback(move |()| s2.borrow_mut().push(2));
    d.callback(()).unwrap();
    assert_eq!(*seen.borrow(), [1, 2, 3]);
    success_result_of(&chain);
}

#[test]
fn failure_raised_by_a_reentrantly_added_callback_reaches_the_errback() {
    let d: Deferred<()> = Deferred::new();
    let handle = d.clone();
    let chain = d.clone().add_callback(move |()| {
        drop(
            handle
                .clone()
                .add_callback(|()| -> Result<(), Failure> { Err(Failure::msg("late raise")) }),
        );
    });
    d.callback(()).unwrap();
    assert_eq!(failure_result_of(&chain).error().to_string(), "late raise");
}

#[test]
fn callbacks_may_fire_and_cancel_other_deferreds() {
    let a: Deferred<u8> = Deferred::new();
    let b: Deferred<u8> = Deferred::new();
    let c: Deferred<u8> = Deferred::new();
    let (b2, c2) = (b.clone(), c.clone());
    let a_end = a.clone().add_callback(move |n| {
        b2.callback(n + 1).unwrap();
        c2.cancel();
        Ok(n)
    });
    a.callback(1).unwrap();
    assert_eq!(success_result_of(&a_end), 1);
    assert_eq!(success_result_of(&b), 2);
    assert!(failure_result_of(&c).check::<torsion::defer::Cancelled>());
}

#[test]
fn succeed_and_fail_are_already_fired() {
    let d = succeed(9);
    assert!(d.called());
    assert_eq!(success_result_of(&d), 9);
    let d = fail::<u8>(std::io::Error::other("nope"));
    assert!(d.called());
    assert!(failure_result_of(&d).check::<std::io::Error>());
}

#[test]
fn maybe_deferred_wraps_values_failures_and_deferreds() {
    assert_eq!(
        success_result_of(&maybe_deferred(|| Ok::<_, Failure>(5))),
        5
    );
    let f = failure_result_of(&maybe_deferred(|| -> Result<u8, Failure> {
        Err(GenericError("sync").into())
    }));
    assert!(f.check::<GenericError>());
    let pending: Deferred<u8> = Deferred::new();
    let d = maybe_deferred(|| pending.clone());
    assert!(Deferred::ptr_eq(&d, &pending));
    success_result_of(&maybe_deferred(|| ()));
}

#[test]
fn callback_with_a_stale_handle_type_is_an_error() {
    let d: Deferred<u8> = Deferred::new();
    let as_string = d.clone().add_callback(|n| Ok(n.to_string()));
    let err = as_string.callback("oops".to_string()).unwrap_err();
    assert!(matches!(err, FireError::WrongType(_)));
    assert!(!d.called());
    d.callback(3).unwrap();
    assert_eq!(success_result_of(&as_string), "3");
}

#[test]
fn link_added_through_a_stale_handle_gets_a_type_mismatch_failure() {
    let d: Deferred<u8> = Deferred::new();
    let _moved_on = d.clone().add_callback(|n| Ok(u32::from(n)));
    let stale = d.clone().add_callback(|n: u8| Ok(n));
    d.callback(1).unwrap();
    let f = failure_result_of(&stale);
    let mismatch = f.downcast_ref::<TypeMismatch>().unwrap();
    assert_eq!(mismatch.expected, "u8");
    assert_eq!(mismatch.found, "u32");
}

#[test]
fn take_result_consumes_and_later_links_see_result_consumed() {
    let d = succeed(1u8);
    assert_eq!(d.take_result().unwrap().unwrap(), 1);
    assert!(d
        .take_result()
        .unwrap()
        .unwrap_err()
        .check::<ResultConsumed>());
    let after = d.clone().add_errback(|f| {
        assert!(f.check::<ResultConsumed>());
        Ok(0)
    });
    assert_eq!(success_result_of(&after), 0);
}

#[test]
fn debug_shows_state_and_creation_place() {
    let d: Deferred<u8> = Deferred::new();
    let shown = format!("{d:?}");
    assert!(
        shown.contains("pending") && shown.contains(file!()),
        "{shown}"
    );
    d.callback(1).unwrap();
    assert!(format!("{d:?}").contains("has a result"));
}
