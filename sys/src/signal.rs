//! Delivering signals (SIGINT, SIGTERM, ...) to reactors as wake-ups.
//!
//! A [`SignalWatch`] asks that the given signals be caught while it lives. The handler is
//! process-wide and async-signal-safe: for each live watch that wants the signal it sets a
//! pending bit and writes to a duplicate of that watch's [`Waker`] descriptor, which wakes
//! the reactor; the reactor then reads the bit with [`SignalWatch::take_pending`] on its own
//! thread. Several watches (several reactors) may exist at once; all of them hear a signal
//! they watch.
//!
//! Handlers are installed with `SA_RESTART`: the reactor does not need the interrupted
//! system call (the waker wakes it), and other threads' blocking calls are spared `EINTR`.
//! When the last watch of a signal is dropped, the disposition found before the first watch
//! was installed is restored, so Ctrl-C kills the process again once no reactor handles it.
//!
//! Tests: below.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::Mutex;

use crate::Waker;

pub use libc::{SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2};

/// How many watches may exist at once in a process.
const SLOTS: usize = 32;

/// One watch's view, read by the handler.
struct Slot {
    /// Descriptor to write to, or -1.
    fd: AtomicI32,
    /// Whether a wake writes 8 bytes (eventfd) or 1 (pipe).
    eventfd: AtomicBool,
    /// Bit n: signal n is watched.
    watching: AtomicU64,
    /// Bit n: signal n arrived and was not taken yet.
    pending: AtomicU64,
    /// Handlers currently looking at this slot.
    busy: AtomicUsize,
}

#[allow(clippy::declare_interior_mutable_const)]
const FREE_SLOT: Slot = Slot {
    fd: AtomicI32::new(-1),
    eventfd: AtomicBool::new(false),
    watching: AtomicU64::new(0),
    pending: AtomicU64::new(0),
    busy: AtomicUsize::new(0),
};

static SLOT_TABLE: [Slot; SLOTS] = [FREE_SLOT; SLOTS];

/// Bookkeeping outside the handler: which slots are taken, and per signal how many watches
/// want it and what disposition to restore.
struct Registry {
    taken: [bool; SLOTS],
    users: [u32; 64],
    saved: [Option<libc::sigaction>; 64],
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    taken: [false; SLOTS],
    users: [0; 64],
    saved: [None; 64],
});

/// The location of the calling thread's `errno`.
fn errno_location() -> *mut libc::c_int {
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "redox"))]
    {
        // SAFETY: always safe to call; returns the thread's errno address.
        unsafe { libc::__errno_location() }
    }
    #[cfg(any(
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd",
        target_os = "dragonfly"
    ))]
    {
        // SAFETY: always safe to call; returns the thread's errno address.
        unsafe { libc::__error() }
    }
    #[cfg(any(target_os = "netbsd", target_os = "openbsd"))]
    {
        // SAFETY: always safe to call; returns the thread's errno address.
        unsafe { libc::__errno() }
    }
}

extern "C" fn handle_signal(signo: libc::c_int) {
    if !(1..64).contains(&signo) {
        return;
    }
    let bit = 1u64 << signo;
    let errno = errno_location();
    // SAFETY: the pointer is this thread's errno; saving it keeps the interrupted code's
    // errno intact across our write(2).
    let saved_errno = unsafe { *errno };
    for slot in &SLOT_TABLE {
        slot.busy.fetch_add(1, SeqCst);
        let fd = slot.fd.load(SeqCst);
        if fd >= 0 && slot.watching.load(SeqCst) & bit != 0 {
            slot.pending.fetch_or(bit, SeqCst);
            let one = 1u64.to_ne_bytes();
            let len = if slot.eventfd.load(SeqCst) { 8 } else { 1 };
            // SAFETY: write(2) is async-signal-safe; `fd` is a descriptor owned by a live
            // SignalWatch, which cannot close it while `busy` is non-zero (see Drop); the
            // buffer is a local array of at least `len` bytes. A full pipe or counter just
            // fails with EAGAIN, which is fine: a wake is already pending.
            unsafe {
                libc::write(fd, one.as_ptr().cast(), len);
            }
        }
        slot.busy.fetch_sub(1, SeqCst);
    }
    // SAFETY: as above.
    unsafe { *errno = saved_errno };
}

/// While it lives, the given signals are caught and turned into wake-ups of one [`Waker`].
#[derive(Debug)]
pub struct SignalWatch {
    slot: usize,
    signals: u64,
    /// Our duplicate of the waker's write descriptor, closed on drop.
    fd: OwnedFd,
}

