//! The [`Poller`] contract, written once and run against every backend compiled here, both
//! directly (`epoll::…`, `poll::…`, `kqueue::…`) and through [`AnyPoller::with_backend`]
//! (`any_epoll::…`, …). `any_env::…` goes through `AnyPoller::new`, which honours
//! `TORSION_POLLER`.
//!
//! Every wait has a timeout; no test can hang.

mod util;

use std::io::Write;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Once};
use std::thread;
use std::time::{Duration, Instant};

use torsion_sys::{socket, Events, Interest, Poller, Readiness, Token, Waker};
use util::*;

mod cases {
    use super::*;

    /// A wait with nothing registered lasts at least its timeout, even a sub-millisecond
    /// one (rounded up, never down), and a zero timeout does not block.
    pub(crate) fn timeout_with_no_sources<P: Poller>(mut p: P) {
        let mut events = Events::with_capacity(8);
        for t in [
            Duration::from_millis(30),
            Duration::from_micros(1500),
            Duration::from_nanos(1),
        ] {
            let start = Instant::now();
            p.wait(&mut events, Some(t)).unwrap();
            assert!(events.is_empty());
            assert!(
                start.elapsed() >= t,
                "{}: waited {:?} < {t:?}",
                P::NAME,
                start.elapsed()
            );
        }
        let start = Instant::now();
        p.wait(&mut events, Some(Duration::ZERO)).unwrap();
        assert!(events.is_empty());
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "zero timeout blocked"
        );
    }

    /// Data written by the peer makes a socketpair end readable.
    pub(crate) fn readable_after_peer_writes_unix<P: Poller>(mut p: P) {
        let (a, mut b) = unix_pair();
        let t = Token::new(1, 0);
        p.register(a.as_fd(), t, R).unwrap();
        expect_nothing_for(&mut p, t);
        send(&mut b, b"hi");
        expect_events(&mut p, &[(t, Readiness::READABLE)]);
    }

    /// Same over TCP loopback.
    pub(crate) fn readable_after_peer_writes_tcp<P: Poller>(mut p: P) {
        let (client, mut server) = tcp_pair();
        let t = Token::new(2, 9);
        p.register(client.as_fd(), t, R).unwrap();
        expect_nothing_for(&mut p, t);
        send(&mut server, b"hello");
        expect_events(&mut p, &[(t, Readiness::READABLE)]);
    }

    /// Level-triggered: still readable on the next wait while undrained, quiet after.
    pub(crate) fn level_triggered<P: Poller>(mut p: P) {
        let (mut a, mut b) = unix_pair();
        let t = Token::new(3, 0);
        p.register(a.as_fd(), t, R).unwrap();
        send(&mut b, b"data");
        expect_events(&mut p, &[(t, Readiness::READABLE)]);
        for _ in 0..3 {
            let r = readiness_for(&mut p, t, Duration::ZERO);
            assert!(
                r.contains(Readiness::READABLE),
                "{}: not re-reported",
                P::NAME
            );
        }
        assert_eq!(drain(&mut a), Some(4));
        expect_nothing_for(&mut p, t);
        assert_would_block(std::io::Read::read(&mut a, &mut [0u8; 8]));
    }

    /// A fresh connected socket is writable.
    pub(crate) fn writable_when_fresh<P: Poller>(mut p: P) {
        let (a, _b) = unix_pair();
        let (c, _s) = tcp_pair();
        let (ta, tc) = (Token::new(4, 0), Token::new(5, 0));
        p.register(a.as_fd(), ta, W).unwrap();
        p.register(c.as_fd(), tc, W).unwrap();
        expect_events(
            &mut p,
            &[(ta, Readiness::WRITABLE), (tc, Readiness::WRITABLE)],
        );
    }

    /// Reregistering replaces the interest (writable → readable only) and the token.
    pub(crate) fn reregister_changes_interest<P: Poller>(mut p: P) {
        let (a, mut b) = unix_pair();
        let (t1, t2) = (Token::new(6, 1), Token::new(6, 2));
        p.register(a.as_fd(), t1, W).unwrap();
        expect_events(&mut p, &[(t1, Readiness::WRITABLE)]);
        p.reregister(a.as_fd(), t2, R).unwrap();
        expect_no_events(&mut p);
        send(&mut b, b"x");
        let seen = expect_events(&mut p, &[(t2, Readiness::READABLE)]);
        for e in seen {
            assert_eq!(e.token, t2, "{}: old token reported", P::NAME);
            assert!(
                !e.readiness.contains(Readiness::WRITABLE),
                "{}: {e:?}",
                P::NAME
            );
        }
    }

    /// An empty interest is quiet (data and writability are not reported), but a hang-up is.
    pub(crate) fn empty_interest_is_quiet_but_reports_hup<P: Poller>(mut p: P) {
        let (a, mut b) = unix_pair();
        let t = Token::new(7, 0);
        p.register(a.as_fd(), t, R | W).unwrap();
        expect_events(&mut p, &[(t, Readiness::WRITABLE)]);
        p.reregister(a.as_fd(), t, Interest::empty()).unwrap();
        send(&mut b, b"ignored");
        expect_no_events(&mut p);
        drop(b);
        expect_events(&mut p, &[(t, Readiness::HUP)]);
    }

    /// A quiet TCP socket whose peer resets the connection reports it (HUP or ERROR).
    pub(crate) fn empty_interest_reports_reset<P: Poller>(mut p: P) {
        let (client, server) = tcp_pair();
        let t = Token::new(8, 0);
        p.register(client.as_fd(), t, Interest::empty()).unwrap();
        expect_no_events(&mut p);
        socket::set_linger_zero(&server).unwrap();
        drop(server);
        let seen = expect_events(&mut p, &[(t, Readiness::empty())]);
        assert!(
            seen.iter()
                .any(|e| e.readiness.intersects(Readiness::HUP | Readiness::ERROR)),
            "{}: {seen:?}",
            P::NAME
        );
    }

    /// The peer closing gives READABLE (EOF) and HUP, on a socketpair and over TCP.
    pub(crate) fn peer_close_gives_hup_and_readable<P: Poller>(mut p: P) {
        let (mut a, b) = unix_pair();
        let (mut c, s) = tcp_pair();
        let (ta, tc) = (Token::new(9, 0), Token::new(10, 0));
        p.register(a.as_fd(), ta, R).unwrap();
        p.register(c.as_fd(), tc, R).unwrap();
        drop(b);
        drop(s);
        let want = Readiness::READABLE | Readiness::HUP;
        expect_events(&mut p, &[(ta, want), (tc, want)]);
        assert_eq!(drain(&mut a), None, "EOF");
        assert_eq!(drain(&mut c), None, "EOF");
    }

    /// An `EDGE` interest, as its owner rules say: new data is reported, a reregistration
    /// reports data still there, a drained source is quiet, a half-close shows as `HUP`.
    /// Only epoll is edge-triggered here, so only it must stay quiet about data that was
    /// reported and left unread; the others may report it again (a state).
    pub(crate) fn edge_interest<P: Poller>(mut p: P) {
        let (mut c, mut s) = tcp_pair();
        let t = Token::new(40, 1);
        let re = R | Interest::EDGE;
        p.register(c.as_fd(), t, re).unwrap();
        expect_nothing_for(&mut p, t);
        send(&mut s, b"first");
        expect_events(&mut p, &[(t, Readiness::READABLE)]);
        let again = readiness_for(&mut p, t, QUIET);
        if P::NAME == "epoll" {
            assert!(
                again.is_empty(),
                "epoll: unread data reported again: {again:?}"
            );
        }
        send(&mut s, b"second");
        expect_events(&mut p, &[(t, Readiness::READABLE)]);
        p.reregister(c.as_fd(), t, re).unwrap();
        expect_events(&mut p, &[(t, Readiness::READABLE)]);
        assert_eq!(drain(&mut c), Some(11));
        expect_nothing_for(&mut p, t);
        s.shutdown(Shutdown::Write).unwrap();
        expect_events(&mut p, &[(t, Readiness::READABLE | Readiness::HUP)]);
        assert_eq!(drain(&mut c), None);
    }

    /// The peer shutting down its writing side gives READABLE and HUP; we can still write.
    pub(crate) fn half_close_gives_readable_and_hup<P: Poller>(mut p: P) {
        let (mut c, mut s) = tcp_pair();
        let (mut a, b) = unix_pair();
        let (tc, ta) = (Token::new(11, 0), Token::new(12, 0));
        p.register(c.as_fd(), tc, R).unwrap();
        p.register(a.as_fd(), ta, R).unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        b.shutdown(Shutdown::Write).unwrap();
        let want = Readiness::READABLE | Readiness::HUP;
        expect_events(&mut p, &[(tc, want), (ta, want)]);
        assert_eq!(drain(&mut c), None);
        assert_eq!(drain(&mut a), None);
        c.write_all(b"still open").unwrap();
        let mut got = [0u8; 10];
        let deadline = Instant::now() + DEADLINE;
        let mut n = 0;
        while n < got.len() && Instant::now() < deadline {
            match std::io::Read::read(&mut s, &mut got[n..]) {
                Ok(k) => n += k,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    thread::sleep(Duration::from_millis(1))
                }
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(&got, b"still open");
    }

    /// After deregistering, nothing more is reported.
    pub(crate) fn deregister_stops_events<P: Poller>(mut p: P) {
        let (a, mut b) = unix_pair();
        let t = Token::new(13, 0);
        p.register(a.as_fd(), t, R | W).unwrap();
        send(&mut b, b"x");
        expect_events(&mut p, &[(t, Readiness::READABLE)]);
        p.deregister(a.as_fd()).unwrap();
        expect_no_events(&mut p);
        drop(b);
        expect_no_events(&mut p);
        // And it can come back.
        p.register(a.as_fd(), t, R).unwrap();
        expect_events(&mut p, &[(t, Readiness::READABLE)]);
    }

    /// Registering twice is `AlreadyExists`; unknown descriptors are `NotFound`.
    pub(crate) fn registration_errors<P: Poller>(mut p: P) {
        let (a, b) = unix_pair();
        let t = Token::new(14, 0);
        p.register(a.as_fd(), t, R).unwrap();
        let e = p.register(a.as_fd(), t, W).unwrap_err();
        assert_eq!(
            e.kind(),
            std::io::ErrorKind::AlreadyExists,
            "{}: {e}",
            P::NAME
        );
        let e = p.reregister(b.as_fd(), t, R).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound, "{}: {e}", P::NAME);
        let e = p.deregister(b.as_fd()).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound, "{}: {e}", P::NAME);
        p.deregister(a.as_fd()).unwrap();
        let e = p.deregister(a.as_fd()).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound, "{}: {e}", P::NAME);
    }

    /// Tokens come back exactly, index and generation, including the extremes.
    pub(crate) fn tokens_round_trip<P: Poller>(mut p: P) {
        let tokens = [
            Token::new(0, 0),
            Token::new(u32::MAX, 0),
            Token::new(0, u32::MAX),
            Token::new(u32::MAX - 1, 0xDEAD_BEEF),
            Token::new(123_456, 7),
        ];
        let pairs: Vec<_> = tokens.iter().map(|_| unix_pair()).collect();
        for (t, (a, _)) in tokens.iter().zip(&pairs) {
            p.register(a.as_fd(), *t, W).unwrap();
        }
        let want: Vec<_> = tokens.iter().map(|&t| (t, Readiness::WRITABLE)).collect();
        let seen = expect_events(&mut p, &want);
        for e in seen {
            assert!(tokens.contains(&e.token), "{}: stray {e:?}", P::NAME);
        }
    }

    /// With capacity 1 and three ready sources, each wait returns one event and all three
    /// are seen within three waits.
    pub(crate) fn capacity_one_is_fair<P: Poller>(mut p: P) {
        let pairs: Vec<_> = (0..3).map(|_| unix_pair()).collect();
        for (k, (a, _)) in pairs.iter().enumerate() {
            p.register(a.as_fd(), Token::new(k as u32, 0), W).unwrap();
        }
        let mut events = Events::with_capacity(1);
        let mut seen = Vec::new();
        for _ in 0..3 {
            p.wait(&mut events, Some(DEADLINE)).unwrap();
            assert_eq!(events.len(), 1, "{}", P::NAME);
            seen.push(events.get(0).unwrap().token.index());
        }
        seen.sort_unstable();
        assert_eq!(seen, [0, 1, 2], "{}", P::NAME);
    }

    /// A wake from another thread ends a wait with no timeout.
    pub(crate) fn waker_wakes_blocking_wait<P: Poller>(mut p: P) {
        for waker in [Waker::new().unwrap(), Waker::new_pipe().unwrap()] {
            let waker = Arc::new(waker);
            p.register(waker.as_fd(), Token::WAKER, R).unwrap();
            let (done_tx, done_rx) = mpsc::channel::<()>();
            let w = waker.clone();
            let helper = thread::spawn(move || {
                thread::sleep(Duration::from_millis(50));
                w.wake().unwrap();
                // Watchdog: if the wait is still blocked after DEADLINE, wake it again so
                // the test fails on the time check rather than hanging.
                if done_rx.recv_timeout(DEADLINE).is_err() {
                    let _ = w.wake();
                }
            });
            let start = Instant::now();
            let mut events = Events::with_capacity(4);
            p.wait(&mut events, None).unwrap();
            let took = start.elapsed();
            let _ = done_tx.send(());
            helper.join().unwrap();
            assert!(took < DEADLINE, "{}: wait(None) took {took:?}", P::NAME);
            let tokens: Vec<_> = events.iter().map(|e| e.token).collect();
            assert!(tokens.contains(&Token::WAKER), "{}: {tokens:?}", P::NAME);
            waker.drain();
            expect_no_events(&mut p);
            p.deregister(waker.as_fd()).unwrap();
        }
    }

    /// Many wakes before a wait coalesce into one event; drain makes it quiet.
    pub(crate) fn waker_coalesces_and_drains<P: Poller>(mut p: P) {
        for waker in [Waker::new().unwrap(), Waker::new_pipe().unwrap()] {
            p.register(waker.as_fd(), Token::WAKER, R).unwrap();
            for _ in 0..100 {
                waker.wake().unwrap();
            }
            let got = wait_once(&mut p, 8, DEADLINE);
            assert_eq!(got.len(), 1, "{}: {got:?}", P::NAME);
            assert_eq!(got[0].token, Token::WAKER);
            assert!(got[0].readiness.contains(Readiness::READABLE));
            waker.drain();
            expect_no_events(&mut p);
            p.deregister(waker.as_fd()).unwrap();
        }
    }

    /// A listening socket is readable while a connection is pending.
    pub(crate) fn listener_readable_on_pending_connection<P: Poller>(mut p: P) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let t = Token::new(15, 0);
        p.register(listener.as_fd(), t, R).unwrap();
        expect_nothing_for(&mut p, t);
        let _client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        expect_events(&mut p, &[(t, Readiness::READABLE)]);
        let (_conn, _) = listener.accept().unwrap();
        expect_nothing_for(&mut p, t);
    }

    /// A non-blocking connect reports WRITABLE when it completes, and a refused one reports
    /// an error or hang-up (with `SO_ERROR` set), whatever order they come in.
    pub(crate) fn connect_completion_is_reported<P: Poller>(mut p: P) {
        let listener = socket::tcp_listen("127.0.0.1:0".parse().unwrap(), 4, true).unwrap();
        let at = socket::local_addr(&listener).unwrap();
        let (ok, _) = socket::tcp_connect(at).unwrap();
        let t_ok = Token::new(16, 0);
        p.register(ok.as_fd(), t_ok, R | W).unwrap();
        expect_events(&mut p, &[(t_ok, Readiness::WRITABLE)]);
        assert!(socket::take_error(&ok).unwrap().is_none());

        drop(listener);
        let t_bad = Token::new(17, 0);
        match socket::tcp_connect(at) {
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused),
            Ok((bad, _)) => {
                p.register(bad.as_fd(), t_bad, W).unwrap();
                let seen = expect_events(&mut p, &[(t_bad, Readiness::empty())]);
                let r = seen
                    .iter()
                    .filter(|e| e.token == t_bad)
                    .fold(Readiness::empty(), |a, e| a | e.readiness);
                assert!(
                    r.intersects(Readiness::ERROR | Readiness::HUP),
                    "{}: {r:?}",
                    P::NAME
                );
                let e = socket::take_error(&bad).unwrap().expect("SO_ERROR");
                assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused);
            }
        }
    }

    /// A wait interrupted by a signal returns `Ok` with no events.
    pub(crate) fn eintr_returns_ok_and_empty<P: Poller>(mut p: P) {
        install_noop_sigusr1();
        // SAFETY: pthread_self has no preconditions.
        let me = unsafe { libc::pthread_self() };
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let pid = me as usize; // pthread_t is an integer on Linux; carried across as such.
        let killer = thread::spawn(move || {
            // Keep signalling until the waiter is done (it may not have entered the wait
            // when the first signal lands); bounded to DEADLINE.
            for _ in 0..(DEADLINE.as_millis() / 20) {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                thread::sleep(Duration::from_millis(20));
                // SAFETY: `pid` is the pthread_t of the test thread, which is alive until
                // it has set `stop` and joined us; SIGUSR1 has a no-op handler installed.
                unsafe { libc::pthread_kill(pid as libc::pthread_t, libc::SIGUSR1) };
            }
        });
        let mut events = Events::with_capacity(4);
        let start = Instant::now();
        let r = p.wait(&mut events, Some(DEADLINE * 2));
        let took = start.elapsed();
        stop.store(true, Ordering::SeqCst);
        killer.join().unwrap();
        r.unwrap();
        assert!(events.is_empty(), "{}", P::NAME);
        assert!(took < DEADLINE, "{}: not interrupted ({took:?})", P::NAME);
    }

    /// Two hundred sources, all ready, are all reported.
    pub(crate) fn two_hundred_sources<P: Poller>(mut p: P) {
        let pairs: Vec<_> = (0..200).map(|_| unix_pair()).collect();
        for (k, (a, _)) in pairs.iter().enumerate() {
            p.register(a.as_fd(), Token::new(k as u32, 1), W).unwrap();
        }
        let mut seen = [false; 200];
        let mut events = Events::with_capacity(64);
        for _ in 0..20 {
            p.wait(&mut events, Some(DEADLINE)).unwrap();
            for e in &events {
                assert_eq!(e.token.generation(), 1);
                seen[e.token.index() as usize] = true;
            }
            if seen.iter().all(|&s| s) {
                break;
            }
        }
        let missing: Vec<_> = (0..200).filter(|&k| !seen[k]).collect();
        assert!(
            missing.is_empty(),
            "{}: never reported {missing:?}",
            P::NAME
        );
        for (a, _) in &pairs {
            p.deregister(a.as_fd()).unwrap();
        }
        expect_no_events(&mut p);
    }
}

