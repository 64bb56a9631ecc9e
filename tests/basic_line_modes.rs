//! `LineProtocol`: pausing (Twisted's `test_pausing` and `test_rawPausing`, adapted to
//! transports that make no call on a resume), raw mode with IMAP-style literals, and the
//! callbacks outside `data_received`.

use torsion::protocol::ConnectionLost;
use torsion::protocols::basic::{LineProtocol, LineReceiver, Lines};
use torsion::testing::{assert_same_for_every_chunking, Chunking, Driver, ProducerState};

/// Records lines; "pause" pauses; "rawpause 5" pauses and reads 5 raw bytes next;
/// "resume-here" pauses then resumes in the same callback.
#[derive(Default)]
struct Pauser {
    received: Vec<Vec<u8>>,
    raw_left: usize,
}

impl LineReceiver for Pauser {
    fn line_received(&mut self, lines: &mut Lines<'_>, line: &[u8]) {
        self.received.push(line.to_vec());
        match line {
            b"pause" => lines.pause_producing(),
            b"resume-here" => {
                lines.pause_producing();
                assert!(lines.is_paused());
                lines.resume_producing();
            }
            _ => {
                if let Some(n) = line.strip_prefix(b"rawpause ") {
                    self.raw_left = std::str::from_utf8(n).unwrap().parse().unwrap();
                    self.received.push(Vec::new());
                    lines.pause_producing();
                    lines.set_raw_mode();
                }
            }
        }
    }

    fn raw_data_received(&mut self, lines: &mut Lines<'_>, data: &[u8]) {
        let take = self.raw_left.min(data.len());
        self.raw_left -= take;
        self.received
            .last_mut()
            .unwrap()
            .extend_from_slice(&data[..take]);
        if self.raw_left == 0 {
            lines.set_line_mode(&data[take..]);
        }
    }
}

fn pauser() -> LineProtocol<Pauser> {
    LineProtocol::new(Pauser::default()).with_delimiter(b"\n")
}

fn received(d: &Driver<LineProtocol<Pauser>>) -> Vec<Vec<u8>> {
    d.with_protocol(|p| p.receiver().received.clone())
}

fn strings(v: &[&[u8]]) -> Vec<Vec<u8>> {
    v.iter().map(|s| s.to_vec()).collect()
}

/// Feeds `data` cut as `chunking`; after a pause, resumes the transport from outside
/// (the buffered lines come in `reading_resumed`) and feeds `more`.
fn run_paused(data: &[u8], chunking: Chunking, more: &[u8]) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let d = Driver::new(pauser());
    for piece in chunking.chunks(data) {
        d.data_received(piece);
    }
    assert_eq!(
        d.transport().producer_state(),
        ProducerState::Paused,
        "{chunking}"
    );
    let before = received(&d);
    d.handle().resume_producing();
    d.run_pending(); // what the transport held while paused
    d.data_received(more);
    (before, received(&d))
}

#[test]
fn an_outside_resume_delivers_the_held_lines_without_new_input() {
    let data = b"twiddle1\ntwiddle2\npause\ntwiddle3\ntwiddle4\n";
    for chunking in Chunking::standard(data.len()) {
        let d = Driver::new(pauser());
        for piece in chunking.chunks(data) {
            d.data_received(piece);
        }
        assert_eq!(received(&d).len(), 3, "{chunking}");
        d.handle().resume_producing(); // from outside any callback, e.g. a timer
        d.run_pending(); // the loop tells the protocol: reading_resumed
        assert_eq!(
            received(&d),
            strings(&[b"twiddle1", b"twiddle2", b"pause", b"twiddle3", b"twiddle4"]),
            "{chunking}"
        );
    }
}

#[test]
fn a_pause_stops_lines_already_received_until_the_resume() {
    let data = b"twiddle1\ntwiddle2\npause\ntwiddle3\n";
    for chunking in Chunking::standard(data.len()) {
        let (before, after) = run_paused(data, chunking, b"last\n");
        assert_eq!(
            before,
            strings(&[b"twiddle1", b"twiddle2", b"pause"]),
            "{chunking}"
        );
        assert_eq!(
            after,
            strings(&[b"twiddle1", b"twiddle2", b"pause", b"twiddle3", b"last"]),
            "{chunking}"
        );
    }
}

#[test]
fn a_pause_in_raw_mode_holds_the_raw_bytes_too() {
    let data = b"twiddle1\ntwiddle2\nrawpause 5\n12345twiddle3\n";
    for chunking in Chunking::standard(data.len()) {
        let (before, after) = run_paused(data, chunking, b"last\n");
        assert_eq!(
            before,
            strings(&[b"twiddle1", b"twiddle2", b"rawpause 5", b""]),
            "{chunking}"
        );
        assert_eq!(
            after,
            strings(&[
                b"twiddle1",
                b"twiddle2",
                b"rawpause 5",
                b"12345",
                b"twiddle3",
                b"last"
            ]),
            "{chunking}"
        );
    }
}

