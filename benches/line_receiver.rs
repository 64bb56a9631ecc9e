//! Line and string framing throughput: lines per second through `LineProtocol` and
//! `LineOnlyProtocol`, frames per second through `StringProtocol::int32`, with the input
//! cut into reads of 1, 64 and 4096 bytes (Twisted's `linereceiver`, `lineonlyreceiver`
//! and `int16receiver` benchmarks, and `benchmarks/test_linereceiver.py`).
//!
//! The fixture is 1,000 IRC-like lines of 40 to 60 bytes (1,000 int32 frames of the same
//! payloads); the receivers count what they get and write nothing, so the parsing path is
//! what is timed. One protocol is reused across iterations (steady state: its buffers
//! have grown). `benches/twisted/line_bench.py` runs the same input through Twisted.
//!
//! Run with `cargo bench --bench line_receiver`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use torsion::protocol::Protocol;
use torsion::protocols::basic::{
    LineOnlyProtocol, LineOnlyReceiver, LineProtocol, LineReceiver, LineWriter, Lines,
    StringProtocol, StringReceiver, Strings,
};
use torsion::testing::StringTransport;
use torsion::transport::Transport;

const ITEMS: u64 = 1000;
const CHUNK_SIZES: [usize; 3] = [1, 64, 4096];

/// The payloads: "PRIVMSG #torsion :message number N from the benchmark" and padding.
fn payloads() -> Vec<Vec<u8>> {
    (0..ITEMS)
        .map(|i| {
            let mut p = format!("PRIVMSG #torsion :message number {i} from a user").into_bytes();
            p.resize(40 + (i as usize * 7) % 21, b'.');
            p
        })
        .collect()
}

fn lines_fixture() -> Vec<u8> {
    payloads()
        .iter()
        .flat_map(|p| [&p[..], b"\r\n"].concat())
        .collect()
}

fn int32_fixture() -> Vec<u8> {
    payloads()
        .iter()
        .flat_map(|p| [&(p.len() as u32).to_be_bytes()[..], p].concat())
        .collect()
}

#[derive(Default)]
struct Count(u64);

impl LineReceiver for Count {
    fn line_received(&mut self, _: &mut Lines<'_>, line: &[u8]) {
        self.0 += black_box(line).len() as u64;
    }
}

impl LineOnlyReceiver for Count {
    fn line_received(&mut self, _: &LineWriter<'_>, line: &[u8]) {
        self.0 += black_box(line).len() as u64;
    }
}

impl StringReceiver for Count {
    fn string_received(&mut self, _: &mut Strings<'_>, string: &[u8]) {
        self.0 += black_box(string).len() as u64;
    }
}

fn feed(p: &mut impl Protocol, t: &Transport, data: &[u8], chunk: usize) {
    for piece in data.chunks(chunk) {
        p.data_received(t, black_box(piece));
    }
}

fn bench(c: &mut Criterion, name: &str, data: &[u8], mut make: impl FnMut() -> Box<dyn Protocol>) {
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(ITEMS));
    group.sample_size(20);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    for chunk in CHUNK_SIZES {
        let (_st, t) = StringTransport::pair();
        let mut p = make();
        p.connection_made(&t);
        group.bench_with_input(BenchmarkId::new("chunk", chunk), &chunk, |b, &chunk| {
            b.iter(|| feed(&mut p, &t, data, chunk))
        });
    }
    group.finish();
}

fn line_receiver(c: &mut Criterion) {
    let data = lines_fixture();
    bench(c, "line_receiver", &data, || {
        Box::new(LineProtocol::new(Count::default()))
    });
}

fn line_only_receiver(c: &mut Criterion) {
    let data = lines_fixture();
    bench(c, "line_only_receiver", &data, || {
        Box::new(LineOnlyProtocol::new(Count::default()))
    });
}

fn int32_receiver(c: &mut Criterion) {
    let data = int32_fixture();
    bench(c, "int32_receiver", &data, || {
        Box::new(StringProtocol::int32(Count::default()))
    });
}

criterion_group!(benches, line_receiver, line_only_receiver, int32_receiver);
criterion_main!(benches);
