//! Converting between times (`Duration` since a clock's origin) and wheel ticks (whole
//! milliseconds).
//!
//! Deadlines round **up** (a call never fires early) and the present rounds **down** (a tick
//! counts as passed only once all of it has), so a call due at `t` fires at the first check
//! at or after `t`, at most one millisecond late.
//!
//! Tests: below.

use std::time::Duration;

/// Nanoseconds in one tick.
const NANOS_PER_TICK: u128 = 1_000_000;

/// The tick a deadline `at` falls due in: `at` rounded up to a whole millisecond.
#[inline]
pub(crate) fn deadline_tick(at: Duration) -> u64 {
    let ticks = at.as_nanos().div_ceil(NANOS_PER_TICK);
    u64::try_from(ticks).unwrap_or(u64::MAX)
}

/// The last tick wholly passed at `now`: `now` rounded down to a whole millisecond.
#[inline]
pub(crate) fn current_tick(now: Duration) -> u64 {
    u64::try_from(now.as_nanos() / NANOS_PER_TICK).unwrap_or(u64::MAX)
}

/// The time a tick starts at.
#[inline]
pub(crate) fn tick_start(tick: u64) -> Duration {
    Duration::from_millis(tick)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_round_up_and_now_rounds_down() {
        assert_eq!(deadline_tick(Duration::ZERO), 0);
        assert_eq!(deadline_tick(Duration::from_nanos(1)), 1);
        assert_eq!(deadline_tick(Duration::from_millis(5)), 5);
        assert_eq!(deadline_tick(Duration::from_micros(5_001)), 6);
        assert_eq!(current_tick(Duration::from_micros(5_999)), 5);
        assert_eq!(current_tick(Duration::from_millis(6)), 6);
        assert_eq!(tick_start(6), Duration::from_millis(6));
    }

    #[test]
    fn never_early() {
        for nanos in [0u64, 1, 999_999, 1_000_000, 1_000_001, 123_456_789] {
            let at = Duration::from_nanos(nanos);
            // The first moment its tick counts as passed is never before `at`.
            assert!(tick_start(deadline_tick(at)) >= at);
            assert!(current_tick(at) <= deadline_tick(at));
        }
    }

    #[test]
    fn saturates_far_in_the_future() {
        assert_eq!(deadline_tick(Duration::MAX), u64::MAX);
        assert_eq!(current_tick(Duration::MAX), u64::MAX);
    }
}
