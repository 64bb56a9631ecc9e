//! [`Timeout`], [`TimeoutMixin`] and [`WithTimeout`]: a protocol's own timeout (Twisted's
//! `TimeoutMixin`).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::{Rc, Weak};
use std::time::Duration;

use crate::protocol::{ConnectionLost, Protocol};
use crate::time::{DelayedCall, LocalFn, ReactorTime};
use crate::transport::Transport;

/// How long a timer whose protocol was busy waits before trying again. Not zero: a clock
/// advanced from inside the protocol would otherwise retry forever within one `advance`.
const RETRY_DELAY: Duration = Duration::from_millis(1);

/// Where a firing timer is delivered: the [`WithTimeout`] that owns the protocol.
trait Fire {
    /// Delivers the firing of the timer armed as `generation`; false if the protocol is
    /// busy (only possible when a test moves its clock from inside the protocol): the
    /// timer then tries again a millisecond later.
    fn fire(&self, generation: u64) -> bool;
}

/// What a timer shares with its [`Timeout`] and with the [`WithTimeout`] delivering it.
struct Link {
    clock: Rc<dyn ReactorTime>,
    target: RefCell<Option<Weak<dyn Fire>>>,
}

impl Link {
    fn fire(link: &Weak<Link>, generation: u64) {
        let Some(link) = link.upgrade() else {
            return; // the protocol is gone
        };
        let target = link.target.borrow().as_ref().and_then(Weak::upgrade);
        let Some(target) = target else {
            log::warn!(
                "a Timeout ran out, but its protocol is not run inside a WithTimeout: \
                 nothing was done"
            );
            return;
        };
        if !target.fire(generation) {
            let weak = Rc::downgrade(&link);
            let retry = link.clock.call_later_fn(
                RETRY_DELAY,
                LocalFn::new(move || Link::fire(&weak, generation)),
            );
            drop(retry);
        }
    }
}

/// A protocol's single timeout (the state of Twisted's `TimeoutMixin`), embedded in the
/// protocol as a field.
///
/// [`set_timeout`](Timeout::set_timeout) starts, changes or stops the countdown,
/// [`reset_timeout`](Timeout::reset_timeout) starts it over (call it on activity). When it
/// runs out, the protocol's [`TimeoutMixin::timeout_connection`] is called, from the top
/// of the loop, with `&mut self`: that needs the protocol to run inside a [`WithTimeout`],
/// which owns it and is what the connection drives (a timer cannot reach a protocol owned
/// by its connection any other way).
///
/// # Examples
///
/// Twisted's `TimeoutTester`: a protocol that notes its timeout instead of closing.
///
/// ```
/// use std::time::Duration;
/// use torsion::protocol::{ConnectionLost, Protocol};
/// use torsion::protocols::policies::{Timeout, TimeoutMixin, WithTimeout};
/// use torsion::testing::Driver;
/// use torsion::time::Clock;
/// use torsion::transport::Transport;
///
/// struct Tester {
///     timeout: Timeout,
///     timed_out: bool,
/// }
///
/// impl Protocol for Tester {
///     fn connection_made(&mut self, _: &Transport) {
///         self.timeout.set_timeout(Some(Duration::from_secs(3)));
///     }
///     fn data_received(&mut self, _: &Transport, _: &[u8]) {
///         self.timeout.reset_timeout();
///     }
///     fn connection_lost(&mut self, _: &Transport, _: ConnectionLost) {
///         self.timeout.set_timeout(None);
///     }
/// }
///
/// impl TimeoutMixin for Tester {
///     fn timeout(&mut self) -> &mut Timeout {
///         &mut self.timeout
///     }
///     fn timeout_connection(&mut self, _: &Transport) {
///         self.timed_out = true;
///     }
/// }
///
/// let clock = Clock::new();
/// let d = Driver::new(WithTimeout::new(Tester { timeout: Timeout::new(clock.clone()), timed_out: false }));
/// clock.advance(Duration::from_millis(2500));
/// d.data_received(b"hello there"); // starts the 3 s over
/// clock.advance(Duration::from_millis(2500));
/// assert!(!d.with_protocol(|w| w.with_protocol(|p| p.timed_out)));
/// clock.advance(Duration::from_secs(1));
/// assert!(d.with_protocol(|w| w.with_protocol(|p| p.timed_out)));
/// ```
pub struct Timeout {
    link: Rc<Link>,
    period: Option<Duration>,
    call: Option<DelayedCall>,
    /// Bumped each time a new timer is armed, so a stale firing is recognised.
    generation: u64,
}

impl Timeout {
    /// No timeout yet; timers will run on `clock` (the reactor, or a test
    /// [`Clock`](crate::time::Clock)): Twisted's overridable `callLater`.
    pub fn new(clock: impl ReactorTime + 'static) -> Timeout {
        Timeout {
            link: Rc::new(Link {
                clock: Rc::new(clock),
                target: RefCell::new(None),
            }),
            period: None,
            call: None,
            generation: 0,
        }
    }

