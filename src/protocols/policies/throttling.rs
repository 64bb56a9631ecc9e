//! [`Throttling`]: bandwidth and connection-count limits (Twisted's `ThrottlingFactory`).
//!
//! Tests: `tests/policies_throttling.rs`.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::{Rc, Weak};
use std::time::Duration;

use super::wrapper::{Policy, Protocols, Wrapped, WrapperTransport, WrappingFactory};
use crate::protocol::Address;
use crate::time::{DelayedCall, LocalFn, ReactorTime};
use crate::transport::Transport;

/// A [`WrappingFactory`] under [`Throttling`] (Twisted's `ThrottlingFactory`).
pub type ThrottlingFactory = WrappingFactory<Throttling>;

/// How often the byte counts are checked: once a second, as in Twisted.
const CHECK_PERIOD: Duration = Duration::from_secs(1);

/// Limits a factory's bandwidth and number of connections (the policy of Twisted's
/// `ThrottlingFactory(wrappedFactory, maxConnectionCount, readLimit, writeLimit)`).
///
/// - **Connections**: a connection beyond
///   [`max_connection_count`](Throttling::max_connection_count) (no limit by default) is
///   refused.
/// - **Bytes**: every byte read and written by the factory's connections is counted. While
///   a connection is up, the counts are checked once a second on the clock; if the bytes
///   read in that second passed [`read_limit`](Throttling::read_limit), reading is held on
///   every connection for `read / limit - 1` seconds (so the average comes back to the
///   limit), and the same for writes with [`write_limit`](Throttling::write_limit). Holding
///   writes pauses the producers registered on the connections: as in Twisted, writes are
///   only throttled for protocols that write through a producer.
///
/// Holds are those of [`WrapperTransport::hold_reads`] and
/// [`hold_writes`](WrapperTransport::hold_writes): a protocol that paused its own transport
/// stays paused when the throttle lifts. A connection made while its factory is throttled
/// starts throttled. The checks stop when the last connection goes, and start again (with a
/// check at once) with the next one.
///
/// # Examples
///
/// Twisted's `test_readLimit`, on a manual clock:
///
/// ```
/// use std::time::Duration;
/// use torsion::protocol::{for_protocol, Address, Protocol};
/// use torsion::protocols::policies::{Throttling, ThrottlingFactory};
/// use torsion::testing::{Driver, ProducerState};
/// use torsion::time::Clock;
/// use torsion::transport::Transport;
///
/// struct Echo;
/// impl Protocol for Echo {
///     fn data_received(&mut self, t: &Transport, data: &[u8]) {
///         t.write(data);
///     }
/// }
///
/// let clock = Clock::new();
/// let factory = ThrottlingFactory::with_policy(
///     for_protocol(|| Echo),
///     Throttling::new(clock.clone()).read_limit(10),
/// );
/// let d = Driver::new(factory.build_wrapper(&Address::Memory("peer".into())).unwrap());
/// d.data_received(b"0123456789");
/// d.data_received(b"abcdefghij");
/// assert_eq!(factory.policy().read_this_second(), 20);
///
/// clock.advance(Duration::from_millis(1050)); // 20 bytes in a second: pause for one
/// assert_eq!(d.transport().producer_state(), ProducerState::Paused);
/// clock.advance(Duration::from_millis(1050));
/// assert_eq!(d.transport().producer_state(), ProducerState::Producing);
/// ```
pub struct Throttling {
    st: Rc<Shared>,
}

struct Shared {
    clock: Rc<dyn ReactorTime>,
    max_connection_count: Cell<usize>,
    connection_count: Cell<usize>,
    reads: Budget,
    writes: Budget,
    protocols: RefCell<Option<Protocols<Throttling>>>,
}

/// One direction's limit, count and timers.
#[derive(Default)]
struct Budget {
    limit: Cell<Option<u64>>,
    this_second: Cell<u64>,
    throttled: Cell<bool>,
    check: RefCell<Option<DelayedCall>>,
    unthrottle: RefCell<Option<DelayedCall>>,
}