/// Installs (once per process) a handler for SIGUSR1 that does nothing, without
/// `SA_RESTART`, so a blocked wait sees `EINTR`.
fn install_noop_sigusr1() {
    static ONCE: Once = Once::new();
    extern "C" fn noop(_: libc::c_int) {}
    ONCE.call_once(|| {
        // SAFETY: a zeroed sigaction is a valid starting point (empty mask, no flags); the
        // handler is an `extern "C" fn(c_int)` that does nothing, which is async-signal-safe.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = noop as *const () as libc::sighandler_t;
            libc::sigemptyset(&mut sa.sa_mask);
            sa.sa_flags = 0;
            assert_eq!(libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut()), 0);
        }
    });
}

/// Makes one `#[test]` per case in a module named `$m`, each on a fresh `$make`.
macro_rules! suite {
    ($m:ident, $make:expr) => {
        suite!(@cases $m, $make;
            timeout_with_no_sources,
            readable_after_peer_writes_unix,
            readable_after_peer_writes_tcp,
            level_triggered,
            edge_interest,
            writable_when_fresh,
            reregister_changes_interest,
            empty_interest_is_quiet_but_reports_hup,
            empty_interest_reports_reset,
            peer_close_gives_hup_and_readable,
            half_close_gives_readable_and_hup,
            deregister_stops_events,
            registration_errors,
            tokens_round_trip,
            capacity_one_is_fair,
            waker_wakes_blocking_wait,
            waker_coalesces_and_drains,
            listener_readable_on_pending_connection,
            connect_completion_is_reported,
            eintr_returns_ok_and_empty,
            two_hundred_sources,
        );
    };
    (@cases $m:ident, $make:expr; $($case:ident),* $(,)?) => {
        mod $m {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[test]
                fn $case() {
                    super::cases::$case($make);
                }
            )*
        }
    };
}

#[cfg(any(target_os = "linux", target_os = "android"))]
suite!(
    epoll,
    <torsion_sys::epoll::EpollPoller as Poller>::new().unwrap()
);
#[cfg(any(target_os = "linux", target_os = "android"))]
suite!(
    any_epoll,
    torsion_sys::AnyPoller::with_backend(torsion_sys::Backend::Epoll).unwrap()
);

suite!(
    poll,
    <torsion_sys::poll::PollPoller as Poller>::new().unwrap()
);
suite!(
    any_poll,
    torsion_sys::AnyPoller::with_backend(torsion_sys::Backend::Poll).unwrap()
);

#[cfg(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly"
))]
suite!(
    kqueue,
    <torsion_sys::kqueue::KqueuePoller as Poller>::new().unwrap()
);
#[cfg(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly"
))]
suite!(
    any_kqueue,
    torsion_sys::AnyPoller::with_backend(torsion_sys::Backend::Kqueue).unwrap()
);

suite!(any_env, <torsion_sys::AnyPoller as Poller>::new().unwrap());
