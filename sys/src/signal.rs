//! Opt-in delivery of Unix signals (SIGINT, SIGTERM, …) to reactors, through their
//! [`Waker`].
//!
//! A [`SignalWatch`] installs a process-wide handler for the signals it names. The handler
//! does only async-signal-safe things: it sets the signal's bit in the watch's pending mask
//! (an atomic) and writes one wake to a duplicate of the waker's descriptor (`write(2)`,
//! 8 bytes for an eventfd, 1 for a pipe). The reactor, woken, calls
//! [`take_pending`](SignalWatch::take_pending) and runs its callbacks in ordinary code.
//!
//! # Implementation notes
//!
//! - **Slots**: up to [`MAX_WATCHES`] watches exist at once, in a fixed static array (the
//!   handler cannot allocate or lock). Each slot holds the duplicated descriptor (an
//!   `AtomicI32`, -1 when free), the kind of write, the watched and pending signal masks
//!   (`AtomicU64`, bit `n` for signal `n`, so signals 1 to 63) and a busy counter.
//! - **Dropping safely against a running handler**: the handler increments the slot's busy
//!   counter, loads the descriptor, writes, and decrements. `Drop` first swaps the
//!   descriptor to -1, then waits for the busy counter to reach zero, and only then closes
//!   the duplicate. With sequentially consistent atomics a handler either saw -1 (and does
//!   not write) or is counted as busy (and the close waits for it), so no handler writes to
//!   a closed, possibly reused, descriptor number. The wait is a short spin: a handler does
//!   one non-blocking write.
//! - **`SA_RESTART` is set.** The reactor is woken by the handler's write whether or not its
//!   wait is interrupted (and epoll_wait/poll/kevent are never restarted after a handler
//!   anyway, they return `EINTR`, which every backend turns into an empty wait). Setting
//!   `SA_RESTART` spares the rest of the program: other threads' blocking `read`s and the
//!   like are resumed instead of failing with `EINTR` because Ctrl-C was pressed.
//! - **Dispositions**: the first watch of a signal saves the disposition it replaces; when
//!   the last watch of that signal is dropped the saved one is put back, so Ctrl-C kills the
//!   process again. A handler installed by someone else in between is overwritten then.
//! - The handler preserves `errno`.
//!
//! Tests: unit tests below.

use std::fmt;
use std::io;
use std::os::fd::{FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, AtomicU8, Ordering::SeqCst};
use std::sync::{Mutex, MutexGuard};

use crate::waker::WakeKind;
use crate::Waker;

/// Signal numbers, for callers without a libc dependency of their own.
pub use libc::{SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2};

/// How many [`SignalWatch`]es can exist at once in a process.
pub const MAX_WATCHES: usize = 16;

/// Signals are numbered 1 to this (they are bits of a `u64`).
const MAX_SIGNAL: i32 = 63;

/// One watch's state, shared with the signal handler.
struct Slot {
    /// Taken by a live watch (only changed under [`STATE`]).
    claimed: AtomicBool,
    /// The duplicated waker descriptor, or -1.
    fd: AtomicI32,
    /// [`KIND_EVENTFD`] or [`KIND_PIPE`].
    kind: AtomicU8,
    /// Signals this slot watches (bit n = signal n).
    signals: AtomicU64,
    /// Signals delivered and not yet taken.
    pending: AtomicU64,
    /// Handlers currently between loading `fd` and finishing their write.
    busy: AtomicU32,
}

const KIND_EVENTFD: u8 = 0;
const KIND_PIPE: u8 = 1;

#[allow(clippy::declare_interior_mutable_const)] // used only to initialise the array
const FREE_SLOT: Slot = Slot {
    claimed: AtomicBool::new(false),
    fd: AtomicI32::new(-1),
    kind: AtomicU8::new(KIND_PIPE),
    signals: AtomicU64::new(0),
    pending: AtomicU64::new(0),
    busy: AtomicU32::new(0),
};

static SLOTS: [Slot; MAX_WATCHES] = [FREE_SLOT; MAX_WATCHES];

/// Disposition bookkeeping, touched only by `install` and `drop`, never by the handler.
struct State {
    /// How many live watches watch signal n.
    refs: [u32; MAX_SIGNAL as usize + 1],
    /// The disposition signal n had before our handler, while `refs[n] > 0`.
    saved: [Option<libc::sigaction>; MAX_SIGNAL as usize + 1],
}

static STATE: Mutex<State> = Mutex::new(State {
    refs: [0; MAX_SIGNAL as usize + 1],
    saved: [None; MAX_SIGNAL as usize + 1],
});

