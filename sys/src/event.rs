//! [`Event`] and the [`Events`] buffer a poller fills.
//!
//! Tests: `sys/tests/conformance.rs`.

use crate::{Readiness, Token};

/// One readiness report: which source, and what it is ready for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    /// The token the source was registered with.
    pub token: Token,
    /// What the source is ready for.
    pub readiness: Readiness,
}

/// A reusable buffer of events, filled by [`Poller::wait`](crate::Poller::wait).
///
/// It is allocated once with a fixed capacity; waiting never grows it, so a busy loop makes
/// no allocation per wait. A wait returns at most `capacity` events; the rest stay ready in
/// the kernel (epoll keeps them on its ready list, edge-triggered ones included; poll(2)
/// and kqueue report states) and come back on the next wait.
#[derive(Debug)]
pub struct Events {
    list: Vec<Event>,
    capacity: usize,
}

impl Events {
    /// A buffer for up to `capacity` events per wait (at least 1).
    pub fn with_capacity(capacity: usize) -> Events {
        let capacity = capacity.max(1);
        Events {
            list: Vec::with_capacity(capacity),
            capacity,
        }
    }

    /// How many events one wait can return.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Number of events from the last wait.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// True if the last wait returned nothing (a timeout).
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The events from the last wait.
    pub fn iter(&self) -> std::slice::Iter<'_, Event> {
        self.list.iter()
    }

    /// The `i`-th event of the last wait.
    pub fn get(&self, i: usize) -> Option<Event> {
        self.list.get(i).copied()
    }

    /// Forgets the last wait's events.
    pub fn clear(&mut self) {
        self.list.clear();
    }

    /// Adds an event; backends call this while translating kernel events. Events beyond the
    /// capacity are dropped (callers never produce more than `capacity`).
    pub fn push(&mut self, event: Event) {
        if self.list.len() < self.capacity {
            self.list.push(event);
        }
    }

    /// Room left in this wait.
    pub fn remaining(&self) -> usize {
        self.capacity - self.list.len()
    }

    /// Adds `readiness` to the `i`-th event of this wait (the kqueue backend merges a
    /// source's read and write kevents into one event). Out of range is ignored.
    pub(crate) fn add_readiness(&mut self, i: usize, readiness: Readiness) {
        if let Some(e) = self.list.get_mut(i) {
            e.readiness |= readiness;
        }
    }
}

impl<'a> IntoIterator for &'a Events {
    type Item = &'a Event;
    type IntoIter = std::slice::Iter<'a, Event>;
    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}
