//! The entry points of our fuzz targets (`fuzz/fuzz_targets/{line_receiver, line_only,
//! netstring, int_strings}.rs`), public so the committed corpus also runs under plain
//! `cargo test` (`tests/fuzz_corpus.rs`).
//!
//! Each one checks two things on the same input:
//!
//! 1. **Cut-independence of the sans-IO parser.** The reads the fuzzer chose
//!    ([`testing::fuzz::reads`](crate::testing::fuzz::reads)) are fed to the parser one by one, and the concatenation
//!    is fed whole: the items and the error must be the same. For lines, both must also
//!    match a naive splitter.
//! 2. **The protocol adapter under [`testing::fuzz::drive_protocol`](crate::testing::fuzz::drive_protocol)**, with a receiver
//!    that uses every control (mode switches, `set_line_mode(extra)`, clears, pauses,
//!    limit and delimiter changes, writes, closes) as the bytes of each line direct, and
//!    asserts what every delivered item must satisfy.
//!
//! Tests: `tests/fuzz_corpus.rs`.

use super::{
    IntParser, IntWidth, LineBuffer, LineOnlyProtocol, LineOnlyReceiver, LineProtocol,
    LineReceiver, LineWriter, Lines, NetstringParser, Status, StringError, StringProtocol,
    StringReceiver, Strings,
};
use crate::testing::fuzz::{drive_protocol, reads};

/// Lines of `pieces`, fed in turn, and whether the parser refused a line.
fn split_lines(delimiter: &[u8], max: usize, pieces: &[&[u8]]) -> (Vec<Vec<u8>>, bool) {
    let mut parser = LineBuffer::with_delimiter(delimiter, max);
    let mut out = Vec::new();
    for piece in pieces {
        let mut input = *piece;
        loop {
            match parser.next_line(&mut input) {
                Ok(Status::Complete(line)) => out.push(line.to_vec()),
                Ok(Status::Partial) => break,
                Err(_) => return (out, true),
            }
        }
    }
    (out, false)
}

/// The naive splitter: Twisted's rules on the whole stream.
fn naive_lines(delimiter: &[u8], max: usize, data: &[u8]) -> (Vec<Vec<u8>>, bool) {
    let mut out = Vec::new();
    let mut rest = data;
    loop {
        match rest.windows(delimiter.len()).position(|w| w == delimiter) {
            Some(i) if i > max => return (out, true),
            Some(i) => {
                out.push(rest[..i].to_vec());
                rest = &rest[i + delimiter.len()..];
            }
            None => return (out, rest.len() >= max + delimiter.len()),
        }
    }
}

fn check_line_splitting(data: &[u8], delimiter: &[u8], max: usize) {
    let pieces = reads(data);
    let whole = pieces.concat();
    let chunked = split_lines(delimiter, max, &pieces);
    assert_eq!(
        chunked,
        split_lines(delimiter, max, &[&whole]),
        "cut vs whole"
    );
    assert_eq!(chunked, naive_lines(delimiter, max, &whole), "cut vs naive");
}

/// Reacts to the first byte of each line.
#[derive(Default)]
struct Exerciser {
    raw_left: usize,
}

impl LineReceiver for Exerciser {
    fn line_received(&mut self, lines: &mut Lines<'_>, line: &[u8]) {
        assert!(
            line.len() < lines.delimiter().len()
                || !line
                    .windows(lines.delimiter().len())
                    .any(|w| w == lines.delimiter()),
            "a delivered line holds its delimiter"
        );
        match line.first() {
            Some(b'R') => {
                self.raw_left = line.len();
                lines.set_raw_mode();
            }
            Some(b'P') => lines.pause_producing(),
            Some(b'U') => {
                lines.pause_producing();
                lines.resume_producing();
            }
            Some(b'C') => {
                let _ = lines.clear_line_buffer();
            }
            Some(b'D') => lines.set_delimiter(b"\n"),
            Some(b'E') => lines.set_delimiter(b"\r\n"),
            Some(b'M') => lines.set_max_length(line.len()),
            Some(b'Q') => lines.transport().lose_connection(),
            Some(b'A') => lines.transport().abort_connection(),
            Some(b'X') => lines.set_line_mode(&line[1..]),
            _ => lines.send_line(line),
        }
    }

    fn raw_data_received(&mut self, lines: &mut Lines<'_>, data: &[u8]) {
        assert!(!data.is_empty(), "raw mode delivers no empty reads");
        let take = self.raw_left.min(data.len());
        self.raw_left -= take;
        lines.transport().write(&data[..take]);
        if self.raw_left == 0 {
            lines.set_line_mode(&data[take..]);
        }
    }

