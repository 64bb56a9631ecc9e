//! Tests of the kqueue logic (run on every platform), including a model kernel that checks
//! every change sequence the registry emits is one a real kqueue would accept.

use std::collections::HashMap;
use std::io;
use std::os::fd::RawFd;

use rustix::io::Errno;

use super::logic::*;
use crate::{Events, Interest, Readiness, Token};

const R: Interest = Interest::READABLE;
const W: Interest = Interest::WRITABLE;
const NO: Interest = Interest::empty();

fn ch(fd: RawFd, filter: Filter, action: Action) -> Change {
    Change { fd, filter, action }
}

fn list(c: Changes) -> Vec<Change> {
    c.iter().collect()
}

/// A model of the kernel's knotes, enforcing kevent(2)'s rules: enable, disable and delete
/// need an existing knote (else `ENOENT`); add on an existing knote is allowed (it modifies
/// it) but the registry never needs it.
#[derive(Default)]
struct ModelKernel {
    knotes: HashMap<(RawFd, Filter), bool>, // enabled?
    calls: Vec<Change>,
    fail_on: Option<Change>,
}

impl ModelKernel {
    fn apply(&mut self, c: Change) -> io::Result<()> {
        self.calls.push(c);
        if self.fail_on == Some(c) {
            return Err(Errno::INVAL.into());
        }
        let key = (c.fd, c.filter);
        match c.action {
            Action::Add => {
                assert!(!self.knotes.contains_key(&key), "redundant EV_ADD {c:?}");
                self.knotes.insert(key, true);
            }
            Action::Enable | Action::Disable => {
                let on = self.knotes.get_mut(&key).ok_or(Errno::NOENT)?;
                *on = c.action == Action::Enable;
            }
            Action::Delete => {
                self.knotes.remove(&key).ok_or(Errno::NOENT)?;
            }
        }
        Ok(())
    }

    /// The interest the kernel would report for `fd`.
    fn reporting(&self, fd: RawFd) -> Interest {
        let mut i = Interest::empty();
        if self.knotes.get(&(fd, Filter::Read)) == Some(&true) {
            i |= R;
        }
        if self.knotes.get(&(fd, Filter::Write)) == Some(&true) {
            i |= W;
        }
        i
    }
}

#[test]
fn register_adds_only_wanted_filters() {
    let none = Filters::default();
    assert!(changes_for(3, none, Some(NO)).is_empty());
    assert_eq!(
        list(changes_for(3, none, Some(R))),
        [ch(3, Filter::Read, Action::Add)]
    );
    assert_eq!(
        list(changes_for(3, none, Some(R | W))),
        [
            ch(3, Filter::Read, Action::Add),
            ch(3, Filter::Write, Action::Add)
        ]
    );
}

#[test]
fn turning_filters_off_and_on_disables_and_enables() {
    let mut f = Filters::default();
    for c in changes_for(5, f, Some(R)).iter() {
        f.apply(c);
    }
    // R -> W: disable read, add write.
    let c = changes_for(5, f, Some(W));
    assert_eq!(
        list(c),
        [
            ch(5, Filter::Read, Action::Disable),
            ch(5, Filter::Write, Action::Add)
        ]
    );
    c.iter().for_each(|c| f.apply(c));
    assert_eq!(f.reporting(), W);
    // W -> R: enable read, disable write.
    let c = changes_for(5, f, Some(R));
    assert_eq!(
        list(c),
        [
            ch(5, Filter::Read, Action::Enable),
            ch(5, Filter::Write, Action::Disable)
        ]
    );
    c.iter().for_each(|c| f.apply(c));
    // Same interest again: nothing to do.
    assert!(changes_for(5, f, Some(R)).is_empty());
    // Quiet, then deregister deletes both knotes even though both are disabled.
    changes_for(5, f, Some(NO)).iter().for_each(|c| f.apply(c));
    assert_eq!(f.reporting(), NO);
    assert_eq!(
        list(changes_for(5, f, None)),
        [
            ch(5, Filter::Read, Action::Delete),
            ch(5, Filter::Write, Action::Delete)
        ]
    );
}

