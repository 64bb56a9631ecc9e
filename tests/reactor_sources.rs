//! I/O sources on a real loop, on every backend: readiness delivery, interest changes,
//! stale-event filtering within one batch, and handlers that remove themselves or others.

mod util;

use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::time::Duration;

use torsion::reactor::{IoHandler, Reactor, SourceKey};
use torsion_sys::{Interest, Readiness};
use util::{pair, reactors, turn_until};

const LIMIT: Duration = Duration::from_secs(5);

fn handler(f: impl Fn(&Reactor, Readiness) + 'static) -> Rc<dyn IoHandler> {
    Rc::new(f)
}

#[test]
fn readable_is_delivered_and_level_triggered() {
    for reactor in reactors() {
        let (a, mut b) = pair();
        let hits = Rc::new(Cell::new(0));
        let h = hits.clone();
        let key = reactor
            .add_source(
                &a,
                Interest::READABLE,
                handler(move |_, r| {
                    assert!(r.contains(Readiness::READABLE));
                    h.set(h.get() + 1);
                }),
            )
            .unwrap();
        reactor.iterate(Duration::ZERO).unwrap();
        assert_eq!(hits.get(), 0, "nothing to read yet");
        b.write_all(b"x").unwrap();
        turn_until(&reactor, LIMIT, || hits.get() == 1);
        // Not drained: reported again on the next turn.
        reactor.iterate(Duration::ZERO).unwrap();
        assert_eq!(hits.get(), 2);
        reactor.remove_source(key, &a).unwrap();
        reactor.iterate(Duration::ZERO).unwrap();
        assert_eq!(hits.get(), 2, "removed sources are quiet");
        reactor.close();
    }
}

#[test]
fn writable_and_interest_changes() {
    for reactor in reactors() {
        let (a, _b) = pair();
        let seen = Rc::new(RefCell::new(Vec::new()));
        let s = seen.clone();
        let key = reactor
            .add_source(
                &a,
                Interest::WRITABLE,
                handler(move |_, r| s.borrow_mut().push(r)),
            )
            .unwrap();
        turn_until(&reactor, LIMIT, || !seen.borrow().is_empty());
        assert!(seen.borrow()[0].contains(Readiness::WRITABLE));
        reactor.set_interest(key, &a, Interest::READABLE).unwrap();
        assert_eq!(reactor.source_interest(key), Some(Interest::READABLE));
        seen.borrow_mut().clear();
        reactor.iterate(Duration::from_millis(5)).unwrap();
        assert!(
            seen.borrow().is_empty(),
            "writable no longer wanted: {:?}",
            seen.borrow()
        );
        // Same interest again: nothing to do.
        reactor.set_interest(key, &a, Interest::READABLE).unwrap();
        reactor.remove_source(key, &a).unwrap();
        assert!(
            reactor.set_interest(key, &a, Interest::READABLE).is_err(),
            "stale key"
        );
        reactor.close();
    }
}

#[test]
fn an_empty_interest_is_quiet_even_after_the_peer_hangs_up() {
    for reactor in reactors() {
        let (a, b) = pair();
        let hits = Rc::new(Cell::new(0));
        let h = hits.clone();
        let key = reactor
            .add_source(
                &a,
                Interest::READABLE,
                handler(move |_, _| h.set(h.get() + 1)),
            )
            .unwrap();
        reactor.set_interest(key, &a, Interest::empty()).unwrap();
        drop(b);
        for _ in 0..5 {
            reactor.iterate(Duration::from_millis(2)).unwrap();
        }
        assert_eq!(hits.get(), 0, "a paused source must not spin on HUP");
        reactor.set_interest(key, &a, Interest::READABLE).unwrap();
        turn_until(&reactor, LIMIT, || hits.get() > 0);
        reactor.close();
    }
}

#[test]
fn hang_up_reaches_a_reader() {
    for reactor in reactors() {
        let (a, b) = pair();
        let got = Rc::new(Cell::new(None));
        let g = got.clone();
        let a = Rc::new(a);
        let a2 = a.clone();
        let key = Rc::new(Cell::new(None::<SourceKey>));
        let k = key.clone();
        key.set(Some(
            reactor
                .add_source(
                    &*a,
                    Interest::READABLE,
                    handler(move |r, ready| {
                        let mut buf = [0u8; 16];
                        let n = (&*a2).read(&mut buf).unwrap();
                        g.set(Some((ready, n)));
                        r.remove_source(k.get().unwrap(), &*a2).unwrap();
                    }),
                )
                .unwrap(),
        ));
        drop(b);
        turn_until(&reactor, LIMIT, || got.get().is_some());
        let (ready, n) = got.get().unwrap();
        assert_eq!(n, 0, "EOF");
        assert!(ready.wants_read(), "{ready:?}");
        reactor.close();
    }
}

