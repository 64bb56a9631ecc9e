//! [`ReconnectingClientFactory`]: a client factory that connects again, with exponential
//! back-off, whenever a connection attempt fails or a connection is lost (Twisted's
//! `ReconnectingClientFactory`).
//!
//! The rules, the back-off arithmetic and the Twisted name map are on
//! [`ReconnectingClientFactory`] (this module is private; its items are re-exported by
//! [`crate::protocol`]).
//!
//! Tests: `tests/reconnecting.rs`.

use std::cell::RefCell;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
use std::rc::{Rc, Weak};
use std::time::Duration;

use super::{Address, ClientFactory, ConnectionLost, Factory, Protocol};
use crate::defer::Failure;
use crate::tcp::Connector;
use crate::time::{DelayedCall, LocalFn, ReactorTime};

/// Twisted's jitter: 0.119626565582 (the molar Planck constant times c, "precisely
/// measured by the National Institute of Science and Technology").
pub const DEFAULT_JITTER: f64 = 0.119626565582;

/// Jitter draws are truncated at this many standard deviations.
pub const MAX_JITTER_SIGMAS: f64 = 4.0;

/// The back-off settings (Twisted's class attributes), with Twisted's defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backoff {
    /// The delay the first retry multiplies (1 s).
    pub initial_delay: Duration,
    /// The longest delay before jitter (3600 s).
    pub max_delay: Duration,
    /// How much the delay grows per retry (e).
    pub factor: f64,
    /// The standard deviation of a delay, as a fraction of it ([`DEFAULT_JITTER`]); 0 for
    /// none.
    pub jitter: f64,
    /// Consecutive retries before giving up (`None`: never give up).
    pub max_retries: Option<u32>,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff {
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(3600),
            factor: std::f64::consts::E,
            jitter: DEFAULT_JITTER,
            max_retries: None,
        }
    }
}

impl Backoff {
    /// The delay after `current`: `min(current × factor, max_delay)`, then jittered.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use torsion::protocol::{Backoff, XorShift64};
    ///
    /// let backoff = Backoff { factor: 2.0, jitter: 0.0, max_delay: Duration::from_secs(5), ..Backoff::default() };
    /// let mut rng = XorShift64::new(1);
    /// let mut d = backoff.initial_delay;
    /// let mut delays = Vec::new();
    /// for _ in 0..4 {
    ///     d = backoff.next_delay(d, &mut rng);
    ///     delays.push(d.as_secs());
    /// }
    /// assert_eq!(delays, [2, 4, 5, 5]);
    /// ```
    pub fn next_delay(&self, current: Duration, rng: &mut dyn RandomSource) -> Duration {
        let grown = (current.as_secs_f64() * self.factor).min(self.max_delay.as_secs_f64());
        let delay = if self.jitter != 0.0 {
            let z = standard_normal(rng).clamp(-MAX_JITTER_SIGMAS, MAX_JITTER_SIGMAS);
            grown + z * grown * self.jitter
        } else {
            grown
        };
        seconds(delay)
    }
}

/// A duration from seconds, with nonsense (negative, NaN) as zero and overflow saturated.
fn seconds(secs: f64) -> Duration {
    if secs.is_nan() || secs <= 0.0 {
        return Duration::ZERO;
    }
    Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX)
}

/// Uniform random bits, for jitter.
pub trait RandomSource {
    /// 64 uniformly distributed bits.
    fn next_u64(&mut self) -> u64;
}

/// A small, fast, seedable generator (Marsaglia's xorshift64*), good enough to spread
/// reconnections out; not for anything secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XorShift64 {
    state: u64,
}

impl XorShift64 {
    /// A generator whose sequence depends only on `seed` (any value, zero included).
    pub fn new(seed: u64) -> XorShift64 {
        // SplitMix64 of the seed: spreads small seeds and never gives the fixed point 0.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        XorShift64 { state: z.max(1) }
    }

    /// A generator seeded differently in each process and each call, so that many clients
    /// of one server do not retry in step.
    pub fn from_entropy() -> XorShift64 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        XorShift64::new(RandomState::new().hash_one(nanos))
    }
}

