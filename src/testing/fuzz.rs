//! Fuzzing any [`Protocol`]: [`drive_protocol`] turns a fuzzer's bytes into a run of a
//! protocol over a [`Driver`], the fuzzer choosing the bytes, where reads are cut, and
//! when the peer or the application pauses, resumes, half-closes, closes or aborts.
//!
//! A protocol is fuzzed in a few lines (a `fuzz/fuzz_targets/my_protocol.rs` of a
//! [cargo-fuzz](https://rust-fuzz.github.io/book/cargo-fuzz.html) crate):
//!
//! ```ignore
//! #![no_main]
//! use libfuzzer_sys::fuzz_target;
//!
//! fuzz_target!(|data: &[u8]| {
//!     torsion::testing::fuzz::drive_protocol(data, || MyProtocol::default());
//! });
//! ```
//!
//! The same function runs a committed corpus under plain `cargo test` on stable (see
//! `tests/fuzz_corpus.rs`). What it checks, besides "nothing panics": once the
//! connection is closing or closed, nothing more reaches the peer (writes after close
//! are ignored), and `connection_lost` is delivered exactly once, at the end if not
//! before.
//!
//! # The input format
//!
//! The input is read as a sequence of operations ([`ops`]), each introduced by one
//! control byte `c`:
//!
//! | `c` | operation |
//! |---|---|
//! | `0x00..=0xDF` | the next `c + 1` bytes arrive as one read ([`Op::Data`]) |
//! | `0xE0..=0xEF` | the next `256 × (c - 0xDF)` bytes arrive as one read |
//! | `0xF0` | the transport stops reading ([`Op::PauseReading`]) |
//! | `0xF1` | it reads again ([`Op::ResumeReading`]) |
//! | `0xF2` | the peer's end of input ([`Op::Eof`]) |
//! | `0xF3` | `lose_connection` ([`Op::LoseConnection`]) |
//! | `0xF4` | `abort_connection` ([`Op::AbortConnection`]) |
//! | `0xF5..=0xFF` | the peer takes what was written and the loop turns ([`Op::Flush`]) |
//!
//! A read is cut short when the input ends. Plain text, with no control bytes, is
//! therefore a run of reads of `c + 1` bytes each, where `c` is the first byte of each.
//!
//! Tests: `tests/fuzz_corpus.rs` (our corpus through this driver) and the unit tests
//! below.

use std::fmt;

use super::Driver;
use crate::protocol::{ConnectionLost, Protocol};

/// One step of a fuzzed run (see the [module docs](self) for the encoding).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op<'a> {
    /// These bytes arrive from the peer in one read.
    Data(&'a [u8]),
    /// The transport is paused from outside (`transport.pause_producing()`).
    PauseReading,
    /// The transport is resumed from outside.
    ResumeReading,
    /// The peer shuts down its writing side.
    Eof,
    /// The application calls `lose_connection`.
    LoseConnection,
    /// The application calls `abort_connection`.
    AbortConnection,
    /// The peer reads everything written so far, and the loop turns
    /// ([`Driver::take_written`], [`Driver::run_pending`]).
    Flush,
}

/// The operations encoded in `data`, in order.
///
/// # Examples
///
/// ```
/// use torsion::testing::fuzz::{ops, Op};
///
/// let got: Vec<Op<'_>> = ops(b"\x01ab\xf0\x02xyz\xf5").collect();
/// assert_eq!(got, [Op::Data(b"ab"), Op::PauseReading, Op::Data(b"xyz"), Op::Flush]);
/// ```
pub fn ops(data: &[u8]) -> Ops<'_> {
    Ops { rest: data }
}

/// The iterator returned by [`ops`].
#[derive(Clone)]
pub struct Ops<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Ops<'a> {
    type Item = Op<'a>;

    fn next(&mut self) -> Option<Op<'a>> {
        let (&c, rest) = self.rest.split_first()?;
        self.rest = rest;
        let len = match c {
            0x00..=0xDF => usize::from(c) + 1,
            0xE0..=0xEF => 256 * usize::from(c - 0xDF),
            0xF0 => return Some(Op::PauseReading),
            0xF1 => return Some(Op::ResumeReading),
            0xF2 => return Some(Op::Eof),
            0xF3 => return Some(Op::LoseConnection),
            0xF4 => return Some(Op::AbortConnection),
            _ => return Some(Op::Flush),
        };
        let (data, rest) = self.rest.split_at(len.min(self.rest.len()));
        self.rest = rest;
        Some(Op::Data(data))
    }
}

impl fmt::Debug for Ops<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ops")
            .field("left", &self.rest.len())
            .finish()
    }
}

