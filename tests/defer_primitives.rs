//! `DeferredLock`, `DeferredSemaphore`, `DeferredQueue` (Twisted's
//! `OtherPrimitivesTests`).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use torsion::defer::testing::{assert_no_result, failure_result_of, success_result_of};
use torsion::defer::{
    Cancelled, Deferred, DeferredLock, DeferredQueue, DeferredSemaphore, Failure, QueueUnderflow,
};

/// A callback that counts its calls.
type Incr = Box<dyn FnOnce(())>;

fn counter() -> (Rc<Cell<u32>>, impl Fn() -> Incr) {
    let count = Rc::new(Cell::new(0));
    let c = count.clone();
    (count, move || {
        let c = c.clone();
        Box::new(move |()| c.set(c.get() + 1))
    })
}

#[test]
fn lock_acquire_and_release() {
    let (count, incr) = counter();
    let lock = DeferredLock::new();
    drop(lock.acquire().add_callback(incr()));
    assert!(lock.locked());
    assert_eq!(count.get(), 1);
    drop(lock.acquire().add_callback(incr()));
    assert_eq!(count.get(), 1);
    lock.release();
    assert!(lock.locked(), "handed to the waiter");
    assert_eq!(count.get(), 2);
    lock.release();
    assert!(!lock.locked());
}

#[test]
fn lock_run_holds_the_lock_until_the_returned_deferred_fires() {
    let (count, incr) = counter();
    let lock = DeferredLock::new();
    let control: Deferred<&str> = Deferred::new();
    let c = control.clone();
    let ran = Rc::new(Cell::new(false));
    let r = ran.clone();
    let result = lock.run(move || {
        r.set(true);
        c
    });
    assert!(ran.get() && lock.locked());
    drop(lock.acquire().add_callback(incr()));
    assert_eq!(count.get(), 0);
    control.callback("second").unwrap();
    assert_eq!(success_result_of(&result), "second");
    assert_eq!(count.get(), 1, "released, then acquired by the waiter");
    assert!(lock.locked());
    // A waiting acquisition can be cancelled.
    let seen = Rc::new(RefCell::new(None));
    let s = seen.clone();
    let d = lock
        .acquire()
        .add_both(move |r| *s.borrow_mut() = Some(r.map_err(|f| f.check::<Cancelled>())));
    d.cancel();
    assert_eq!(*seen.borrow(), Some(Err(true)));
    lock.release();
    assert!(!lock.locked());
}

#[test]
fn lock_run_releases_on_failure_too() {
    let lock = DeferredLock::new();
    let d = lock.run(|| -> Result<u8, Failure> { Err(Failure::msg("inside")) });
    assert_eq!(failure_result_of(&d).error().to_string(), "inside");
    assert!(!lock.locked());
}

#[test]
fn cancelling_an_acquired_lock_does_nothing() {
    let lock = DeferredLock::new();
    let d = lock.acquire();
    d.cancel();
    success_result_of(&d);
    assert!(lock.locked());
}

#[test]
fn cancelling_a_waiting_acquire_removes_it() {
    let lock = DeferredLock::new();
    let first = lock.acquire();
    let second = lock.acquire();
    second.cancel();
    assert!(failure_result_of(&second).check::<Cancelled>());
    lock.release();
    assert!(!lock.locked(), "the cancelled waiter did not get the lock");
    success_result_of(&first);
}

#[test]
#[should_panic(expected = "released more often than acquired")]
fn releasing_an_unlocked_lock_panics() {
    DeferredLock::new().release();
}

#[test]
fn semaphore_limits_holders() {
    let (count, incr) = counter();
    let sem = DeferredSemaphore::new(3);
    assert_eq!((sem.limit(), sem.tokens()), (3, 3));
    let controls: Vec<Deferred<()>> = (0..4).map(|_| Deferred::new()).collect();
    let runs: Vec<_> = controls
        .iter()
        .map(|c| {
            let c = c.clone();
            sem.run(move || c)
        })
        .collect();
    assert_eq!(sem.tokens(), 0);
    drop(sem.acquire().add_callback(incr()));
    controls[3].callback(()).unwrap();
    assert_no_result(&runs[3]);
    controls[0].callback(()).unwrap();
    success_result_of(&runs[0]);
    success_result_of(&runs[3]);
    // The fourth run got the freed token, finished at once (its Deferred had fired) and
    // passed the token on to the plain acquisition.
    assert_eq!(count.get(), 1);
    assert_eq!(sem.tokens(), 0);
    controls[1].callback(()).unwrap();
    assert_eq!(sem.tokens(), 1);
    sem.release(); // the plain acquisition's token
    controls[2].callback(()).unwrap();
    assert_eq!(sem.tokens(), 3);
}