    /// The current period (Twisted's `timeOut`).
    pub fn period(&self) -> Option<Duration> {
        self.period
    }

    /// The countdown, while it runs.
    pub fn call(&self) -> Option<&DelayedCall> {
        self.call.as_ref().filter(|c| c.active())
    }

    /// Changes the period and returns the previous one (Twisted's `setTimeout`): `None`
    /// stops the countdown; a period starts it, or restarts a running one with the new
    /// period.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use torsion::protocols::policies::Timeout;
    /// use torsion::time::Clock;
    ///
    /// let clock = Clock::new();
    /// let mut timeout = Timeout::new(clock.clone());
    /// let secs = Duration::from_secs;
    /// assert_eq!(timeout.set_timeout(Some(secs(5))), None);
    /// assert_eq!(timeout.set_timeout(Some(secs(10))), Some(secs(5)));
    /// assert_eq!(clock.pending_calls(), 1); // one countdown, restarted
    /// assert_eq!(timeout.set_timeout(None), Some(secs(10)));
    /// assert_eq!(clock.pending_calls(), 0);
    /// ```
    pub fn set_timeout(&mut self, period: Option<Duration>) -> Option<Duration> {
        let previous = std::mem::replace(&mut self.period, period);
        // A call that ran, or that someone else cancelled, is forgotten.
        let running = self.call.take().filter(DelayedCall::active);
        match (running, period) {
            (Some(call), None) => {
                let _ = call.cancel();
            }
            (Some(call), Some(period)) => {
                let _ = call.reset(period);
                self.call = Some(call);
            }
            (None, Some(period)) => self.arm(period),
            (None, None) => {}
        }
        previous
    }

    /// Starts the countdown over, if it runs (Twisted's `resetTimeout`).
    pub fn reset_timeout(&mut self) {
        if let (Some(call), Some(period)) = (&self.call, self.period) {
            let _ = call.reset(period);
        }
    }

    fn arm(&mut self, period: Duration) {
        self.generation += 1;
        let generation = self.generation;
        let link = Rc::downgrade(&self.link);
        let call = self
            .link
            .clock
            .call_later_fn(period, LocalFn::new(move || Link::fire(&link, generation)));
        self.call = Some(call);
    }

    fn bind(&self, target: Weak<dyn Fire>) {
        *self.link.target.borrow_mut() = Some(target);
    }

    /// The timer armed as `generation` fired: forget it. False if it is stale (cancelled
    /// or replaced since).
    fn take_firing(&mut self, generation: u64) -> bool {
        let current = generation == self.generation && self.call.is_some();
        if current {
            self.call = None;
        }
        current
    }
}

impl Drop for Timeout {
    /// A protocol dropped with its countdown running does not leave it scheduled.
    fn drop(&mut self) {
        if let Some(call) = self.call.take() {
            let _ = call.cancel();
        }
    }
}

impl fmt::Debug for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("period", &self.period)
            .field("call", &self.call)
            .finish()
    }
}

/// The overridable half of Twisted's `TimeoutMixin`, for a protocol that embeds a
/// [`Timeout`] and runs inside a [`WithTimeout`]. See [`Timeout`] for an example.
pub trait TimeoutMixin: Protocol {
    /// The protocol's timeout.
    fn timeout(&mut self) -> &mut Timeout;

    /// The timeout ran out (Twisted's `timeoutConnection`). The default closes the
    /// connection; the protocol's `connection_lost` then gets
    /// [`ConnectionLost::TimedOut`].
    fn timeout_connection(&mut self, transport: &Transport) {
        transport.lose_connection();
    }
}

/// Runs a [`TimeoutMixin`] protocol so that its timeout reaches it: the connection drives
/// the `WithTimeout`, which owns the protocol and passes every callback on, and the
/// protocol's timer calls its `timeout_connection` from the top of the loop.
///
/// If `timeout_connection` starts closing the connection (it was open before, and is
/// closing or closed after), the protocol's `connection_lost` gets
/// [`ConnectionLost::TimedOut`] in place of `Done` or `Aborted`. A countdown still running
/// when the connection is lost is stopped after `connection_lost`. A timeout that runs out
/// before the connection is made does nothing.
///
/// # Examples
///
/// The default `timeout_connection`:
///
/// ```
/// use std::time::Duration;
/// use torsion::protocol::{for_protocol, ConnectionLost, Protocol};
/// use torsion::protocols::policies::{Timeout, TimeoutMixin, WithTimeout};
/// use torsion::testing::Driver;
/// use torsion::time::Clock;
/// use torsion::transport::Transport;
///
/// struct Idle {
///     timeout: Timeout,
///     lost: Option<ConnectionLost>,
/// }
/// impl Protocol for Idle {
///     fn connection_made(&mut self, _: &Transport) {
///         self.timeout.set_timeout(Some(Duration::from_secs(60)));
///     }
///     fn data_received(&mut self, _: &Transport, _: &[u8]) {
///         self.timeout.reset_timeout();
///     }
///     fn connection_lost(&mut self, _: &Transport, reason: ConnectionLost) {
///         self.lost = Some(reason);
///     }
/// }
/// impl TimeoutMixin for Idle {
///     fn timeout(&mut self) -> &mut Timeout {
///         &mut self.timeout
///     }
/// }
///
/// let clock = Clock::new();
/// let c = clock.clone();
/// // What a server's factory would be:
/// let _factory = for_protocol(move || WithTimeout::new(Idle { timeout: Timeout::new(c.clone()), lost: None }));
///
/// let d = Driver::new(WithTimeout::new(Idle { timeout: Timeout::new(clock.clone()), lost: None }));
/// clock.advance(Duration::from_secs(60));
/// d.run_pending();
/// let lost = d.with_protocol(|w| w.with_protocol(|p| p.lost.clone()));
/// assert!(matches!(lost, Some(ConnectionLost::TimedOut)));
/// ```
pub struct WithTimeout<P: TimeoutMixin> {
    core: Rc<Core<P>>,
}