#[test]
fn resuming_inside_the_callback_goes_straight_on() {
    let out = assert_same_for_every_chunking(b"a\nresume-here\nb\n", pauser, |d| {
        (received(d), d.transport().producer_state())
    });
    assert_eq!(out.0, strings(&[b"a", b"resume-here", b"b"]));
    assert_eq!(out.1, ProducerState::Producing);
}

/// An IMAP-ish reader: `* {n}` announces n raw bytes, delivered as one literal.
#[derive(Default)]
struct Literals {
    events: Vec<String>,
    literal: Vec<u8>,
    left: usize,
}

impl LineReceiver for Literals {
    fn line_received(&mut self, lines: &mut Lines<'_>, line: &[u8]) {
        let text = String::from_utf8_lossy(line).into_owned();
        if let Some(n) = text
            .strip_suffix('}')
            .and_then(|t| t.rsplit_once('{'))
            .and_then(|(_, n)| n.parse::<usize>().ok())
        {
            self.left = n;
            lines.set_raw_mode();
            if n == 0 {
                // An empty literal: straight back to lines, nothing to wait for.
                self.events.push("literal \"\"".into());
                lines.set_line_mode(b"");
            }
        }
        self.events.push(format!("line {text}"));
    }

    fn raw_data_received(&mut self, lines: &mut Lines<'_>, data: &[u8]) {
        let take = self.left.min(data.len());
        self.literal.extend_from_slice(&data[..take]);
        self.left -= take;
        if self.left == 0 {
            self.events.push(format!(
                "literal {:?}",
                String::from_utf8_lossy(&self.literal)
            ));
            self.literal.clear();
            lines.set_line_mode(&data[take..]);
        }
    }
}

#[test]
fn literals_switch_to_raw_and_back_whatever_the_cut() {
    let data =
        b"* 1 FETCH (BODY {12}\r\nhello\r\nworld)\r\n* 2 FETCH (BODY {0}\r\n)\r\na1 OK done\r\n";
    let out = assert_same_for_every_chunking(
        data,
        || LineProtocol::new(Literals::default()),
        |d| d.with_protocol(|p| p.receiver().events.clone()),
    );
    assert_eq!(
        out,
        [
            "line * 1 FETCH (BODY {12}",
            "literal \"hello\\r\\nworld\"",
            "line )",
            "literal \"\"",
            "line * 2 FETCH (BODY {0}",
            "line )",
            "line a1 OK done",
        ]
    );
}

#[test]
fn connection_made_can_start_in_raw_mode_and_feed_extra_lines() {
    #[derive(Default)]
    struct Start(Vec<String>);
    impl LineReceiver for Start {
        fn connection_made(&mut self, lines: &mut Lines<'_>) {
            lines.send_line(b"hello");
            lines.set_line_mode(b"pre\r\nloaded\r\n");
        }
        fn line_received(&mut self, lines: &mut Lines<'_>, line: &[u8]) {
            self.0.push(String::from_utf8_lossy(line).into_owned());
            if line == b"raw" {
                lines.set_raw_mode();
            }
        }
        fn raw_data_received(&mut self, _: &mut Lines<'_>, data: &[u8]) {
            self.0.push(format!("raw {}", data.len()));
        }
    }
    let d = Driver::new(LineProtocol::new(Start::default()));
    assert_eq!(d.written(), b"hello\r\n");
    assert_eq!(
        d.with_protocol(|p| p.receiver().0.clone()),
        ["pre", "loaded"]
    );
    d.data_received(b"raw\r\nabc");
    d.data_received(b"de");
    assert_eq!(
        d.with_protocol(|p| p.receiver().0.clone()),
        ["pre", "loaded", "raw", "raw 3", "raw 2"]
    );
}

#[test]
fn half_close_and_connection_lost_reach_the_receiver() {
    #[derive(Default)]
    struct Half {
        lost: Option<bool>,
        lines: usize,
    }
    impl LineReceiver for Half {
        fn line_received(&mut self, _: &mut Lines<'_>, _: &[u8]) {
            self.lines += 1;
        }
        fn half_closeable(&self) -> bool {
            true
        }
        fn read_connection_lost(&mut self, lines: &mut Lines<'_>) {
            lines.send_line(format!("{} lines", self.lines).as_bytes());
            lines.transport().lose_connection();
        }
        fn connection_lost(&mut self, _: &mut Lines<'_>, reason: ConnectionLost) {
            self.lost = Some(reason.is_clean());
        }
    }
    let d = Driver::new(LineProtocol::new(Half::default()));
    d.data_received(b"a\r\nb\r\n");
    d.eof();
    assert_eq!(d.take_written(), b"2 lines\r\n");
    d.run_pending();
    assert_eq!(d.with_protocol(|p| p.receiver().lost), Some(true));
}
