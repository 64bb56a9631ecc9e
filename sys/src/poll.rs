//! The poll(2) backend: every Unix has it; slower than epoll or kqueue with many
//! descriptors (each wait passes and scans the whole set), but always available. Compiled
//! and tested on Linux too, and forced there with `TORSION_POLLER=poll`.
//!
//! **Fairness.** When more descriptors are ready than the caller's `Events` can hold, the
//! next wait starts its scan just after the last one reported, so no descriptor is starved
//! by those before it in the set.
//!
//! **Quiet sources.** A descriptor registered with an empty interest stays in the set with
//! no requested events; poll(2) still reports `POLLHUP`, `POLLERR` and `POLLNVAL` for it, as
//! the [`Poller`] contract requires.
//!
//! Tests: `sys/tests/conformance.rs`.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::time::Duration;

use crate::{Event, Events, Interest, Poller, Readiness, Token};

/// A poller over a `pollfd` array.
pub struct PollPoller {
    fds: Vec<libc::pollfd>,
    /// `tokens[i]` belongs to `fds[i]`.
    tokens: Vec<Token>,
    /// Descriptor number to its position in `fds`.
    index: HashMap<RawFd, usize>,
    /// Where the next scan of ready descriptors starts.
    cursor: usize,
}

#[cfg(any(target_os = "linux", target_os = "android"))]
const RDHUP: libc::c_short = libc::POLLRDHUP;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const RDHUP: libc::c_short = 0;

fn events_for(interest: Interest) -> libc::c_short {
    let mut e = 0;
    if interest.contains(Interest::READABLE) {
        e |= libc::POLLIN | RDHUP;
    }
    if interest.contains(Interest::WRITABLE) {
        e |= libc::POLLOUT;
    }
    e
}

/// `revents` to readiness.
pub fn readiness_from(revents: libc::c_short) -> Readiness {
    let mut r = Readiness::empty();
    if revents & (libc::POLLIN | libc::POLLPRI) != 0 {
        r |= Readiness::READABLE;
    }
    if revents & libc::POLLOUT != 0 {
        r |= Readiness::WRITABLE;
    }
    if revents & (libc::POLLHUP | RDHUP) != 0 {
        r |= Readiness::HUP;
    }
    if revents & (libc::POLLERR | libc::POLLNVAL) != 0 {
        r |= Readiness::ERROR;
    }
    r
}

/// A timeout in whole milliseconds for poll(2), rounded up; -1 for none.
pub fn timeout_ms(timeout: Option<Duration>) -> libc::c_int {
    match timeout {
        None => -1,
        Some(d) => {
            let ms = d.as_nanos().div_ceil(1_000_000);
            libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX)
        }
    }
}

impl Poller for PollPoller {
    const NAME: &'static str = "poll";

    fn new() -> io::Result<Self> {
        Ok(PollPoller {
            fds: Vec::new(),
            tokens: Vec::new(),
            index: HashMap::new(),
            cursor: 0,
        })
    }

    fn register(&mut self, fd: BorrowedFd<'_>, token: Token, interest: Interest) -> io::Result<()> {
        let raw = fd.as_raw_fd();
        if self.index.contains_key(&raw) {
            return Err(io::Error::from(io::ErrorKind::AlreadyExists));
        }
        self.index.insert(raw, self.fds.len());
        self.fds.push(libc::pollfd {
            fd: raw,
            events: events_for(interest),
            revents: 0,
        });
        self.tokens.push(token);
        Ok(())
    }

    fn reregister(
        &mut self,
        fd: BorrowedFd<'_>,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        let at = *self
            .index
            .get(&fd.as_raw_fd())
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        self.fds[at].events = events_for(interest);
        self.tokens[at] = token;
        Ok(())
    }

    fn deregister(&mut self, fd: BorrowedFd<'_>) -> io::Result<()> {
        let raw = fd.as_raw_fd();
        let at = self
            .index
            .remove(&raw)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        self.fds.swap_remove(at);
        self.tokens.swap_remove(at);
        if let Some(moved) = self.fds.get(at) {
            self.index.insert(moved.fd, at);
        }
        Ok(())
    }

    fn wait(&mut self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        events.clear();
        for p in &mut self.fds {
            p.revents = 0;
        }
        let len = self.fds.len();
        // SAFETY: the pointer and length describe our own initialised `pollfd` vector, which
        // nothing else touches during the call; poll(2) only writes `revents` fields.
        let ready = unsafe {
            libc::poll(
                self.fds.as_mut_ptr(),
                len as libc::nfds_t,
                timeout_ms(timeout),
            )
        };
        if ready < 0 {
            let err = io::Error::last_os_error();
            return match err.kind() {
                io::ErrorKind::Interrupted => Ok(()),
                _ => Err(err),
            };
        }
        if ready == 0 || len == 0 {
            return Ok(());
        }
        let start = self.cursor % len;
        for step in 0..len {
            if events.remaining() == 0 {
                // Full: the next wait starts from here.
                self.cursor = (start + step) % len;
                return Ok(());
            }
            let i = (start + step) % len;
            let revents = self.fds[i].revents;
            if revents != 0 {
                events.push(Event {
                    token: self.tokens[i],
                    readiness: readiness_from(revents),
                });
            }
        }
        self.cursor = start;
        Ok(())
    }
}

impl fmt::Debug for PollPoller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PollPoller")
            .field("fds", &self.fds.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_round_up() {
        assert_eq!(timeout_ms(None), -1);
        assert_eq!(timeout_ms(Some(Duration::ZERO)), 0);
        assert_eq!(timeout_ms(Some(Duration::from_nanos(1))), 1);
        assert_eq!(timeout_ms(Some(Duration::from_micros(1500))), 2);
        assert_eq!(
            timeout_ms(Some(Duration::from_secs(u64::MAX))),
            libc::c_int::MAX
        );
    }

    #[test]
    fn revents_translate() {
        assert_eq!(readiness_from(libc::POLLIN), Readiness::READABLE);
        assert_eq!(readiness_from(libc::POLLOUT), Readiness::WRITABLE);
        assert_eq!(readiness_from(libc::POLLHUP), Readiness::HUP);
        assert_eq!(readiness_from(libc::POLLNVAL), Readiness::ERROR);
        assert_eq!(
            readiness_from(libc::POLLIN | libc::POLLERR),
            Readiness::READABLE | Readiness::ERROR
        );
    }
}