/// The bytes of every [`Op::Data`] in `data`, in order: the reads a run delivers
/// (before any pause or close drops some). Handy to run a sans-IO parser on the same
/// cuts as the protocol.
///
/// # Examples
///
/// ```
/// use torsion::testing::fuzz::reads;
///
/// assert_eq!(reads(b"\x01ab\xf3\x00c"), [&b"ab"[..], b"c"]);
/// ```
pub fn reads(data: &[u8]) -> Vec<&[u8]> {
    ops(data)
        .filter_map(|op| match op {
            Op::Data(d) if !d.is_empty() => Some(d),
            _ => None,
        })
        .collect()
}

/// Runs the protocol made by `make` through the operations encoded in `data` (see the
/// [module docs](self)), then closes the connection if it is still open, and returns the
/// driver for more checks.
///
/// # Panics
///
/// If the protocol panics, or breaks a rule every protocol must keep whatever its input:
/// bytes reached the peer after the connection started closing, or a driver call was
/// made re-entrantly. (A fuzzer reports the panic with the input that caused it.)
///
/// # Examples
///
/// ```
/// use torsion::protocol::Protocol;
/// use torsion::testing::fuzz::drive_protocol;
/// use torsion::transport::Transport;
///
/// /// Echoes, and hangs up on a '!'.
/// struct Bang;
/// impl Protocol for Bang {
///     fn data_received(&mut self, t: &Transport, data: &[u8]) {
///         t.write(data);
///         if data.contains(&b'!') {
///             t.lose_connection();
///             t.write(b"ignored");
///         }
///     }
/// }
///
/// let d = drive_protocol(b"\x02ab!\xf5\x01cd", || Bang);
/// assert!(d.is_closed());
/// assert_eq!(d.written(), b""); // "ab!" was flushed to the peer; "cd" never read
/// ```
#[track_caller]
pub fn drive_protocol<P: Protocol>(data: &[u8], make: impl FnOnce() -> P) -> Driver<P> {
    let d = Driver::new(make());
    // How much reached the peer (or waits in the buffer) when the close started.
    let mut at_close: Option<usize> = None;
    let mut taken = 0usize;
    for op in ops(data) {
        if d.is_closed() {
            break;
        }
        match op {
            Op::Data(bytes) => d.data_received(bytes),
            Op::PauseReading => d.handle().pause_producing(),
            Op::ResumeReading => {
                d.handle().resume_producing();
                d.run_pending();
            }
            Op::Eof => d.eof(),
            Op::LoseConnection => d.handle().lose_connection(),
            Op::AbortConnection => d.handle().abort_connection(),
            Op::Flush => {
                taken += d.take_written().len();
                d.run_pending();
            }
        }
        let sent = taken + d.written().len();
        let closing = d.transport().disconnecting() || d.transport().disconnected();
        match at_close {
            Some(before) => assert!(
                sent <= before,
                "{} bytes were written after the connection started closing",
                sent - before
            ),
            None if closing => at_close = Some(sent),
            None => {}
        }
    }
    if !d.is_closed() {
        d.take_written();
        d.run_pending();
    }
    if !d.is_closed() {
        d.connection_lost(ConnectionLost::Done);
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::Transport;

    struct Echo;
    impl Protocol for Echo {
        fn data_received(&mut self, t: &Transport, data: &[u8]) {
            t.write(data);
        }
    }

    #[test]
    fn lengths_and_control_bytes_decode() {
        let big = [0u8; 600];
        let mut input = vec![0xE1];
        input.extend_from_slice(&big);
        let got: Vec<Op<'_>> = ops(&input).collect();
        assert_eq!(got[0], Op::Data(&big[..512]));
        // The 88 bytes left are 44 reads of one byte, each after its length byte.
        assert_eq!(got.len(), 45);
        assert_eq!(got[1], Op::Data(&big[..1]));
        let all: Vec<Op<'_>> = ops(&[0xF0, 0xF1, 0xF2, 0xF3, 0xF4, 0xFF, 0x05]).collect();
        assert_eq!(
            all,
            [
                Op::PauseReading,
                Op::ResumeReading,
                Op::Eof,
                Op::LoseConnection,
                Op::AbortConnection,
                Op::Flush,
                Op::Data(b"")
            ]
        );
    }

    #[test]
    fn every_run_ends_with_connection_lost() {
        for input in [&b""[..], b"\x00a", b"\xf0\x00a\xf1", b"\xf2", b"\xf4\x00a"] {
            let d = drive_protocol(input, || Echo);
            assert!(d.is_closed(), "{}", input.escape_ascii());
        }
    }

    #[test]
    fn held_reads_arrive_after_a_resume() {
        #[derive(Default)]
        struct Record(Vec<u8>);
        impl Protocol for Record {
            fn data_received(&mut self, _: &Transport, data: &[u8]) {
                self.0.extend_from_slice(data);
            }
        }
        let d = drive_protocol(b"\xf0\x01ab\x00c\xf1\x00d", Record::default);
        assert_eq!(d.with_protocol(|p| p.0.clone()), b"abcd");
    }
}