/// Sends `signal` to this process (what `kill -SIG $$` does), for tests and for programs
/// that want to trigger their own graceful stop.
///
/// # Errors
///
/// `InvalidInput` for an unknown signal number; otherwise kill(2)'s error.
pub fn send_to_self(signal: i32) -> io::Result<()> {
    let sig = rustix::process::Signal::from_named_raw(signal).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("unknown signal {signal}"),
        )
    })?;
    rustix::process::kill_process(rustix::process::getpid(), sig)?;
    Ok(())
}

fn state() -> MutexGuard<'static, State> {
    // The state stays consistent even if a panic poisoned the lock (no panics happen
    // while it is half-updated), so go on.
    STATE.lock().unwrap_or_else(|e| e.into_inner())
}

/// A set of signal numbers (1 to 63).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SignalSet(u64);

impl SignalSet {
    /// The empty set.
    pub const EMPTY: SignalSet = SignalSet(0);

    /// True if `signal` is in the set.
    pub fn contains(self, signal: i32) -> bool {
        (1..=MAX_SIGNAL).contains(&signal) && self.0 & (1 << signal) != 0
    }

    /// True if the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The signals in the set, lowest first.
    pub fn iter(self) -> impl Iterator<Item = i32> {
        (1..=MAX_SIGNAL).filter(move |&s| self.0 & (1 << s) != 0)
    }

    /// The raw mask: bit `n` for signal `n`.
    pub fn bits(self) -> u64 {
        self.0
    }
}

impl fmt::Debug for SignalSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// Delivers the named signals to a [`Waker`] until dropped.
///
/// # Examples
///
/// ```no_run
/// use torsion_sys::{signal::SignalWatch, Waker};
///
/// let waker = Waker::new()?;
/// let watch = SignalWatch::install(&waker, &[libc::SIGINT, libc::SIGTERM])?;
/// // ... register `waker` with the poller; when it reports Token::WAKER:
/// waker.drain();
/// while let Some(sig) = watch.take_pending() {
///     println!("got signal {sig}");
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct SignalWatch {
    slot: usize,
    signals: SignalSet,
}

impl SignalWatch {
    /// Starts delivering `signals` to `waker`: each delivery marks the signal pending in
    /// this watch and wakes the waker. The waker's descriptor is duplicated (close-on-exec),
    /// so the watch does not borrow the waker; dropping the waker first only means the
    /// wakes go nowhere.
    ///
    /// # Errors
    ///
    /// - `InvalidInput` if a signal is outside 1 to 63 (`SIGKILL` and `SIGSTOP` fail in
    ///   `sigaction` with `EINVAL`).
    /// - `Other` if [`MAX_WATCHES`] watches already exist.
    /// - Whatever duplicating the descriptor or `sigaction(2)` fails with; nothing is left
    ///   installed then.
    pub fn install(waker: &Waker, signals: &[i32]) -> io::Result<SignalWatch> {
        let mut mask = 0u64;
        for &s in signals {
            if !(1..=MAX_SIGNAL).contains(&s) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("signal {s} is outside 1..={MAX_SIGNAL}"),
                ));
            }
            mask |= 1 << s;
        }
        let (wake_fd, kind) = waker.wake_fd();
        let dup: OwnedFd = rustix::io::fcntl_dupfd_cloexec(wake_fd, 0)?;

        let mut st = state();
        let slot = SLOTS
            .iter()
            .position(|s| !s.claimed.load(SeqCst))
            .ok_or_else(|| {
                io::Error::other(format!("all {MAX_WATCHES} signal watches are in use"))
            })?;
        let s = &SLOTS[slot];
        s.claimed.store(true, SeqCst);
        s.kind.store(
            match kind {
                WakeKind::EventFd => KIND_EVENTFD,
                WakeKind::Pipe => KIND_PIPE,
            },
            SeqCst,
        );
        s.pending.store(0, SeqCst);
        s.signals.store(mask, SeqCst);
        // Publish the descriptor last: a handler that sees it sees the rest.
        s.fd.store(dup.into_raw_fd(), SeqCst);

        for sig in SignalSet(mask).iter() {
            if let Err(e) = add_ref(&mut st, sig) {
                // Undo: only the signals below this one hold a reference.
                release(&mut st, slot, SignalSet(mask & ((1u64 << sig) - 1)));
                return Err(e);
            }
        }
        Ok(SignalWatch {
            slot,
            signals: SignalSet(mask),
        })
    }

    /// Takes one pending signal (the lowest-numbered) and clears it, or `None`.
    pub fn take_pending(&self) -> Option<i32> {
        let pending = &SLOTS[self.slot].pending;
        let mut cur = pending.load(SeqCst);
        while cur != 0 {
            let sig = cur.trailing_zeros();
            match pending.compare_exchange(cur, cur & !(1 << sig), SeqCst, SeqCst) {
                Ok(_) => return Some(sig as i32),
                Err(now) => cur = now,
            }
        }
        None
    }

    /// Takes and clears every pending signal at once.
    pub fn take_all(&self) -> SignalSet {
        SignalSet(SLOTS[self.slot].pending.swap(0, SeqCst))
    }

    /// The signals this watch delivers.
    pub fn signals(&self) -> SignalSet {
        self.signals
    }
}