#[derive(Clone, Copy, Debug)]
enum Direction {
    Read,
    Write,
}

impl Throttling {
    /// No limits yet; the checks run on `clock` (the reactor, or a test
    /// [`Clock`](crate::time::Clock)).
    pub fn new(clock: impl ReactorTime + 'static) -> Throttling {
        Throttling {
            st: Rc::new(Shared {
                clock: Rc::new(clock),
                max_connection_count: Cell::new(usize::MAX),
                connection_count: Cell::new(0),
                reads: Budget::default(),
                writes: Budget::default(),
                protocols: RefCell::new(None),
            }),
        }
    }

    /// Refuse connections beyond `max` at once (Twisted's `maxConnectionCount`).
    pub fn max_connection_count(self, max: usize) -> Throttling {
        self.st.max_connection_count.set(max);
        self
    }

    /// Read at most `bytes_per_second` on average (Twisted's `readLimit`).
    ///
    /// # Panics
    ///
    /// If `bytes_per_second` is zero.
    pub fn read_limit(self, bytes_per_second: u64) -> Throttling {
        assert!(bytes_per_second > 0, "a read limit must be above zero");
        self.st.reads.limit.set(Some(bytes_per_second));
        self
    }

    /// Write at most `bytes_per_second` on average, through registered producers
    /// (Twisted's `writeLimit`).
    ///
    /// # Panics
    ///
    /// If `bytes_per_second` is zero.
    pub fn write_limit(self, bytes_per_second: u64) -> Throttling {
        assert!(bytes_per_second > 0, "a write limit must be above zero");
        self.st.writes.limit.set(Some(bytes_per_second));
        self
    }

    /// Connections admitted and not yet over (Twisted's `connectionCount`).
    pub fn connection_count(&self) -> usize {
        self.st.connection_count.get()
    }

    /// Bytes read since the last check (Twisted's `readThisSecond`).
    pub fn read_this_second(&self) -> u64 {
        self.st.reads.this_second.get()
    }

    /// Bytes written since the last check (Twisted's `writtenThisSecond`).
    pub fn written_this_second(&self) -> u64 {
        self.st.writes.this_second.get()
    }

    /// True while reads are held on every connection.
    pub fn reads_throttled(&self) -> bool {
        self.st.reads.throttled.get()
    }

    /// True while writes are held on every connection.
    pub fn writes_throttled(&self) -> bool {
        self.st.writes.throttled.get()
    }
}

impl Shared {
    fn budget(&self, dir: Direction) -> &Budget {
        match dir {
            Direction::Read => &self.reads,
            Direction::Write => &self.writes,
        }
    }

    fn live(&self) -> Vec<Rc<WrapperTransport<Throttling>>> {
        self.protocols
            .borrow()
            .as_ref()
            .map_or_else(Vec::new, Protocols::to_vec)
    }

    fn schedule(
        self: &Rc<Self>,
        delay: Duration,
        f: fn(&Rc<Shared>, Direction),
        dir: Direction,
    ) -> DelayedCall {
        let weak: Weak<Shared> = Rc::downgrade(self);
        self.clock.call_later_fn(
            delay,
            LocalFn::new(move || {
                if let Some(st) = weak.upgrade() {
                    f(&st, dir);
                }
            }),
        )
    }

    /// Twisted's `checkReadBandwidth` / `checkWriteBandwidth`: throttle if the last second
    /// went over the limit, start a new second, check again in one.
    fn check(self: &Rc<Self>, dir: Direction) {
        let budget = self.budget(dir);
        let Some(limit) = budget.limit.get() else {
            return;
        };
        let used = budget.this_second.replace(0);
        if used > limit {
            let pause = Duration::from_secs_f64(used as f64 / limit as f64 - 1.0);
            self.throttle(dir, pause);
        }
        let next = self.schedule(CHECK_PERIOD, Shared::check, dir);
        let old = budget.check.replace(Some(next));
        drop(old);
    }

