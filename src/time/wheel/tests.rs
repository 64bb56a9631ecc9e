use super::*;

fn drain(wheel: &mut Wheel<u32>, now: u64) -> Vec<u32> {
    let mut out = Vec::new();
    while let Some(key) = wheel.pop_expired(now) {
        out.push(wheel.remove(key).unwrap());
    }
    out
}

#[test]
fn fires_in_tick_order_then_insertion_order() {
    let mut w = Wheel::new();
    w.insert(70, 1);
    w.insert(3, 2);
    w.insert(70, 3);
    w.insert(3, 4);
    w.insert(5000, 5);
    assert_eq!(drain(&mut w, 2), Vec::<u32>::new());
    assert_eq!(drain(&mut w, 3), vec![2, 4]);
    assert_eq!(drain(&mut w, 100), vec![1, 3]);
    assert_eq!(w.next_expiration(), Some(4096), "level-2 slot start");
    assert_eq!(drain(&mut w, 4999), Vec::<u32>::new());
    assert_eq!(drain(&mut w, 5000), vec![5]);
    assert!(w.is_empty());
}

#[test]
fn same_tick_order_survives_cascading_from_different_levels() {
    let mut w = Wheel::new();
    // Inserted far out (level 2), then again when nearer (level 1), then at level 0.
    w.insert(5000, 1);
    assert_eq!(drain(&mut w, 4100), Vec::<u32>::new());
    w.insert(5000, 2);
    assert_eq!(drain(&mut w, 4990), Vec::<u32>::new());
    w.insert(5000, 3);
    assert_eq!(drain(&mut w, 5000), vec![1, 2, 3]);
}

#[test]
fn cancel_is_o1_and_clears_occupancy() {
    let mut w = Wheel::new();
    let a = w.insert(10, 1);
    let b = w.insert(10, 2);
    assert_eq!(w.remove(a), Some(1));
    assert_eq!(w.next_expiration(), Some(10));
    assert_eq!(w.remove(b), Some(2));
    assert_eq!(w.next_expiration(), None);
    assert_eq!(w.remove(b), None, "stale key");
    assert_eq!(drain(&mut w, 100), Vec::<u32>::new());
}

#[test]
fn stale_keys_never_reach_the_next_occupant() {
    let mut w = Wheel::new();
    let a = w.insert(10, 1);
    w.remove(a);
    let b = w.insert(20, 2);
    assert_eq!(a.index, b.index, "slot reused");
    assert_eq!(w.get(a), None);
    assert!(!w.detach(a));
    assert!(!w.reschedule(a, 5));
    assert_eq!(w.get(b), Some(&2));
}

#[test]
fn insert_in_the_past_is_due_at_once_after_earlier_expired_ones() {
    let mut w = Wheel::new();
    w.insert(5, 1);
    w.insert(5, 2);
    let first = w.pop_expired(10).unwrap();
    assert_eq!(w.remove(first), Some(1));
    w.insert(0, 3); // already past
    assert_eq!(drain(&mut w, 10), vec![2, 3]);
}

#[test]
fn detach_then_reschedule_and_peek() {
    let mut w = Wheel::new();
    let a = w.insert(10, 1);
    assert_eq!(w.peek_expired(10), Some(a));
    assert_eq!(w.peek_expired(10), Some(a), "peek does not take");
    assert!(w.detach(a));
    assert!(!w.is_queued(a));
    assert_eq!(w.get(a), Some(&1), "a detached entry keeps its value");
    assert_eq!(w.peek_expired(10), None);
    assert!(w.reschedule(a, 30));
    assert_eq!(w.when(a), Some(30));
    assert_eq!(drain(&mut w, 29), Vec::<u32>::new());
    assert_eq!(drain(&mut w, 30), vec![1]);
}

#[test]
fn far_entries_beyond_the_range_wait_their_turn() {
    let mut w = Wheel::new();
    let far = level::MAX_RANGE * 3 + 12345;
    w.insert(far, 1);
    w.insert(level::MAX_RANGE - 1, 2);
    w.insert(level::MAX_RANGE + 1, 3);
    let mut fired = Vec::new();
    let mut turns = 0;
    while fired.len() < 3 {
        turns += 1;
        assert!(turns < 1000, "too many wakeups");
        let now = w.next_expiration().unwrap();
        for v in drain(&mut w, now) {
            fired.push((v, now));
        }
    }
    assert_eq!(
        fired,
        vec![
            (2, level::MAX_RANGE - 1),
            (3, level::MAX_RANGE + 1),
            (1, far)
        ]
    );
}

#[test]
fn elapsed_jumps_without_losing_entries() {
    let mut w = Wheel::new();
    w.insert(1_000_000, 1);
    assert_eq!(drain(&mut w, 999_999), Vec::<u32>::new());
    assert_eq!(w.elapsed(), 999_999);
    w.insert(1_000_001, 2);
    assert_eq!(drain(&mut w, 2_000_000), vec![1, 2]);
}

#[test]
fn steady_state_reuses_nodes() {
    let mut w = Wheel::new();
    for round in 0..10u64 {
        let keys: Vec<_> = (0..100)
            .map(|i| w.insert(round * 1000 + i, i as u32))
            .collect();
        for k in keys {
            w.remove(k);
        }
    }
    assert_eq!(w.nodes.len(), 100);
}
