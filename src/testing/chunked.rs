//! Feeding input in pieces: [`Chunking`], [`feed_chunked`] and friends, and
//! [`assert_same_for_every_chunking`], so every parser and protocol is tested with its
//! input whole, in chunks of 1 to 9 bytes and split in two at many positions (Twisted's
//! `test_basic.py` loops over `range(1, 10)`; httparse tests every prefix).
//!
//! Tests: unit tests below; `tests/testing_chunked.rs`.

use std::fmt;

use super::Driver;
use crate::protocol::Protocol;

/// Inputs up to this length are split in two at every position by
/// [`Chunking::standard`]; longer ones at this many evenly spread positions.
pub const MAX_SPLITS: usize = 512;

/// One way of cutting input into the pieces handed to `data_received`.
///
/// # Examples
///
/// ```
/// use torsion::testing::Chunking;
///
/// let data = b"abcdefg";
/// assert_eq!(Chunking::Whole.chunks(data), [&b"abcdefg"[..]]);
/// assert_eq!(Chunking::Size(3).chunks(data), [&b"abc"[..], b"def", b"g"]);
/// assert_eq!(Chunking::SplitAt(2).chunks(data), [&b"ab"[..], b"cdefg"]);
/// assert_eq!(Chunking::Size(3).to_string(), "chunks of 3 bytes");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Chunking {
    /// All of it at once.
    Whole,
    /// Pieces of this many bytes (the last may be shorter); `Size(1)` is one byte at a time.
    Size(usize),
    /// Two pieces: the first `n` bytes, then the rest.
    SplitAt(usize),
}

impl Chunking {
    /// The pieces of `data`, in order; none for empty data (a transport never delivers an
    /// empty read).
    ///
    /// # Panics
    ///
    /// For `Size(0)`.
    pub fn chunks<'a>(&self, data: &'a [u8]) -> Vec<&'a [u8]> {
        if data.is_empty() {
            return Vec::new();
        }
        match *self {
            Chunking::Whole => vec![data],
            Chunking::Size(0) => panic!("Chunking::Size(0): chunks must hold at least one byte"),
            Chunking::Size(n) => data.chunks(n).collect(),
            Chunking::SplitAt(n) if n == 0 || n >= data.len() => vec![data],
            Chunking::SplitAt(n) => vec![&data[..n], &data[n..]],
        }
    }

    /// The chunkings every parser test should pass, for input of `len` bytes: whole, sizes
    /// 1 to 9, and split in two at every position (at [`MAX_SPLITS`] evenly spread
    /// positions for longer input). Chunkings that cut the input the same way as an
    /// earlier one are left out.
    ///
    /// # Examples
    ///
    /// ```
    /// use torsion::testing::Chunking;
    ///
    /// let all = Chunking::standard(6);
    /// assert_eq!(all[0], Chunking::Whole);
    /// assert!(all.contains(&Chunking::Size(1)));
    /// assert!(all.contains(&Chunking::SplitAt(2)));
    /// assert!(!all.contains(&Chunking::SplitAt(4))); // cuts as Size(4) does
    /// assert!(!all.contains(&Chunking::Size(6))); // the same as whole
    /// ```
    pub fn standard(len: usize) -> Vec<Chunking> {
        let mut all = vec![Chunking::Whole];
        // Size(n) with n >= len is the same as Whole.
        all.extend((1..=9).filter(|&n| n < len).map(Chunking::Size));
        let splits: Vec<usize> = if len <= MAX_SPLITS {
            (1..len).collect()
        } else {
            let mut at: Vec<usize> = (0..MAX_SPLITS)
                .map(|k| 1 + k * (len - 2) / (MAX_SPLITS - 1))
                .collect();
            at.dedup();
            at
        };
        // A split after s bytes cuts like Size(s) when s < len <= 2s: leave it out.
        for n in splits {
            let chunking = Chunking::SplitAt(n);
            let same_as_size = (1..=9).any(|s| s < len && len <= 2 * s && n == s);
            if !same_as_size {
                all.push(chunking);
            }
        }
        all
    }
}