struct Core<P> {
    protocol: RefCell<P>,
    transport: RefCell<Option<Transport>>,
    closed_by_timeout: Cell<bool>,
    lost: Cell<bool>,
}

impl<P: TimeoutMixin> WithTimeout<P> {
    /// Owns `protocol` and delivers its timeout.
    pub fn new(protocol: P) -> WithTimeout<P> {
        let core = Rc::new(Core {
            protocol: RefCell::new(protocol),
            transport: RefCell::new(None),
            closed_by_timeout: Cell::new(false),
            lost: Cell::new(false),
        });
        let weak: Weak<Core<P>> = Rc::downgrade(&core);
        let target: Weak<dyn Fire> = weak;
        core.protocol.borrow_mut().timeout().bind(target);
        WithTimeout { core }
    }

    /// Runs `f` with the protocol.
    ///
    /// # Panics
    ///
    /// If called from inside the protocol's own callbacks.
    pub fn with_protocol<R>(&self, f: impl FnOnce(&mut P) -> R) -> R {
        f(&mut self.core.protocol.borrow_mut())
    }

    /// True once `timeout_connection` started closing the connection.
    pub fn closed_by_timeout(&self) -> bool {
        self.core.closed_by_timeout.get()
    }

    fn call<R>(&mut self, f: impl FnOnce(&mut P) -> R) -> R {
        f(&mut self.core.protocol.borrow_mut())
    }
}

impl<P: TimeoutMixin> Fire for Core<P> {
    fn fire(&self, generation: u64) -> bool {
        let Ok(mut protocol) = self.protocol.try_borrow_mut() else {
            return false;
        };
        if !protocol.timeout().take_firing(generation) || self.lost.get() {
            return true;
        }
        let transport = self.transport.borrow().clone();
        let Some(transport) = transport else {
            log::debug!("a timeout ran out before its connection was made");
            return true;
        };
        let closing = |t: &Transport| t.is_disconnecting() || !t.is_connected();
        let was_closing = closing(&transport);
        protocol.timeout_connection(&transport);
        if !was_closing && closing(&transport) {
            self.closed_by_timeout.set(true);
        }
        true
    }
}

impl<P: TimeoutMixin> Protocol for WithTimeout<P> {
    fn connection_made(&mut self, transport: &Transport) {
        *self.core.transport.borrow_mut() = Some(transport.clone());
        self.call(|p| p.connection_made(transport));
    }

    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        self.call(|p| p.data_received(transport, data));
    }

    fn connection_lost(&mut self, transport: &Transport, reason: ConnectionLost) {
        self.core.lost.set(true);
        let held = self.core.transport.borrow_mut().take();
        drop(held);
        let reason = match reason {
            ConnectionLost::Done | ConnectionLost::Aborted if self.closed_by_timeout() => {
                ConnectionLost::TimedOut
            }
            other => other,
        };
        self.call(|p| {
            p.connection_lost(transport, reason);
            p.timeout().set_timeout(None);
        });
    }

    fn half_closeable(&self) -> bool {
        self.core.protocol.borrow().half_closeable()
    }

    fn read_connection_lost(&mut self, transport: &Transport) {
        self.call(|p| p.read_connection_lost(transport));
    }

    fn write_connection_lost(&mut self, transport: &Transport) {
        self.call(|p| p.write_connection_lost(transport));
    }

    fn reading_resumed(&mut self, transport: &Transport) {
        self.call(|p| p.reading_resumed(transport));
    }

    fn handshake_completed(&mut self, transport: &Transport) {
        self.call(|p| p.handshake_completed(transport));
    }
}

impl<P: TimeoutMixin> fmt::Debug for WithTimeout<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WithTimeout")
            .field("protocol", &std::any::type_name::<P>())
            .field("closed_by_timeout", &self.core.closed_by_timeout.get())
            .field("lost", &self.core.lost.get())
            .finish()
    }
}
