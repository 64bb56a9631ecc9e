//! A hierarchical timer wheel: O(1) insert and cancel, the next deadline found without
//! scanning, and time passed in as an argument.
//!
//! # Implementation
//!
//! This is the hashed and hierarchical timing wheel of Varghese and Lauck ("Hashed and
//! Hierarchical Timing Wheels", SOSP 1987), in the shape tokio uses: six levels of 64 slots,
//! one tick per millisecond.
//!
//! | level | one slot | whole level |
//! |---|---|---|
//! | 0 | 1 ms | 64 ms |
//! | 1 | 64 ms | ~4 s |
//! | 2 | ~4 s | ~4 min |
//! | 3 | ~4 min | ~4.7 h |
//! | 4 | ~4.7 h | ~12 days |
//! | 5 | ~12 days | ~2.2 years |
//!
//! An entry due at tick `when` goes to the level of the highest bit in which `when` differs
//! from `elapsed` (the last tick processed), in the slot that bit field names. Each slot is a
//! FIFO list threaded through the node table by index (no allocation per entry, no unsafe,
//! unlike tokio's intrusive lists) and each level keeps an `occupied` bitmap, so the next
//! slot to process is a rotate and a `trailing_zeros` away. When a slot of a higher level
//! comes due its entries move down ("cascade"); when a level-0 slot comes due its entries
//! move to the `pending` list, from which [`Wheel::peek_expired`] hands them out.
//!
//! **Order.** Entries come out in order of tick, and within one tick in the order they were
//! inserted (FIFO lists, and cascading preserves list order). An entry inserted for a tick
//! that has already been processed is due at once and goes to the tail of `pending`.
//!
//! **Range.** Entries further away than the wheel's range (2^36 ms) are parked in the top
//! level and re-filed each time their slot comes round, so any `u64` tick is accepted.
//!
//! The node table grows to the largest number of live entries and is then reused through a
//! free list: in steady state nothing allocates.
//!
//! Tests: unit tests here and in `level.rs`; `tests/timer_model.rs` checks the wheel against
//! a `BTreeMap` over long random sequences.

mod level;
mod model;

use level::{level_for, slot_for, Level, NIL, NUM_LEVELS};
#[doc(hidden)]
pub use model::check_against_model;

/// Names an entry of a [`Wheel`]: a node index and the node's generation, so a key kept after
/// its entry was removed never reaches the node's next occupant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimerKey {
    index: u32,
    generation: u32,
}

/// Where a node currently is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    /// On the free list.
    Free,
    /// Allocated but in no list (fired or cancelled, value kept until `remove`).
    Detached,
    /// In the pending (expired) list.
    Pending,
    /// In a slot list of a level.
    Slot { level: u8, slot: u8 },
}

#[derive(Debug)]
struct Node<T> {
    when: u64,
    prev: u32,
    /// Next in its list; on the free list, the next free node.
    next: u32,
    place: Place,
    generation: u32,
    value: Option<T>,
}

/// A hierarchical timer wheel holding values of type `T`, each due at a tick (`u64`).
///
/// The wheel never reads a clock: callers pass the current tick to
/// [`peek_expired`](Wheel::peek_expired), and learn when to come back from
/// [`next_expiration`](Wheel::next_expiration).
///
/// # Examples
///
/// ```
/// use torsion::time::wheel::Wheel;
///
/// let mut wheel = Wheel::new();
/// let late = wheel.insert(200, "late");
/// let soon = wheel.insert(5, "soon");
/// assert_eq!(wheel.next_expiration(), Some(5));
/// assert_eq!(wheel.peek_expired(4), None);
/// assert_eq!(wheel.pop_expired(10), Some(soon));
/// assert_eq!(wheel.remove(soon), Some("soon"));
/// assert_eq!(wheel.remove(late), Some("late")); // cancel
/// assert!(wheel.is_empty());
/// ```
#[derive(Debug)]
pub struct Wheel<T> {
    nodes: Vec<Node<T>>,
    free_head: u32,
    /// Allocated nodes (queued or detached).
    len: usize,
    levels: [Level; NUM_LEVELS],
    pending_head: u32,
    pending_tail: u32,
    /// The last tick processed: every entry due at or before it is in `pending`.
    elapsed: u64,
}

impl<T> Default for Wheel<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Wheel<T> {
    /// An empty wheel at tick 0.
    pub fn new() -> Wheel<T> {
        Wheel {
            nodes: Vec::new(),
            free_head: NIL,
            len: 0,
            levels: std::array::from_fn(Level::new),
            pending_head: NIL,
            pending_tail: NIL,
            elapsed: 0,
        }
    }

    /// The last tick the wheel has processed.
    pub fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// Entries held, queued or detached.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if the wheel holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Reserves room for `additional` more entries, so that inserting them won't allocate.
    pub fn reserve(&mut self, additional: usize) {
        self.nodes.reserve(additional);
    }