    fn line_length_exceeded(&mut self, lines: &mut Lines<'_>, data: &[u8]) {
        if data[0] % 2 == 0 {
            lines.set_line_mode(&data[data.len() / 2..]);
        } else {
            lines.transport().lose_connection();
        }
    }
}

/// The `line_receiver` target: `LineBuffer` cut-independence, then a [`LineProtocol`]
/// with a receiver that switches modes, pauses, clears and closes as its lines say.
pub fn line_receiver(data: &[u8]) {
    check_line_splitting(data, b"\r\n", 64);
    drive_protocol(data, || {
        LineProtocol::new(Exerciser::default()).with_max_length(64)
    });
}

/// Checks every line against the limit and echoes it.
struct Echo {
    max: usize,
}

impl LineOnlyReceiver for Echo {
    fn line_received(&mut self, lines: &LineWriter<'_>, line: &[u8]) {
        assert!(
            line.len() <= self.max,
            "a line over the limit was delivered"
        );
        assert!(!line.contains(&b'\n'));
        if line.first() == Some(&b'Q') {
            lines.transport().lose_connection();
        }
        lines.send_line(line);
    }
}

/// The `line_only` target: `LineBuffer` with a one-byte delimiter, then a
/// [`LineOnlyProtocol`].
pub fn line_only(data: &[u8]) {
    check_line_splitting(data, b"\n", 32);
    drive_protocol(data, || {
        LineOnlyProtocol::new(Echo { max: 32 })
            .with_delimiter(b"\n")
            .with_max_length(32)
    });
}

/// The two string parsers, seen alike.
trait NextString {
    fn next<'s, 'i: 's>(
        &'s mut self,
        input: &mut &'i [u8],
    ) -> Result<Status<&'s [u8]>, StringError>;
}

impl NextString for NetstringParser {
    fn next<'s, 'i: 's>(
        &'s mut self,
        input: &mut &'i [u8],
    ) -> Result<Status<&'s [u8]>, StringError> {
        self.next_string(input)
    }
}

impl NextString for IntParser {
    fn next<'s, 'i: 's>(
        &'s mut self,
        input: &mut &'i [u8],
    ) -> Result<Status<&'s [u8]>, StringError> {
        self.next_string(input)
    }
}

/// Strings of `pieces` fed in turn, and the first error.
fn split_strings(
    mut parser: impl NextString,
    pieces: &[&[u8]],
) -> (Vec<Vec<u8>>, Option<StringError>) {
    let mut out = Vec::new();
    for piece in pieces {
        let mut input = *piece;
        loop {
            match parser.next(&mut input) {
                Ok(Status::Complete(s)) => out.push(s.to_vec()),
                Ok(Status::Partial) => break,
                Err(e) => return (out, Some(e)),
            }
        }
    }
    (out, None)
}

/// Echoes strings; reacts to their first byte.
struct StringExerciser {
    max: usize,
}

impl StringReceiver for StringExerciser {
    fn string_received(&mut self, strings: &mut Strings<'_>, string: &[u8]) {
        assert!(
            string.len() <= self.max,
            "a string over the limit was delivered"
        );
        match string.first() {
            Some(b'P') => strings.pause_producing(),
            Some(b'Q') => strings.transport().lose_connection(),
            Some(b'M') => {
                self.max = self.max.min(string.len());
                strings.set_max_length(self.max);
            }
            _ => {
                // Strings over the prefix's range are refused, never truncated.
                let _ = strings.send_string(string);
            }
        }
    }
}

/// The `netstring` target: `NetstringParser` cut-independence, then
/// [`StringProtocol::netstring`].
pub fn netstring(data: &[u8]) {
    let pieces = reads(data);
    let whole = pieces.concat();
    let chunked = split_strings(NetstringParser::with_max_length(100), &pieces);
    let at_once = split_strings(NetstringParser::with_max_length(100), &[&whole]);
    assert_eq!(chunked, at_once, "cut vs whole");
    drive_protocol(data, || {
        StringProtocol::netstring(StringExerciser { max: 100 }).with_max_length(100)
    });
}

/// The `int_strings` target: the first byte picks the prefix width (8, 16 or 32 bits)
/// and the limit; then as [`netstring`].
pub fn int_strings(data: &[u8]) {
    let Some((&first, data)) = data.split_first() else {
        return;
    };
    let width = [IntWidth::Int8, IntWidth::Int16, IntWidth::Int32][usize::from(first % 3)];
    let max = usize::from(first / 3) * 4;
    let pieces = reads(data);
    let whole = pieces.concat();
    let chunked = split_strings(IntParser::with_max_length(width, max), &pieces);
    let at_once = split_strings(IntParser::with_max_length(width, max), &[&whole]);
    assert_eq!(chunked, at_once, "cut vs whole");
    drive_protocol(data, || {
        StringProtocol::int(StringExerciser { max }, width).with_max_length(max)
    });
}
