//! A reference model of the wheel for fuzzing: arbitrary bytes become a sequence of inserts,
//! cancels, reschedules and advances, applied to the wheel and to a `BTreeMap`; any
//! difference panics. `fuzz/fuzz_targets/timer_wheel.rs` calls it, and a unit test runs the
//! committed corpus through it on stable.

use std::collections::BTreeMap;

use super::{TimerKey, Wheel};

/// Applies the operations encoded in `data` to a wheel and to a model, and panics at the
/// first difference. Not part of the API (it exists for the fuzz target).
#[doc(hidden)]
pub fn check_against_model(data: &[u8]) {
    let mut bytes = data.iter().copied();
    let mut next = move || bytes.next();
    let mut wheel: Wheel<u32> = Wheel::new();
    // (due tick, insertion order) -> id, and id -> (key, due tick, order).
    let mut order: BTreeMap<(u64, u64), u32> = BTreeMap::new();
    let mut live: Vec<(u32, TimerKey, u64, u64)> = Vec::new();
    let (mut now, mut seq, mut id) = (0u64, 0u64, 0u32);

    while let Some(op) = next() {
        match op % 5 {
            0 | 1 => {
                let delay = if op % 5 == 0 {
                    u64::from(next().unwrap_or(0))
                } else {
                    let v = u64::from(u16::from_le_bytes([
                        next().unwrap_or(0),
                        next().unwrap_or(0),
                    ]));
                    v << (next().unwrap_or(0) % 26)
                };
                let when = now + delay;
                let key = wheel.insert(when, id);
                let eff = when.max(wheel.elapsed());
                seq += 1;
                order.insert((eff, seq), id);
                live.push((id, key, eff, seq));
                id += 1;
            }
            2 | 3 if !live.is_empty() => {
                let at = usize::from(next().unwrap_or(0)) % live.len();
                let (victim, key, eff, s) = live.swap_remove(at);
                order.remove(&(eff, s));
                if op % 5 == 2 {
                    assert_eq!(wheel.remove(key), Some(victim), "cancel");
                } else {
                    let when = now + u64::from(next().unwrap_or(0)) * 37;
                    assert!(wheel.reschedule(key, when));
                    let eff = when.max(wheel.elapsed());
                    seq += 1;
                    order.insert((eff, seq), victim);
                    live.push((victim, key, eff, seq));
                }
            }
            _ => {
                now += u64::from(next().unwrap_or(0)) << (next().unwrap_or(0) % 24);
                loop {
                    let expected = order
                        .iter()
                        .next()
                        .filter(|((eff, _), _)| *eff <= now)
                        .map(|(k, v)| (*k, *v));
                    match (expected, wheel.pop_expired(now)) {
                        (None, None) => break,
                        (Some((k, want)), Some(key)) => {
                            assert_eq!(wheel.remove(key), Some(want), "fired out of order");
                            order.remove(&k);
                            live.retain(|e| e.0 != want);
                        }
                        (e, g) => panic!("model {e:?} vs wheel {g:?} at now={now}"),
                    }
                }
            }
        }
        assert_eq!(wheel.len(), live.len());
        if let (Some(deadline), Some(((first, _), _))) =
            (wheel.next_expiration(), order.iter().next())
        {
            assert!(
                deadline <= (*first).max(now),
                "deadline {deadline} after first due {first}"
            );
        }
        assert_eq!(wheel.next_expiration().is_some(), !live.is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::check_against_model;

    #[test]
    fn the_committed_fuzz_corpus_passes() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus/timer_wheel");
        let mut n = 0;
        for entry in std::fs::read_dir(dir).expect("corpus directory") {
            let data = std::fs::read(entry.unwrap().path()).unwrap();
            check_against_model(&data);
            n += 1;
        }
        assert!(n > 0, "no corpus files");
    }

    #[test]
    fn pseudo_random_inputs_pass() {
        let mut x = 0x1234_5678_9abc_def1u64;
        for len in [0usize, 1, 7, 64, 512, 4096] {
            for _ in 0..20 {
                let data: Vec<u8> = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        x as u8
                    })
                    .collect();
                check_against_model(&data);
            }
        }
    }
}