    /// Adds `value`, due at tick `when`, and queues it.
    #[inline]
    pub fn insert(&mut self, when: u64, value: T) -> TimerKey {
        let index = if self.free_head != NIL {
            let index = self.free_head;
            let node = &mut self.nodes[index as usize];
            self.free_head = node.next;
            node.value = Some(value);
            node.place = Place::Detached;
            index
        } else {
            let index = u32::try_from(self.nodes.len())
                .ok()
                .filter(|&i| i != NIL)
                .expect("timer wheel: more than 2^32 - 1 entries");
            self.nodes.push(Node {
                when,
                prev: NIL,
                next: NIL,
                place: Place::Detached,
                generation: 0,
                value: Some(value),
            });
            index
        };
        self.len += 1;
        self.link(index, when);
        TimerKey {
            index,
            generation: self.nodes[index as usize].generation,
        }
    }

    #[inline]
    fn node(&self, key: TimerKey) -> Option<&Node<T>> {
        self.nodes
            .get(key.index as usize)
            .filter(|n| n.generation == key.generation && n.place != Place::Free)
    }

    /// The value of a live entry.
    pub fn get(&self, key: TimerKey) -> Option<&T> {
        self.node(key).and_then(|n| n.value.as_ref())
    }

    /// The value of a live entry, mutably.
    #[inline]
    pub fn get_mut(&mut self, key: TimerKey) -> Option<&mut T> {
        self.node(key)?;
        self.nodes[key.index as usize].value.as_mut()
    }

    /// The tick a live entry is (or was last) due at.
    pub fn when(&self, key: TimerKey) -> Option<u64> {
        self.node(key).map(|n| n.when)
    }

    /// True if the entry is live and queued (not yet handed out, not detached).
    #[inline]
    pub fn is_queued(&self, key: TimerKey) -> bool {
        self.node(key)
            .is_some_and(|n| !matches!(n.place, Place::Detached))
    }

    /// Takes a live entry out of its list but keeps it (and its value) until
    /// [`remove`](Wheel::remove). Returns false if the key is stale or already detached.
    #[inline]
    pub fn detach(&mut self, key: TimerKey) -> bool {
        if !self.is_queued(key) {
            return false;
        }
        self.unlink(key.index);
        true
    }

    /// Detaches an entry the caller knows to be live and queued (it just looked it up).
    #[inline]
    pub(crate) fn detach_queued(&mut self, key: TimerKey) {
        debug_assert!(self.is_queued(key), "detach_queued of {key:?}");
        self.unlink(key.index);
    }

    /// Queues a live entry (queued or detached) again, due at `when`. Returns false if the
    /// key is stale.
    pub fn reschedule(&mut self, key: TimerKey, when: u64) -> bool {
        if self.node(key).is_none() {
            return false;
        }
        if self.is_queued(key) {
            self.unlink(key.index);
        }
        self.link(key.index, when);
        true
    }

    /// Removes a live entry, queued or detached, and returns its value. The key, and any
    /// copy of it, goes stale.
    pub fn remove(&mut self, key: TimerKey) -> Option<T> {
        self.release(key)?.take()
    }

    /// Removes a live entry and drops its value in place; false for a stale key.
    #[inline]
    pub fn free(&mut self, key: TimerKey) -> bool {
        match self.release(key) {
            Some(value) => {
                *value = None;
                true
            }
            None => false,
        }
    }

    /// Unlinks and frees a node, leaving its value for the caller to take or drop.
    #[inline]
    fn release(&mut self, key: TimerKey) -> Option<&mut Option<T>> {
        let place = self.node(key)?.place;
        if place != Place::Detached {
            self.unlink(key.index);
        }
        let free_head = self.free_head;
        self.free_head = key.index;
        self.len -= 1;
        let node = &mut self.nodes[key.index as usize];
        node.place = Place::Free;
        node.generation = node.generation.wrapping_add(1);
        node.next = free_head;
        node.prev = NIL;
        Some(&mut node.value)
    }

