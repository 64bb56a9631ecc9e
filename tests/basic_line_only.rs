//! `LineOnlyProtocol`, with Twisted's `LineOnlyReceiverTests` ported, every chunking.

use torsion::protocols::basic::{LineOnlyProtocol, LineOnlyReceiver, LineWriter};
use torsion::testing::{assert_same_for_every_chunking, feed_bytewise, Driver};

/// Twisted's `LineOnlyTester`: "\n" lines of at most 64 bytes, recorded.
#[derive(Default)]
struct Tester {
    received: Vec<Vec<u8>>,
    long: Vec<Vec<u8>>,
}

impl LineOnlyReceiver for Tester {
    fn line_received(&mut self, lines: &LineWriter<'_>, line: &[u8]) {
        self.received.push(line.to_vec());
        if line == b"quit" {
            lines.send_line(b"bye");
            lines.transport().lose_connection();
        }
    }
    fn line_length_exceeded(&mut self, lines: &LineWriter<'_>, data: &[u8]) {
        self.long.push(data.to_vec());
        lines.transport().lose_connection();
    }
}

fn tester() -> LineOnlyProtocol<Tester> {
    LineOnlyProtocol::new(Tester::default())
        .with_delimiter(b"\n")
        .with_max_length(64)
}

type Outcome = (Vec<Vec<u8>>, Vec<Vec<u8>>, Vec<u8>, bool);

fn outcome(d: &Driver<LineOnlyProtocol<Tester>>) -> Outcome {
    d.with_protocol(|p| {
        (
            p.receiver().received.clone(),
            p.receiver().long.clone(),
            d.written(),
            d.transport().disconnecting(),
        )
    })
}

const BUFFER: &[u8] = b"foo\n    bleakness\n    desolation\n    plastic forks\n    ";

#[test]
fn lines_are_split_whatever_the_cut() {
    let out = assert_same_for_every_chunking(BUFFER, tester, outcome);
    let mut expected: Vec<&[u8]> = BUFFER.split(|&b| b == b'\n').collect();
    expected.pop();
    assert_eq!(out.0, expected);
    assert!(out.1.is_empty() && !out.3);
    let d = Driver::new(tester());
    feed_bytewise(&d, BUFFER);
    assert_eq!(outcome(&d).0, expected);
}

#[test]
fn a_line_over_the_limit_closes_the_connection() {
    // Twisted's test_greaterThanMaximumLineLength.
    let mut data = vec![b'x'; 66];
    data.extend_from_slice(b"\nr");
    let out = assert_same_for_every_chunking(&data, tester, |d| outcome(d).3);
    assert!(out);
    // A partial line of max + delimiter length bytes cannot end within the limit.
    let d = Driver::new(tester());
    d.data_received(&[b'x'; 65]);
    assert!(outcome(&d).3);
    // Exactly the limit is fine.
    let d = Driver::new(tester());
    d.data_received(&[b'x'; 64]);
    d.data_received(b"\n");
    assert_eq!(outcome(&d).0[0].len(), 64);
    assert!(!outcome(&d).3);
}

#[test]
fn nothing_is_delivered_after_the_line_that_closed_the_transport() {
    let out = assert_same_for_every_chunking(b"a\nquit\nb\n", tester, outcome);
    assert_eq!(out.0, [&b"a"[..], b"quit"]);
    assert_eq!(out.2, b"bye\n");
    assert!(out.3);
}