impl fmt::Display for Chunking {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Chunking::Whole => f.write_str("whole"),
            Chunking::Size(1) => f.write_str("one byte at a time"),
            Chunking::Size(n) => write!(f, "chunks of {n} bytes"),
            Chunking::SplitAt(n) => write!(f, "split after {n} bytes"),
        }
    }
}

/// Calls `f` with every [standard](Chunking::standard) chunking of `data` and its pieces:
/// the building block for parsers that are not protocols.
///
/// # Examples
///
/// ```
/// use torsion::testing::for_each_chunking;
///
/// // A "parser" that counts newlines across calls.
/// for_each_chunking(b"a\nbb\nccc\n", |chunking, pieces| {
///     let lines: usize = pieces.iter().map(|p| p.iter().filter(|&&b| b == b'\n').count()).sum();
///     assert_eq!(lines, 3, "{chunking}");
/// });
/// ```
pub fn for_each_chunking(data: &[u8], mut f: impl FnMut(Chunking, &[&[u8]])) {
    for chunking in Chunking::standard(data.len()) {
        f(chunking, &chunking.chunks(data));
    }
}

/// Feeds `data` to the driver's protocol cut as `chunking` says, one
/// [`Driver::data_received`] per piece (so pieces after the protocol closes its transport
/// are dropped, as TCP would not read them).
///
/// # Examples
///
/// ```
/// use torsion::protocol::Protocol;
/// use torsion::testing::{feed, Chunking, Driver};
/// use torsion::transport::Transport;
///
/// /// Closes as soon as it sees a '!'.
/// #[derive(Default)]
/// struct Bang(Vec<u8>);
/// impl Protocol for Bang {
///     fn data_received(&mut self, t: &Transport, data: &[u8]) {
///         self.0.extend_from_slice(data);
///         if data.contains(&b'!') {
///             t.lose_connection();
///         }
///     }
/// }
///
/// let d = Driver::new(Bang::default());
/// feed(&d, b"ab!cd", Chunking::SplitAt(3));
/// assert_eq!(d.with_protocol(|p| p.0.clone()), b"ab!"); // "cd" was never read
/// ```
pub fn feed<P: Protocol>(driver: &Driver<P>, data: &[u8], chunking: Chunking) {
    for piece in chunking.chunks(data) {
        driver.data_received(piece);
    }
}

/// Feeds `data` in one piece.
///
/// # Examples
///
/// ```
/// use torsion::protocol::Protocol;
/// use torsion::testing::{feed_whole, Driver};
/// use torsion::transport::Transport;
///
/// struct Echo;
/// impl Protocol for Echo {
///     fn data_received(&mut self, t: &Transport, data: &[u8]) {
///         t.write(data);
///     }
/// }
///
/// let d = Driver::new(Echo);
/// feed_whole(&d, b"all at once");
/// assert_eq!(d.written(), b"all at once");
/// ```
pub fn feed_whole<P: Protocol>(driver: &Driver<P>, data: &[u8]) {
    feed(driver, data, Chunking::Whole)
}

/// Feeds `data` in pieces of `chunk_size` bytes.
///
/// # Panics
///
/// If `chunk_size` is 0.
///
/// # Examples
///
/// ```
/// use torsion::protocol::Protocol;
/// use torsion::testing::{feed_chunked, Driver};
/// use torsion::transport::Transport;
///
/// #[derive(Default)]
/// struct Sizes(Vec<usize>);
/// impl Protocol for Sizes {
///     fn data_received(&mut self, _: &Transport, data: &[u8]) {
///         self.0.push(data.len());
///     }
/// }
///
/// let driver = Driver::new(Sizes::default());
/// feed_chunked(&driver, b"12345678", 3);
/// assert_eq!(driver.with_protocol(|p| p.0.clone()), [3, 3, 2]);
/// ```
pub fn feed_chunked<P: Protocol>(driver: &Driver<P>, data: &[u8], chunk_size: usize) {
    feed(driver, data, Chunking::Size(chunk_size))
}

