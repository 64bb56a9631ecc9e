//! [`Waker`]: wakes a poller blocked in `wait` from any thread.
//!
//! On Linux and Android it is an [eventfd(2)](https://man7.org/linux/man-pages/man2/eventfd.2.html)
//! (one descriptor, an 8-byte counter); elsewhere it is a pipe whose read end is registered
//! and whose write end is written one byte per wake. Both are non-blocking and close-on-exec.
//! The pipe flavour is also available on Linux ([`Waker::new_pipe`]) so that its code is
//! tested here too.
//!
//! Tests: unit tests below; the waker cases of `sys/tests/conformance.rs`.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use rustix::io::Errno;

/// Wakes a poller from another thread (or from a signal handler, see
/// [`SignalWatch`](crate::signal::SignalWatch)).
///
/// Register [`as_fd`](AsFd::as_fd) with the poller for [`Interest::READABLE`] under
/// [`Token::WAKER`]. [`wake`](Waker::wake) makes that descriptor readable, so a blocked
/// [`Poller::wait`](crate::Poller::wait) returns with an event for `Token::WAKER`; the loop
/// then calls [`drain`](Waker::drain) so that it stops being readable (every backend is
/// level-triggered). Wakes between two drains coalesce into one event.
///
/// `Waker` is `Send + Sync`: share it in an `Arc` with the threads that wake the loop.
///
/// # Examples
///
/// ```
/// use std::os::fd::AsFd;
/// use std::time::Duration;
/// use torsion_sys::{AnyPoller, Backend, Events, Interest, Token, Waker};
///
/// let mut poller = AnyPoller::with_backend(Backend::default_for_platform())?;
/// let waker = Waker::new()?;
/// poller.register(waker.as_fd(), Token::WAKER, Interest::READABLE)?;
/// waker.wake()?;
/// let mut events = Events::with_capacity(8);
/// poller.wait(&mut events, Some(Duration::from_secs(5)))?;
/// assert_eq!(events.get(0).map(|e| e.token), Some(Token::WAKER));
/// waker.drain();
/// poller.wait(&mut events, Some(Duration::ZERO))?;
/// assert!(events.is_empty());
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// [`Interest::READABLE`]: crate::Interest::READABLE
/// [`Token::WAKER`]: crate::Token::WAKER
pub struct Waker {
    inner: Inner,
}

enum Inner {
    /// One eventfd: readable while its counter is non-zero.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    EventFd(OwnedFd),
    /// A pipe: readable while it holds a byte.
    Pipe {
        /// Registered with the poller and drained.
        read: OwnedFd,
        /// Written by `wake` (and by the signal handler, through a duplicate).
        write: OwnedFd,
    },
}

/// How a wake is written to the descriptor [`Waker::wake_fd`] returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WakeKind {
    /// An eventfd: write the 8-byte native-endian integer 1.
    #[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
    EventFd,
    /// A pipe: write one byte.
    Pipe,
}

impl Waker {
    /// A new waker: an eventfd on Linux and Android, a pipe elsewhere.
    ///
    /// # Errors
    ///
    /// Whatever `eventfd(2)` or `pipe(2)` fails with (typically `EMFILE`).
    pub fn new() -> io::Result<Waker> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            use rustix::event::{eventfd, EventfdFlags};
            let fd = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
            Ok(Waker {
                inner: Inner::EventFd(fd),
            })
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            Waker::new_pipe()
        }
    }

    /// A waker built on a pipe, whatever the platform (the fallback that [`Waker::new`] uses
    /// where there is no eventfd; exposed so it can be tested everywhere).
    ///
    /// # Errors
    ///
    /// Whatever `pipe(2)` or `fcntl(2)` fails with.
    pub fn new_pipe() -> io::Result<Waker> {
        let (read, write) = nonblocking_pipe()?;
        Ok(Waker {
            inner: Inner::Pipe { read, write },
        })
    }

    /// Makes the waker's descriptor readable, waking a poller that waits on it.
    ///
    /// Callable from any thread, any number of times; wakes before the next
    /// [`drain`](Waker::drain) coalesce. A full pipe (or an eventfd counter at its maximum)
    /// is not an error: the descriptor is already readable, so the loop will wake anyway.
    ///
    /// # Errors
    ///
    /// Only unexpected failures of `write(2)` (say `EBADF`); `EAGAIN` is success.
    pub fn wake(&self) -> io::Result<()> {
        let (fd, kind) = self.wake_fd();
        match write_wake(fd, kind) {
            Ok(()) | Err(Errno::AGAIN) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Resets the waker so its descriptor is no longer readable (until the next
    /// [`wake`](Waker::wake)). Call it after the poller reported [`Token::WAKER`].
    ///
    /// A wake that races with `drain` is either consumed by it (the loop was awake anyway,
    /// and must look for work after draining, not before) or left for the next wait.
    ///
    /// [`Token::WAKER`]: crate::Token::WAKER
    pub fn drain(&self) {
        match &self.inner {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Inner::EventFd(fd) => {
                let mut buf = [0u8; 8];
                // One read returns the counter and resets it to zero. EAGAIN means it was
                // already zero; nothing else can fail on a valid eventfd with an 8-byte buffer.
                let _ = retry_eintr(|| rustix::io::read(fd, &mut buf));
            }
            Inner::Pipe { read, .. } => {
                let mut buf = [0u8; 256];
                // Read until a short read or EAGAIN. A short read means the pipe was empty at
                // that moment; stopping there (rather than at EAGAIN only) keeps the loop
                // bounded even if another thread keeps waking.
                while let Ok(n) = retry_eintr(|| rustix::io::read(read, &mut buf)) {
                    if n < buf.len() {
                        break;
                    }
                }
            }
        }
    }

    /// The descriptor that `wake` writes to, and how to write to it. The signal module
    /// duplicates it so its handler can wake the loop without touching the `Waker`.
    pub(crate) fn wake_fd(&self) -> (BorrowedFd<'_>, WakeKind) {
        match &self.inner {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Inner::EventFd(fd) => (fd.as_fd(), WakeKind::EventFd),
            Inner::Pipe { write, .. } => (write.as_fd(), WakeKind::Pipe),
        }
    }
}

/// Writes one wake to `fd`, retrying on `EINTR`.
fn write_wake(fd: BorrowedFd<'_>, kind: WakeKind) -> Result<(), Errno> {
    let one = 1u64.to_ne_bytes();
    let buf: &[u8] = match kind {
        WakeKind::EventFd => &one,
        WakeKind::Pipe => &one[..1],
    };
    retry_eintr(|| rustix::io::write(fd, buf)).map(drop)
}

/// Calls `f` again while it fails with `EINTR`.
fn retry_eintr<T>(mut f: impl FnMut() -> Result<T, Errno>) -> Result<T, Errno> {
    loop {
        match f() {
            Err(Errno::INTR) => continue,
            other => return other,
        }
    }
}

/// A non-blocking, close-on-exec pipe: `pipe2` where it exists, `pipe` + `fcntl` on Apple
/// platforms (where a fork between the two calls could leak the descriptors into a child
/// that execs; that is the best Apple's API allows).
pub(crate) fn nonblocking_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    #[cfg(not(any(
        target_os = "macos",
        target_os = "ios",
        target_os = "tvos",
        target_os = "watchos"
    )))]
    {
        use rustix::pipe::{pipe_with, PipeFlags};
        Ok(pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK)?)
    }
    #[cfg(any(
        target_os = "macos",
        target_os = "ios",
        target_os = "tvos",
        target_os = "watchos"
    ))]
    {
        use rustix::fs::{fcntl_getfl, fcntl_setfl, OFlags};
        use rustix::io::{fcntl_setfd, FdFlags};
        let (read, write) = rustix::pipe::pipe()?;
        for fd in [&read, &write] {
            fcntl_setfd(fd, FdFlags::CLOEXEC)?;
            fcntl_setfl(fd, fcntl_getfl(fd)? | OFlags::NONBLOCK)?;
        }
        Ok((read, write))
    }
}

