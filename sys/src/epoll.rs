//! The epoll(7) backend (Linux, Android).
//!
//! Level-triggered (no `EPOLLET`), with `EPOLLRDHUP` requested so a peer's half-close shows
//! as [`Readiness::HUP`] together with `READABLE`. `EPOLLHUP` and `EPOLLERR` are reported by
//! the kernel whatever the interest. Timeouts go through `epoll_pwait`, which rustix rounds
//! up to whole milliseconds (or `epoll_pwait2` for timeouts too long for an `i32` of
//! milliseconds), so a wait never ends early because of rounding.
//!
//! A descriptor is forgotten by epoll when its last duplicate is closed.
//!
//! Tests: `sys/tests/conformance.rs`.

use std::fmt;
use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::time::Duration;

use rustix::event::epoll::{self, EventData, EventFlags};

use crate::{Event, Events, Interest, Poller, Readiness, Token};

/// A poller over one epoll instance.
pub struct EpollPoller {
    epoll: OwnedFd,
    /// Kernel events, sized on the first wait to the caller's capacity and reused.
    buffer: Vec<epoll::Event>,
}

fn flags_for(interest: Interest) -> EventFlags {
    let mut flags = EventFlags::RDHUP;
    if interest.contains(Interest::READABLE) {
        flags |= EventFlags::IN;
    }
    if interest.contains(Interest::WRITABLE) {
        flags |= EventFlags::OUT;
    }
    flags
}

/// Kernel flags to readiness.
pub fn readiness_from(flags: EventFlags) -> Readiness {
    let mut r = Readiness::empty();
    if flags.intersects(EventFlags::IN | EventFlags::PRI) {
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

impl Poller for EpollPoller {
    const NAME: &'static str = "epoll";

    fn new() -> io::Result<Self> {
        Ok(EpollPoller {
            epoll: epoll::create(epoll::CreateFlags::CLOEXEC)?,
            buffer: Vec::new(),
        })
    }

    fn register(&mut self, fd: BorrowedFd<'_>, token: Token, interest: Interest) -> io::Result<()> {
        epoll::add(
            &self.epoll,
            fd,
            EventData::new_u64(token.as_u64()),
            flags_for(interest),
        )?;
        Ok(())
    }

    fn reregister(
        &mut self,
        fd: BorrowedFd<'_>,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        epoll::modify(
            &self.epoll,
            fd,
            EventData::new_u64(token.as_u64()),
            flags_for(interest),
        )?;
        Ok(())
    }

    fn deregister(&mut self, fd: BorrowedFd<'_>) -> io::Result<()> {
        epoll::delete(&self.epoll, fd)?;
        Ok(())
    }

    fn wait(&mut self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        events.clear();
        let capacity = events.capacity();
        // Sized once to the caller's capacity; never grown again while it stays the same.
        if self.buffer.capacity() < capacity {
            self.buffer.reserve_exact(capacity);
        }
        let timeout = timeout.map(|d| rustix::time::Timespec {
            tv_sec: d.as_secs().min(i64::MAX as u64) as i64,
            tv_nsec: d.subsec_nanos() as _,
        });
        let spare = &mut self.buffer.spare_capacity_mut()[..capacity];
        let filled = match epoll::wait(&self.epoll, spare, timeout.as_ref()) {
            Ok((filled, _)) => filled,
            // A signal: return with no events so the caller can look at what changed.
            Err(rustix::io::Errno::INTR) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        for ev in filled.iter() {
            // `epoll::Event` is packed on x86_64: copy it before reading its fields.
            let ev = *ev;
            let (flags, data) = (ev.flags, ev.data);
            events.push(Event {
                token: Token::from_u64(data.u64()),
                readiness: readiness_from(flags),
            });
        }
        Ok(())
    }
}

impl fmt::Debug for EpollPoller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EpollPoller")
            .field("epoll", &self.epoll)
            .finish()
    }
}
