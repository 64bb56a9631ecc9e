//! The [epoll(7)](https://man7.org/linux/man-pages/man7/epoll.7.html) backend (Linux,
//! Android), through `rustix::event::epoll`.
//!
//! # Implementation notes
//!
//! - **Level-triggered** unless the interest has [`Interest::EDGE`]: without it `EPOLLET` is
//!   never set, so a source that stays ready is reported on every wait, as the [`Poller`]
//!   contract asks; with it, `EPOLLET` (reported when something new arrives, and on
//!   `EPOLL_CTL_ADD` / `EPOLL_CTL_MOD` of a ready source).
//! - **Interest**: `READABLE` asks for `EPOLLIN | EPOLLRDHUP`, `WRITABLE` for `EPOLLOUT`.
//!   `EPOLLHUP` and `EPOLLERR` are always reported by the kernel, even for an empty
//!   interest (an empty event mask keeps the descriptor in the interest list).
//! - **Readiness**: `EPOLLIN` → `READABLE`, `EPOLLOUT` → `WRITABLE`, `EPOLLHUP` or
//!   `EPOLLRDHUP` → `HUP`, `EPOLLERR` → `ERROR`. `EPOLLHUP` means both directions are closed
//!   (a socketpair whose peer closed, a reset TCP connection, a pipe with no writers);
//!   `EPOLLRDHUP` means the peer shut down its writing side (a half-close), which is only
//!   asked for, and so only reported, while `READABLE` is in the interest: a paused reader
//!   is not woken on every wait by a half-close it is not going to read.
//! - **Timeouts**: rustix 1.1 (without its `linux_5_11` feature) calls `epoll_pwait` with
//!   milliseconds when the timeout fits a C `int` and `epoll_pwait2` otherwise, which fails
//!   with `ENOSYS` before Linux 5.11. We therefore always hand it whole milliseconds
//!   rounded **up**, never more than `i32::MAX`, and split longer waits
//!   into several kernel waits. The resolution is thus 1 ms and a wait never ends early by
//!   rounding.
//! - **No allocation per wait**: the raw `epoll_event` buffer lives in the poller and is
//!   sized to the largest [`Events`] capacity seen (it grows only when a bigger `Events` is
//!   passed).
//! - `EINTR` ends the wait with `Ok(())` and no events.
//! - `EEXIST` (register twice) and `ENOENT` (reregister or deregister an unknown
//!   descriptor) come straight from `epoll_ctl`; std maps them to `AlreadyExists` and
//!   `NotFound`.
//!
//! Tests: `sys/tests/conformance.rs` (module `epoll`); unit tests below.

use std::fmt;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::time::Duration;

use rustix::event::epoll::{self, CreateFlags, EventData, EventFlags};
use rustix::event::Timespec;
use rustix::io::Errno;

use crate::poller::timeout_ms;
use crate::{Event, Events, Interest, Poller, Readiness, Token};

/// A [`Poller`] over one epoll instance (close-on-exec).
pub struct EpollPoller {
    /// The epoll descriptor.
    epoll: OwnedFd,
    /// Where `epoll_wait` writes; its length is the most events one wait can return.
    buf: Vec<MaybeUninit<epoll::Event>>,
}

// SAFETY: the only non-thread-safe part is the event buffer, whose `EventData` may hold a
// raw pointer in rustix's type. We only ever store and read `u64` tokens through it, never a
// pointer, and the buffer is plain bytes the kernel overwrites on each wait: moving it to, or
// sharing `&EpollPoller` with, another thread cannot race on anything (every method that
// touches it takes `&mut self`).
unsafe impl Send for EpollPoller {}
// SAFETY: as above; `&EpollPoller` gives access to nothing but the descriptor number.
unsafe impl Sync for EpollPoller {}

/// The epoll event mask for `interest` (level-triggered unless it has `EDGE`).
fn flags_for(interest: Interest) -> EventFlags {
    let mut flags = EventFlags::empty();
    if interest.contains(Interest::EDGE) {
        flags |= EventFlags::ET;
    }
    if interest.contains(Interest::READABLE) {
        flags |= EventFlags::IN | EventFlags::RDHUP;
    }
    if interest.contains(Interest::WRITABLE) {
        flags |= EventFlags::OUT;
    }
    flags
}

/// The readiness an epoll event mask reports.
fn readiness_of(flags: EventFlags) -> Readiness {
    let mut r = Readiness::empty();
    if flags.contains(EventFlags::IN) {
        r |= Readiness::READABLE;
    }
    if flags.contains(EventFlags::OUT) {
        r |= Readiness::WRITABLE;
    }
    if flags.intersects(EventFlags::HUP | EventFlags::RDHUP) {
        r |= Readiness::HUP;
    }
    if flags.contains(EventFlags::ERR) {
        r |= Readiness::ERROR;
    }
    r
}

