//! `LineProtocol` with Twisted's `LineReceiverTests` and
//! `LineReceiverLineLengthExceededTests` ported (`twisted/protocols/test/test_basic.py`),
//! each checked whole, in chunks of 1 to 9 bytes and split at every position.

use torsion::protocols::basic::{LineProtocol, LineReceiver, Lines, DEFAULT_MAX_LENGTH};
use torsion::testing::{assert_same_for_every_chunking, feed_bytewise, feed_chunked, Driver};

/// Twisted's `LineTester`: "\n" lines of at most 64 bytes; an empty line switches to raw
/// mode for `len N` bytes; a too-long line is resumed after its 65th byte.
#[derive(Default)]
struct LineTester {
    received: Vec<Vec<u8>>,
    length: usize,
}

impl LineReceiver for LineTester {
    fn line_received(&mut self, lines: &mut Lines<'_>, line: &[u8]) {
        self.received.push(line.to_vec());
        if line.is_empty() {
            lines.set_raw_mode();
        } else if line == b"stop" {
            lines.transport().lose_connection();
        } else if let Some(n) = line.strip_prefix(b"len ") {
            self.length = std::str::from_utf8(n).unwrap().parse().unwrap();
        }
    }

    fn raw_data_received(&mut self, lines: &mut Lines<'_>, data: &[u8]) {
        let take = self.length.min(data.len());
        self.length -= take;
        self.received
            .last_mut()
            .unwrap()
            .extend_from_slice(&data[..take]);
        if self.length == 0 {
            lines.set_line_mode(&data[take..]);
        }
    }

    fn line_length_exceeded(&mut self, lines: &mut Lines<'_>, data: &[u8]) {
        let max = lines.max_length();
        if data.len() > max + 1 {
            lines.set_line_mode(&data[max + 1..]);
        }
    }
}

fn tester() -> LineProtocol<LineTester> {
    LineProtocol::new(LineTester::default())
        .with_delimiter(b"\n")
        .with_max_length(64)
}

fn received(d: &Driver<LineProtocol<LineTester>>) -> Vec<Vec<u8>> {
    d.with_protocol(|p| p.receiver().received.clone())
}

const BUFFER: &[u8] = b"len 10\n\n0123456789len 5\n\n1234\nlen 20\nfoo 123\n\n0123456789\n012345678len 0\nfoo 5\n\n1234567890123456789012345678901234567890123456789012345678901234567890\nlen 1\n\na";

#[test]
fn lines_raw_mode_and_long_lines_are_the_same_for_every_chunking() {
    let out = assert_same_for_every_chunking(BUFFER, tester, received);
    let expected: Vec<&[u8]> = vec![
        b"len 10",
        b"0123456789",
        b"len 5",
        b"1234\n",
        b"len 20",
        b"foo 123",
        b"0123456789\n012345678",
        b"len 0",
        b"foo 5",
        b"",
        b"67890",
        b"len 1",
        b"a",
    ];
    assert_eq!(out, expected);
}

#[test]
fn nothing_is_delivered_after_the_line_that_closed_the_transport() {
    let out =
        assert_same_for_every_chunking(b"twiddle1\ntwiddle2\nstop\nmore\nstuff\n", tester, |d| {
            (received(d), d.transport().disconnecting())
        });
    let expected: Vec<Vec<u8>> = vec![b"twiddle1".to_vec(), b"twiddle2".to_vec(), b"stop".to_vec()];
    assert_eq!(out, (expected, true));
}

#[test]
fn send_line_appends_the_delimiter_in_one_write() {
    struct Echo;
    impl LineReceiver for Echo {
        fn line_received(&mut self, lines: &mut Lines<'_>, line: &[u8]) {
            lines.send_line(line);
        }
    }
    let out = assert_same_for_every_chunking(
        b"a\r\n\r\nbc\r\nd",
        || LineProtocol::new(Echo),
        |d| d.written(),
    );
    assert_eq!(out, b"a\r\n\r\nbc\r\n");
}

#[test]
fn clear_line_buffer_returns_and_drops_the_rest_of_the_input() {
    #[derive(Default)]
    struct Clearing {
        line: Vec<u8>,
        rest: Vec<u8>,
    }
    impl LineReceiver for Clearing {
        fn line_received(&mut self, lines: &mut Lines<'_>, line: &[u8]) {
            self.line = line.to_vec();
            self.rest = lines.clear_line_buffer().to_vec();
        }
    }
    let d = Driver::new(LineProtocol::new(Clearing::default()));
    d.data_received(b"foo\r\nbar\r\nbaz");
    assert_eq!(d.with_protocol(|p| p.receiver().line.clone()), b"foo");
    assert_eq!(
        d.with_protocol(|p| p.receiver().rest.clone()),
        b"bar\r\nbaz"
    );
    d.data_received(b"quux\r\n");
    assert_eq!(d.with_protocol(|p| p.receiver().line.clone()), b"quux");
    assert_eq!(d.with_protocol(|p| p.receiver().rest.clone()), b"");
}

#[test]
fn switching_modes_on_every_byte_does_not_recurse() {
    /// Twisted's `FlippingLineTester`: raw after each line, back to lines after one byte.
    #[derive(Default)]
    struct Flipping(Vec<u8>);
    impl LineReceiver for Flipping {
        fn line_received(&mut self, lines: &mut Lines<'_>, line: &[u8]) {
            self.0.extend_from_slice(line);
            lines.set_raw_mode();
        }
        fn raw_data_received(&mut self, lines: &mut Lines<'_>, data: &[u8]) {
            lines.set_line_mode(&data[1..]);
        }
    }
    let n = 100_000;
    let d = Driver::new(LineProtocol::new(Flipping::default()).with_delimiter(b"\n"));
    d.data_received(&b"x\nx".repeat(n));
    assert_eq!(d.with_protocol(|p| p.receiver().0.len()), n);
}