/// Feeds `data` one byte at a time.
///
/// # Examples
///
/// ```
/// use torsion::protocol::Protocol;
/// use torsion::testing::{feed_bytewise, Driver};
/// use torsion::transport::Transport;
///
/// #[derive(Default)]
/// struct Reads(usize);
/// impl Protocol for Reads {
///     fn data_received(&mut self, _: &Transport, _: &[u8]) {
///         self.0 += 1;
///     }
/// }
///
/// let d = Driver::new(Reads::default());
/// feed_bytewise(&d, b"four");
/// assert_eq!(d.with_protocol(|p| p.0), 4);
/// ```
pub fn feed_bytewise<P: Protocol>(driver: &Driver<P>, data: &[u8]) {
    feed(driver, data, Chunking::Size(1))
}

/// For every [standard](Chunking::standard) chunking of `data`: makes a fresh protocol with
/// `make`, connects it to a [`Driver`], feeds `data`, and computes `outcome` from the
/// driver. Returns the outcome of feeding it whole.
///
/// # Panics
///
/// If any chunking's outcome differs from the whole input's; the message names the
/// chunking and shows both outcomes.
///
/// # Examples
///
/// ```
/// use torsion::protocol::Protocol;
/// use torsion::testing::assert_same_for_every_chunking;
/// use torsion::transport::Transport;
///
/// /// Echoes whole lines, upper-cased.
/// #[derive(Default)]
/// struct Shout {
///     buf: Vec<u8>,
/// }
///
/// impl Protocol for Shout {
///     fn data_received(&mut self, transport: &Transport, data: &[u8]) {
///         self.buf.extend_from_slice(data);
///         while let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
///             let line: Vec<u8> = self.buf.drain(..=i).collect();
///             transport.write(&line.to_ascii_uppercase());
///         }
///     }
/// }
///
/// let out = assert_same_for_every_chunking(b"hi\nthere\npartial", Shout::default, |d| {
///     d.written()
/// });
/// assert_eq!(out, b"HI\nTHERE\n");
/// ```
#[track_caller]
pub fn assert_same_for_every_chunking<P, R>(
    data: &[u8],
    mut make: impl FnMut() -> P,
    mut outcome: impl FnMut(&Driver<P>) -> R,
) -> R
where
    P: Protocol,
    R: PartialEq + fmt::Debug,
{
    let mut run = |chunking: Chunking| {
        let driver = Driver::new(make());
        feed(&driver, data, chunking);
        outcome(&driver)
    };
    let expected = run(Chunking::Whole);
    for chunking in Chunking::standard(data.len()).into_iter().skip(1) {
        let got = run(chunking);
        assert!(
            got == expected,
            "fed {chunking}, the outcome differs from feeding the input whole\n  \
             whole: {expected:?}\n  {chunking}: {got:?}"
        );
    }
    expected
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_concatenate_to_the_input() {
        for len in [0, 1, 2, 3, 9, 10, 17, 600] {
            let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
            for chunking in Chunking::standard(len) {
                let pieces = chunking.chunks(&data);
                assert!(pieces.iter().all(|p| !p.is_empty()), "{chunking}");
                assert_eq!(pieces.concat(), data, "{chunking}");
            }
        }
    }

    #[test]
    fn standard_has_no_duplicate_cuts() {
        for len in [1, 2, 5, 10, 18, 40, 1000] {
            let data = vec![0u8; len];
            let all = Chunking::standard(len);
            let mut seen = std::collections::HashSet::new();
            for chunking in &all {
                let cut: Vec<usize> = chunking.chunks(&data).iter().map(|p| p.len()).collect();
                assert!(seen.insert(cut), "len {len}: {chunking} repeats a cut");
            }
            assert!(all.len() <= 1 + 9 + MAX_SPLITS);
        }
    }

    #[test]
    fn long_input_is_split_at_spread_positions() {
        let all = Chunking::standard(10_000);
        let splits: Vec<usize> = all
            .iter()
            .filter_map(|c| match c {
                Chunking::SplitAt(n) => Some(*n),
                _ => None,
            })
            .collect();
        assert_eq!(splits.first(), Some(&1));
        assert_eq!(splits.last(), Some(&9_999));
        assert!(splits.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    #[should_panic(expected = "at least one byte")]
    fn size_zero_panics() {
        let _ = Chunking::Size(0).chunks(b"x");
    }
}