impl EpollPoller {
    /// One `epoll_pwait`, in milliseconds; `Ok(None)` on `EINTR`.
    fn wait_once(&mut self, cap: usize, ms: i32) -> io::Result<Option<usize>> {
        let ts;
        let timeout = if ms < 0 {
            None
        } else {
            ts = Timespec {
                tv_sec: i64::from(ms / 1000),
                tv_nsec: i64::from(ms % 1000) * 1_000_000,
            };
            Some(&ts)
        };
        match epoll::wait(&self.epoll, &mut self.buf[..cap], timeout) {
            Ok((ready, _)) => Ok(Some(ready.len())),
            Err(Errno::INTR) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

impl Poller for EpollPoller {
    const NAME: &'static str = "epoll";

    fn new() -> io::Result<EpollPoller> {
        Ok(EpollPoller {
            epoll: epoll::create(CreateFlags::CLOEXEC)?,
            buf: Vec::new(),
        })
    }

    fn register(&mut self, fd: BorrowedFd<'_>, token: Token, interest: Interest) -> io::Result<()> {
        let data = EventData::new_u64(token.as_u64());
        Ok(epoll::add(&self.epoll, fd, data, flags_for(interest))?)
    }

    fn reregister(
        &mut self,
        fd: BorrowedFd<'_>,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        let data = EventData::new_u64(token.as_u64());
        Ok(epoll::modify(&self.epoll, fd, data, flags_for(interest))?)
    }

    fn deregister(&mut self, fd: BorrowedFd<'_>) -> io::Result<()> {
        Ok(epoll::delete(&self.epoll, fd)?)
    }

    fn wait(&mut self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        events.clear();
        let cap = events.capacity();
        if self.buf.len() < cap {
            self.buf.resize_with(cap, MaybeUninit::uninit);
        }
        let (mut ms, mut rest) = timeout_ms(timeout);
        let n = loop {
            match self.wait_once(cap, ms)? {
                None => return Ok(()),
                Some(n) if n > 0 || rest.is_zero() => break n,
                Some(_) => (ms, rest) = timeout_ms(Some(rest)),
            }
        };
        for slot in &self.buf[..n] {
            // SAFETY: `epoll::wait` returned `n`, so it initialised the first `n` entries of
            // the slice we gave it (`self.buf[..cap]`, and `n <= cap`), and nothing has
            // written to the buffer since.
            let ev = unsafe { slot.assume_init_ref() };
            // Copy the fields out: the struct is packed on x86_64.
            let (flags, data) = (ev.flags, ev.data);
            events.push(Event {
                token: Token::from_u64(data.u64()),
                readiness: readiness_of(flags),
            });
        }
        Ok(())
    }
}

impl fmt::Debug for EpollPoller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EpollPoller")
            .field("epoll", &self.epoll.as_raw_fd())
            .field("buf_capacity", &self.buf.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interest_masks_are_level_triggered() {
        assert_eq!(flags_for(Interest::empty()), EventFlags::empty());
        assert_eq!(
            flags_for(Interest::READABLE),
            EventFlags::IN | EventFlags::RDHUP
        );
        assert_eq!(flags_for(Interest::WRITABLE), EventFlags::OUT);
        let both = flags_for(Interest::READABLE | Interest::WRITABLE);
        assert!(!both.contains(EventFlags::ET));
        assert!(!both.contains(EventFlags::ONESHOT));
        assert_eq!(
            flags_for(Interest::READABLE | Interest::EDGE),
            EventFlags::IN | EventFlags::RDHUP | EventFlags::ET
        );
    }

    #[test]
    fn kernel_bits_map_to_readiness() {
        assert_eq!(readiness_of(EventFlags::IN), Readiness::READABLE);
        assert_eq!(readiness_of(EventFlags::OUT), Readiness::WRITABLE);
        assert_eq!(readiness_of(EventFlags::HUP), Readiness::HUP);
        assert_eq!(
            readiness_of(EventFlags::IN | EventFlags::RDHUP),
            Readiness::READABLE | Readiness::HUP
        );
        assert_eq!(
            readiness_of(EventFlags::ERR | EventFlags::HUP),
            Readiness::ERROR | Readiness::HUP
        );
        assert_eq!(readiness_of(EventFlags::PRI), Readiness::empty());
    }
}
