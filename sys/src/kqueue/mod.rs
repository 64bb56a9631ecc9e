//! The [kqueue(2)](https://man.freebsd.org/cgi/man.cgi?kqueue) backend (macOS, iOS, FreeBSD,
//! NetBSD, OpenBSD, DragonFly).
//!
//! # Status: the logic is tested everywhere, the shim is not tested at all here
//!
//! torsion is developed on Linux, where kqueue does not exist. The backend is therefore
//! split in two:
//!
//! - **The logic**, compiled and unit-tested on every platform (including in this crate's
//!   Linux test runs): [`changes_for`] turns an interest change into `EVFILT_READ` /
//!   `EVFILT_WRITE` changes with `EV_ADD` / `EV_ENABLE` / `EV_DISABLE` / `EV_DELETE`;
//!   [`readiness_of`] turns a received kevent (filter, `EV_EOF`, `EV_ERROR`, `fflags`) into
//!   [`Readiness`](crate::Readiness); [`Registry`] keeps the per-descriptor state needed by
//!   reregister and deregister, and merges a descriptor's read and write kevents into one
//!   [`Event`](crate::Event). These use their own portable types ([`Change`], [`Received`],
//!   [`Filters`]), never `struct kevent`.
//! - **The shim**, `KqueuePoller`, compiled only on the BSD family: it creates the kqueue,
//!   converts [`Change`] to `struct kevent` and `struct kevent` to [`Received`], and calls
//!   `kevent(2)` through `libc` (rustix's kqueue `Event` does not expose `fflags`, where
//!   the kernel puts a socket's error alongside `EV_EOF`). **The shim has never been
//!   compiled or run by us**: no BSD target is installed on the machines torsion is built
//!   on. It is written to compile against libc's definitions for every BSD, and the
//!   conformance suite (`sys/tests/conformance.rs`) instantiates itself for it there.
//!
//! # Implementation notes
//!
//! - **Level-triggered**: no `EV_CLEAR`, no `EV_ONESHOT`, also for an `EDGE` interest
//!   (which allows, and does not require, edge triggering). `EV_CLEAR` would save the
//!   re-reports, but is left for a machine where it can be tested.
//! - **Changes are applied at once**, one `kevent(2)` call per change with an empty event
//!   list, so each change's error comes back as the call's own error (no `EV_RECEIPT`,
//!   which NetBSD, OpenBSD and DragonFly's libc bindings lack). Most interest changes touch
//!   one filter, so this is usually a single call.
//! - **Pausing is cheap**: a filter that is no longer wanted is `EV_DISABLE`d, not deleted,
//!   and `EV_ENABLE`d when wanted again; only deregistration deletes knotes.
//! - **Tokens** are found through the registry by `ident`, not carried in `udata` (which is
//!   pointer-sized, too small for a 64-bit token on 32-bit BSDs).
//! - **Empty interest is completely quiet**, hang-ups included. This is the one place the
//!   backend falls short of the [`Poller`](crate::Poller) contract: kqueue reports `EV_EOF`
//!   only through a filter, and a filter that is enabled reports readiness too, so there is
//!   no way to hear only about hang-ups. A paused source learns of a hang-up when its
//!   interest is restored.
//! - `HUP` means `EV_EOF`: on the read filter the peer shut down its writing side (a
//!   half-close, what epoll calls `EPOLLRDHUP`), on the write filter the peer is gone.
//!   `ERROR` means `EV_EOF` with a socket error in `fflags`, or `EV_ERROR`.
//! - **Timeouts** are passed as a `timespec` (nanoseconds; the kernel rounds up to its
//!   tick); waits longer than a day are split into several kernel waits. `EINTR` returns
//!   `Ok` with no events.
//!
//! Tests: `kqueue/tests.rs` (the logic, on every platform); on BSDs, also
//! `sys/tests/conformance.rs` (module `kqueue`).

mod logic;
#[cfg(test)]
mod tests;

pub use logic::{
    changes_for, readiness_of, Action, Change, Changes, Entry, Filter, FilterState, Filters,
    Received, Registry,
};

#[cfg(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly"
))]
pub use shim::KqueuePoller;

#[cfg(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly"
))]
mod shim {
    use std::fmt;
    use std::io;
    use std::mem;
    use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
    use std::ptr;
    use std::time::Duration;

    use super::logic::{Action, Change, Filter, Received, Registry};
    use crate::{Events, Interest, Poller, Token};

    /// The longest single kernel wait; longer timeouts are split (some kernels reject very
    /// large `timespec`s with `EINVAL`).
    const MAX_WAIT: Duration = Duration::from_secs(24 * 60 * 60);

    /// A [`Poller`] over one kqueue (close-on-exec). Untested here: see the module docs.
    pub struct KqueuePoller {
        /// The kqueue descriptor.
        kq: OwnedFd,
        /// What each registered descriptor has in the kernel.
        registry: Registry,
        /// Where `kevent(2)` writes events; its length is the most one wait can return.
        buf: Vec<libc::kevent>,
    }

    // SAFETY: the only non-thread-safe part is the event buffer: `struct kevent` has a raw
    // `udata` pointer, which we always leave null and never read or dereference. Moving the
    // buffer to, or sharing `&KqueuePoller` with, another thread cannot race (every method
    // that touches it takes `&mut self`).
    unsafe impl Send for KqueuePoller {}
    // SAFETY: as above; `&KqueuePoller` gives access to nothing but the descriptor number.
    unsafe impl Sync for KqueuePoller {}

