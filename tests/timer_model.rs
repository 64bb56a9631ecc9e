//! The timer wheel checked against a simple reference model (a `BTreeMap` ordered by due tick,
//! then insertion order) over long seeded random sequences of insert / cancel / reschedule /
//! advance, including inserts made while draining (as callbacks do) and entries far beyond
//! the wheel's range.

use std::collections::{BTreeMap, HashMap};
use torsion::time::wheel::{TimerKey, Wheel};

/// xorshift64*: a small deterministic generator (no dependency needed).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// A delay drawn mostly from small values, sometimes large, rarely beyond the wheel.
    fn delay(&mut self) -> u64 {
        match self.below(100) {
            0..=59 => self.below(70),
            60..=84 => self.below(5_000),
            85..=94 => self.below(20_000_000),
            95..=97 => self.below(1 << 38),
            _ => 0,
        }
    }
}

#[derive(Default)]
struct Model {
    order: BTreeMap<(u64, u64), u32>,
    live: HashMap<u32, (TimerKey, u64, u64)>,
    seq: u64,
}

impl Model {
    fn insert(&mut self, id: u32, key: TimerKey, eff: u64) {
        self.seq += 1;
        self.order.insert((eff, self.seq), id);
        self.live.insert(id, (key, eff, self.seq));
    }
    fn remove(&mut self, id: u32) -> TimerKey {
        let (key, eff, seq) = self.live.remove(&id).unwrap();
        self.order.remove(&(eff, seq)).unwrap();
        key
    }
    fn first_due(&self, now: u64) -> Option<u32> {
        self.order
            .iter()
            .next()
            .filter(|((eff, _), _)| *eff <= now)
            .map(|(_, id)| *id)
    }
    fn random_live(&self, rng: &mut Rng) -> Option<u32> {
        if self.live.is_empty() {
            return None;
        }
        // Deterministic pick: the n-th entry in due order.
        let n = rng.below(self.order.len() as u64) as usize;
        self.order.values().nth(n).copied()
    }
}

fn run(seed: u64, ops: usize) {
    let mut rng = Rng(seed | 1);
    let mut wheel: Wheel<u32> = Wheel::new();
    let mut model = Model::default();
    let mut now = 0u64;
    let mut next_id = 0u32;
    let mut fired = 0usize;

    let insert = |wheel: &mut Wheel<u32>, model: &mut Model, id: u32, when: u64| {
        let eff = when.max(wheel.elapsed());
        let key = wheel.insert(when, id);
        model.insert(id, key, eff);
    };

    for op in 0..ops {
        match rng.below(10) {
            0..=3 => {
                let when = now + rng.delay();
                // Sometimes a deadline already in the past.
                let when = if rng.below(20) == 0 {
                    when.saturating_sub(100)
                } else {
                    when
                };
                insert(&mut wheel, &mut model, next_id, when);
                next_id += 1;
            }
            4 => {
                if let Some(id) = model.random_live(&mut rng) {
                    let key = model.remove(id);
                    assert_eq!(wheel.remove(key), Some(id), "op {op}: cancel");
                }
            }
            5 => {
                if let Some(id) = model.random_live(&mut rng) {
                    let key = model.remove(id);
                    let when = now + rng.delay();
                    assert!(wheel.reschedule(key, when));
                    let eff = when.max(wheel.elapsed());
                    model.insert(id, key, eff);
                }
            }
            _ => {
                now += match rng.below(20) {
                    0 => rng.below(1 << 30),
                    1..=3 => rng.below(10_000),
                    _ => rng.below(40),
                };
                loop {
                    let expected = model.first_due(now);
                    let got = wheel.pop_expired(now);
                    match (expected, got) {
                        (None, None) => break,
                        (Some(id), Some(key)) => {
                            let (mkey, _, _) = model.live[&id];
                            assert_eq!(key, mkey, "op {op}: wrong entry fired at now={now}");
                            model.remove(id);
                            assert_eq!(wheel.remove(key), Some(id));
                            fired += 1;
                            // A callback scheduling more work while the drain is running.
                            if rng.below(8) == 0 {
                                let when = now.saturating_sub(rng.below(3)) + rng.below(3);
                                insert(&mut wheel, &mut model, next_id, when);
                                next_id += 1;
                            }
                        }
                        (e, g) => panic!("op {op}: now={now}: model {e:?} vs wheel {g:?}"),
                    }
                }
                assert_eq!(wheel.elapsed(), now);
            }
        }
        assert_eq!(wheel.len(), model.live.len(), "op {op}: length");
        match (wheel.next_expiration(), model.order.keys().next()) {
            (None, None) => {}
            (Some(deadline), Some(&(first, _))) => {
                assert!(
                    deadline <= first.max(now),
                    "op {op}: deadline {deadline} after first due {first}"
                );
            }
            (d, m) => panic!("op {op}: next_expiration {d:?} vs model {m:?}"),
        }
    }
    assert!(
        fired > ops / 10,
        "the sequence fired too little to mean anything: {fired}"
    );
}

#[test]
fn wheel_matches_reference_model_seed_1() {
    run(0x9e37_79b9_7f4a_7c15, 200_000);
}

#[test]
fn wheel_matches_reference_model_many_seeds() {
    for seed in 1..=20u64 {
        run(seed.wrapping_mul(0xd1b5_4a32_d192_ed03), 20_000);
    }
}

#[test]
fn next_expiration_reaches_every_entry_by_jumping() {
    // Drive the wheel only by its own next_expiration, as the reactor does: every entry must
    // come out at exactly its tick (never early), in order, in a bounded number of wakeups.
    let mut rng = Rng(77);
    let mut wheel: Wheel<u64> = Wheel::new();
    let mut whens: Vec<u64> = (0..2_000).map(|_| 1 + rng.delay()).collect();
    for &w in &whens {
        wheel.insert(w, w);
    }
    whens.sort_unstable();
    let mut out = Vec::new();
    let mut wakeups = 0;
    while let Some(deadline) = wheel.next_expiration() {
        wakeups += 1;
        assert!(wakeups < 50_000);
        while let Some(key) = wheel.pop_expired(deadline) {
            let w = wheel.remove(key).unwrap();
            assert_eq!(w, deadline, "fired at its own tick, not earlier or later");
            out.push(w);
        }
    }
    assert_eq!(out, whens);
}
