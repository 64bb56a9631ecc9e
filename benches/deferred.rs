//! Deferred micro-benchmarks, the workloads of Twisted's `benchmarks/test_deferred.py`:
//! a callback chain, awaiting 1,000 already-fired Deferreds in one task, and awaiting 20
//! unfired Deferreds fired afterwards.
//!
//! Run with `cargo bench --bench deferred`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use torsion::defer::{succeed, Deferred, Failure};

/// Fires a Deferred carrying 10 callbacks (added before firing) and takes the result.
fn callback_chain_10(c: &mut Criterion) {
    c.bench_function("callback_chain_10_fires_at_end", |b| {
        b.iter(|| {
            let d: Deferred<u64> = Deferred::new();
            let mut end = d.clone();
            for i in 0..10u64 {
                end = end.add_callback(move |x| Ok(x + i));
            }
            d.callback(black_box(2)).unwrap();
            end.take_result().unwrap().unwrap()
        })
    });
    c.bench_function("callback_chain_10_fires_at_start", |b| {
        b.iter(|| {
            let mut end = succeed(black_box(2u64));
            for i in 0..10u64 {
                end = end.add_callback(move |x| Ok(x + i));
            }
            end.take_result().unwrap().unwrap()
        })
    });
    c.bench_function("errback_chain_10", |b| {
        b.iter(|| {
            let d: Deferred<u64> = Deferred::new();
            let mut end = d.clone();
            for _ in 0..5 {
                end = end
                    .add_callback(|_| -> Result<u64, Failure> { Err(Failure::msg("e")) })
                    .add_errback(|_| Ok(1));
            }
            d.callback(black_box(2)).unwrap();
            end.take_result().unwrap().unwrap()
        })
    });
}

/// One `from_future` task awaiting 1,000 `succeed(x)` (Twisted's `test_deferred_await`).
fn await_1000_fired(c: &mut Criterion) {
    c.bench_function("await_1000_fired", |b| {
        b.iter(|| {
            let d = Deferred::from_future(async {
                let mut sum = 0u64;
                for x in 0..1000u64 {
                    sum += succeed(x).await?;
                }
                Ok(sum)
            });
            d.take_result().unwrap().unwrap()
        })
    });
}

/// A task awaiting 20 unfired Deferreds, fired one by one afterwards (Twisted's
/// `test_deferred_await_unfired`).
fn await_20_unfired(c: &mut Criterion) {
    c.bench_function("await_20_unfired", |b| {
        b.iter(|| {
            let ds: Vec<Deferred<u64>> = (0..20).map(|_| Deferred::new()).collect();
            let inputs = ds.clone();
            let d = Deferred::from_future(async move {
                let mut sum = 0;
                for d in inputs {
                    sum += d.await?;
                }
                Ok(sum)
            });
            for (i, d) in ds.iter().enumerate() {
                d.callback(i as u64).unwrap();
            }
            d.take_result().unwrap().unwrap()
        })
    });
}

criterion_group!(
    benches,
    callback_chain_10,
    await_1000_fired,
    await_20_unfired
);
criterion_main!(benches);
