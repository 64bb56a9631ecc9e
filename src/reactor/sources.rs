//! The registry of I/O sources: a slab of handlers named by generational [`Token`]s.
//!
//! Tests: `tests/reactor_sources.rs`.

use std::fmt;
use std::os::fd::RawFd;
use std::rc::Rc;

use torsion_sys::{Interest, Readiness, Token};

use super::Reactor;

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
