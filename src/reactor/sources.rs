//! The registry of I/O sources: a slab of handlers named by generational [`Token`]s.
//!
//! Tests: `tests/reactor_sources.rs`.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::rc::Rc;

use torsion_sys::{Interest, Readiness, Token};

use super::{closed_error, stale_key, Reactor};

/// Something the reactor calls when a descriptor it watches is ready: Twisted's
/// `IReadDescriptor.doRead` and `IWriteDescriptor.doWrite` in one method.
///
/// Transports implement it; most code never does. A closure
/// `Fn(&Reactor, Readiness)` is an `IoHandler` too.
///
/// The handler is called with a `&Reactor` and may do anything with it, including removing
/// itself, registering new sources or stopping the reactor. It is held as an `Rc`, so it stays
/// alive until it returns even if it removes itself.
pub trait IoHandler {
    /// The descriptor is ready for (at least) `readiness`. Readiness is filtered by the
    /// source's current interest, except `HUP` and `ERROR`, which always come through.
    fn ready(&self, reactor: &Reactor, readiness: Readiness);
}

impl<F: Fn(&Reactor, Readiness)> IoHandler for F {
    fn ready(&self, reactor: &Reactor, readiness: Readiness) {
        self(reactor, readiness)
    }
}

/// Names a registered source. It is the poller [`Token`]: once the source is removed the key
/// goes stale and never reaches the slot's next occupant.
pub type SourceKey = Token;

pub(crate) struct Entry {
    pub(crate) handler: Rc<dyn IoHandler>,
    pub(crate) interest: Interest,
    /// Whether the descriptor is in the kernel poller now: a source with an empty interest
    /// is taken out, so a hung-up descriptor that nobody reads cannot spin the loop.
    pub(crate) in_poller: bool,
    pub(crate) fd: RawFd,
}

struct Slot {
    generation: u32,
    entry: Option<Entry>,
    next_free: u32,
}

const NIL: u32 = u32::MAX;

/// The slab. Freed slots are reused last-in first-out; each reuse bumps the generation.
pub(crate) struct Sources {
    slots: Vec<Slot>,
    free_head: u32,
    len: usize,
}

impl Sources {
    pub(crate) fn new() -> Sources {
        Sources {
            slots: Vec::new(),
            free_head: NIL,
            len: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn insert(&mut self, entry: Entry) -> SourceKey {
        self.len += 1;
        if self.free_head != NIL {
            let index = self.free_head;
            let slot = &mut self.slots[index as usize];
            self.free_head = slot.next_free;
            slot.entry = Some(entry);
            return Token::new(index, slot.generation);
        }
        let index = u32::try_from(self.slots.len())
            .ok()
            .filter(|&i| i != NIL && i != Token::WAKER.index())
            .expect("more than 2^32 - 2 sources");
        self.slots.push(Slot {
            generation: 0,
            entry: Some(entry),
            next_free: NIL,
        });
        Token::new(index, 0)
    }

    pub(crate) fn get(&self, key: SourceKey) -> Option<&Entry> {
        let slot = self.slots.get(key.index() as usize)?;
        if slot.generation != key.generation() {
            return None;
        }
        slot.entry.as_ref()
    }

    pub(crate) fn get_mut(&mut self, key: SourceKey) -> Option<&mut Entry> {
        let slot = self.slots.get_mut(key.index() as usize)?;
        if slot.generation != key.generation() {
            return None;
        }
        slot.entry.as_mut()
    }

    /// Frees the slot and returns its entry (for the caller to drop outside any borrow).
    pub(crate) fn remove(&mut self, key: SourceKey) -> Option<Entry> {
        self.get(key)?;
        let index = key.index();
        let slot = &mut self.slots[index as usize];
        let entry = slot.entry.take();
        slot.generation = slot.generation.wrapping_add(1);
        slot.next_free = self.free_head;
        self.free_head = index;
        self.len -= 1;
        entry
    }

    /// Every live key.
    pub(crate) fn keys(&self) -> Vec<SourceKey> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.entry.is_some())
            .map(|(i, s)| Token::new(i as u32, s.generation))
            .collect()
    }
}

impl fmt::Debug for Sources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.slots
                    .iter()
                    .filter_map(|s| s.entry.as_ref().map(|e| (e.fd, e.interest, e.in_poller))),
            )
            .finish()
    }
}