impl RandomSource for XorShift64 {
    fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// A draw from the standard normal distribution (Box–Muller). Its magnitude is at most
/// about 8.6, the most 53-bit uniforms can give.
pub fn standard_normal(rng: &mut dyn RandomSource) -> f64 {
    const SCALE: f64 = 1.0 / (1u64 << 53) as f64;
    let u1 = ((rng.next_u64() >> 11) + 1) as f64 * SCALE; // (0, 1]
    let u2 = (rng.next_u64() >> 11) as f64 * SCALE; // [0, 1)
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Settings for a [`ReconnectingClientFactory`]; made by
/// [`ReconnectingClientFactory::builder`].
pub struct ReconnectingBuilder {
    clock: Rc<dyn ReactorTime>,
    backoff: Backoff,
    rng: Option<Box<dyn RandomSource>>,
}

impl ReconnectingBuilder {
    /// All the back-off settings at once.
    pub fn backoff(mut self, backoff: Backoff) -> ReconnectingBuilder {
        self.backoff = backoff;
        self
    }

    /// See [`Backoff::initial_delay`].
    pub fn initial_delay(mut self, delay: Duration) -> ReconnectingBuilder {
        self.backoff.initial_delay = delay;
        self
    }

    /// See [`Backoff::max_delay`].
    pub fn max_delay(mut self, delay: Duration) -> ReconnectingBuilder {
        self.backoff.max_delay = delay;
        self
    }

    /// See [`Backoff::factor`].
    pub fn factor(mut self, factor: f64) -> ReconnectingBuilder {
        self.backoff.factor = factor;
        self
    }

    /// See [`Backoff::jitter`].
    pub fn jitter(mut self, jitter: f64) -> ReconnectingBuilder {
        self.backoff.jitter = jitter;
        self
    }

    /// See [`Backoff::max_retries`].
    pub fn max_retries(mut self, retries: Option<u32>) -> ReconnectingBuilder {
        self.backoff.max_retries = retries;
        self
    }

    /// Jitter from [`XorShift64::new(seed)`](XorShift64::new) (deterministic), instead of
    /// a per-process seed.
    pub fn seed(self, seed: u64) -> ReconnectingBuilder {
        self.rng(XorShift64::new(seed))
    }

    /// Jitter from `rng`.
    pub fn rng(mut self, rng: impl RandomSource + 'static) -> ReconnectingBuilder {
        self.rng = Some(Box::new(rng));
        self
    }

    /// The factory, passing every event on to `factory` (which builds the protocols).
    pub fn build(self, factory: Rc<dyn ClientFactory>) -> Rc<ReconnectingClientFactory> {
        self.build_with(|_| factory)
    }

    /// The factory, with protocols from a plain [`Factory`] (one that does not care about
    /// connection attempts).
    pub fn build_factory(self, factory: Rc<dyn Factory>) -> Rc<ReconnectingClientFactory> {
        self.build_with(|_| Rc::new(Plain(factory)))
    }

    /// The factory, with protocols from `make`, which gets the handle to pass to them (to
    /// call [`reset_delay`](ReconnectHandle::reset_delay) once connected).
    pub fn build_for_protocol<P, F>(self, make: F) -> Rc<ReconnectingClientFactory>
    where
        P: Protocol,
        F: Fn(&ReconnectHandle) -> P + 'static,
    {
        self.build_with(|handle| Rc::new(ForHandle { make, handle }))
    }

    /// The factory, wrapping the factory `make` returns; `make` gets the handle.
    pub fn build_with(
        self,
        make: impl FnOnce(ReconnectHandle) -> Rc<dyn ClientFactory>,
    ) -> Rc<ReconnectingClientFactory> {
        let backoff = self.backoff;
        let rng = self
            .rng
            .unwrap_or_else(|| Box::new(XorShift64::from_entropy()));
        Rc::new_cyclic(|me| ReconnectingClientFactory {
            me: me.clone(),
            clock: self.clock,
            factory: make(ReconnectHandle {
                factory: me.clone(),
            }),
            backoff,
            rng: RefCell::new(rng),
            state: RefCell::new(State {
                delay: backoff.initial_delay,
                retries: 0,
                continue_trying: true,
                connector: None,
                pending: None,
            }),
        })
    }
}

impl fmt::Debug for ReconnectingBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReconnectingBuilder")
            .field("backoff", &self.backoff)
            .finish()
    }
}