#[test]
fn received_kevents_map_to_readiness() {
    let base = Received {
        ident: 4,
        filter: Some(Filter::Read),
        eof: false,
        error: false,
        data: 10,
        fflags: 0,
    };
    assert_eq!(readiness_of(&base), Readiness::READABLE);
    let eof = Received { eof: true, ..base };
    assert_eq!(readiness_of(&eof), Readiness::READABLE | Readiness::HUP);
    let reset = Received {
        filter: Some(Filter::Write),
        eof: true,
        fflags: 54, // ECONNRESET on the BSDs
        ..base
    };
    assert_eq!(
        readiness_of(&reset),
        Readiness::WRITABLE | Readiness::HUP | Readiness::ERROR
    );
    let failed = Received {
        error: true,
        data: 9,
        ..base
    };
    assert_eq!(readiness_of(&failed), Readiness::ERROR);
    let other = Received {
        filter: None,
        ..base
    };
    assert_eq!(readiness_of(&other), Readiness::empty());
}

#[test]
fn registry_errors() {
    let mut k = ModelKernel::default();
    let mut reg = Registry::new();
    reg.register(7, Token::new(1, 1), R, |c| k.apply(c))
        .unwrap();
    let e = reg
        .register(7, Token::new(1, 1), W, |c| k.apply(c))
        .unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
    let e = reg
        .reregister(8, Token::new(2, 0), R, |c| k.apply(c))
        .unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::NotFound);
    let e = reg.deregister(8, |c| k.apply(c)).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::NotFound);
    reg.deregister(7, |c| k.apply(c)).unwrap();
    assert!(reg.is_empty());
    assert!(k.knotes.is_empty());
}

#[test]
fn a_failed_register_is_rolled_back() {
    let mut k = ModelKernel {
        fail_on: Some(ch(9, Filter::Write, Action::Add)),
        ..Default::default()
    };
    let mut reg = Registry::new();
    let e = reg
        .register(9, Token::new(0, 0), R | W, |c| k.apply(c))
        .unwrap_err();
    assert_eq!(e.raw_os_error(), Some(Errno::INVAL.raw_os_error()));
    assert!(reg.get(9).is_none());
    assert!(
        k.knotes.is_empty(),
        "read knote deleted again: {:?}",
        k.calls
    );
}

#[test]
fn a_failed_reregister_keeps_bookkeeping_true_to_the_kernel() {
    let mut k = ModelKernel::default();
    let mut reg = Registry::new();
    let t = Token::new(3, 3);
    reg.register(9, t, R, |c| k.apply(c)).unwrap();
    k.fail_on = Some(ch(9, Filter::Write, Action::Add));
    assert!(reg
        .reregister(9, Token::new(3, 4), W, |c| k.apply(c))
        .is_err());
    let e = reg.get(9).unwrap();
    assert_eq!(e.token, t, "token unchanged on failure");
    assert_eq!(e.filters.reporting(), k.reporting(9));
    k.fail_on = None;
    reg.reregister(9, Token::new(3, 4), W, |c| k.apply(c))
        .unwrap();
    assert_eq!(k.reporting(9), W);
}

#[test]
fn deregister_tolerates_knotes_already_gone() {
    let mut reg = Registry::new();
    reg.register(11, Token::new(0, 0), R | W, |_| Ok(()))
        .unwrap();
    // The descriptor was closed first: the kernel dropped the knotes.
    reg.deregister(11, |_| Err(Errno::BADF.into())).unwrap();
    reg.register(11, Token::new(0, 0), R, |_| Ok(())).unwrap();
    reg.deregister(11, |_| Err(Errno::NOENT.into())).unwrap();
    reg.register(11, Token::new(0, 0), R, |_| Ok(())).unwrap();
    assert!(reg.deregister(11, |_| Err(Errno::IO.into())).is_err());
    assert!(reg.get(11).is_none(), "forgotten even on error");
}

fn recv(ident: usize, filter: Filter) -> Received {
    Received {
        ident,
        filter: Some(filter),
        eof: false,
        error: false,
        data: 1,
        fflags: 0,
    }
}