    /// An all-zero kevent: every field is an integer or a raw pointer.
    fn zeroed_kevent() -> libc::kevent {
        // SAFETY: `struct kevent` holds only integers, integer arrays and a raw pointer
        // (`udata`), for all of which all-zero bytes are a valid value (null for the
        // pointer).
        unsafe { mem::zeroed() }
    }

    /// `change` as a `struct kevent`.
    fn to_kevent(change: Change) -> libc::kevent {
        let mut k = zeroed_kevent();
        k.ident = change.fd as libc::uintptr_t;
        k.filter = match change.filter {
            Filter::Read => libc::EVFILT_READ,
            Filter::Write => libc::EVFILT_WRITE,
        };
        k.flags = match change.action {
            Action::Add => libc::EV_ADD,
            Action::Enable => libc::EV_ENABLE,
            Action::Disable => libc::EV_DISABLE,
            Action::Delete => libc::EV_DELETE,
        };
        k
    }

    /// A received `struct kevent` in portable form.
    #[allow(clippy::unnecessary_cast)] // the field types differ between the BSDs
    fn from_kevent(k: &libc::kevent) -> Received {
        let filter = if k.filter == libc::EVFILT_READ {
            Some(Filter::Read)
        } else if k.filter == libc::EVFILT_WRITE {
            Some(Filter::Write)
        } else {
            None
        };
        Received {
            ident: k.ident as usize,
            filter,
            eof: k.flags & libc::EV_EOF != 0,
            error: k.flags & libc::EV_ERROR != 0,
            data: k.data as i64,
            fflags: k.fflags as u32,
        }
    }

    /// Applies one change, returning its error.
    fn apply(kq: BorrowedFd<'_>, change: Change) -> io::Result<()> {
        let kev = to_kevent(change);
        let zero = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `kq` is an open kqueue; the change list is one valid kevent that lives
        // across the call; the event list is empty (null with a count of 0, which kevent(2)
        // allows), so the kernel writes nothing back; `zero` is a valid timespec.
        let r = unsafe { libc::kevent(kq.as_raw_fd(), &kev, 1, ptr::null_mut(), 0, &zero) };
        if r < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    impl KqueuePoller {
        /// One `kevent(2)` wait; `Ok(None)` on `EINTR`.
        fn wait_once(
            &mut self,
            cap: usize,
            timeout: Option<Duration>,
        ) -> io::Result<Option<usize>> {
            let ts = timeout.map(|d| libc::timespec {
                tv_sec: d.as_secs() as libc::time_t,
                tv_nsec: d.subsec_nanos() as _,
            });
            let ts_ptr = ts
                .as_ref()
                .map_or(ptr::null(), |t| t as *const libc::timespec);
            // SAFETY: `kq` is our open kqueue; no changes (null with a count of 0); the event
            // list is `self.buf`, which has at least `cap` initialised kevents the kernel may
            // overwrite and which nothing else touches during the call (we hold `&mut
            // self`); `ts_ptr` is null or points to `ts`, alive across the call.
            let n = unsafe {
                libc::kevent(
                    self.kq.as_raw_fd(),
                    ptr::null(),
                    0,
                    self.buf.as_mut_ptr(),
                    cap as _,
                    ts_ptr,
                )
            };
            if n >= 0 {
                return Ok(Some(n as usize));
            }
            let err = io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EINTR) {
                Ok(None)
            } else {
                Err(err)
            }
        }
    }

    impl Poller for KqueuePoller {
        const NAME: &'static str = "kqueue";

        fn new() -> io::Result<KqueuePoller> {
            let kq = rustix::event::kqueue::kqueue()?;
            rustix::io::fcntl_setfd(&kq, rustix::io::FdFlags::CLOEXEC)?;
            Ok(KqueuePoller {
                kq,
                registry: Registry::new(),
                buf: Vec::new(),
            })
        }

        fn register(
            &mut self,
            fd: BorrowedFd<'_>,
            token: Token,
            interest: Interest,
        ) -> io::Result<()> {
            let kq = self.kq.as_fd();
            self.registry
                .register(fd.as_raw_fd(), token, interest, |c| apply(kq, c))
        }

        fn reregister(
            &mut self,
            fd: BorrowedFd<'_>,
            token: Token,
            interest: Interest,
        ) -> io::Result<()> {
            let kq = self.kq.as_fd();
            self.registry
                .reregister(fd.as_raw_fd(), token, interest, |c| apply(kq, c))
        }

        fn deregister(&mut self, fd: BorrowedFd<'_>) -> io::Result<()> {
            let kq = self.kq.as_fd();
            self.registry.deregister(fd.as_raw_fd(), |c| apply(kq, c))
        }

        fn wait(&mut self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
            events.clear();
            let cap = events.capacity();
            if self.buf.len() < cap {
                self.buf.resize(cap, zeroed_kevent());
            }
            let mut rest = timeout;
            let n = loop {
                let chunk = rest.map(|d| d.min(MAX_WAIT));
                match self.wait_once(cap, chunk)? {
                    None => return Ok(()),
                    Some(n) if n > 0 => break n,
                    Some(_) => match rest {
                        Some(d) if d > MAX_WAIT => rest = Some(d - MAX_WAIT),
                        _ => break 0,
                    },
                }
            };
            let received = self.buf[..n].iter().map(from_kevent);
            self.registry.collect(received, events);
            Ok(())
        }
    }

    impl fmt::Debug for KqueuePoller {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("KqueuePoller")
                .field("kq", &self.kq.as_raw_fd())
                .field("registered", &self.registry.len())
                .finish()
        }
    }
}
