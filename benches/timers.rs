//! Timer costs: torsion's wheel (through the public `Clock`, which shares the reactor's timer
//! code) beside a `std::collections::BinaryHeap` baseline doing the same work (the structure
//! Twisted and many loops use: a heap with lazy cancellation).
//!
//! `cargo bench --bench timers`

use std::cell::Cell;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;
use std::rc::Rc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use torsion::time::{Clock, LocalFn};

/// The baseline: a binary heap of (deadline, sequence, slot) with closures in a slab and
/// lazy cancellation (a cancelled slot is emptied; the heap entry is skipped when popped).
struct HeapTimers {
    heap: BinaryHeap<Reverse<(u64, u64, u32)>>,
    slots: Vec<(u64, Option<LocalFn>)>,
    free: Vec<u32>,
    seq: u64,
    now: u64,
    /// Cancelled entries still in the heap.
    dead: usize,
}

impl HeapTimers {
    fn new() -> Self {
        HeapTimers {
            heap: BinaryHeap::new(),
            slots: Vec::new(),
            free: Vec::new(),
            seq: 0,
            now: 0,
            dead: 0,
        }
    }

    fn call_later(&mut self, delay_ms: u64, f: LocalFn) -> (u32, u64) {
        self.seq += 1;
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = (self.seq, Some(f));
                s
            }
            None => {
                self.slots.push((self.seq, Some(f)));
                (self.slots.len() - 1) as u32
            }
        };
        self.heap
            .push(Reverse((self.now + delay_ms, self.seq, slot)));
        (slot, self.seq)
    }

    fn cancel(&mut self, (slot, seq): (u32, u64)) {
        let s = &mut self.slots[slot as usize];
        if s.0 == seq && s.1.is_some() {
            drop(s.1.take());
            self.dead += 1;
            // Twisted's rule: rebuild the heap once more than 50 entries, and more than half
            // of it, are cancelled.
            if self.dead > 50 && self.dead > self.heap.len() / 2 {
                let slots = &self.slots;
                let free = &mut self.free;
                self.heap.retain(|Reverse((_, seq, slot))| {
                    let live = slots[*slot as usize].0 == *seq && slots[*slot as usize].1.is_some();
                    if !live {
                        free.push(*slot);
                    }
                    live
                });
                self.dead = 0;
            }
        }
    }

    fn advance(&mut self, ms: u64) {
        self.now += ms;
        while let Some(&Reverse((when, seq, slot))) = self.heap.peek() {
            if when > self.now {
                break;
            }
            self.heap.pop();
            let s = &mut self.slots[slot as usize];
            if s.0 == seq {
                match s.1.take() {
                    Some(f) => f.call(),
                    None => self.dead -= 1,
                }
            }
            self.free.push(slot);
        }
    }
}

fn delays() -> impl FnMut() -> u64 {
    // A fixed spread of delays from 1 ms to about 30 s (timeouts, keep-alives, retries).
    let mut x = 0x2545_f491_4f6c_dd1du64;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        1 + x % 30_000
    }
}

fn call_later_cancel(c: &mut Criterion) {
    let mut g = c.benchmark_group("call_later+cancel");
    for pending in [0usize, 10_000] {
        let clock = Clock::new();
        let hits = Rc::new(Cell::new(0u64));
        let mut next = delays();
        let _population: Vec<_> = (0..pending)
            .map(|_| clock.call_later(Duration::from_millis(next()), || {}))
            .collect();
        g.bench_function(format!("wheel/{pending}_pending"), |b| {
            b.iter(|| {
                let h = hits.clone();
                let call =
                    clock.call_later(Duration::from_millis(next()), move || h.set(h.get() + 1));
                call.cancel().unwrap();
            })
        });
        let mut heap = HeapTimers::new();
        for _ in 0..pending {
            heap.call_later(next(), LocalFn::new(|| {}));
        }
        g.bench_function(format!("binary_heap/{pending}_pending"), |b| {
            b.iter(|| {
                let h = hits.clone();
                let id = heap.call_later(next(), LocalFn::new(move || h.set(h.get() + 1)));
                heap.cancel(black_box(id));
            })
        });
        // The heap's lazy cancellation leaves dead entries behind; sweep them between
        // samples as Twisted does, outside the timed loop.
        heap.heap
            .retain(|Reverse((_, seq, slot))| heap.slots[*slot as usize].0 == *seq);
    }
    g.finish();
}

fn call_later_fire_1m_pending(c: &mut Criterion) {
    let mut g = c.benchmark_group("call_later+fire/1M_pending");
    g.sample_size(30);
    let hits = Rc::new(Cell::new(0u64));
    let mut next = delays();
    {
        let clock = Clock::new();
        // A million timers far in the future: ~11.5 days out, they sit on the upper levels.
        for i in 0..1_000_000u64 {
            clock.call_later(Duration::from_secs(1_000_000 + i), || {});
        }
        g.bench_function("wheel", |b| {
            b.iter(|| {
                let h = hits.clone();
                clock.call_later(Duration::from_millis(1), move || h.set(h.get() + 1));
                clock.advance(Duration::from_millis(1));
            })
        });
    }
    {
        let mut heap = HeapTimers::new();
        for i in 0..1_000_000u64 {
            heap.call_later(1_000_000_000 + i * 1000, LocalFn::new(|| {}));
        }
        g.bench_function("binary_heap", |b| {
            b.iter(|| {
                let h = hits.clone();
                heap.call_later(1, LocalFn::new(move || h.set(h.get() + 1)));
                heap.advance(1);
            })
        });
    }
    let _ = next();
    g.finish();
}

fn schedule_then_fire_batch(c: &mut Criterion) {
    // 10,000 timers with spread-out deadlines, then time moves past all of them.
    let mut g = c.benchmark_group("schedule_and_fire_10k");
    g.bench_function("wheel", |b| {
        b.iter_batched_ref(
            Clock::new,
            |clock| {
                let mut next = delays();
                for _ in 0..10_000 {
                    clock.call_later(Duration::from_millis(next()), || {});
                }
                clock.advance(Duration::from_secs(31));
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("binary_heap", |b| {
        b.iter_batched_ref(
            HeapTimers::new,
            |heap| {
                let mut next = delays();
                for _ in 0..10_000 {
                    heap.call_later(next(), LocalFn::new(|| {}));
                }
                heap.advance(31_000);
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(
    benches,
    call_later_cancel,
    call_later_fire_1m_pending,
    schedule_then_fire_batch
);
criterion_main!(benches);
