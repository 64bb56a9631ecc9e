//! Re-entrancy is part of the contract: from inside each kind of callback one may schedule,
//! cancel (including a timer due in the same turn), register or remove sources, write to
//! another connection, and stop the reactor.

mod util;

use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::rc::Rc;
use std::time::Duration;

use torsion::reactor::{IoHandler, Reactor};
use torsion::time::DelayedCall;
use torsion_sys::{Interest, Readiness};
use util::{pair, reactors, turn_until};

const LIMIT: Duration = Duration::from_secs(5);

#[test]
fn a_timer_cancels_another_due_in_the_same_turn() {
    for reactor in reactors() {
        let victim: Rc<RefCell<Option<DelayedCall>>> = Rc::new(RefCell::new(None));
        let ran = Rc::new(Cell::new(false));
        let v = victim.clone();
        reactor.call_later(Duration::from_millis(1), move || {
            v.borrow().as_ref().unwrap().cancel().unwrap();
        });
        let r2 = ran.clone();
        *victim.borrow_mut() =
            Some(reactor.call_later(Duration::from_millis(1), move || r2.set(true)));
        std::thread::sleep(Duration::from_millis(3));
        reactor.iterate(Duration::ZERO).unwrap();
        reactor.iterate(Duration::ZERO).unwrap();
        assert!(!ran.get());
        assert!(victim.borrow().as_ref().unwrap().cancelled());
        reactor.close();
    }
}

#[test]
fn a_timer_registers_and_removes_sources_and_stops_the_reactor() {
    for reactor in reactors() {
        let (a, mut peer) = pair();
        let a = Rc::new(a);
        let got = Rc::new(RefCell::new(Vec::new()));
        let (r, a2, g) = (reactor.clone(), a.clone(), got.clone());
        reactor.call_later(Duration::ZERO, move || {
            let (a3, g2) = (a2.clone(), g.clone());
            let key = Rc::new(Cell::new(None));
            let k = key.clone();
            let handler: Rc<dyn IoHandler> = Rc::new(move |r: &Reactor, _: Readiness| {
                let mut buf = [0u8; 8];
                let n = (&*a3).read(&mut buf).unwrap();
                g2.borrow_mut().extend_from_slice(&buf[..n]);
                r.remove_source(k.get().unwrap(), &*a3).unwrap();
                r.stop().unwrap();
            });
            key.set(Some(
                r.add_source(&*a2, Interest::READABLE, handler).unwrap(),
            ));
        });
        peer.write_all(b"hi").unwrap();
        reactor.run().unwrap();
        assert_eq!(*got.borrow(), b"hi");
        assert_eq!(reactor.source_count(), 0);
        reactor.close();
    }
}

#[test]
fn an_io_handler_writes_to_another_connection_and_cancels_a_timer() {
    for reactor in reactors() {
        let (a, mut a_peer) = pair();
        let (b, b_peer) = pair();
        let b = Rc::new(b);
        let timeout = reactor.call_later(Duration::from_secs(60), || panic!("must be cancelled"));
        let b2 = b.clone();
        let t = RefCell::new(Some(timeout.clone()));
        reactor
            .add_source(
                &a,
                Interest::READABLE,
                Rc::new(move |r: &Reactor, _: Readiness| {
                    (&*b2).write_all(b"relayed").unwrap();
                    if let Some(t) = t.borrow_mut().take() {
                        t.cancel().unwrap();
                        // A new timer from inside the handler.
                        let r2 = r.clone();
                        r.call_later(Duration::ZERO, move || r2.stop().unwrap());
                    }
                }) as Rc<dyn IoHandler>,
            )
            .unwrap();
        a_peer.write_all(b"go").unwrap();
        reactor.run().unwrap();
        assert!(timeout.cancelled());
        let mut buf = [0u8; 16];
        let n = (&b_peer).read(&mut buf).unwrap();
        // The handler never drains its input, so (level-triggered) it may run more than once
        // before the stop lands; every run relays.
        assert!(buf[..n].starts_with(b"relayed"), "{:?}", &buf[..n]);
        reactor.close();
    }
}

#[test]
fn call_soon_from_call_soon_runs_next_turn() {
    let reactor = Reactor::new().unwrap();
    let log = Rc::new(RefCell::new(Vec::new()));
    let (l, r) = (log.clone(), reactor.clone());
    reactor.call_soon(move || {
        l.borrow_mut().push("first");
        let l2 = l.clone();
        r.call_soon(move || l2.borrow_mut().push("second"));
    });
    reactor.iterate(Duration::ZERO).unwrap();
    assert_eq!(*log.borrow(), ["first"]);
    reactor.iterate(Duration::ZERO).unwrap();
    assert_eq!(*log.borrow(), ["first", "second"]);
    reactor.close();
}

#[test]
fn a_thread_call_and_a_trigger_may_stop_the_reactor() {
    let reactor = Reactor::new().unwrap();
    let handle = reactor.thread_handle();
    reactor.call_when_running(move || {
        handle.call_from_thread(|r| r.stop().unwrap()).unwrap();
    });
    reactor.run().unwrap();
    reactor.close();
}

#[test]
fn before_poll_hooks_see_everything_written_in_the_turn() {
    let reactor = Reactor::new().unwrap();
    let (a, mut peer) = pair();
    let a = Rc::new(a);
    let a2 = a.clone();
    let pending = Rc::new(RefCell::new(Vec::<u8>::new()));
    let flushed = Rc::new(RefCell::new(Vec::<Vec<u8>>::new()));
    let (p, f) = (pending.clone(), flushed.clone());
    reactor
        .add_source(
            &*a,
            Interest::READABLE,
            Rc::new(move |r: &Reactor, _: Readiness| {
                let mut buf = [0u8; 64];
                let n = (&*a2).read(&mut buf).unwrap_or(0);
                let first = p.borrow().is_empty();
                p.borrow_mut().extend_from_slice(&buf[..n]);
                if first {
                    let (p2, f2) = (p.clone(), f.clone());
                    r.call_before_poll(move || {
                        f2.borrow_mut().push(std::mem::take(&mut *p2.borrow_mut()))
                    });
                }
            }) as Rc<dyn IoHandler>,
        )
        .unwrap();
    peer.write_all(b"abc").unwrap();
    turn_until(&reactor, LIMIT, || !pending.borrow().is_empty());
    reactor.iterate(Duration::ZERO).unwrap();
    assert_eq!(*flushed.borrow(), vec![b"abc".to_vec()]);
    reactor.close();
}