struct State {
    /// The current delay (the last one waited, or the initial one).
    delay: Duration,
    retries: u32,
    continue_trying: bool,
    connector: Option<Connector>,
    pending: Option<DelayedCall>,
}

/// A client factory that reconnects with exponential back-off (Twisted's
/// `ReconnectingClientFactory`): it wraps a factory (or a protocol builder), and connects
/// again whenever an attempt fails or a connection is lost.
///
/// # How the delay grows
///
/// Exactly as in Twisted: the factory keeps a current delay, starting at
/// [`Backoff::initial_delay`]. Each retry first multiplies it by [`Backoff::factor`]
/// (capped at [`Backoff::max_delay`]), then, if [`Backoff::jitter`] is not zero, replaces it
/// by a draw from a normal distribution centred on it with σ = delay × jitter, and waits
/// that long. So with the defaults the first retry comes after about e ≈ 2.7 s, not 1 s,
/// and the jittered value is what the next retry multiplies. Two differences: the draw is
/// truncated at ±[`MAX_JITTER_SIGMAS`] σ and never below zero (Twisted's can, very rarely,
/// be negative), and the random numbers come from a small seedable generator
/// ([`XorShift64`], or any [`RandomSource`]), so tests are deterministic.
///
/// # What the factory does, and what the protocol does
///
/// - `client_connection_failed` and `client_connection_lost` schedule a retry on the
///   factory's clock (after passing the event on to the wrapped factory), unless
///   [`stop_trying`](ReconnectingClientFactory::stop_trying) was called.
/// - After [`Backoff::max_retries`] consecutive retries, the next failure gives up.
/// - The protocol should call [`reset_delay`](ReconnectHandle::reset_delay) once it
///   considers the connection good (in `connection_made`, or after a handshake), through
///   the [`ReconnectHandle`] its builder gets; otherwise the delay keeps growing across
///   reconnections, as in Twisted.
/// - The factory keeps the connector it last saw, so `stop_trying` can cancel the pending
///   retry and stop an attempt in progress. That is an `Rc` cycle (connector → factory →
///   connector) while the factory is trying; `stop_trying`, and giving up after
///   `max_retries`, break it.
///
/// # Twisted → torsion
///
/// | Twisted | torsion |
/// |---|---|
/// | `ReconnectingClientFactory()` + `protocol = P` | [`ReconnectingClientFactory::builder`]`(clock)…`[`.build_for_protocol(\|handle\| P)`](ReconnectingBuilder::build_for_protocol) or [`.build(factory)`](ReconnectingBuilder::build) |
/// | `initialDelay`, `maxDelay`, `factor`, `jitter`, `maxRetries` | [`Backoff`] fields, builder methods |
/// | `clock` | the builder's clock (any [`ReactorTime`]: the reactor, a test [`Clock`](crate::time::Clock)) |
/// | `retry(connector)` | [`retry`](ReconnectingClientFactory::retry)`(&connector)` → the delay scheduled |
/// | `stopTrying()`, `resetDelay()` | [`stop_trying`](ReconnectingClientFactory::stop_trying), [`reset_delay`](ReconnectingClientFactory::reset_delay) (also on [`ReconnectHandle`]) |
/// | `continueTrying`, `retries`, `delay`, `connector` | [`continue_trying`](ReconnectingClientFactory::continue_trying), [`retries`](ReconnectingClientFactory::retries), [`delay`](ReconnectingClientFactory::delay), [`connector`](ReconnectingClientFactory::connector) |
/// | subclass overriding `clientConnectionFailed` and calling up | wrap a [`ClientFactory`]: it hears every event first |
/// | `random.normalvariate` | [`RandomSource`], [`XorShift64`], [`standard_normal`] (Box–Muller) |
///
/// Tests: `tests/reconnecting.rs`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use torsion::protocol::{Protocol, ReconnectHandle, ReconnectingClientFactory};
/// use torsion::transport::Transport;
/// use torsion::Reactor;
///
/// struct Client {
///     reconnect: ReconnectHandle,
/// }
///
/// impl Protocol for Client {
///     fn connection_made(&mut self, transport: &Transport) {
///         self.reconnect.reset_delay(); // connected: start the back-off afresh
///         transport.write(b"hello\r\n");
///     }
///     fn data_received(&mut self, _: &Transport, _: &[u8]) {}
/// }
///
/// let reactor = Reactor::new()?;
/// let factory = ReconnectingClientFactory::builder(reactor.clone())
///     .max_delay(Duration::from_secs(60))
///     .build_for_protocol(|handle| Client { reconnect: handle.clone() });
/// let connector = reactor.connect_tcp("127.0.0.1", 7, factory.clone(), None, None);
/// // ... later, to give up for good:
/// factory.stop_trying();
/// # drop(connector);
/// # reactor.close();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ReconnectingClientFactory {
    me: Weak<ReconnectingClientFactory>,
    clock: Rc<dyn ReactorTime>,
    factory: Rc<dyn ClientFactory>,
    backoff: Backoff,
    rng: RefCell<Box<dyn RandomSource>>,
    state: RefCell<State>,
}