/// Counts a watch of `sig`, installing our handler (and saving the old disposition) for
/// the first one.
fn add_ref(st: &mut State, sig: i32) -> io::Result<()> {
    let i = sig as usize;
    if st.refs[i] == 0 {
        // SAFETY: a zeroed sigaction is valid (no handler, empty mask, no flags) and every
        // field we rely on is set below.
        let mut new: libc::sigaction = unsafe { std::mem::zeroed() };
        new.sa_sigaction = handler as *const () as libc::sighandler_t;
        new.sa_flags = libc::SA_RESTART as _;
        // SAFETY: `sa_mask` is a valid sigset_t we own; sigemptyset cannot fail on it.
        unsafe { libc::sigemptyset(&mut new.sa_mask) };
        // SAFETY: as above, a valid all-zero sigaction to receive the old disposition.
        let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: `handler` is an `extern "C" fn(c_int)` doing only async-signal-safe
        // work (atomics and write(2)); both pointers are to valid sigactions.
        if unsafe { libc::sigaction(sig, &new, &mut old) } != 0 {
            return Err(io::Error::last_os_error());
        }
        st.saved[i] = Some(old);
    }
    st.refs[i] += 1;
    Ok(())
}

/// Frees `slot` (waiting out handlers using its descriptor), then drops one reference to
/// each signal of `signals`, restoring saved dispositions that reach zero.
fn release(st: &mut State, slot: usize, signals: SignalSet) {
    let s = &SLOTS[slot];
    let fd = s.fd.swap(-1, SeqCst);
    // A handler that loaded the old descriptor incremented `busy` before loading it.
    while s.busy.load(SeqCst) != 0 {
        std::hint::spin_loop();
        std::thread::yield_now();
    }
    if fd >= 0 {
        // SAFETY: `fd` came from `into_raw_fd` on the duplicate this slot owns; we swapped
        // it out, so nothing else will close it, and no handler uses it any more.
        drop(unsafe { OwnedFd::from_raw_fd(fd) });
    }
    s.signals.store(0, SeqCst);
    s.pending.store(0, SeqCst);
    for sig in signals.iter() {
        let i = sig as usize;
        st.refs[i] -= 1;
        if st.refs[i] == 0 {
            if let Some(old) = st.saved[i].take() {
                // SAFETY: `old` is the disposition sigaction gave us for this signal.
                // Restoring it cannot fail for a signal we could install a handler for,
                // and there is nothing useful to do in Drop if it did.
                unsafe { libc::sigaction(sig, &old, std::ptr::null_mut()) };
            }
        }
    }
    s.claimed.store(false, SeqCst);
}

impl Drop for SignalWatch {
    fn drop(&mut self) {
        let mut st = state();
        release(&mut st, self.slot, self.signals);
    }
}

impl fmt::Debug for SignalWatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignalWatch")
            .field("slot", &self.slot)
            .field("signals", &self.signals)
            .field("pending", &SignalSet(SLOTS[self.slot].pending.load(SeqCst)))
            .finish()
    }
}

/// The location of the calling thread's `errno`, where we know how to find it.
#[cfg(any(target_os = "linux", target_os = "dragonfly", target_os = "redox"))]
fn errno_location() -> Option<*mut libc::c_int> {
    // SAFETY: no preconditions; returns the calling thread's errno address.
    Some(unsafe { libc::__errno_location() })
}

/// The location of the calling thread's `errno`, where we know how to find it.
#[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
fn errno_location() -> Option<*mut libc::c_int> {
    // SAFETY: no preconditions; returns the calling thread's errno address.
    Some(unsafe { libc::__error() })
}

/// The location of the calling thread's `errno`, where we know how to find it.
#[cfg(any(target_os = "android", target_os = "netbsd", target_os = "openbsd"))]
fn errno_location() -> Option<*mut libc::c_int> {
    // SAFETY: no preconditions; returns the calling thread's errno address.
    Some(unsafe { libc::__errno() })
}