#[test]
#[should_panic(expected = "tokens >= 1")]
fn semaphore_needs_a_token() {
    let _ = DeferredSemaphore::new(0);
}

#[test]
fn cancelling_semaphore_acquisitions() {
    let sem = DeferredSemaphore::new(1);
    let first = sem.acquire();
    first.cancel();
    success_result_of(&first);
    let second = sem.acquire();
    second.cancel();
    assert!(failure_result_of(&second).check::<Cancelled>());
    sem.release();
    assert_eq!(sem.tokens(), 1);
}

#[test]
fn queue_puts_gets_overflow_underflow() {
    // Twisted's testQueue with N = M = 2.
    let (n, m) = (2, 2);
    let queue = DeferredQueue::new(Some(n), Some(m));
    let gotten = Rc::new(RefCell::new(Vec::new()));
    let mut ends = Vec::new();
    for _ in 0..m {
        let g = gotten.clone();
        ends.push(
            queue
                .get()
                .unwrap()
                .add_callback(move |v| g.borrow_mut().push(v)),
        );
    }
    assert_eq!(queue.get().unwrap_err(), QueueUnderflow);
    for i in 0..m {
        queue.put(i).unwrap();
        assert_eq!(*gotten.borrow(), (0..=i).collect::<Vec<_>>());
    }
    for i in 0..n {
        queue.put(n + i).unwrap();
        assert_eq!(*gotten.borrow(), (0..m).collect::<Vec<_>>());
    }
    assert_eq!(queue.put(99).unwrap_err().into_inner(), 99);
    gotten.borrow_mut().clear();
    for i in 0..n {
        let g = gotten.clone();
        ends.push(
            queue
                .get()
                .unwrap()
                .add_callback(move |v| g.borrow_mut().push(v)),
        );
        assert_eq!(*gotten.borrow(), (n..=n + i).collect::<Vec<_>>());
    }
    for end in &ends {
        success_result_of(end);
    }
    assert!(queue.put(1).is_ok() && DeferredQueue::<()>::new(Some(0), None).put(()).is_err());
    assert!(DeferredQueue::<()>::new(None, Some(0)).get().is_err());
}

#[test]
fn unbounded_queue_serves_getters_in_order() {
    let queue = DeferredQueue::unbounded();
    let gets: Vec<_> = (0..3).map(|_| queue.get().unwrap()).collect();
    assert_eq!(queue.waiting(), 3);
    for i in 0..3 {
        queue.put(i).unwrap();
    }
    let values: Vec<_> = gets.iter().map(success_result_of).collect();
    assert_eq!(values, [0, 1, 2]);
    assert!(queue.is_empty());
}

#[test]
fn cancel_after_synchronous_get_does_nothing() {
    let queue = DeferredQueue::unbounded();
    let d = queue.get().unwrap();
    queue.put(1).unwrap();
    d.cancel();
    assert_eq!(success_result_of(&d), 1);
}

#[test]
fn cancelled_get_is_removed_from_the_waiters() {
    let queue: DeferredQueue<u8> = DeferredQueue::unbounded();
    let d = queue.get().unwrap();
    d.cancel();
    assert_eq!(queue.waiting(), 0);
    assert!(failure_result_of(&d).check::<Cancelled>());
    // The value goes to the next getter, not to the cancelled one.
    queue.put(5).unwrap();
    assert_eq!(success_result_of(&queue.get().unwrap()), 5);
}

#[test]
fn async_consumer_reads_from_a_queue() {
    let queue: DeferredQueue<u32> = DeferredQueue::unbounded();
    let q = queue.clone();
    let sum = Deferred::from_future(async move {
        let mut sum = 0;
        loop {
            match q.get()?.await? {
                0 => return Ok(sum),
                n => sum += n,
            }
        }
    });
    for n in [3, 4, 5, 0] {
        queue.put(n).unwrap();
    }
    assert_eq!(success_result_of(&sum), 12);
}