#[derive(Default)]
struct Catcher {
    lines: Vec<Vec<u8>>,
    long: Vec<Vec<u8>>,
}

impl LineReceiver for Catcher {
    fn line_received(&mut self, _: &mut Lines<'_>, line: &[u8]) {
        self.lines.push(line.to_vec());
    }
    fn line_length_exceeded(&mut self, _: &mut Lines<'_>, data: &[u8]) {
        self.long.push(data.to_vec());
    }
}

fn catcher(max: usize) -> Driver<LineProtocol<Catcher>> {
    Driver::new(LineProtocol::new(Catcher::default()).with_max_length(max))
}

fn long(d: &Driver<LineProtocol<Catcher>>) -> Vec<Vec<u8>> {
    d.with_protocol(|p| p.receiver().long.clone())
}

#[test]
fn a_long_unended_line_is_passed_whole() {
    let d = catcher(6);
    let excessive = vec![b'x'; 14];
    d.data_received(&excessive);
    assert_eq!(long(&d), [excessive]);
}

#[test]
fn a_long_line_after_a_short_one_is_passed_from_its_start() {
    let d = catcher(6);
    let excessive = vec![b'x'; 14];
    d.data_received(&[&b"x\r\n"[..], &excessive].concat());
    assert_eq!(long(&d), [excessive]);
    assert_eq!(d.with_protocol(|p| p.receiver().lines.clone()), [b"x"]);
}

#[test]
fn long_lines_with_delimiters_are_passed_with_everything_after_them() {
    let d = catcher(6);
    let one = [&[b'x'; 14][..], b"\r\n"].concat();
    let excessive = one.repeat(2);
    d.data_received(&excessive);
    assert_eq!(long(&d), std::slice::from_ref(&excessive));
    let d = catcher(6);
    let joined = [&[b'x'; 14][..], b"\r\n", &[b'x'; 14]].concat();
    d.data_received(&joined);
    assert_eq!(long(&d), [joined]);
}

#[test]
fn a_line_over_the_default_limit_closes_the_connection() {
    #[derive(Default)]
    struct Plain;
    impl LineReceiver for Plain {
        fn line_received(&mut self, _: &mut Lines<'_>, _: &[u8]) {}
    }
    let mut data = vec![b'x'; DEFAULT_MAX_LENGTH + 1];
    data.extend_from_slice(b"\r\nr");
    let closed = assert_same_for_every_chunking(
        &data,
        || LineProtocol::new(Plain),
        |d| d.transport().disconnecting(),
    );
    assert!(closed);
    // A partial line that cannot end within the limit, too.
    let d = Driver::new(LineProtocol::new(Plain));
    d.data_received(&vec![b'x'; DEFAULT_MAX_LENGTH + 2]);
    assert!(d.transport().disconnecting());
}

#[test]
fn a_line_of_exactly_the_limit_is_accepted_whatever_the_cut() {
    // Twisted's test_maximumLineLengthPartialDelimiter and
    // test_notQuiteMaximumLineLengthUnfinished.
    let d = catcher(4);
    d.data_received(b"xxx");
    d.data_received(b"\r");
    d.data_received(b"\nxxx");
    assert!(long(&d).is_empty());
    assert_eq!(d.with_protocol(|p| p.receiver().lines.clone()), [b"xxx"]);

    let d = catcher(DEFAULT_MAX_LENGTH);
    let mut data = vec![b'x'; DEFAULT_MAX_LENGTH];
    data.push(b'\r');
    feed_chunked(&d, &data, 4096);
    assert!(long(&d).is_empty());
    d.data_received(b"\n");
    assert_eq!(
        d.with_protocol(|p| p.receiver().lines[0].len()),
        DEFAULT_MAX_LENGTH
    );
}

#[test]
fn delimiters_cut_at_every_byte_are_found() {
    // A three-byte delimiter whose start also appears inside lines.
    let data = b"aEbENDcEEND\r\nEN\r\nENDEND";
    let out = assert_same_for_every_chunking(
        data,
        || LineProtocol::new(Catcher::default()).with_delimiter(b"END"),
        |d| d.with_protocol(|p| p.receiver().lines.clone()),
    );
    let expected: Vec<&[u8]> = vec![b"aEb", b"cE", b"\r\nEN\r\n", b""];
    assert_eq!(out, expected);
}

#[test]
fn max_length_and_delimiter_can_change_between_lines() {
    #[derive(Default)]
    struct Switch(Vec<Vec<u8>>);
    impl LineReceiver for Switch {
        fn line_received(&mut self, lines: &mut Lines<'_>, line: &[u8]) {
            self.0.push(line.to_vec());
            if line == b"semi" {
                lines.set_delimiter(b";");
                lines.set_max_length(3);
            }
        }
    }
    let out = assert_same_for_every_chunking(
        b"a\r\nsemi\r\nb;cc;\r\n;long;",
        || LineProtocol::new(Switch::default()),
        |d| {
            (
                d.with_protocol(|p| p.receiver().0.clone()),
                d.transport().disconnecting(),
            )
        },
    );
    let lines: Vec<&[u8]> = vec![b"a", b"semi", b"b", b"cc", b"\r\n"];
    assert_eq!(out.0, lines);
    assert!(out.1, "\"long\" is over 3 bytes");
}

#[test]
fn lines_are_borrowed_one_byte_at_a_time_too() {
    let d = catcher(64);
    feed_bytewise(&d, b"one\r\ntwo\r\n\r\nthree\r");
    assert_eq!(
        d.with_protocol(|p| p.receiver().lines.clone()),
        [&b"one"[..], b"two", b""]
    );
}
