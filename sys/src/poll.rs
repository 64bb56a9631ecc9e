//! The [poll(2)](https://man7.org/linux/man-pages/man2/poll.2.html) backend: every Unix,
//! compiled (and tested) on Linux too.
//!
//! # Implementation notes
//!
//! - **Bookkeeping**: a `Vec<pollfd>` handed to the kernel as is, a parallel `Vec<Token>`,
//!   and a table indexed by descriptor number giving each descriptor's position, so
//!   register, reregister and deregister are O(1) (deregister is a `swap_remove`). A wait
//!   is O(registered descriptors), which is poll(2)'s nature.
//! - **Raw descriptors**: we call `libc::poll` rather than `rustix::event::poll` because
//!   rustix's `PollFd<'fd>` borrows its descriptor, and our set outlives every borrow the
//!   [`Poller`] API hands us. Holding raw numbers is sound: poll(2) only reads them, and a
//!   number closed without being deregistered (a contract breach) comes back as `POLLNVAL`.
//! - **Interest**: `READABLE` asks for `POLLIN` (plus `POLLRDHUP` on Linux and Android, so
//!   a half-close shows as `HUP` like with epoll), `WRITABLE` for `POLLOUT`. An empty
//!   interest keeps the entry with `events = 0`: like epoll, poll(2) still reports `POLLHUP`
//!   and `POLLERR` for it (the kernel sets them whatever was asked), so a quiet source still
//!   shows a hang-up or an error, as the contract asks. `EDGE` is ignored: poll(2) only
//!   knows states, and reporting a state is what an `EDGE` owner must cope with anyway.
//! - **Readiness**: `POLLIN` → `READABLE`, `POLLOUT` → `WRITABLE`, `POLLHUP` or `POLLRDHUP`
//!   → `HUP`, `POLLERR` → `ERROR`, and `POLLNVAL` (the descriptor is not open) → `ERROR`.
//! - **Capacity and fairness**: when more descriptors are ready than the [`Events`]
//!   capacity, the first `capacity` found are reported and the scan of the next wait starts
//!   just after the last one reported (wrapping round), so sources late in the set are not
//!   starved by busy ones early in it. (A deregistration moves the last entry into the hole,
//!   which can reorder the scan; fairness is best-effort, progress is not.)
//! - **Timeouts**: whole milliseconds rounded up; waits longer than
//!   `i32::MAX` ms are split into several kernel waits. `EINTR` returns `Ok` with no events.
//!
//! Tests: `sys/tests/conformance.rs` (module `poll`); unit tests below.

use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::time::Duration;

use rustix::io::Errno;

use crate::poller::timeout_ms;
use crate::{Event, Events, Interest, Poller, Readiness, Token};

/// Marks a descriptor number with no entry in [`PollPoller::position`].
const NONE: u32 = u32::MAX;

/// A [`Poller`] over poll(2).
pub struct PollPoller {
    /// The set handed to the kernel.
    fds: Vec<libc::pollfd>,
    /// `tokens[i]` is the token of `fds[i]`.
    tokens: Vec<Token>,
    /// `position[fd]` is the index of `fd` in `fds`, or [`NONE`].
    position: Vec<u32>,
    /// Where the next wait starts looking for ready entries.
    start: usize,
}

/// The `events` mask for `interest`.
fn events_for(interest: Interest) -> libc::c_short {
    let mut events = 0;
    if interest.contains(Interest::READABLE) {
        events |= libc::POLLIN;
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            events |= libc::POLLRDHUP;
        }
    }
    if interest.contains(Interest::WRITABLE) {
        events |= libc::POLLOUT;
    }
    events
}

