//! call_from_thread, blocking_call_from_thread, the thread pool and results delivered back
//! on the reactor thread.

mod util;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use torsion::reactor::{Reactor, ThreadCallError};
use util::turn_until;

const LIMIT: Duration = Duration::from_secs(10);

#[test]
fn calls_from_threads_run_on_the_reactor_thread_in_posting_order() {
    let reactor = Reactor::new().unwrap();
    type Seen = Rc<RefCell<Vec<(usize, usize)>>>;
    let seen: Seen = Rc::new(RefCell::new(Vec::new()));
    let me = std::thread::current().id();
    thread_local! {
        static SINK: RefCell<Option<Seen>> = const { RefCell::new(None) };
    }
    SINK.with(|s| *s.borrow_mut() = Some(seen.clone()));
    let workers: Vec<_> = (0..4)
        .map(|t| {
            let handle = reactor.thread_handle();
            std::thread::spawn(move || {
                for i in 0..500 {
                    handle
                        .call_from_thread(move |_| {
                            assert_eq!(std::thread::current().id(), me);
                            SINK.with(|s| s.borrow().as_ref().unwrap().borrow_mut().push((t, i)));
                        })
                        .unwrap();
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    turn_until(&reactor, LIMIT, || seen.borrow().len() == 2000);
    for t in 0..4 {
        let mine: Vec<usize> = seen
            .borrow()
            .iter()
            .filter(|p| p.0 == t)
            .map(|p| p.1)
            .collect();
        assert_eq!(mine, (0..500).collect::<Vec<_>>(), "thread {t} in order");
    }
    reactor.close();
}

#[test]
fn a_call_from_a_thread_wakes_a_sleeping_loop() {
    let reactor = Reactor::new().unwrap();
    let handle = reactor.thread_handle();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(30));
        handle.stop().unwrap();
    });
    // Nothing scheduled: without the wake-up this would sleep forever.
    let r = reactor.clone();
    reactor.call_later(Duration::from_secs(30), move || r.crash());
    let start = std::time::Instant::now();
    reactor.run().unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "woken by the thread"
    );
    t.join().unwrap();
    reactor.close();
}

#[test]
fn blocking_call_from_thread_returns_the_result() {
    let reactor = Reactor::new().unwrap();
    let handle = reactor.thread_handle();
    let counter = Rc::new(Cell::new(41));
    let c = counter.clone();
    thread_local! { static COUNTER: RefCell<Option<Rc<Cell<i32>>>> = const { RefCell::new(None) }; }
    COUNTER.with(|s| *s.borrow_mut() = Some(c));
    let t = std::thread::spawn(move || {
        let v = handle
            .blocking_call_from_thread(|_| {
                COUNTER.with(|s| {
                    let c = s.borrow().clone().unwrap();
                    c.set(c.get() + 1);
                    c.get()
                })
            })
            .unwrap();
        handle.stop().unwrap();
        v
    });
    let r = reactor.clone();
    reactor.call_later(Duration::from_secs(10), move || r.crash());
    reactor.run().unwrap();
    assert_eq!(t.join().unwrap(), 42);
    assert_eq!(counter.get(), 42);
    assert_eq!(
        reactor.thread_handle().blocking_call_from_thread(|_| 1),
        Err(ThreadCallError::OnReactorThread)
    );
    reactor.close();
}

#[test]
fn after_close_thread_calls_are_refused() {
    let reactor = Reactor::new().unwrap();
    let handle = reactor.thread_handle();
    reactor.close();
    assert_eq!(
        handle.call_from_thread(|_| {}),
        Err(ThreadCallError::ReactorClosed)
    );
    drop(reactor);
    let t = std::thread::spawn(move || handle.blocking_call_from_thread(|_| 1));
    assert_eq!(t.join().unwrap(), Err(ThreadCallError::ReactorClosed));
}

#[test]
fn call_in_thread_then_delivers_results_and_panics_on_the_reactor_thread() {
    let reactor = Reactor::new().unwrap();
    let me = std::thread::current().id();
    let results = Rc::new(RefCell::new(Vec::new()));
    for i in 0..20u64 {
        let r = results.clone();
        reactor
            .call_in_thread_then(
                move || {
                    assert_ne!(std::thread::current().id(), me);
                    if i == 7 {
                        panic!("deliberate panic in a pool job");
                    }
                    i * i
                },
                move |_, result| {
                    assert_eq!(std::thread::current().id(), me);
                    r.borrow_mut().push(result.ok());
                },
            )
            .unwrap();
    }
    turn_until(&reactor, LIMIT, || results.borrow().len() == 20);
    let mut got: Vec<Option<u64>> = results.borrow().clone();
    got.sort();
    let mut want: Vec<Option<u64>> = (0..20u64).map(|i| (i != 7).then_some(i * i)).collect();
    want.sort();
    assert_eq!(got, want);
    reactor.close();
}

#[test]
fn the_pool_is_bounded_and_stopped_at_shutdown() {
    let reactor = Reactor::builder().thread_pool_size(2).build().unwrap();
    let barrier = Arc::new(Barrier::new(3));
    for _ in 0..2 {
        let b = barrier.clone();
        reactor
            .call_in_thread(move || {
                b.wait();
            })
            .unwrap();
    }
    for _ in 0..8 {
        reactor.call_in_thread(|| {}).unwrap();
    }
    assert_eq!(
        reactor.thread_pool_stats(),
        (2, 2),
        "never more than its size"
    );
    barrier.wait();
    let r = reactor.clone();
    reactor.call_when_running(move || r.stop().unwrap());
    reactor.run().unwrap();
    assert_eq!(
        reactor.thread_pool_stats().1,
        0,
        "workers joined at shutdown"
    );
    // And usable again afterwards.
    let done = Rc::new(Cell::new(false));
    let d = done.clone();
    reactor
        .call_in_thread_then(|| 5, move |_, r| d.set(r.unwrap() == 5))
        .unwrap();
    turn_until(&reactor, LIMIT, || done.get());
    reactor.suggest_thread_pool_size(3);
    assert_eq!(reactor.thread_pool_stats().0, 3);
    reactor.close();
}
