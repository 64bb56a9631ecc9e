//! Feeding helpers: a line-echo protocol gives the same result for every chunking, and a
//! chunking-sensitive protocol is caught.

use torsion::protocol::{ConnectionLost, Protocol};
use torsion::testing::{
    assert_same_for_every_chunking, feed, feed_bytewise, feed_chunked, feed_whole,
    for_each_chunking, Chunking, Driver,
};
use torsion::transport::Transport;

/// Echoes each CRLF-terminated line back with a count; "QUIT" says goodbye and closes.
/// Like Twisted's LineReceiver it stops processing input once its transport is closing.
#[derive(Default)]
struct LineEcho {
    buf: Vec<u8>,
    lines: Vec<String>,
    lost: Option<bool>,
}

impl Protocol for LineEcho {
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        self.buf.extend_from_slice(data);
        while let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
            if transport.is_disconnecting() {
                return;
            }
            let line: Vec<u8> = self.buf.drain(..i + 2).take(i).collect();
            let line = String::from_utf8_lossy(&line).into_owned();
            if line == "QUIT" {
                transport.write(b"BYE\r\n");
                transport.lose_connection();
            } else {
                transport.write(format!("{} {line}\r\n", self.lines.len() + 1).as_bytes());
            }
            self.lines.push(line);
        }
    }

    fn connection_lost(&mut self, _: &Transport, reason: ConnectionLost) {
        self.lost = Some(reason.is_clean());
    }
}

const SESSION: &[u8] = b"hello\r\nsplit across\r\n\r\nQUIT\r\nnever read\r\n";

#[test]
fn line_echo_is_the_same_for_every_chunking() {
    let (written, lines) = assert_same_for_every_chunking(SESSION, LineEcho::default, |d| {
        (d.written(), d.with_protocol(|p| p.lines.clone()))
    });
    assert_eq!(written, b"1 hello\r\n2 split across\r\n3 \r\nBYE\r\n");
    assert_eq!(lines, ["hello", "split across", "", "QUIT"]);
}

#[test]
fn the_close_completes_for_every_chunking() {
    let lost = assert_same_for_every_chunking(SESSION, LineEcho::default, |d| {
        d.take_written();
        d.run_pending();
        d.with_protocol(|p| p.lost)
    });
    assert_eq!(lost, Some(true));
}

#[test]
fn feed_helpers_cut_as_named() {
    #[derive(Default)]
    struct Sizes(Vec<usize>);
    impl Protocol for Sizes {
        fn data_received(&mut self, _: &Transport, data: &[u8]) {
            self.0.push(data.len());
        }
    }
    let sizes = |f: &dyn Fn(&Driver<Sizes>)| {
        let d = Driver::new(Sizes::default());
        f(&d);
        d.with_protocol(|p| p.0.clone())
    };
    assert_eq!(sizes(&|d| feed_whole(d, b"abcde")), [5]);
    assert_eq!(sizes(&|d| feed_chunked(d, b"abcde", 2)), [2, 2, 1]);
    assert_eq!(sizes(&|d| feed_bytewise(d, b"abc")), [1, 1, 1]);
    assert_eq!(sizes(&|d| feed(d, b"abcde", Chunking::SplitAt(4))), [4, 1]);
    assert_eq!(sizes(&|d| feed_whole(d, b"")), Vec::<usize>::new());
}

#[test]
fn feeding_stops_reaching_the_protocol_once_it_closes() {
    let d = Driver::new(LineEcho::default());
    feed_bytewise(&d, b"QUIT\r\nhello\r\n");
    assert_eq!(d.with_protocol(|p| p.lines.clone()), ["QUIT"]);
    assert_eq!(
        d.with_protocol(|p| p.buf.clone()),
        b"",
        "nothing after the close was read"
    );
}

#[test]
fn for_each_chunking_visits_whole_sizes_and_splits() {
    let mut seen = Vec::new();
    for_each_chunking(b"0123456789ab", |chunking, pieces| {
        assert_eq!(pieces.concat(), b"0123456789ab");
        seen.push(chunking);
    });
    assert_eq!(seen[0], Chunking::Whole);
    for n in 1..=9 {
        assert!(seen.contains(&Chunking::Size(n)), "size {n}");
    }
    assert!(seen.contains(&Chunking::SplitAt(1)));
    assert!(seen.contains(&Chunking::SplitAt(11)));
}

#[test]
#[should_panic(expected = "fed one byte at a time, the outcome differs")]
fn a_chunking_sensitive_protocol_is_caught() {
    /// Wrong on purpose: treats each read as one message.
    #[derive(Default)]
    struct ReadIsMessage(usize);
    impl Protocol for ReadIsMessage {
        fn data_received(&mut self, _: &Transport, _: &[u8]) {
            self.0 += 1;
        }
    }
    assert_same_for_every_chunking(b"one message", ReadIsMessage::default, |d| {
        d.with_protocol(|p| p.0)
    });
}
