//! One level of the timer wheel: 64 slots, each the head and tail of a FIFO list, and a
//! bitmap of the occupied ones.
//!
//! Tests: the exhaustive `level_for` / `slot_for` checks below.

/// Bits of the tick that select a slot within one level.
pub(crate) const BITS_PER_LEVEL: u32 = 6;
/// Slots per level.
pub(crate) const SLOTS: usize = 1 << BITS_PER_LEVEL;
/// Number of levels.
pub(crate) const NUM_LEVELS: usize = 6;
/// Ticks the whole wheel spans: 64^6 ms, about 2.2 years.
pub(crate) const MAX_RANGE: u64 = 1 << (BITS_PER_LEVEL as usize * NUM_LEVELS);

/// Marks "no node" in an index list.
pub(crate) const NIL: u32 = u32::MAX;

/// The level an entry due at `when` goes to, seen from `elapsed` (`when > elapsed`): the
/// level whose slots first tell the two ticks apart. Ticks further apart than the wheel's
/// range go to the top level.
#[inline]
pub(crate) fn level_for(elapsed: u64, when: u64) -> usize {
    const SLOT_MASK: u64 = (1 << BITS_PER_LEVEL) - 1;
    // The highest bit in which the two ticks differ picks the level. OR-ing in the slot
    // mask makes a difference in the lowest bits count as level 0, and avoids ilog2(0).
    let mut masked = (elapsed ^ when) | SLOT_MASK;
    if masked >= MAX_RANGE {
        masked = MAX_RANGE - 1;
    }
    (masked.ilog2() / BITS_PER_LEVEL) as usize
}

/// The slot of `when` within `level`.
#[inline]
pub(crate) fn slot_for(when: u64, level: usize) -> usize {
    ((when >> (level as u32 * BITS_PER_LEVEL)) as usize) & (SLOTS - 1)
}

/// Ticks covered by one slot of `level`.
#[inline]
pub(crate) fn slot_range(level: usize) -> u64 {
    1 << (level as u32 * BITS_PER_LEVEL)
}

/// Ticks covered by the whole of `level`.
#[inline]
pub(crate) fn level_range(level: usize) -> u64 {
    slot_range(level) << BITS_PER_LEVEL
}

/// One level: slot lists (by node index) and the occupied bitmap.
#[derive(Debug)]
pub(crate) struct Level {
    /// Which level this is (0 = finest).
    pub(crate) level: usize,
    /// Bit `s` set iff slot `s` holds at least one node.
    pub(crate) occupied: u64,
    /// First node of each slot's list, or NIL.
    pub(crate) head: [u32; SLOTS],
    /// Last node of each slot's list, or NIL.
    pub(crate) tail: [u32; SLOTS],
}

impl Level {
    pub(crate) fn new(level: usize) -> Level {
        Level {
            level,
            occupied: 0,
            head: [NIL; SLOTS],
            tail: [NIL; SLOTS],
        }
    }