/// The readiness a `revents` mask reports.
fn readiness_of(revents: libc::c_short) -> Readiness {
    let mut r = Readiness::empty();
    if revents & libc::POLLIN != 0 {
        r |= Readiness::READABLE;
    }
    if revents & libc::POLLOUT != 0 {
        r |= Readiness::WRITABLE;
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let hup = libc::POLLHUP | libc::POLLRDHUP;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let hup = libc::POLLHUP;
    if revents & hup != 0 {
        r |= Readiness::HUP;
    }
    if revents & (libc::POLLERR | libc::POLLNVAL) != 0 {
        r |= Readiness::ERROR;
    }
    r
}

impl PollPoller {
    /// The position of `fd` in the set, if registered.
    fn find(&self, fd: RawFd) -> Option<usize> {
        let slot = usize::try_from(fd).ok()?;
        match self.position.get(slot) {
            Some(&p) if p != NONE => Some(p as usize),
            _ => None,
        }
    }

    /// Number of registered descriptors.
    pub fn len(&self) -> usize {
        self.fds.len()
    }

    /// True if nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.fds.is_empty()
    }

    /// One `poll(2)`; `Ok(None)` on `EINTR`.
    fn poll_once(&mut self, ms: i32) -> io::Result<Option<usize>> {
        // SAFETY: `fds` points to `fds.len()` initialised `pollfd`s that the kernel may write
        // (`revents`) for the duration of the call, and nothing else touches the vector
        // meanwhile (we hold `&mut self`). The descriptors are plain numbers to poll(2): a
        // closed one yields POLLNVAL, never undefined behaviour.
        let n = unsafe {
            libc::poll(
                self.fds.as_mut_ptr(),
                self.fds.len() as libc::nfds_t,
                ms as libc::c_int,
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

impl Poller for PollPoller {
    const NAME: &'static str = "poll";

    fn new() -> io::Result<PollPoller> {
        Ok(PollPoller {
            fds: Vec::new(),
            tokens: Vec::new(),
            position: Vec::new(),
            start: 0,
        })
    }

    fn register(&mut self, fd: BorrowedFd<'_>, token: Token, interest: Interest) -> io::Result<()> {
        let raw = fd.as_raw_fd();
        if self.find(raw).is_some() {
            return Err(Errno::EXIST.into());
        }
        let slot = usize::try_from(raw).map_err(|_| io::Error::from(Errno::BADF))?;
        let index = u32::try_from(self.fds.len())
            .ok()
            .filter(|&i| i != NONE)
            .ok_or_else(|| io::Error::from(Errno::NOSPC))?;
        if self.position.len() <= slot {
            self.position.resize(slot + 1, NONE);
        }
        self.fds.push(libc::pollfd {
            fd: raw,
            events: events_for(interest),
            revents: 0,
        });
        self.tokens.push(token);
        self.position[slot] = index;
        Ok(())
    }

    fn reregister(
        &mut self,
        fd: BorrowedFd<'_>,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        let i = self
            .find(fd.as_raw_fd())
            .ok_or_else(|| io::Error::from(Errno::NOENT))?;
        self.fds[i].events = events_for(interest);
        self.fds[i].revents = 0;
        self.tokens[i] = token;
        Ok(())
    }

    fn deregister(&mut self, fd: BorrowedFd<'_>) -> io::Result<()> {
        let raw = fd.as_raw_fd();
        let i = self
            .find(raw)
            .ok_or_else(|| io::Error::from(Errno::NOENT))?;
        self.fds.swap_remove(i);
        self.tokens.swap_remove(i);
        self.position[raw as usize] = NONE;
        if let Some(moved) = self.fds.get(i) {
            // The former last entry now sits at `i`.
            self.position[moved.fd as usize] = i as u32;
        }
        Ok(())
    }

    fn wait(&mut self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        events.clear();
        let (mut ms, mut rest) = timeout_ms(timeout);
        let mut ready = loop {
            match self.poll_once(ms)? {
                None => return Ok(()),
                Some(n) if n > 0 || rest.is_zero() => break n,
                Some(_) => (ms, rest) = timeout_ms(Some(rest)),
            }
        };
        let len = self.fds.len();
        if self.start >= len {
            self.start = 0;
        }
        // Walk the set once, starting at `start` and wrapping, until every ready entry has
        // been seen or the buffer is full.
        let mut i = self.start;
        for _ in 0..len {
            if ready == 0 || events.remaining() == 0 {
                break;
            }
            let revents = self.fds[i].revents;
            if revents != 0 {
                ready -= 1;
                events.push(Event {
                    token: self.tokens[i],
                    readiness: readiness_of(revents),
                });
                if events.remaining() == 0 {
                    // Full: the next wait starts with the entry after this one.
                    self.start = (i + 1) % len;
                }
            }
            i = (i + 1) % len;
        }
        Ok(())
    }
}

impl fmt::Debug for PollPoller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PollPoller")
            .field("registered", &self.fds.len())
            .field("start", &self.start)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixStream;

    #[test]
    fn masks_and_readiness() {
        assert_eq!(events_for(Interest::empty()), 0);
        assert_ne!(events_for(Interest::READABLE) & libc::POLLIN, 0);
        assert_eq!(events_for(Interest::WRITABLE), libc::POLLOUT);
        assert_eq!(readiness_of(libc::POLLNVAL), Readiness::ERROR);
        assert_eq!(
            readiness_of(libc::POLLIN | libc::POLLHUP),
            Readiness::READABLE | Readiness::HUP
        );
        assert_eq!(
            readiness_of(libc::POLLOUT | libc::POLLERR),
            Readiness::WRITABLE | Readiness::ERROR
        );
    }

    #[test]
    fn swap_remove_keeps_positions_consistent() {
        let socks: Vec<_> = (0..5).map(|_| UnixStream::pair().unwrap()).collect();
        let mut p = PollPoller::new().unwrap();
        for (k, (a, _)) in socks.iter().enumerate() {
            p.register(a.as_fd(), Token::new(k as u32, 0), Interest::READABLE)
                .unwrap();
        }
        // Remove from the middle, the front and the back.
        for k in [2, 0, 4] {
            p.deregister(socks[k].0.as_fd()).unwrap();
        }
        assert_eq!(p.len(), 2);
        for k in [1, 3] {
            let i = p.find(socks[k].0.as_raw_fd()).unwrap();
            assert_eq!(p.fds[i].fd, socks[k].0.as_raw_fd());
            assert_eq!(p.tokens[i], Token::new(k as u32, 0));
        }
        for k in [0, 2, 4] {
            assert!(p.find(socks[k].0.as_raw_fd()).is_none());
        }
        p.deregister(socks[1].0.as_fd()).unwrap();
        p.deregister(socks[3].0.as_fd()).unwrap();
        assert!(p.is_empty());
    }

    #[test]
    fn a_full_buffer_resumes_after_the_last_reported() {
        let socks: Vec<_> = (0..4).map(|_| UnixStream::pair().unwrap()).collect();
        let mut p = PollPoller::new().unwrap();
        for (k, (a, _)) in socks.iter().enumerate() {
            // A fresh socket is writable: all four are ready, always.
            p.register(a.as_fd(), Token::new(k as u32, 0), Interest::WRITABLE)
                .unwrap();
        }
        let mut events = Events::with_capacity(3);
        let mut seen = Vec::new();
        for _ in 0..4 {
            p.wait(&mut events, Some(Duration::ZERO)).unwrap();
            seen.extend(events.iter().map(|e| e.token.index()));
        }
        // 0 1 2 | 3 0 1 | 2 3 0 | 1 2 3
        assert_eq!(seen, [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3]);
    }
}
