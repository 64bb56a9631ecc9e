//! A small HDR-style log-linear histogram of `u64` values (nanoseconds here).
//!
//! Values below 2^[`PRECISION_BITS`] get a bucket each; above, every power of two is split
//! into 2^(PRECISION_BITS - 1) equal buckets, so a value is known to within 1 part in
//! 2^(PRECISION_BITS - 1) (0.8 %), over the whole `u64` range, in 7,424 counters (58 KiB).
//! Recording is a few shifts and an increment; no allocation after `new`.

/// Significant bits kept of each value.
pub(crate) const PRECISION_BITS: u32 = 8;
const HALF: u64 = 1 << (PRECISION_BITS - 1);
const BUCKETS: usize = ((64 - PRECISION_BITS + 2) as usize) * (HALF as usize);

#[derive(Clone)]
pub(crate) struct Histogram {
    counts: Vec<u64>,
    count: u64,
    sum: u128,
    min: u64,
    max: u64,
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Histogram")
            .field("count", &self.count)
            .field("min", &self.min)
            .field("max", &self.max)
            .finish()
    }
}

/// The bucket of `v`.
fn index(v: u64) -> usize {
    if v < (1 << PRECISION_BITS) {
        return v as usize;
    }
    let top = 63 - v.leading_zeros(); // >= PRECISION_BITS
    let shift = top - PRECISION_BITS + 1;
    let mantissa = v >> shift; // in [HALF, 2 * HALF)
    ((u64::from(shift) + 1) * HALF + (mantissa - HALF)) as usize
}

/// The lowest and highest value that land in bucket `i`.
fn bounds(i: usize) -> (u64, u64) {
    let i = i as u64;
    if i < (1 << PRECISION_BITS) {
        return (i, i);
    }
    let shift = i / HALF - 1;
    let mantissa = i % HALF + HALF;
    let low = mantissa << shift;
    (low, low + ((1u64 << shift) - 1))
}

impl Histogram {
    pub(crate) fn new() -> Histogram {
        Histogram {
            counts: vec![0; BUCKETS],
            count: 0,
            sum: 0,
            min: u64::MAX,
            max: 0,
        }
    }

    pub(crate) fn record(&mut self, v: u64) {
        self.counts[index(v)] += 1;
        self.count += 1;
        self.sum += u128::from(v);
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    pub(crate) fn count(&self) -> u64 {
        self.count
    }

    pub(crate) fn max(&self) -> u64 {
        self.max
    }

    pub(crate) fn min(&self) -> Option<u64> {
        (self.count > 0).then_some(self.min)
    }

    pub(crate) fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum as f64 / self.count as f64
        }
    }

    /// The value at or below which `q` percent of the recorded values fall (the highest
    /// value of that bucket, at most the largest value recorded); 0 when empty.
    pub(crate) fn percentile(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((q / 100.0) * self.count as f64).ceil().max(1.0) as u64;
        let rank = rank.min(self.count);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return bounds(i).1.min(self.max).max(self.min);
            }
        }
        self.max
    }

    pub(crate) fn clear(&mut self) {
        self.counts.iter_mut().for_each(|c| *c = 0);
        self.count = 0;
        self.sum = 0;
        self.min = u64::MAX;
        self.max = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_cover_u64() {
        assert_eq!(index(0), 0);
        assert_eq!(index(255), 255);
        assert_eq!(index(256), 256);
        assert_eq!(index(u64::MAX), BUCKETS - 1);
        for i in 0..BUCKETS {
            let (lo, hi) = bounds(i);
            assert!(lo <= hi);
            assert_eq!(index(lo), i, "low end of bucket {i}");
            assert_eq!(index(hi), i, "high end of bucket {i}");
            if i + 1 < BUCKETS {
                assert_eq!(bounds(i + 1).0, hi + 1, "gap after bucket {i}");
            }
        }
    }

    #[test]
    fn small_values_are_exact_and_large_ones_within_precision() {
        let mut v = 1u64;
        while v < u64::MAX / 3 {
            let (lo, hi) = bounds(index(v));
            assert!(lo <= v && v <= hi);
            // Width relative to the value: at most 1 / HALF.
            assert!(
                (hi - lo) as f64 <= v as f64 / HALF as f64,
                "{v}: {lo}..{hi}"
            );
            if v < 256 {
                assert_eq!((lo, hi), (v, v));
            }
            v = v * 3 / 2 + 1;
        }
    }

    #[test]
    fn percentiles_of_a_uniform_range() {
        let mut h = Histogram::new();
        for v in 1..=10_000u64 {
            h.record(v * 1000); // 1 µs .. 10 ms in ns
        }
        assert_eq!(h.count(), 10_000);
        assert_eq!(h.min(), Some(1000));
        assert_eq!(h.max(), 10_000_000);
        for (q, exact) in [
            (50.0, 5_000_000.0),
            (90.0, 9e6),
            (99.0, 9.9e6),
            (99.9, 9.99e6),
        ] {
            let got = h.percentile(q) as f64;
            assert!((got - exact).abs() / exact < 0.01, "p{q}: {got} vs {exact}");
            assert!(
                got >= exact,
                "p{q} reports the bucket's top: {got} < {exact}"
            );
        }
        assert_eq!(h.percentile(100.0), 10_000_000);
        assert!((h.mean() - 5_000_500.0).abs() < 1.0);
    }

    #[test]
    fn one_value_and_empty() {
        let mut h = Histogram::new();
        assert_eq!(h.percentile(50.0), 0);
        assert_eq!(h.min(), None);
        h.record(123_456);
        for q in [0.0, 50.0, 99.9, 100.0] {
            assert_eq!(h.percentile(q), 123_456);
        }
    }

    #[test]
    fn exact_below_256_and_clear() {
        let mut a = Histogram::new();
        for v in 0..200 {
            a.record(v);
        }
        assert_eq!(a.count(), 200);
        assert_eq!(a.percentile(50.0), 99);
        assert_eq!(a.max(), 199);
        a.clear();
        assert_eq!(a.count(), 0);
        assert_eq!(a.max(), 0);
    }
}