    /// Every live entry (queued or detached) with its key, in node order.
    pub fn iter(&self) -> impl Iterator<Item = (TimerKey, &T)> + '_ {
        self.nodes.iter().enumerate().filter_map(|(i, n)| {
            let value = n.value.as_ref().filter(|_| n.place != Place::Free)?;
            let key = TimerKey {
                index: i as u32,
                generation: n.generation,
            };
            Some((key, value))
        })
    }

    /// The tick at which the wheel next has work: now (the `elapsed` tick) if an expired
    /// entry is waiting, else the start of the next occupied slot, else `None`.
    ///
    /// The slot of a higher level comes due at its start, which may be before its entries'
    /// own ticks (they then move down a level): use this as a deadline to come back, not as
    /// the time of the next entry.
    pub fn next_expiration(&self) -> Option<u64> {
        if self.pending_head != NIL {
            return Some(self.elapsed);
        }
        self.next_slot().map(|(_, _, deadline)| deadline)
    }

    /// Level, slot and deadline of the next slot to process. The lowest occupied level
    /// always comes first: its entries share every higher bit with `elapsed`.
    fn next_slot(&self) -> Option<(usize, usize, u64)> {
        self.levels.iter().find_map(|level| {
            level
                .next_expiration(self.elapsed)
                .map(|(slot, deadline)| (level.level, slot, deadline))
        })
    }

    /// Advances to `now` as far as needed to find an expired entry, and returns the first
    /// one (earliest tick, then first inserted) without taking it out. Call
    /// [`detach`](Wheel::detach) or [`remove`](Wheel::remove) on it to move on.
    ///
    /// Entries inserted while draining for a tick already processed are due at once and
    /// come out in the same drain, after those already expired.
    pub fn peek_expired(&mut self, now: u64) -> Option<TimerKey> {
        loop {
            if self.pending_head != NIL {
                let index = self.pending_head;
                return Some(TimerKey {
                    index,
                    generation: self.nodes[index as usize].generation,
                });
            }
            match self.next_slot() {
                Some((level, slot, deadline)) if deadline <= now => {
                    self.process_slot(level, slot, deadline)
                }
                _ => {
                    // Nothing is due up to `now`: every slot starts later, so moving
                    // `elapsed` forward keeps every entry's level and slot valid.
                    self.elapsed = self.elapsed.max(now);
                    return None;
                }
            }
        }
    }

    /// [`peek_expired`](Wheel::peek_expired), then detaches the entry it found.
    pub fn pop_expired(&mut self, now: u64) -> Option<TimerKey> {
        let key = self.peek_expired(now)?;
        self.unlink(key.index);
        Some(key)
    }

    /// Moves the entries of a slot that has come due: those due by `deadline` to pending,
    /// the others one level down (or back to the top level if they are parked).
    fn process_slot(&mut self, level: usize, slot: usize, deadline: u64) {
        debug_assert!(
            deadline > self.elapsed,
            "deadline={deadline}; elapsed={}; level={level}; slot={slot}",
            self.elapsed
        );
        self.elapsed = deadline;
        let lvl = &mut self.levels[level];
        let mut index = lvl.head[slot];
        lvl.head[slot] = NIL;
        lvl.tail[slot] = NIL;
        lvl.occupied &= !(1u64 << slot);
        while index != NIL {
            let node = &mut self.nodes[index as usize];
            let next = node.next;
            let when = node.when;
            node.place = Place::Detached;
            self.link(index, when);
            index = next;
        }
    }

    /// Appends a detached node to the list for `when`.
    #[inline]
    fn link(&mut self, index: u32, when: u64) {
        let place = if when <= self.elapsed {
            Place::Pending
        } else {
            let level = level_for(self.elapsed, when);
            Place::Slot {
                level: level as u8,
                slot: slot_for(when, level) as u8,
            }
        };
        let tail = match place {
            Place::Pending => self.pending_tail,
            Place::Slot { level, slot } => self.levels[level as usize].tail[slot as usize],
            _ => unreachable!(),
        };
        {
            let node = &mut self.nodes[index as usize];
            debug_assert_eq!(node.place, Place::Detached, "index={index}");
            node.when = when;
            node.place = place;
            node.prev = tail;
            node.next = NIL;
        }
        if tail != NIL {
            self.nodes[tail as usize].next = index;
        }
        match place {
            Place::Pending => {
                if self.pending_head == NIL {
                    self.pending_head = index;
                }
                self.pending_tail = index;
            }
            Place::Slot { level, slot } => {
                let lvl = &mut self.levels[level as usize];
                if lvl.head[slot as usize] == NIL {
                    lvl.head[slot as usize] = index;
                }
                lvl.tail[slot as usize] = index;
                lvl.occupied |= 1 << slot;
            }
            _ => unreachable!(),
        }
    }

    /// Takes a queued node out of its list.
    #[inline]
    fn unlink(&mut self, index: u32) {
        let (prev, next, place) = {
            let node = &mut self.nodes[index as usize];
            let out = (node.prev, node.next, node.place);
            node.prev = NIL;
            node.next = NIL;
            node.place = Place::Detached;
            out
        };
        if prev != NIL {
            self.nodes[prev as usize].next = next;
        }
        if next != NIL {
            self.nodes[next as usize].prev = prev;
        }
        match place {
            Place::Pending => {
                if self.pending_head == index {
                    self.pending_head = next;
                }
                if self.pending_tail == index {
                    self.pending_tail = prev;
                }
            }
            Place::Slot { level, slot } => {
                let lvl = &mut self.levels[level as usize];
                let s = slot as usize;
                if lvl.head[s] == index {
                    lvl.head[s] = next;
                }
                if lvl.tail[s] == index {
                    lvl.tail[s] = prev;
                }
                if lvl.head[s] == NIL {
                    lvl.occupied &= !(1u64 << s);
                }
            }
            Place::Free | Place::Detached => {
                debug_assert!(
                    false,
                    "unlink of a node in no list: index={index}; place={place:?}"
                )
            }
        }
    }
}

#[cfg(test)]
mod tests;