    /// Holds `dir` on every connection for `pause` (or longer, if already held longer).
    fn throttle(self: &Rc<Self>, dir: Direction, pause: Duration) {
        let budget = self.budget(dir);
        log::info!("throttling {dir:?}s for {pause:?}");
        budget.throttled.set(true);
        for wrapper in self.live() {
            apply(&wrapper, dir, true);
        }
        let pending = budget
            .unthrottle
            .borrow()
            .clone()
            .filter(DelayedCall::active);
        match pending {
            Some(call) => {
                if call.time() < self.clock.now().saturating_add(pause) {
                    let _ = call.reset(pause);
                }
            }
            None => {
                let call = self.schedule(pause, Shared::unthrottle, dir);
                let old = budget.unthrottle.replace(Some(call));
                drop(old);
            }
        }
    }

    fn unthrottle(self: &Rc<Self>, dir: Direction) {
        let budget = self.budget(dir);
        let old = budget.unthrottle.take();
        drop(old);
        log::info!("stopped throttling {dir:?}s");
        budget.throttled.set(false);
        for wrapper in self.live() {
            apply(&wrapper, dir, false);
        }
    }

    /// The last connection went: stop checking, forget any throttle.
    fn stop(&self) {
        for budget in [&self.reads, &self.writes] {
            for slot in [&budget.check, &budget.unthrottle] {
                let call = slot.take();
                if let Some(call) = call {
                    let _ = call.cancel();
                }
            }
            budget.throttled.set(false);
        }
    }
}

fn apply(wrapper: &WrapperTransport<Throttling>, dir: Direction, on: bool) {
    match dir {
        Direction::Read => wrapper.hold_reads(on),
        Direction::Write => wrapper.hold_writes(on),
    }
}

fn count(budget: &Budget, n: usize) {
    budget
        .this_second
        .set(budget.this_second.get().saturating_add(n as u64));
}

impl Policy for Throttling {
    type Conn = ();

    fn admit(&self, _addr: &Address, protocols: &Protocols<Self>) -> Option<()> {
        let st = &self.st;
        if st.protocols.borrow().is_none() {
            *st.protocols.borrow_mut() = Some(protocols.clone());
        }
        let count = st.connection_count.get();
        if count >= st.max_connection_count.get() {
            log::info!("max connection count reached");
            return None;
        }
        if count == 0 {
            st.check(Direction::Read);
            st.check(Direction::Write);
        }
        st.connection_count.set(count + 1);
        Some(())
    }

    fn release(&self, _conn: &()) {
        let st = &self.st;
        let count = st.connection_count.get().saturating_sub(1);
        st.connection_count.set(count);
        if count == 0 {
            st.stop();
        }
    }

    fn connection_made(&self, mut wrapped: Wrapped<'_, Self>) {
        let wrapper = wrapped.wrapper();
        if self.st.reads.throttled.get() {
            wrapper.hold_reads(true);
        }
        if self.st.writes.throttled.get() {
            wrapper.hold_writes(true);
        }
        wrapped.connection_made();
    }

    fn data_received(&self, mut wrapped: Wrapped<'_, Self>, data: &[u8]) {
        count(&self.st.reads, data.len());
        wrapped.data_received(data);
    }

    fn write(&self, _wrapper: &WrapperTransport<Self>, lower: &Transport, data: &[u8]) {
        count(&self.st.writes, data.len());
        lower.write(data);
    }

    fn write_sequence(&self, _wrapper: &WrapperTransport<Self>, lower: &Transport, data: &[&[u8]]) {
        count(&self.st.writes, data.iter().map(|d| d.len()).sum());
        lower.write_sequence(data);
    }
}

impl fmt::Debug for Throttling {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = &self.st;
        f.debug_struct("Throttling")
            .field("max_connection_count", &st.max_connection_count.get())
            .field("connection_count", &st.connection_count.get())
            .field("read_limit", &st.reads.limit.get())
            .field("write_limit", &st.writes.limit.get())
            .field("read_this_second", &st.reads.this_second.get())
            .field("written_this_second", &st.writes.this_second.get())
            .field("reads_throttled", &st.reads.throttled.get())
            .field("writes_throttled", &st.writes.throttled.get())
            .finish()
    }
}