    /// The first occupied slot after `elapsed`'s position in this level (wrapping),
    /// and the tick at which it must be processed.
    ///
    /// Below the top level, an occupied slot always lies strictly after `elapsed`'s own
    /// slot (its entries share the higher bits with `elapsed`). Only the top level wraps:
    /// an entry beyond the wheel's range is parked in a slot at or before the current
    /// position, meaning "next cycle" (same reasoning as tokio's `level.rs`).
    pub(crate) fn next_expiration(&self, elapsed: u64) -> Option<(usize, u64)> {
        if self.occupied == 0 {
            return None;
        }
        // Search from the slot after `elapsed`'s own: that one, if occupied (top level
        // only), holds parked entries for the next cycle and so comes last.
        let start = (slot_for(elapsed, self.level) + 1) % SLOTS;
        let rotated = self.occupied.rotate_right(start as u32);
        let slot = (rotated.trailing_zeros() as usize + start) % SLOTS;
        let level_start = elapsed & !(level_range(self.level) - 1);
        let mut deadline = level_start + slot as u64 * slot_range(self.level);
        if deadline <= elapsed {
            debug_assert_eq!(
                self.level,
                NUM_LEVELS - 1,
                "only the top level wraps; elapsed={elapsed}; slot={slot}; occupied={:b}",
                self.occupied
            );
            deadline += level_range(self.level);
        }
        Some((slot, deadline))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_for_and_slot_for_exhaustive() {
        // For every level, every position of `elapsed` and every later slot of that level,
        // at both ends of each slot's range: the entry lands on that level, in that slot.
        for level in 0..NUM_LEVELS {
            let r = slot_range(level);
            let high = 0x5a5 * level_range(level) * (level < NUM_LEVELS - 1) as u64;
            for now_slot in 0..SLOTS as u64 {
                for now_off in [0, r - 1] {
                    let elapsed = high + now_slot * r + now_off;
                    for slot in now_slot + 1..SLOTS as u64 {
                        for off in [0, r - 1] {
                            let when = high + slot * r + off;
                            assert_eq!(level_for(elapsed, when), level, "{elapsed} -> {when}");
                            assert_eq!(slot_for(when, level), slot as usize);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn level_for_exact_boundaries() {
        // Same 64-tick block: level 0.
        assert_eq!(level_for(0, 1), 0);
        assert_eq!(level_for(0, 63), 0);
        assert_eq!(level_for(64, 127), 0);
        // Crossing one 64-block: level 1 (also for a neighbour one tick away).
        assert_eq!(level_for(63, 64), 1);
        assert_eq!(level_for(0, 64), 1);
        assert_eq!(level_for(0, 4095), 1);
        assert_eq!(level_for(0, 4096), 2);
        for level in 0..NUM_LEVELS {
            let r = level_range(level);
            assert_eq!(level_for(0, r - 1), level, "last tick of level {level}");
            if level + 1 < NUM_LEVELS {
                assert_eq!(level_for(0, r), level + 1, "first tick past level {level}");
            }
        }
        // Beyond the wheel: the top level.
        assert_eq!(level_for(0, MAX_RANGE), NUM_LEVELS - 1);
        assert_eq!(level_for(5, u64::MAX), NUM_LEVELS - 1);
    }

    #[test]
    fn slot_for_matches_bit_fields() {
        let when = 0b_000011_000010_000001_111111_000000_101010u64;
        assert_eq!(slot_for(when, 0), 0b101010);
        assert_eq!(slot_for(when, 1), 0);
        assert_eq!(slot_for(when, 2), 0b111111);
        assert_eq!(slot_for(when, 3), 1);
        assert_eq!(slot_for(when, 4), 2);
        assert_eq!(slot_for(when, 5), 3);
    }

    #[test]
    fn next_expiration_finds_the_first_slot_after_now() {
        let mut l = Level::new(1);
        assert_eq!(l.next_expiration(0), None);
        l.occupied = (1 << 5) | (1 << 9);
        // elapsed 100 is in slot 1 of level 1; slot 5 starts at 320.
        assert_eq!(l.next_expiration(100), Some((5, 320)));
        // elapsed 400 is in slot 6: next is slot 9 at 576.
        assert_eq!(l.next_expiration(400), Some((9, 576)));
    }

    #[test]
    fn top_level_wraps_to_the_next_cycle() {
        let mut l = Level::new(NUM_LEVELS - 1);
        let top_slot = slot_range(NUM_LEVELS - 1);
        let elapsed = 10 * top_slot + 5; // slot 10 of the top level
        l.occupied = 1 << 3; // a parked entry: slot 3 of the next cycle
        assert_eq!(
            l.next_expiration(elapsed),
            Some((3, MAX_RANGE + 3 * top_slot))
        );
        l.occupied = 1 << 10; // the current slot itself also means the next cycle
        assert_eq!(
            l.next_expiration(elapsed),
            Some((10, MAX_RANGE + 10 * top_slot))
        );
        l.occupied = (1 << 10) | (1 << 40); // ... and comes after every later slot
        assert_eq!(l.next_expiration(elapsed), Some((40, 40 * top_slot)));
        l.occupied = (1 << 10) | (1 << 2); // ... and after the wrapped ones before it
        assert_eq!(
            l.next_expiration(elapsed),
            Some((2, MAX_RANGE + 2 * top_slot))
        );
    }
}