/// Watching descriptors: Twisted's `IReactorFDSet`, with generational keys.
impl Reactor {
    /// Watches `fd` for `interest` and calls `handler` when it is ready (Twisted's
    /// `addReader` / `addWriter` in one). The caller keeps owning the descriptor and must
    /// [`remove_source`](Reactor::remove_source) it before closing it.
    ///
    /// # Errors
    ///
    /// The poller's error (say, the descriptor is already registered), or `Other` if the
    /// reactor is closed.
    pub fn add_source(
        &self,
        fd: &impl AsFd,
        interest: Interest,
        handler: Rc<dyn IoHandler>,
    ) -> io::Result<SourceKey> {
        if self.inner.flags.closed.get() {
            return Err(closed_error());
        }
        let fd = fd.as_fd();
        let key = self.inner.sources.borrow_mut().insert(Entry {
            handler,
            interest,
            in_poller: false,
            fd: fd.as_raw_fd(),
        });
        if !interest.is_empty() {
            if let Err(e) = self.inner.poller.borrow_mut().register(fd, key, interest) {
                let entry = self.inner.sources.borrow_mut().remove(key);
                drop(entry);
                return Err(e);
            }
            if let Some(entry) = self.inner.sources.borrow_mut().get_mut(key) {
                entry.in_poller = true;
            }
        }
        Ok(key)
    }

    /// Has the poller look at a source's state again, with its interest unchanged (a
    /// reregistration): a source that is ready is reported on the next wait. The owner of an
    /// [`Interest::EDGE`] source calls it when it stops reading with data left (a full
    /// read buffer), since no new edge would come for data already there. Nothing happens
    /// for a source out of the poller (empty interest).
    ///
    /// # Errors
    ///
    /// `NotFound` for a stale key; the poller's error otherwise.
    pub fn rearm(&self, key: SourceKey, fd: &impl AsFd) -> io::Result<()> {
        let (interest, in_poller) = {
            let sources = self.inner.sources.borrow();
            let entry = sources.get(key).ok_or_else(stale_key)?;
            (entry.interest, entry.in_poller)
        };
        if in_poller {
            self.inner
                .poller
                .borrow_mut()
                .reregister(fd.as_fd(), key, interest)?;
        }
        Ok(())
    }

    /// Changes what a source is watched for. No system call is made if nothing changes.
    /// An empty interest takes the descriptor out of the kernel poller (so a hung-up
    /// descriptor nobody reads cannot spin the loop) while keeping its key.
    ///
    /// # Errors
    ///
    /// `NotFound` for a stale key; the poller's error otherwise.
    pub fn set_interest(
        &self,
        key: SourceKey,
        fd: &impl AsFd,
        interest: Interest,
    ) -> io::Result<()> {
        let (old, in_poller) = {
            let sources = self.inner.sources.borrow();
            let entry = sources.get(key).ok_or_else(stale_key)?;
            (entry.interest, entry.in_poller)
        };
        if old == interest && in_poller != interest.is_empty() {
            return Ok(());
        }
        let fd = fd.as_fd();
        {
            let mut poller = self.inner.poller.borrow_mut();
            match (in_poller, interest.is_empty()) {
                (true, true) => poller.deregister(fd)?,
                (true, false) => poller.reregister(fd, key, interest)?,
                (false, false) => poller.register(fd, key, interest)?,
                (false, true) => {}
            }
        }
        let mut sources = self.inner.sources.borrow_mut();
        let entry = sources.get_mut(key).ok_or_else(stale_key)?;
        entry.interest = interest;
        entry.in_poller = !interest.is_empty();
        Ok(())
    }

    /// The current interest of a source, or `None` for a stale key.
    pub fn source_interest(&self, key: SourceKey) -> Option<Interest> {
        self.inner.sources.borrow().get(key).map(|e| e.interest)
    }

    /// Stops watching a source and drops the reactor's reference to its handler. Events
    /// already collected for it in this turn are not delivered.
    ///
    /// # Errors
    ///
    /// `NotFound` for a stale key; the poller's error otherwise (the source is removed from
    /// the reactor all the same).
    pub fn remove_source(&self, key: SourceKey, fd: &impl AsFd) -> io::Result<()> {
        let entry = self
            .inner
            .sources
            .borrow_mut()
            .remove(key)
            .ok_or_else(stale_key)?;
        let result = if entry.in_poller {
            self.inner.poller.borrow_mut().deregister(fd.as_fd())
        } else {
            Ok(())
        };
        // The handler may own anything; drop it with no borrow held.
        drop(entry);
        result
    }

    /// Number of registered sources.
    pub fn source_count(&self) -> usize {
        self.inner.sources.borrow().len()
    }
}
