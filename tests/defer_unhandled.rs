//! Unhandled errors are reported when the last handle goes, with the creation place
//! (Twisted's `LogTests`, without the dependence on the garbage collector).

use std::cell::RefCell;
use std::rc::Rc;

use torsion::defer::testing::{capture_unhandled, failure_result_of};
use torsion::defer::{self, fail, succeed, Deferred, Failure};

#[test]
fn dropping_a_failed_deferred_reports_at_once_with_its_creation_place() {
    let (line, reports) = capture_unhandled(|| {
        let line = line!() + 1;
        let d: Deferred<u32> = Deferred::new();
        let end = d
            .clone()
            .add_callback(|n| Ok(n + 1))
            .add_callback(|_| -> Result<u32, Failure> { Err(Failure::msg("division went wrong")) });
        d.callback(1).unwrap_or_else(|e| panic!("{e}"));
        drop(d);
        // Still one handle left: nothing yet.
        assert!(capture_unhandled(|| ()).1.is_empty());
        drop(end);
        line
    });
    assert_eq!(reports.len(), 1, "{reports:?}");
    let report = &reports[0];
    assert_eq!(report.created_at.line(), line);
    assert_eq!(report.created_at.file(), file!());
    let text = report.to_string();
    assert!(
        text.starts_with("Unhandled error in Deferred created at"),
        "{text}"
    );
    assert!(text.contains("division went wrong"), "{text}");
}

#[test]
fn handled_failures_are_not_reported() {
    let ((), reports) = capture_unhandled(|| {
        drop(fail::<u8>(Failure::msg("x")).add_errback(|_| Ok(0)));
        let d = fail::<u8>(Failure::msg("y"));
        failure_result_of(&d);
        drop(d);
    });
    assert!(reports.is_empty(), "{reports:?}");
}

#[test]
fn errback_chaining_to_a_pending_deferred_clears_the_failure() {
    // test_errorClearedByChaining
    let ((), reports) = capture_unhandled(|| {
        let good: Deferred<u8> = Deferred::new();
        let g = good.clone();
        let bad = fail::<u8>(Failure::msg("oh no")).add_errback(move |_| g);
        drop(good);
        drop(bad);
    });
    assert!(reports.is_empty(), "{reports:?}");
}

#[test]
fn pending_and_successful_deferreds_are_not_reported() {
    let ((), reports) = capture_unhandled(|| {
        drop(Deferred::<u8>::new());
        drop(succeed(1));
    });
    assert!(reports.is_empty());
}

#[test]
fn the_hook_is_replaceable_and_may_touch_deferreds() {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    defer::set_unhandled_error_hook(Box::new(move |e| {
        // Re-entrant use of the Deferred machinery from the hook is fine.
        let d = succeed(e.failure.error().to_string()).add_callback(|m| Ok(m.len()));
        s.borrow_mut()
            .push((e.to_string(), d.take_result().unwrap().unwrap()));
    }));
    drop(fail::<()>(Failure::msg("abc")));
    defer::reset_unhandled_error_hook();
    let seen = seen.borrow();
    assert_eq!(seen.len(), 1);
    assert!(seen[0].0.contains("abc"));
    assert_eq!(seen[0].1, 3);
}

#[test]
fn capture_scopes_nest() {
    let ((), outer) = capture_unhandled(|| {
        drop(fail::<()>(Failure::msg("outer")));
        let ((), inner) = capture_unhandled(|| drop(fail::<()>(Failure::msg("inner"))));
        assert_eq!(inner.len(), 1);
    });
    assert_eq!(outer.len(), 1);
    assert!(outer[0].to_string().contains("outer"));
}