impl ReconnectingClientFactory {
    /// Settings for a factory whose retries are scheduled on `clock` (the reactor, or a
    /// test [`Clock`](crate::time::Clock)), starting from Twisted's defaults.
    pub fn builder(clock: impl ReactorTime + 'static) -> ReconnectingBuilder {
        ReconnectingBuilder {
            clock: Rc::new(clock),
            backoff: Backoff::default(),
            rng: None,
        }
    }

    /// A handle for protocols (weak: it does not keep the factory alive).
    pub fn handle(&self) -> ReconnectHandle {
        ReconnectHandle {
            factory: self.me.clone(),
        }
    }

    /// Schedules `connector.connect()` after the next delay, and returns that delay; or
    /// returns `None` without scheduling if the factory stopped trying or has retried
    /// [`max_retries`](Backoff::max_retries) times in a row already. A retry already
    /// pending is replaced.
    pub fn retry(&self, connector: &Connector) -> Option<Duration> {
        let (old, delay) = {
            let mut st = self.state.borrow_mut();
            if !st.continue_trying {
                log::debug!("abandoning {connector:?} on explicit request");
                return None;
            }
            st.retries = st.retries.saturating_add(1);
            if let Some(max) = self.backoff.max_retries {
                if st.retries > max {
                    log::info!("abandoning {connector:?} after {max} retries");
                    st.connector = None;
                    return None;
                }
            }
            let delay = {
                let mut rng = self.rng.borrow_mut();
                self.backoff.next_delay(st.delay, &mut **rng)
            };
            st.delay = delay;
            st.connector = Some(connector.clone());
            (st.pending.take(), delay)
        };
        if let Some(old) = old {
            let _ = old.cancel();
        }
        log::debug!("{connector:?} will retry in {delay:?}");
        let me = self.me.clone();
        let target = connector.clone();
        let call = self.clock.call_later_fn(
            delay,
            LocalFn::new(move || {
                if let Some(me) = me.upgrade() {
                    let pending = me.state.borrow_mut().pending.take();
                    drop(pending);
                }
                target.connect();
            }),
        );
        self.state.borrow_mut().pending = Some(call);
        Some(delay)
    }

    /// Stops reconnecting: cancels a pending retry, stops an attempt in progress (an
    /// established connection is left alone, and is not reconnected when lost).
    pub fn stop_trying(&self) {
        let (pending, connector) = {
            let mut st = self.state.borrow_mut();
            st.continue_trying = false;
            (st.pending.take(), st.connector.take())
        };
        if let Some(call) = pending {
            let _ = call.cancel();
        }
        if let Some(connector) = connector {
            connector.stop_connecting();
        }
    }

    /// Resets the delay and the retry count, and resumes trying (Twisted's `resetDelay`):
    /// call it once a connection is good. A pending retry stays scheduled.
    pub fn reset_delay(&self) {
        let mut st = self.state.borrow_mut();
        st.delay = self.backoff.initial_delay;
        st.retries = 0;
        st.continue_trying = true;
    }

    /// False once [`stop_trying`](ReconnectingClientFactory::stop_trying) was called (until
    /// [`reset_delay`](ReconnectingClientFactory::reset_delay)).
    pub fn continue_trying(&self) -> bool {
        self.state.borrow().continue_trying
    }

