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
const NANOS_PER_TICK: u32 = 1_000_000;

// Both conversions stay in 64-bit arithmetic (whole seconds, then the sub-second part): a
// 128-bit division through `as_nanos()` costs more than the rest of `call_later`.

/// The tick a deadline `at` falls due in: `at` rounded up to a whole millisecond.
#[inline]
pub(crate) fn deadline_tick(at: Duration) -> u64 {
    let sub = at.subsec_nanos().div_ceil(NANOS_PER_TICK);
    at.as_secs()
        .saturating_mul(1000)
        .saturating_add(u64::from(sub))
}

/// The last tick wholly passed at `now`: `now` rounded down to a whole millisecond.
#[inline]
pub(crate) fn current_tick(now: Duration) -> u64 {
    let sub = now.subsec_nanos() / NANOS_PER_TICK;
    now.as_secs()
        .saturating_mul(1000)
        .saturating_add(u64::from(sub))
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
