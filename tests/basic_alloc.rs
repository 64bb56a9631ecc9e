//! No allocation per line or string in steady state: after a warm-up that grows the
//! buffers, thousands of lines and frames, cut at awkward places (whole lines, lines cut
//! across reads, one byte at a time), go through each protocol adapter with a counting
//! allocator showing no allocation at all.
//!
//! The protocols are called directly (not through a `Driver`, which copies each read)
//! over a `StringTransport`, and the receivers write nothing, so only the parsing path is
//! measured.

mod alloc_count;

use alloc_count::count;
use torsion::protocol::Protocol;
use torsion::protocols::basic::{
    LineOnlyProtocol, LineOnlyReceiver, LineProtocol, LineReceiver, LineWriter, Lines,
    StringProtocol, StringReceiver, Strings,
};
use torsion::testing::StringTransport;
use torsion::transport::Transport;

#[derive(Default)]
struct Sum {
    items: usize,
    bytes: usize,
    raw_left: usize,
}

impl LineReceiver for Sum {
    fn line_received(&mut self, lines: &mut Lines<'_>, line: &[u8]) {
        self.items += 1;
        self.bytes += line.len();
        if line == b"RAW" {
            self.raw_left = 4;
            lines.set_raw_mode();
        }
    }
    fn raw_data_received(&mut self, lines: &mut Lines<'_>, data: &[u8]) {
        // Four raw bytes, then lines again: the IMAP literal path.
        let take = self.raw_left.min(data.len());
        self.raw_left -= take;
        self.bytes += take;
        if self.raw_left == 0 {
            lines.set_line_mode(&data[take..]);
        }
    }
}

impl LineOnlyReceiver for Sum {
    fn line_received(&mut self, _: &LineWriter<'_>, line: &[u8]) {
        self.items += 1;
        self.bytes += line.len();
    }
}

impl StringReceiver for Sum {
    fn string_received(&mut self, _: &mut Strings<'_>, string: &[u8]) {
        self.items += 1;
        self.bytes += string.len();
    }
}

/// Feeds `data` in pieces of each size in `sizes`, `rounds` times.
fn feed(p: &mut impl Protocol, t: &Transport, data: &[u8], sizes: &[usize], rounds: usize) {
    for _ in 0..rounds {
        for &size in sizes {
            for piece in data.chunks(size) {
                p.data_received(t, piece);
            }
        }
    }
}

const SIZES: &[usize] = &[1, 3, 7, 64, 4096];

fn lines_input() -> Vec<u8> {
    let mut data = Vec::new();
    for i in 0..200 {
        data.extend_from_slice(format!("line number {i} with some text\r\n").as_bytes());
    }
    data
}

#[test]
fn line_protocol_allocates_nothing_per_line() {
    let (_st, t) = StringTransport::pair();
    let mut p = LineProtocol::new(Sum::default());
    p.connection_made(&t);
    let mut data = lines_input();
    data.extend_from_slice(b"RAW\r\nabcdafter the literal\r\n");
    feed(&mut p, &t, &data, SIZES, 2); // warm-up
    let before = p.receiver().items;
    let (allocations, ()) = count(|| feed(&mut p, &t, &data, SIZES, 5));
    assert!(p.receiver().items - before >= 5 * SIZES.len() * 200);
    assert_eq!(allocations, 0, "allocations while parsing lines");
}

#[test]
fn line_only_protocol_allocates_nothing_per_line() {
    let (_st, t) = StringTransport::pair();
    let mut p = LineOnlyProtocol::new(Sum::default());
    p.connection_made(&t);
    let data = lines_input();
    feed(&mut p, &t, &data, SIZES, 2);
    let (allocations, ()) = count(|| feed(&mut p, &t, &data, SIZES, 5));
    assert!(p.receiver().items >= 7 * SIZES.len() * 200);
    assert_eq!(allocations, 0, "allocations while parsing lines");
}

#[test]
fn string_protocols_allocate_nothing_per_string() {
    let mut netstrings = Vec::new();
    let mut int32 = Vec::new();
    for i in 0..200usize {
        let payload = vec![b'p'; i % 50];
        netstrings.extend_from_slice(format!("{}:", payload.len()).as_bytes());
        netstrings.extend_from_slice(&payload);
        netstrings.push(b',');
        int32.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        int32.extend_from_slice(&payload);
    }
    for (mut p, data) in [
        (StringProtocol::netstring(Sum::default()), netstrings),
        (StringProtocol::int32(Sum::default()), int32),
    ] {
        let (_st, t) = StringTransport::pair();
        p.connection_made(&t);
        feed(&mut p, &t, &data, SIZES, 2);
        let (allocations, ()) = count(|| feed(&mut p, &t, &data, SIZES, 5));
        assert_eq!(p.receiver().items, 7 * SIZES.len() * 200);
        assert_eq!(allocations, 0, "allocations while parsing strings");
    }
}