    /// Retries since the last reset.
    pub fn retries(&self) -> u32 {
        self.state.borrow().retries
    }

    /// The current delay: the last one waited, or the initial one after a reset.
    pub fn delay(&self) -> Duration {
        self.state.borrow().delay
    }

    /// The connector last seen (while trying).
    pub fn connector(&self) -> Option<Connector> {
        self.state.borrow().connector.clone()
    }

    /// The retry scheduled now, if any.
    pub fn pending_retry(&self) -> Option<DelayedCall> {
        let st = self.state.borrow();
        st.pending.as_ref().filter(|c| c.active()).cloned()
    }

    /// The back-off settings.
    pub fn backoff(&self) -> &Backoff {
        &self.backoff
    }

    /// The wrapped factory.
    pub fn factory(&self) -> &Rc<dyn ClientFactory> {
        &self.factory
    }

    fn keep_trying(&self, connector: &Connector) {
        if self.continue_trying() {
            self.retry(connector);
        }
    }
}

impl Factory for ReconnectingClientFactory {
    fn build_protocol(&self, addr: &Address) -> Option<Box<dyn Protocol>> {
        self.factory.build_protocol(addr)
    }

    fn start_factory(&self) {
        self.factory.start_factory()
    }

    fn stop_factory(&self) {
        self.factory.stop_factory()
    }
}

impl ClientFactory for ReconnectingClientFactory {
    fn started_connecting(&self, connector: &Connector) {
        self.state.borrow_mut().connector = Some(connector.clone());
        self.factory.started_connecting(connector);
    }

    fn client_connection_failed(&self, connector: &Connector, reason: Failure) {
        self.factory.client_connection_failed(connector, reason);
        self.keep_trying(connector);
    }

    fn client_connection_lost(&self, connector: &Connector, reason: &ConnectionLost) {
        self.factory.client_connection_lost(connector, reason);
        self.keep_trying(connector);
    }
}

impl fmt::Debug for ReconnectingClientFactory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.state.borrow();
        f.debug_struct("ReconnectingClientFactory")
            .field("backoff", &self.backoff)
            .field("delay", &st.delay)
            .field("retries", &st.retries)
            .field("continue_trying", &st.continue_trying)
            .field("pending", &st.pending.is_some())
            .finish()
    }
}

/// A protocol's way to reach its [`ReconnectingClientFactory`] (weak; does nothing once
/// the factory is gone).
#[derive(Clone)]
pub struct ReconnectHandle {
    factory: Weak<ReconnectingClientFactory>,
}

impl ReconnectHandle {
    /// See [`ReconnectingClientFactory::reset_delay`].
    pub fn reset_delay(&self) {
        if let Some(f) = self.factory.upgrade() {
            f.reset_delay();
        }
    }

    /// See [`ReconnectingClientFactory::stop_trying`].
    pub fn stop_trying(&self) {
        if let Some(f) = self.factory.upgrade() {
            f.stop_trying();
        }
    }

    /// The factory, while it exists.
    pub fn factory(&self) -> Option<Rc<ReconnectingClientFactory>> {
        self.factory.upgrade()
    }
}

impl fmt::Debug for ReconnectHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReconnectHandle")
            .field("alive", &(self.factory.strong_count() > 0))
            .finish()
    }
}

/// Builds each protocol with the handle.
struct ForHandle<F> {
    make: F,
    handle: ReconnectHandle,
}

impl<P: Protocol, F: Fn(&ReconnectHandle) -> P + 'static> Factory for ForHandle<F> {
    fn build_protocol(&self, _addr: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new((self.make)(&self.handle)))
    }
}

impl<P: Protocol, F: Fn(&ReconnectHandle) -> P + 'static> ClientFactory for ForHandle<F> {}

/// A plain factory as a client factory that ignores attempts.
struct Plain(Rc<dyn Factory>);

impl Factory for Plain {
    fn build_protocol(&self, addr: &Address) -> Option<Box<dyn Protocol>> {
        self.0.build_protocol(addr)
    }
    fn start_factory(&self) {
        self.0.start_factory()
    }
    fn stop_factory(&self) {
        self.0.stop_factory()
    }
}

impl ClientFactory for Plain {}
