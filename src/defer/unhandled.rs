//! Reporting of unhandled errors: a Deferred whose last handle is dropped while its result
//! is a [`Failure`] that no errback consumed.
//!
//! Twisted logs these from `DebugInfo.__del__`, i.e. whenever the garbage collector gets
//! round to it. Here the report happens at the moment the last reference goes away (the
//! `Rc` count reaches zero), and names the place the Deferred was created.
//!
//! Reports go to a per-thread hook ([`set_unhandled_error_hook`]); the default one logs
//! with `log::error!` and prints to stderr. `testing::capture_unhandled` collects them
//! instead, for tests.
//!
//! Tests: `tests/defer_unhandled.rs`.

use std::cell::RefCell;
use std::fmt;
use std::panic::Location;
use std::rc::Rc;

use super::Failure;

/// An error nobody handled: the failure, and where its Deferred was created.
#[derive(Clone, Debug)]
pub struct UnhandledError {
    /// The failure the Deferred ended with.
    pub failure: Failure,
    /// Where the Deferred was created (`Deferred::new`, `succeed`, `add_callback`'s source
    /// Deferred, ...).
    pub created_at: &'static Location<'static>,
}

impl fmt::Display for UnhandledError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Unhandled error in Deferred created at {}: {:#}",
            self.created_at, self.failure
        )
    }
}

/// A replaceable reporter of unhandled errors.
type Hook = Rc<dyn Fn(&UnhandledError)>;

thread_local! {
    /// The hook for this thread; `None` means the default.
    static HOOK: RefCell<Option<Hook>> = const { RefCell::new(None) };
    /// Open `capture_unhandled` scopes, innermost last.
    static CAPTURES: RefCell<Vec<Vec<UnhandledError>>> = const { RefCell::new(Vec::new()) };
}

/// Replaces this thread's reporter of unhandled errors.
///
/// Each thread has its own (Deferreds never leave their thread). The hook may do anything,
/// including touching other Deferreds.
///
/// # Examples
///
/// ```
/// use std::cell::RefCell;
/// use std::rc::Rc;
/// use torsion::defer::{self, fail, Failure};
///
/// let seen = Rc::new(RefCell::new(Vec::new()));
/// let sink = seen.clone();
/// defer::set_unhandled_error_hook(Box::new(move |e| sink.borrow_mut().push(e.to_string())));
///
/// drop(fail::<()>(Failure::msg("nobody listens")));
/// assert!(seen.borrow()[0].contains("nobody listens"));
///
/// defer::reset_unhandled_error_hook();
/// ```
pub fn set_unhandled_error_hook(hook: Box<dyn Fn(&UnhandledError)>) {
    let hook: Hook = Rc::from(hook);
    let old = HOOK.with(|h| h.borrow_mut().replace(hook));
    drop(old);
}

/// Puts back the default reporter (`log::error!` plus a line on stderr).
pub fn reset_unhandled_error_hook() {
    let old = HOOK.with(|h| h.borrow_mut().take());
    drop(old);
}

/// The default reporter.
fn default_hook(error: &UnhandledError) {
    log::error!("{error}");
    eprintln!("{error}");
}

/// Reports an unhandled error through the capture scope or hook of this thread.
///
/// Called from `Drop`; during thread-local teardown it falls back to stderr.
pub(crate) fn report(error: UnhandledError) {
    let mut error = Some(error);
    let captured = CAPTURES
        .try_with(|c| match c.try_borrow_mut() {
            Ok(mut scopes) => match scopes.last_mut() {
                Some(scope) => {
                    scope.extend(error.take());
                    true
                }
                None => false,
            },
            Err(_) => false,
        })
        .unwrap_or(false);
    let Some(error) = error else { return };
    if captured {
        return;
    }
    // Clone the hook out so no borrow is held while it runs.
    let hook = HOOK
        .try_with(|h| h.try_borrow().ok().and_then(|h| h.clone()))
        .ok()
        .flatten();
    match hook {
        Some(hook) => hook(&error),
        None => default_hook(&error),
    }
}

/// Runs `f`, returning the unhandled errors reported on this thread meanwhile (they are
/// not passed to the hook). Scopes nest; the innermost one collects.
pub(crate) fn capture<R>(f: impl FnOnce() -> R) -> (R, Vec<UnhandledError>) {
    /// Closes the scope even if `f` panics.
    struct Scope;
    impl Drop for Scope {
        fn drop(&mut self) {
            if std::thread::panicking() {
                let _ = CAPTURES.try_with(|c| c.borrow_mut().pop());
            }
        }
    }
    CAPTURES.with(|c| c.borrow_mut().push(Vec::new()));
    let scope = Scope;
    let result = f();
    std::mem::forget(scope);
    let captured = CAPTURES.with(|c| c.borrow_mut().pop()).unwrap_or_default();
    (result, captured)
}
