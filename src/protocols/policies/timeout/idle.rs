//! [`IdleTimeout`]: closes connections that stay idle (Twisted's `TimeoutFactory` and
//! `TimeoutProtocol`).

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use super::super::wrapper::{Policy, Protocols, Wrapped, WrapperTransport, WrappingFactory};
use crate::protocol::{Address, ConnectionLost};
use crate::time::{DelayedCall, LocalFn, ReactorTime};
use crate::transport::Transport;

/// A [`WrappingFactory`] under [`IdleTimeout`] (Twisted's `TimeoutFactory`).
pub type TimeoutFactory = WrappingFactory<IdleTimeout>;

/// Twisted's default timeout period: 30 minutes.
pub const DEFAULT_TIMEOUT_PERIOD: Duration = Duration::from_secs(30 * 60);

/// Closes each connection that neither reads nor writes for a while (the policy of Twisted's
/// `TimeoutFactory(wrappedFactory, timeoutPeriod=30*60)`).
///
/// The countdown starts when the connection is made and starts over at every read and at
/// every write of the wrapped protocol. When it runs out, the wrapper closes the connection
/// (`lose_connection`, or `abort_connection` with
/// [`abort_on_timeout`](IdleTimeout::abort_on_timeout)), and the wrapped protocol's
/// `connection_lost` gets [`ConnectionLost::TimedOut`] instead of the `Done` (or `Aborted`)
/// the real transport reports: it can tell a timeout from a close. (Twisted passes
/// `ConnectionDone`.)
///
/// Each connection's timer can be changed from its transport: see
/// [`WrapperTransport::set_timeout`] and its siblings.
///
/// # Examples
///
/// Twisted's `TimeoutFactoryTests.test_timeout`:
///
/// ```
/// use std::time::Duration;
/// use torsion::protocol::{for_protocol, Address, ConnectionLost, Protocol};
/// use torsion::protocols::policies::{IdleTimeout, TimeoutFactory};
/// use torsion::testing::Driver;
/// use torsion::time::Clock;
/// use torsion::transport::Transport;
///
/// #[derive(Default)]
/// struct Simple {
///     lost: Option<ConnectionLost>,
/// }
/// impl Protocol for Simple {
///     fn data_received(&mut self, _: &Transport, _: &[u8]) {}
///     fn connection_lost(&mut self, _: &Transport, reason: ConnectionLost) {
///         self.lost = Some(reason);
///     }
/// }
///
/// let clock = Clock::new();
/// let factory = TimeoutFactory::with_policy(
///     for_protocol(Simple::default),
///     IdleTimeout::new(clock.clone()).period(Some(Duration::from_secs(3))),
/// );
/// let d = Driver::new(factory.build_wrapper(&Address::Memory("peer".into())).unwrap());
/// clock.advance(Duration::from_millis(2900));
/// assert!(!d.transport().disconnecting());
/// clock.advance(Duration::from_millis(200));
/// assert!(d.transport().disconnecting());
/// d.run_pending();
/// let lost = d.with_protocol(|w| w.wrapped_as::<Simple>().unwrap().lost.clone());
/// assert!(matches!(lost, Some(ConnectionLost::TimedOut)));
/// ```
pub struct IdleTimeout {
    clock: Rc<dyn ReactorTime>,
    period: Option<Duration>,
    abort: bool,
}

impl IdleTimeout {
    /// Times connections out after [`DEFAULT_TIMEOUT_PERIOD`] on `clock`.
    pub fn new(clock: impl ReactorTime + 'static) -> IdleTimeout {
        IdleTimeout {
            clock: Rc::new(clock),
            period: Some(DEFAULT_TIMEOUT_PERIOD),
            abort: false,
        }
    }

    /// The idle time allowed (Twisted's `timeoutPeriod`); `None` starts connections with no
    /// timeout (one can be set per connection later).
    pub fn period(mut self, period: Option<Duration>) -> IdleTimeout {
        self.period = period;
        self
    }

    /// Abort timed-out connections (drop what is queued) instead of closing them cleanly.
    /// A clean close waits for the write buffer to drain, which a peer that stopped reading
    /// never lets happen.
    pub fn abort_on_timeout(mut self, abort: bool) -> IdleTimeout {
        self.abort = abort;
        self
    }

    /// The period new connections start with.
    pub fn timeout_period(&self) -> Option<Duration> {
        self.period
    }
}

/// One connection's timer under [`IdleTimeout`] (reach it through the
/// [`WrapperTransport`] methods).
pub struct IdleState {
    period: Cell<Option<Duration>>,
    call: RefCell<Option<DelayedCall>>,
    timed_out: Cell<bool>,
}

