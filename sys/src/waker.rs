//! [`Waker`]: lets any thread interrupt a poller's wait.
//!
//! Linux and Android use an eventfd; other systems a non-blocking pipe. Either way the
//! waker is a descriptor the reactor registers as readable with
//! [`Token::WAKER`](crate::Token::WAKER), so it works with every backend.
//!
//! Tests: below; `sys/tests/conformance.rs`.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// A descriptor that becomes readable when [`wake`](Waker::wake) is called, from any thread.
///
/// Wakes coalesce: however many happen before [`drain`](Waker::drain), the poller sees one
/// readable descriptor.
pub struct Waker {
    /// The descriptor the poller watches (the eventfd, or the pipe's read end).
    read: OwnedFd,
    /// The pipe's write end; `None` with an eventfd.
    write: Option<OwnedFd>,
}

impl Waker {
    /// A new waker, non-blocking and close-on-exec.
    ///
    /// # Errors
    ///
    /// If the descriptor(s) cannot be created.
    pub fn new() -> io::Result<Waker> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            use rustix::event::{eventfd, EventfdFlags};
            let fd = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
            Ok(Waker {
                read: fd,
                write: None,
            })
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            let (read, write) = crate::pipe::nonblocking_pipe()?;
            Ok(Waker {
                read,
                write: Some(write),
            })
        }
    }

    /// Makes the descriptor readable. A full eventfd counter or pipe is not an error: the
    /// descriptor is readable already.
    ///
    /// # Errors
    ///
    /// Only unexpected write errors (a closed descriptor, say).
    pub fn wake(&self) -> io::Result<()> {
        let result = match &self.write {
            None => rustix::io::write(&self.read, &1u64.to_ne_bytes()),
            Some(w) => rustix::io::write(w, &[1u8]),
        };
        match result {
            Ok(_) => Ok(()),
            Err(rustix::io::Errno::AGAIN) => Ok(()),
            Err(rustix::io::Errno::INTR) => self.wake(),
            Err(e) => Err(e.into()),
        }
    }

    /// Resets the descriptor so it stops being readable.
    pub fn drain(&self) {
        let mut buf = [0u8; 64];
        loop {
            match rustix::io::read(&self.read, &mut buf) {
                // An eventfd is reset by one read; a pipe may hold more bytes.
                Ok(n) if self.write.is_some() && n == buf.len() => continue,
                Err(rustix::io::Errno::INTR) => continue,
                _ => return,
            }
        }
    }

    /// True if this waker is an eventfd (a wake writes 8 bytes) rather than a pipe (1 byte).
    pub fn is_eventfd(&self) -> bool {
        self.write.is_none()
    }

    /// The descriptor a wake writes to (the eventfd itself, or the pipe's write end).
    pub fn write_fd(&self) -> BorrowedFd<'_> {
        match &self.write {
            None => self.read.as_fd(),
            Some(w) => w.as_fd(),
        }
    }
}

impl AsFd for Waker {
    /// The descriptor to register, readable, with a poller.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.read.as_fd()
    }
}

impl fmt::Debug for Waker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Waker")
            .field("fd", &self.read)
            .field("eventfd", &self.is_eventfd())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::Waker;
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

    #[test]
    fn wake_makes_readable_and_drain_resets() {
        let w = Waker::new().unwrap();
        assert!(!readable(&w));
        w.wake().unwrap();
        w.wake().unwrap();
        assert!(readable(&w));
        w.drain();
        assert!(!readable(&w));
    }

    #[test]
    fn many_wakes_never_fail() {
        let w = Waker::new().unwrap();
        for _ in 0..100_000 {
            w.wake().unwrap();
        }
        w.drain();
        assert!(!readable(&w));
    }

    #[test]
    fn wakes_from_other_threads() {
        let w = std::sync::Arc::new(Waker::new().unwrap());
        let w2 = w.clone();
        std::thread::spawn(move || w2.wake().unwrap())
            .join()
            .unwrap();
        assert!(readable(&w));
    }
}
