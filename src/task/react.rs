//! [`react`]: run a reactor for as long as a main function's Deferred takes, and turn its
//! outcome into a process exit status (Twisted's `task.react`).
//!
//! Tests: `tests/task_react.rs`.

use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::rc::Rc;

use crate::defer::{Deferred, Failure};
use crate::reactor::Reactor;

/// A failure that asks [`react`] for a specific exit status, without printing anything
/// (Twisted's `SystemExit` raised from `main`).
///
/// # Examples
///
/// ```
/// use torsion::defer::fail;
/// use torsion::task::{react, SystemExit};
///
/// let status = react(|_reactor| fail::<()>(SystemExit(3)));
/// assert_eq!(status, 3);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SystemExit(pub i32);

impl fmt::Display for SystemExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "exit with status {}", self.0)
    }
}

impl std::error::Error for SystemExit {}

/// Runs a new reactor until the Deferred `main` returns has fired, and returns the exit
/// status for the process (Twisted's `react`); pass it to `std::process::exit`.
///
/// The reactor is built with signal handling on, so SIGINT (Ctrl-C) and SIGTERM stop it
/// gracefully (its shutdown triggers run). `main` is called once the reactor is running,
/// with the reactor, and returns a `Deferred`: an `async` block through
/// [`Deferred::from_future`] is the intended form (Twisted's `inlineCallbacks` or
/// `async def main`). When that Deferred fires, the reactor is stopped (once, and not if
/// it is already stopping). The reactor is closed before `react` returns.
///
/// The status:
///
/// * **0** when `main`'s Deferred succeeded, or when the reactor was stopped (by
///   [`Reactor::stop`]) before it fired (as Twisted does);
/// * **1** when it failed: `main function encountered error` and the failure (with its
///   sources) are printed to stderr; also if the reactor could not be built or failed;
/// * **n** when it failed with [`SystemExit`]`(n)`, printing nothing;
/// * **128 + the signal number** (130 for SIGINT, 143 for SIGTERM, the shell's
///   convention) when a signal stopped the reactor before `main`'s Deferred fired. The
///   unfinished Deferred is then cancelled (dropping a `from_future` task's future).
///
/// A panic in `main` itself stops the reactor and is resumed once it is closed.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use torsion::defer::Deferred;
/// use torsion::task::{defer_later, react};
///
/// let status = react(|reactor| {
///     let reactor = reactor.clone();
///     Deferred::from_future(async move {
///         let answer = defer_later(&reactor, Duration::from_millis(5), || Ok(42)).await?;
///         assert_eq!(answer, 42);
///         Ok(())
///     })
/// });
/// assert_eq!(status, 0);
/// ```
pub fn react<T, F>(main: F) -> i32
where
    T: 'static,
    F: FnOnce(&Reactor) -> Deferred<T> + 'static,
{
    let reactor = match Reactor::builder().handle_signals(true).build() {
        Ok(reactor) => reactor,
        Err(e) => {
            eprintln!("react: could not make a reactor: {e}");
            return 1;
        }
    };
    let outcome = run_main(&reactor, main);
    reactor.close();
    outcome.unwrap_or_else(|panic| resume_unwind(panic))
}

/// [`react`] on a reactor of the caller's, which is left open (for tests, or a reactor
/// built with other settings). Signals stop it only if it was built with
/// [`handle_signals(true)`](crate::reactor::ReactorBuilder::handle_signals).
///
/// Returns 1 without calling `main` if the reactor is already running or is closed.
///
/// # Examples
///
/// ```
/// use torsion::defer::{fail, Failure};
/// use torsion::task::react_with;
/// use torsion::Reactor;
///
/// let reactor = Reactor::new()?;
/// // Prints "main function encountered error" and the failure to stderr.
/// assert_eq!(react_with(&reactor, |_| fail::<()>(Failure::msg("no config"))), 1);
/// # reactor.close();
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn react_with<T, F>(reactor: &Reactor, main: F) -> i32
where
    T: 'static,
    F: FnOnce(&Reactor) -> Deferred<T> + 'static,
{
    run_main(reactor, main).unwrap_or_else(|panic| resume_unwind(panic))
}

/// What happened while the reactor ran.
#[derive(Default)]
struct Shared {
    /// `main`'s outcome, once its Deferred fired.
    result: Option<Result<(), Failure>>,
    /// `main` panicked.
    panic: Option<Box<dyn Any + Send>>,
    /// The end of `main`'s chain, to cancel it if the reactor stops first.
    chain: Option<Deferred<()>>,
}

fn run_main<T, F>(reactor: &Reactor, main: F) -> Result<i32, Box<dyn Any + Send>>
where
    T: 'static,
    F: FnOnce(&Reactor) -> Deferred<T> + 'static,
{
    if reactor.is_closed() || reactor.running() {
        eprintln!("react: the reactor is already running or closed");
        return Ok(1);
    }
    let shared = Rc::new(RefCell::new(Shared::default()));
    let s = shared.clone();
    let r = reactor.clone();
    let trigger = reactor.call_when_running(move || {
        match catch_unwind(AssertUnwindSafe(|| main(&r))) {
            Err(panic) => {
                s.borrow_mut().panic = Some(panic);
                let _ = r.stop();
            }
            Ok(d) => {
                let s2 = s.clone();
                let chain = d.add_both(move |result| {
                    s2.borrow_mut().result = Some(result.map(drop::<T>));
                    // Err if it is already stopping (say main finished during shutdown).
                    let _ = r.stop();
                });
                s.borrow_mut().chain = Some(chain);
            }
        }
    });
    let ran = reactor.run();
    if let Some(id) = trigger {
        // `main` never ran (the loop failed before startup finished).
        reactor.remove_system_event_trigger(id);
    }
    let (result, panic, chain) = {
        let mut st = shared.borrow_mut();
        (st.result.take(), st.panic.take(), st.chain.take())
    };
    if let Some(chain) = chain {
        if result.is_none() {
            chain.cancel();
        }
        drop(chain.take_result());
    }
    if let Some(panic) = panic {
        return Err(panic);
    }
    if let Err(e) = ran {
        eprintln!("react: the reactor failed: {e}");
        return Ok(1);
    }
    Ok(match result {
        Some(Ok(())) => 0,
        Some(Err(failure)) => match failure.downcast_ref::<SystemExit>() {
            Some(SystemExit(status)) => *status,
            None => {
                eprintln!("main function encountered error\n{failure:#}");
                1
            }
        },
        None => reactor.exit_signal().map_or(0, |signal| 128 + signal),
    })
}