impl SignalWatch {
    /// Starts catching `signals` (numbers 1 to 63) for `waker`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a signal out of range or one that cannot be caught (SIGKILL,
    /// SIGSTOP), `OutOfMemory`-like `Other` if every slot is in use, or the error of
    /// duplicating the descriptor or of sigaction(2).
    pub fn install(waker: &Waker, signals: &[i32]) -> io::Result<SignalWatch> {
        let mut mask = 0u64;
        for &s in signals {
            if !(1..64).contains(&s) || s == libc::SIGKILL || s == libc::SIGSTOP {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("signal {s} cannot be watched"),
                ));
            }
            mask |= 1 << s;
        }
        let fd = rustix::io::fcntl_dupfd_cloexec(waker.write_fd(), 0)?;
        let mut reg = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
        let slot = reg
            .taken
            .iter()
            .position(|t| !t)
            .ok_or_else(|| io::Error::other("too many signal watches in this process"))?;
        // Install handlers first, so a failure leaves nothing half-done in the slot table.
        let mut installed = Vec::new();
        for s in 1..64 {
            if mask & (1 << s) == 0 || reg.users[s] > 0 {
                continue;
            }
            match install_handler(s as i32) {
                Ok(old) => {
                    reg.saved[s] = Some(old);
                    installed.push(s);
                }
                Err(e) => {
                    for &t in &installed {
                        restore(&mut reg, t);
                    }
                    return Err(e);
                }
            }
        }
        for s in 1..64 {
            if mask & (1 << s) != 0 {
                reg.users[s] += 1;
            }
        }
        reg.taken[slot] = true;
        let entry = &SLOT_TABLE[slot];
        entry.pending.store(0, SeqCst);
        entry.watching.store(mask, SeqCst);
        entry.eventfd.store(waker.is_eventfd(), SeqCst);
        entry.fd.store(fd.as_raw_fd(), SeqCst);
        Ok(SignalWatch {
            slot,
            signals: mask,
            fd,
        })
    }

    /// A signal that arrived since the last call, lowest number first; `None` if none did.
    pub fn take_pending(&self) -> Option<i32> {
        let pending = &SLOT_TABLE[self.slot].pending;
        let bits = pending.load(SeqCst);
        if bits == 0 {
            return None;
        }
        let signo = bits.trailing_zeros();
        pending.fetch_and(!(1u64 << signo), SeqCst);
        Some(signo as i32)
    }
}

fn install_handler(signo: i32) -> io::Result<libc::sigaction> {
    // SAFETY: sigaction is plain data; all-zero is a valid (empty) value to fill in.
    let mut new: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    new.sa_sigaction = handle_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    new.sa_flags = libc::SA_RESTART;
    // SAFETY: sigemptyset initialises the mask we own; sigaction reads `new` and writes
    // `old`, both valid for the call; the handler only does async-signal-safe work.
    let rc = unsafe {
        libc::sigemptyset(&mut new.sa_mask);
        libc::sigaction(signo, &new, &mut old)
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(old)
}

fn restore(reg: &mut Registry, signo: usize) {
    if let Some(old) = reg.saved[signo].take() {
        // SAFETY: `old` is the disposition sigaction gave us earlier for this signal.
        unsafe {
            libc::sigaction(signo as i32, &old, ptr::null_mut());
        }
    }
}

impl Drop for SignalWatch {
    fn drop(&mut self) {
        let mut reg = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
        let entry = &SLOT_TABLE[self.slot];
        entry.fd.store(-1, SeqCst);
        entry.watching.store(0, SeqCst);
        // A handler that read our descriptor before the store above may still be writing
        // to it: wait until none is, before `self.fd` is closed.
        while entry.busy.load(SeqCst) != 0 {
            std::hint::spin_loop();
        }
        entry.pending.store(0, SeqCst);
        for s in 1..64 {
            if self.signals & (1 << s) != 0 {
                reg.users[s] -= 1;
                if reg.users[s] == 0 {
                    restore(&mut reg, s);
                }
            }
        }
        reg.taken[self.slot] = false;
        let _ = &self.fd; // closed when the struct's fields drop, after this function
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    fn readable(w: &Waker) -> bool {
        use rustix::event::{poll, PollFd, PollFlags};
        let fd = w.as_fd();
        let mut fds = [PollFd::new(&fd, PollFlags::IN)];
        let zero = rustix::time::Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        poll(&mut fds, Some(&zero)).unwrap() == 1
    }

    fn disposition(signo: i32) -> libc::sighandler_t {
        // SAFETY: querying only (null new action); `old` is ours to fill.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            libc::sigaction(signo, ptr::null(), &mut old);
            old.sa_sigaction
        }
    }

    /// One test, so the process-wide signal state is not raced by parallel tests.
    #[test]
    fn signals_become_wakeups_and_dispositions_are_restored() {
        // SAFETY: setting SIGUSR2 to ignored, a valid disposition, as the "previous" one.
        unsafe { libc::signal(SIGUSR2, libc::SIG_IGN) };
        let w1 = Waker::new().unwrap();
        let w2 = Waker::new().unwrap();
        let a = SignalWatch::install(&w1, &[SIGUSR2]).unwrap();
        let b = SignalWatch::install(&w2, &[SIGUSR2, SIGUSR1]).unwrap();
        assert_ne!(disposition(SIGUSR2), libc::SIG_IGN);
        // SAFETY: raising a signal we catch.
        unsafe { libc::raise(SIGUSR2) };
        assert!(readable(&w1) && readable(&w2), "both watches woke");
        assert_eq!(a.take_pending(), Some(SIGUSR2));
        assert_eq!(a.take_pending(), None);
        assert_eq!(b.take_pending(), Some(SIGUSR2));
        drop(a);
        w2.drain();
        // SAFETY: as above.
        unsafe { libc::raise(SIGUSR2) };
        assert!(readable(&w2));
        assert_eq!(b.take_pending(), Some(SIGUSR2));
        drop(b);
        assert_eq!(
            disposition(SIGUSR2),
            libc::SIG_IGN,
            "previous disposition restored"
        );
        assert_eq!(disposition(SIGUSR1), libc::SIG_DFL);
        assert!(SignalWatch::install(&w1, &[libc::SIGKILL]).is_err());
        assert!(SignalWatch::install(&w1, &[0]).is_err());
    }
}