#[test]
fn collect_merges_read_and_write_of_one_descriptor() {
    let mut reg = Registry::new();
    let (ta, tb) = (Token::new(1, 0), Token::new(2, 0));
    reg.register(20, ta, R | W, |_| Ok(())).unwrap();
    reg.register(21, tb, R | W, |_| Ok(())).unwrap();
    let mut events = Events::with_capacity(2);
    // Not adjacent, plus an unregistered descriptor that is dropped.
    let kevents = [
        recv(20, Filter::Read),
        recv(99, Filter::Read),
        recv(21, Filter::Write),
        recv(20, Filter::Write),
        Received {
            eof: true,
            ..recv(21, Filter::Read)
        },
    ];
    reg.collect(kevents, &mut events);
    let got: Vec<_> = events.iter().map(|e| (e.token, e.readiness)).collect();
    let rw = Readiness::READABLE | Readiness::WRITABLE;
    assert_eq!(got, [(ta, rw), (tb, rw | Readiness::HUP)]);

    // The next wait starts afresh: no merging into last wait's positions.
    events.clear();
    reg.collect([recv(21, Filter::Read)], &mut events);
    let got: Vec<_> = events.iter().map(|e| (e.token, e.readiness)).collect();
    assert_eq!(got, [(tb, Readiness::READABLE)]);
}

#[test]
fn collect_respects_capacity_but_still_merges() {
    let mut reg = Registry::new();
    for fd in 30..33 {
        reg.register(fd, Token::new(fd as u32, 0), R | W, |_| Ok(()))
            .unwrap();
    }
    let mut events = Events::with_capacity(1);
    let kevents = [
        recv(30, Filter::Read),
        recv(31, Filter::Read),
        recv(30, Filter::Write),
        recv(32, Filter::Write),
    ];
    reg.collect(kevents, &mut events);
    assert_eq!(events.len(), 1);
    let e = events.get(0).unwrap();
    assert_eq!(e.token, Token::new(30, 0));
    assert_eq!(e.readiness, Readiness::READABLE | Readiness::WRITABLE);
}

#[test]
fn random_operation_sequences_match_the_model_kernel() {
    // A small deterministic generator (no dependencies): xorshift64.
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let interests = [NO, R, W, R | W];
    let mut k = ModelKernel::default();
    let mut reg = Registry::new();
    let mut expected: HashMap<RawFd, (Token, Interest)> = HashMap::new();
    for step in 0..5_000u32 {
        let fd = next(8) as RawFd;
        let interest = interests[next(4) as usize];
        let token = Token::new(fd as u32, step);
        let registered = expected.contains_key(&fd);
        match next(3) {
            0 => {
                let r = reg.register(fd, token, interest, |c| k.apply(c));
                if registered {
                    assert_eq!(r.unwrap_err().kind(), io::ErrorKind::AlreadyExists);
                } else {
                    r.unwrap();
                    expected.insert(fd, (token, interest));
                }
            }
            1 => {
                let r = reg.reregister(fd, token, interest, |c| k.apply(c));
                if registered {
                    r.unwrap();
                    expected.insert(fd, (token, interest));
                } else {
                    assert_eq!(r.unwrap_err().kind(), io::ErrorKind::NotFound);
                }
            }
            _ => {
                let r = reg.deregister(fd, |c| k.apply(c));
                if expected.remove(&fd).is_some() {
                    r.unwrap();
                } else {
                    assert_eq!(r.unwrap_err().kind(), io::ErrorKind::NotFound);
                }
            }
        }
        for fd in 0..8 {
            let want = expected.get(&fd).map(|&(_, i)| i).unwrap_or(NO);
            assert_eq!(k.reporting(fd), want, "step {step} fd {fd}");
            match (reg.get(fd), expected.get(&fd)) {
                (Some(e), Some(&(t, i))) => assert_eq!((e.token, e.interest), (t, i)),
                (None, None) => {
                    assert!(!k.knotes.keys().any(|&(f, _)| f == fd), "leaked knote");
                }
                (a, b) => panic!("step {step} fd {fd}: registry {a:?}, expected {b:?}"),
            }
        }
        assert_eq!(reg.len(), expected.len());
    }
}
