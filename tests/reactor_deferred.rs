//! The reactor and Deferreds together: defer_to_thread, tasks woken from other threads,
//! and before-triggers that make an event wait for a Deferred.

mod util;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use torsion::defer::Deferred;
use torsion::reactor::{Phase, SystemEvent};
use torsion::Reactor;
use util::turn_until;

const LIMIT: Duration = Duration::from_secs(10);

#[test]
fn defer_to_thread_fires_with_the_value_the_error_or_the_panic() {
    let reactor = Reactor::new().unwrap();
    let me = std::thread::current().id();
    let ok = reactor.defer_to_thread(move || {
        assert_ne!(std::thread::current().id(), me);
        Ok::<_, std::io::Error>(6 * 7)
    });
    let err = reactor.defer_to_thread(|| Err::<u8, _>(std::io::Error::other("disk on fire")));
    let panicked = reactor.defer_to_thread(|| -> Result<u8, std::io::Error> { panic!("boom") });
    turn_until(&reactor, LIMIT, || {
        ok.called() && err.called() && panicked.called()
    });
    assert_eq!(ok.take_result().unwrap().unwrap(), 42);
    let e = err.take_result().unwrap().unwrap_err();
    assert!(e.check::<std::io::Error>());
    assert!(e.to_string().contains("disk on fire"));
    let p = panicked.take_result().unwrap().unwrap_err();
    assert!(p.to_string().contains("boom"), "{p}");
    reactor.close();
}

/// A one-shot value set by another thread, awaited with a std `Waker`.
#[derive(Default)]
struct Slot {
    value: Option<u32>,
    waker: Option<Waker>,
}

struct FromThread(Arc<Mutex<Slot>>);

impl Future for FromThread {
    type Output = u32;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        let mut slot = self.0.lock().unwrap();
        match slot.value.take() {
            Some(v) => Poll::Ready(v),
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

#[test]
fn a_task_woken_from_another_thread_resumes_on_the_reactor_thread() {
    let reactor = Reactor::new().unwrap();
    let slot = Arc::new(Mutex::new(Slot::default()));
    let me = std::thread::current().id();
    let fut = FromThread(slot.clone());
    let r = reactor.clone();
    let d: Deferred<u32> = Deferred::from_future(async move {
        let v = fut.await;
        assert_eq!(std::thread::current().id(), me, "resumed on its own thread");
        r.stop().unwrap();
        Ok(v + 1)
    });
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        let mut s = slot.lock().unwrap();
        s.value = Some(99);
        if let Some(w) = s.waker.take() {
            w.wake();
        }
    });
    // Nothing else scheduled: only the remote wake gets the loop going again.
    let r = reactor.clone();
    reactor.call_later(Duration::from_secs(10), move || r.crash());
    reactor.run().unwrap();
    t.join().unwrap();
    assert_eq!(d.take_result().unwrap().unwrap(), 100);
    reactor.close();
}

#[test]
fn a_before_shutdown_deferred_delays_the_rest_of_shutdown_while_the_loop_runs() {
    let reactor = Reactor::new().unwrap();
    let log = Rc::new(RefCell::new(Vec::new()));
    let (l, r) = (log.clone(), reactor.clone());
    reactor.add_system_event_trigger_deferred(SystemEvent::Shutdown, move || {
        l.borrow_mut().push("before: draining");
        let d = Deferred::new();
        let (d2, l2) = (d.clone(), l.clone());
        // The loop keeps running: this timer fires while shutdown waits.
        r.call_later(Duration::from_millis(10), move || {
            l2.borrow_mut().push("drained");
            d2.callback(()).unwrap();
        });
        d
    });
    let l = log.clone();
    reactor.add_system_event_trigger(Phase::During, SystemEvent::Shutdown, move || {
        l.borrow_mut().push("during")
    });
    let l = log.clone();
    reactor.add_system_event_trigger(Phase::After, SystemEvent::Shutdown, move || {
        l.borrow_mut().push("after")
    });
    let r = reactor.clone();
    reactor.call_when_running(move || r.stop().unwrap());
    reactor.run().unwrap();
    assert_eq!(
        *log.borrow(),
        ["before: draining", "drained", "during", "after"]
    );
    reactor.close();
}

#[test]
fn a_failed_before_trigger_is_logged_and_does_not_block_the_event() {
    let reactor = Reactor::new().unwrap();
    let after = Rc::new(Cell::new(false));
    reactor.add_system_event_trigger_deferred(SystemEvent::Startup, || {
        torsion::defer::fail(torsion::Failure::msg("could not warm the cache"))
    });
    let (a, r) = (after.clone(), reactor.clone());
    reactor.call_when_running(move || {
        a.set(true);
        r.stop().unwrap();
    });
    reactor.run().unwrap();
    assert!(after.get());
    reactor.close();
}