impl AsFd for Waker {
    /// The descriptor to register for `READABLE` (the eventfd, or the pipe's read end).
    fn as_fd(&self) -> BorrowedFd<'_> {
        match &self.inner {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Inner::EventFd(fd) => fd.as_fd(),
            Inner::Pipe { read, .. } => read.as_fd(),
        }
    }
}

impl fmt::Debug for Waker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (wfd, kind): (RawFd, _) = {
            let (fd, kind) = self.wake_fd();
            (fd.as_raw_fd(), kind)
        };
        f.debug_struct("Waker")
            .field("kind", &kind)
            .field("fd", &self.as_fd().as_raw_fd())
            .field("wake_fd", &wfd)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::event::{poll, PollFd, PollFlags};
    use rustix::io::{fcntl_getfd, FdFlags};

    fn is_readable(w: &Waker) -> bool {
        let mut fds = [PollFd::new(w, PollFlags::IN)];
        let n = poll(
            &mut fds,
            Some(&rustix::event::Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            }),
        )
        .unwrap();
        n == 1 && fds[0].revents().contains(PollFlags::IN)
    }

    fn both_kinds() -> Vec<Waker> {
        vec![Waker::new().unwrap(), Waker::new_pipe().unwrap()]
    }

    #[test]
    fn wake_then_drain() {
        for w in both_kinds() {
            assert!(!is_readable(&w), "{w:?} starts quiet");
            w.wake().unwrap();
            assert!(is_readable(&w), "{w:?} readable after wake");
            assert!(is_readable(&w), "{w:?} still readable: level-triggered");
            w.drain();
            assert!(!is_readable(&w), "{w:?} quiet after drain");
            w.drain();
            assert!(!is_readable(&w), "{w:?} draining twice is harmless");
        }
    }

    #[test]
    fn many_wakes_coalesce_and_a_full_pipe_is_not_an_error() {
        for w in both_kinds() {
            // More than a pipe's default 64 KiB capacity: the writes past it hit EAGAIN.
            for _ in 0..70_000 {
                w.wake().unwrap();
            }
            assert!(is_readable(&w));
            w.drain();
            // The pipe drain may stop at a short read while the pipe is momentarily empty;
            // with no concurrent wakers, one drain empties it.
            assert!(!is_readable(&w), "{w:?} quiet after one drain");
        }
    }

    #[test]
    fn descriptors_are_cloexec() {
        for w in both_kinds() {
            assert!(fcntl_getfd(&w).unwrap().contains(FdFlags::CLOEXEC));
            let (fd, _) = w.wake_fd();
            assert!(fcntl_getfd(fd).unwrap().contains(FdFlags::CLOEXEC));
        }
    }

    #[test]
    fn wake_from_other_threads() {
        let w = std::sync::Arc::new(Waker::new().unwrap());
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let w = w.clone();
                std::thread::spawn(move || w.wake().unwrap())
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert!(is_readable(&w));
        w.drain();
        assert!(!is_readable(&w));
    }

    #[test]
    fn is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Waker>();
    }
}
