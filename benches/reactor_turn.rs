//! One loop turn with N idle sources registered, on each backend: what an idle-ish server
//! pays per turn (poll(2) scans every descriptor; epoll does not).
//!
//! `cargo bench --bench reactor_turn`

use std::hint::black_box;
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use torsion::reactor::{IoHandler, Reactor};
use torsion_sys::{Backend, Interest, Readiness};

fn idle_turn(c: &mut Criterion) {
    let mut g = c.benchmark_group("turn_with_idle_sources");
    for &backend in Backend::available() {
        for n in [0usize, 100, 1_000] {
            let reactor = Reactor::builder().backend(backend).build().unwrap();
            let pairs: Vec<(UnixStream, UnixStream)> =
                (0..n).map(|_| UnixStream::pair().unwrap()).collect();
            let handler: Rc<dyn IoHandler> = Rc::new(|_: &Reactor, _: Readiness| {});
            for (a, _) in &pairs {
                reactor
                    .add_source(a, Interest::READABLE, handler.clone())
                    .unwrap();
            }
            g.bench_function(format!("{backend}/{n}"), |b| {
                b.iter(|| reactor.iterate(black_box(Duration::ZERO)).unwrap())
            });
            reactor.close();
        }
    }
    g.finish();
}

fn timer_turn(c: &mut Criterion) {
    // A turn that fires one timer and schedules the next: the loop's own overhead around
    // call_later on a real reactor.
    let mut g = c.benchmark_group("turn_firing_one_timer");
    let reactor = Reactor::new().unwrap();
    g.bench_function(format!("{}", reactor.backend()), |b| {
        b.iter(|| {
            reactor.call_later(Duration::ZERO, || {});
            reactor.iterate(Duration::ZERO).unwrap();
        })
    });
    reactor.close();
    g.finish();
}

criterion_group!(benches, idle_turn, timer_turn);
criterion_main!(benches);