impl WrapperTransport<IdleTimeout> {
    /// Cancels the running countdown and starts a new one of `period` (none if `None`)
    /// (Twisted's `TimeoutProtocol.setTimeout`).
    ///
    /// # Examples
    ///
    /// A wrapped protocol giving itself more time, through its own transport:
    ///
    /// ```
    /// use std::time::Duration;
    /// use torsion::protocol::{for_protocol, Address, Protocol};
    /// use torsion::protocols::policies::{IdleTimeout, TimeoutFactory, WrapperTransport};
    /// use torsion::testing::Driver;
    /// use torsion::time::Clock;
    /// use torsion::transport::Transport;
    ///
    /// struct Uploads;
    /// impl Protocol for Uploads {
    ///     fn data_received(&mut self, t: &Transport, data: &[u8]) {
    ///         if data == b"BIG UPLOAD" {
    ///             if let Some(w) = t.downcast::<WrapperTransport<IdleTimeout>>() {
    ///                 w.set_timeout(Some(Duration::from_secs(600)));
    ///             }
    ///         }
    ///     }
    /// }
    ///
    /// let clock = Clock::new();
    /// let factory = TimeoutFactory::with_policy(
    ///     for_protocol(|| Uploads),
    ///     IdleTimeout::new(clock.clone()).period(Some(Duration::from_secs(30))),
    /// );
    /// let d = Driver::new(factory.build_wrapper(&Address::Memory("peer".into())).unwrap());
    /// d.data_received(b"BIG UPLOAD");
    /// clock.advance(Duration::from_secs(599));
    /// assert!(!d.transport().disconnecting());
    /// clock.advance(Duration::from_secs(1));
    /// assert!(d.transport().disconnecting());
    /// ```
    pub fn set_timeout(&self, period: Option<Duration>) {
        self.cancel_timeout();
        let st = self.state();
        st.period.set(period);
        let Some(period) = period else {
            return;
        };
        let weak = self.downgrade();
        let call = self.policy().clock.call_later_fn(
            period,
            LocalFn::new(move || {
                if let Some(wrapper) = weak.upgrade() {
                    wrapper.timed_out_now();
                }
            }),
        );
        let old = st.call.replace(Some(call));
        drop(old);
    }

    /// Stops the countdown, if one runs, and forgets the period (Twisted's
    /// `cancelTimeout`); a later read or write does not start it again.
    pub fn cancel_timeout(&self) {
        let st = self.state();
        st.period.set(None);
        let call = st.call.take();
        if let Some(call) = call {
            let _ = call.cancel();
        }
    }

    /// Starts the countdown over, if one runs (Twisted's `resetTimeout`). Reads and writes
    /// do this by themselves.
    pub fn reset_timeout(&self) {
        let st = self.state();
        let call = st.call.borrow().clone();
        if let (Some(call), Some(period)) = (call, st.period.get()) {
            let _ = call.reset(period);
        }
    }

    /// The running countdown (Twisted's `timeoutCall`).
    pub fn timeout_call(&self) -> Option<DelayedCall> {
        self.state().call.borrow().clone()
    }

    /// The current period (Twisted's `timeoutPeriod`).
    pub fn timeout_period(&self) -> Option<Duration> {
        self.state().period.get()
    }

    /// True once the countdown ran out and closed the connection.
    pub fn timed_out(&self) -> bool {
        self.state().timed_out.get()
    }

    /// Twisted's `timeoutFunc`.
    fn timed_out_now(&self) {
        let st = self.state();
        let call = st.call.take();
        drop(call);
        st.timed_out.set(true);
        let transport = self.transport();
        if self.policy().abort {
            transport.abort_connection();
        } else {
            transport.lose_connection();
        }
    }
}

impl Policy for IdleTimeout {
    type Conn = IdleState;

    fn admit(&self, _addr: &Address, _protocols: &Protocols<Self>) -> Option<IdleState> {
        Some(IdleState {
            period: Cell::new(self.period),
            call: RefCell::new(None),
            timed_out: Cell::new(false),
        })
    }

    fn connection_made(&self, mut wrapped: Wrapped<'_, Self>) {
        let wrapper = wrapped.wrapper();
        wrapper.set_timeout(wrapper.timeout_period());
        wrapped.connection_made();
    }

    fn data_received(&self, mut wrapped: Wrapped<'_, Self>, data: &[u8]) {
        wrapped.wrapper().reset_timeout();
        wrapped.data_received(data);
    }

    fn connection_lost(&self, mut wrapped: Wrapped<'_, Self>, reason: ConnectionLost) {
        let wrapper = wrapped.wrapper();
        wrapper.cancel_timeout();
        let reason = match reason {
            ConnectionLost::Done | ConnectionLost::Aborted if wrapper.timed_out() => {
                ConnectionLost::TimedOut
            }
            other => other,
        };
        wrapped.connection_lost(reason);
    }

    fn write(&self, wrapper: &WrapperTransport<Self>, lower: &Transport, data: &[u8]) {
        wrapper.reset_timeout();
        lower.write(data);
    }

    fn write_sequence(&self, wrapper: &WrapperTransport<Self>, lower: &Transport, data: &[&[u8]]) {
        wrapper.reset_timeout();
        lower.write_sequence(data);
    }
}

impl fmt::Debug for IdleTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdleTimeout")
            .field("period", &self.period)
            .field("abort", &self.abort)
            .finish()
    }
}

impl fmt::Debug for IdleState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdleState")
            .field("period", &self.period.get())
            .field("call", &*self.call.borrow())
            .field("timed_out", &self.timed_out.get())
            .finish()
    }
}
