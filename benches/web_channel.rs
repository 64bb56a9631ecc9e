//! The web server's per-request cost in user space, without the kernel: an `HttpChannel`
//! over the testing kit's `StringTransport`, fed 16 pipelined GETs per read (what
//! `benches/peers/pipeline16.lua` sends) for a leaf resource answering a constant
//! `Hello, World!`, the shape of `benches/peers/src/bin/torsion_hello.rs`. The whole-server
//! comparison with hyper is `benches/peers/run_http.sh`; this isolates torsion's own part
//! of it, which the system's noise hides there.
//!
//! `cargo bench --bench web_channel`

use std::hint::black_box;
use std::rc::Rc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use torsion::protocol::Protocol;
use torsion::testing::StringTransport;
use torsion::time::Clock;
use torsion::web::{Rendered, Request, Resource, Site, SiteOptions};

struct Hello;

impl Resource for Hello {
    fn is_leaf(&self) -> bool {
        true
    }
    fn render_get(&self, request: &Request) -> Rendered {
        request.set_header("content-type", "text/plain");
        Rendered::Static(b"Hello, World!")
    }
}

const REQ: &[u8] = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n";

fn pipelined(c: &mut Criterion) {
    let clock = Clock::new();
    let options = SiteOptions {
        clock: Some(Rc::new(clock.clone())),
        ..SiteOptions::default()
    };
    let site = Site::with_options(Rc::new(Hello), options);
    let mut channel = site.channel();
    let st = StringTransport::new();
    let t = st.transport();
    channel.connection_made(&t);
    let input = REQ.repeat(16);
    let mut group = c.benchmark_group("web_channel");
    group.throughput(Throughput::Elements(16));
    group.bench_function("16 pipelined GETs, one read", |b| {
        b.iter(|| {
            channel.data_received(&t, black_box(&input));
            st.clear();
        })
    });
    group.throughput(Throughput::Elements(1));
    group.bench_function("one GET per read", |b| {
        b.iter(|| {
            channel.data_received(&t, black_box(REQ));
            st.clear();
        })
    });
    group.finish();
}

criterion_group!(benches, pipelined);
criterion_main!(benches);