/// Two ready sources in one batch, each of whose handlers removes the other: whichever runs
/// first, the other's event (already collected) must not be delivered.
#[test]
fn a_source_removed_earlier_in_the_batch_is_never_called() {
    for reactor in reactors() {
        let (a, mut a_peer) = pair();
        let (b, mut b_peer) = pair();
        let a = Rc::new(a);
        let b = Rc::new(b);
        let keys: Rc<RefCell<Vec<SourceKey>>> = Rc::new(RefCell::new(Vec::new()));
        let calls = Rc::new(Cell::new(0));
        for (me, other_index, other) in [(a.clone(), 1usize, b.clone()), (b.clone(), 0, a.clone())]
        {
            let (keys2, calls2) = (keys.clone(), calls.clone());
            let key = reactor
                .add_source(
                    &*me,
                    Interest::READABLE,
                    handler(move |r, _| {
                        calls2.set(calls2.get() + 1);
                        let other_key = keys2.borrow()[other_index];
                        let _ = r.remove_source(other_key, &*other);
                    }),
                )
                .unwrap();
            keys.borrow_mut().push(key);
        }
        a_peer.write_all(b"1").unwrap();
        b_peer.write_all(b"2").unwrap();
        // Make sure both are ready before the loop looks.
        std::thread::sleep(Duration::from_millis(5));
        reactor.iterate(Duration::from_millis(100)).unwrap();
        assert_eq!(calls.get(), 1, "only the first of the pair ran");
        reactor.close();
    }
}

/// A handler removes another ready source and registers a new one, which may reuse the freed
/// slot: the old event (old generation) must not reach the newcomer.
#[test]
fn a_reused_slot_does_not_receive_its_previous_occupants_event() {
    for reactor in reactors() {
        let (a, mut a_peer) = pair();
        let (b, mut b_peer) = pair();
        let (c, _c_peer) = pair(); // never readable
        let (a, b, c) = (Rc::new(a), Rc::new(b), Rc::new(c));
        let wrong = Rc::new(Cell::new(0));
        let keys: Rc<RefCell<Vec<SourceKey>>> = Rc::new(RefCell::new(Vec::new()));
        let done = Rc::new(Cell::new(false));
        for (me, other_index, other) in [(a.clone(), 1usize, b.clone()), (b.clone(), 0, a.clone())]
        {
            let (keys2, c2, wrong2, done2) = (keys.clone(), c.clone(), wrong.clone(), done.clone());
            let key = reactor
                .add_source(
                    &*me,
                    Interest::READABLE,
                    handler(move |r, _| {
                        if done2.replace(true) {
                            return;
                        }
                        let other_key = keys2.borrow()[other_index];
                        r.remove_source(other_key, &*other).unwrap();
                        let w = wrong2.clone();
                        let new_key = r
                            .add_source(
                                &*c2,
                                Interest::READABLE,
                                Rc::new(move |_: &Reactor, _| w.set(w.get() + 1)),
                            )
                            .unwrap();
                        assert_eq!(new_key.index(), other_key.index(), "slot reused");
                        assert_ne!(new_key, other_key, "with a new generation");
                    }),
                )
                .unwrap();
            keys.borrow_mut().push(key);
        }
        a_peer.write_all(b"1").unwrap();
        b_peer.write_all(b"2").unwrap();
        std::thread::sleep(Duration::from_millis(5));
        reactor.iterate(Duration::from_millis(100)).unwrap();
        reactor.iterate(Duration::from_millis(5)).unwrap();
        assert!(done.get());
        assert_eq!(wrong.get(), 0, "the stale event reached the new source");
        reactor.close();
    }
}

#[test]
fn a_handler_may_remove_itself_and_is_kept_alive_until_it_returns() {
    for reactor in reactors() {
        let (a, mut peer) = pair();
        let a = Rc::new(a);
        let key = Rc::new(Cell::new(None));
        let state = Rc::new(RefCell::new(String::new()));
        let (k, s, a2) = (key.clone(), state.clone(), a.clone());
        key.set(Some(
            reactor
                .add_source(
                    &*a,
                    Interest::READABLE,
                    handler(move |r, _| {
                        r.remove_source(k.get().unwrap(), &*a2).unwrap();
                        // Still running fine after removing ourselves.
                        s.borrow_mut().push_str("removed; ");
                        assert_eq!(r.source_count(), 0);
                        s.borrow_mut().push_str("still alive");
                    }),
                )
                .unwrap(),
        ));
        peer.write_all(b"x").unwrap();
        turn_until(&reactor, LIMIT, || !state.borrow().is_empty());
        assert_eq!(*state.borrow(), "removed; still alive");
        reactor.close();
    }
}

#[test]
fn registering_twice_fails_and_leaves_no_entry() {
    for reactor in reactors() {
        let (a, _b) = pair();
        let key = reactor
            .add_source(&a, Interest::READABLE, handler(|_, _| {}))
            .unwrap();
        assert!(reactor
            .add_source(&a, Interest::READABLE, handler(|_, _| {}))
            .is_err());
        assert_eq!(reactor.source_count(), 1);
        reactor.remove_source(key, &a).unwrap();
        assert_eq!(reactor.source_count(), 0);
        reactor.close();
    }
}

#[test]
fn many_sources_are_all_served_even_beyond_the_events_capacity() {
    for backend in torsion_sys::Backend::available() {
        let reactor = Reactor::builder()
            .backend(*backend)
            .events_capacity(8)
            .build()
            .unwrap();
        let pairs: Vec<(UnixStream, UnixStream)> = (0..100).map(|_| pair()).collect();
        let served = Rc::new(RefCell::new(vec![false; pairs.len()]));
        for (i, (a, b)) in pairs.iter().enumerate() {
            let s = served.clone();
            reactor
                .add_source(
                    a,
                    Interest::READABLE,
                    handler(move |_, _| s.borrow_mut()[i] = true),
                )
                .unwrap();
            (&*b).write_all(b"x").unwrap();
        }
        turn_until(&reactor, LIMIT, || served.borrow().iter().all(|&s| s));
        reactor.close();
    }
}