/// The location of the calling thread's `errno`, where we know how to find it.
#[cfg(not(any(
    target_os = "linux",
    target_os = "dragonfly",
    target_os = "redox",
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "android",
    target_os = "netbsd",
    target_os = "openbsd"
)))]
fn errno_location() -> Option<*mut libc::c_int> {
    None
}

/// The signal handler. Async-signal-safe: atomics, `write(2)` and errno only.
extern "C" fn handler(sig: libc::c_int) {
    if !(1..=MAX_SIGNAL).contains(&sig) {
        return;
    }
    let bit = 1u64 << sig;
    let errno = errno_location();
    // SAFETY: `errno_location` returns the calling thread's errno, valid for reading.
    let saved = errno.map(|p| unsafe { *p });
    for s in &SLOTS {
        if s.signals.load(SeqCst) & bit == 0 {
            continue;
        }
        s.busy.fetch_add(1, SeqCst);
        let fd: RawFd = s.fd.load(SeqCst);
        // Re-check the mask after pinning the descriptor: the slot may have been reused.
        if fd >= 0 && s.signals.load(SeqCst) & bit != 0 {
            s.pending.fetch_or(bit, SeqCst);
            let one = 1u64.to_ne_bytes();
            let len = if s.kind.load(SeqCst) == KIND_EVENTFD {
                8
            } else {
                1
            };
            // SAFETY: `fd` is the slot's open duplicate: `release` waits for `busy` to
            // drop to zero before closing it. `one` is valid for `len <= 8` bytes. A
            // failure (EAGAIN: already readable) needs no handling.
            unsafe { libc::write(fd, one.as_ptr().cast(), len) };
        }
        s.busy.fetch_sub(1, SeqCst);
    }
    if let (Some(p), Some(v)) = (errno, saved) {
        // SAFETY: as above; restoring the value the interrupted code had.
        unsafe { *p = v };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libc::{SIGKILL, SIGURG, SIGUSR2, SIG_IGN};
    use rustix::event::{poll, PollFd, PollFlags, Timespec};

    /// Signal dispositions and the slots are process-wide: run these tests one at a time.
    static SERIAL: Mutex<()> = Mutex::new(());

    fn serial() -> MutexGuard<'static, ()> {
        SERIAL.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn disposition(sig: i32) -> libc::sighandler_t {
        // SAFETY: a zeroed sigaction is a valid out-parameter; a null `act` only queries.
        unsafe {
            let mut cur: libc::sigaction = std::mem::zeroed();
            assert_eq!(libc::sigaction(sig, std::ptr::null(), &mut cur), 0);
            cur.sa_sigaction
        }
    }

    fn set_disposition(sig: i32, to: libc::sighandler_t) {
        // SAFETY: SIG_IGN and SIG_DFL are valid dispositions for the signals used here.
        assert_ne!(unsafe { libc::signal(sig, to) }, libc::SIG_ERR);
    }

    fn raise(sig: i32) {
        // SAFETY: raising a signal whose disposition is our handler or SIG_IGN.
        assert_eq!(unsafe { libc::raise(sig) }, 0);
    }

    fn readable(w: &Waker) -> bool {
        let mut fds = [PollFd::new(w, PollFlags::IN)];
        let zero = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        poll(&mut fds, Some(&zero)).unwrap() == 1
    }

    #[test]
    fn delivers_wakes_and_restores_the_old_disposition() {
        let _g = serial();
        set_disposition(SIGUSR2, SIG_IGN);
        let urg_before = disposition(SIGURG);
        for waker in [Waker::new().unwrap(), Waker::new_pipe().unwrap()] {
            let watch = SignalWatch::install(&waker, &[SIGUSR2, SIGURG]).unwrap();
            assert_eq!(
                disposition(SIGUSR2),
                handler as *const () as libc::sighandler_t
            );
            assert!(!readable(&waker));
            raise(SIGUSR2);
            assert!(readable(&waker), "{waker:?} woken");
            assert_eq!(watch.take_pending(), Some(SIGUSR2));
            assert_eq!(watch.take_pending(), None);
            raise(SIGURG);
            raise(SIGUSR2);
            let all = watch.take_all();
            assert_eq!(all.iter().collect::<Vec<_>>(), [SIGUSR2, SIGURG]);
            assert!(watch.take_all().is_empty());
            waker.drain();
            assert!(!readable(&waker));
            drop(watch);
            assert_eq!(
                disposition(SIGUSR2),
                SIG_IGN,
                "previous disposition is back"
            );
            assert_eq!(disposition(SIGURG), urg_before);
            raise(SIGUSR2); // ignored again; must not wake anything
            assert!(!readable(&waker));
        }
    }

    #[test]
    fn two_watches_of_one_signal() {
        let _g = serial();
        set_disposition(SIGUSR2, SIG_IGN);
        let (w1, w2) = (Waker::new().unwrap(), Waker::new().unwrap());
        let a = SignalWatch::install(&w1, &[SIGUSR2]).unwrap();
        let b = SignalWatch::install(&w2, &[SIGUSR2]).unwrap();
        raise(SIGUSR2);
        assert!(readable(&w1) && readable(&w2));
        assert_eq!(
            (a.take_pending(), b.take_pending()),
            (Some(SIGUSR2), Some(SIGUSR2))
        );
        drop(a);
        assert_ne!(disposition(SIGUSR2), SIG_IGN, "b still watches");
        w2.drain();
        raise(SIGUSR2);
        assert!(readable(&w2));
        assert_eq!(b.take_pending(), Some(SIGUSR2));
        drop(b);
        assert_eq!(disposition(SIGUSR2), SIG_IGN);
    }

    #[test]
    fn bad_signals_are_refused_and_leave_nothing_behind() {
        let _g = serial();
        set_disposition(SIGUSR2, SIG_IGN);
        let w = Waker::new().unwrap();
        for bad in [0, -1, 64, 1000] {
            let e = SignalWatch::install(&w, &[bad]).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        }
        // SIGUSR2 gets our handler first, then SIGKILL fails: SIGUSR2 is rolled back.
        assert!(SignalWatch::install(&w, &[SIGUSR2, SIGKILL]).is_err());
        assert_eq!(disposition(SIGUSR2), SIG_IGN);
        assert!(SLOTS.iter().all(|s| !s.claimed.load(SeqCst)));
    }

    #[test]
    fn slots_run_out_and_come_back() {
        let _g = serial();
        set_disposition(SIGUSR2, SIG_IGN);
        let w = Waker::new().unwrap();
        let mut watches: Vec<_> = (0..MAX_WATCHES)
            .map(|_| SignalWatch::install(&w, &[SIGUSR2]).unwrap())
            .collect();
        assert!(SignalWatch::install(&w, &[SIGUSR2]).is_err());
        watches.pop();
        watches.push(SignalWatch::install(&w, &[SIGUSR2]).unwrap());
        drop(watches);
        assert_eq!(disposition(SIGUSR2), SIG_IGN);
    }

    #[test]
    fn handler_preserves_errno() {
        let _g = serial();
        set_disposition(SIGUSR2, SIG_IGN);
        // A pipe waker whose write end is full makes the handler's write fail with EAGAIN.
        let w = Waker::new_pipe().unwrap();
        for _ in 0..70_000 {
            w.wake().unwrap();
        }
        let watch = SignalWatch::install(&w, &[SIGUSR2]).unwrap();
        let p = errno_location().unwrap();
        // SAFETY: our own thread's errno.
        unsafe { *p = 1234 };
        raise(SIGUSR2);
        // SAFETY: as above.
        assert_eq!(unsafe { *p }, 1234);
        assert_eq!(watch.take_pending(), Some(SIGUSR2));
    }

    #[test]
    fn dropping_while_another_thread_takes_signals() {
        let _g = serial();
        set_disposition(SIGUSR2, SIG_IGN);
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let raised = std::sync::Arc::new(AtomicU32::new(0));
        let (s, r) = (stop.clone(), raised.clone());
        let raiser = std::thread::spawn(move || {
            while !s.load(SeqCst) {
                raise(SIGUSR2);
                r.fetch_add(1, SeqCst);
            }
        });
        let w = Waker::new().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let mut rounds = 0;
        // Churn watches while the other thread keeps taking the signal, until it has been
        // raised many times during the churn (bounded by the deadline).
        while (rounds < 300 || raised.load(SeqCst) < 20_000) && std::time::Instant::now() < deadline
        {
            let watch = SignalWatch::install(&w, &[SIGUSR2]).unwrap();
            let _ = watch.take_all();
            drop(watch);
            rounds += 1;
        }
        stop.store(true, SeqCst);
        raiser.join().unwrap();
        assert!(raised.load(SeqCst) > 0);
        assert_eq!(disposition(SIGUSR2), SIG_IGN);
        assert!(SLOTS
            .iter()
            .all(|s| s.fd.load(SeqCst) == -1 && s.busy.load(SeqCst) == 0));
    }
}
