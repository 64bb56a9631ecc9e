//! Resource-limiting policies around any factory's protocols: bandwidth and connection
//! limits, idle timeouts, traffic logs (Twisted's `twisted.protocols.policies`).
//!
//! # The shape
//!
//! Every policy here is a [`Policy`] run by a [`WrappingFactory`]: the factory wraps each
//! protocol of another factory in a [`ProtocolWrapper`], which the real transport drives,
//! and gives the wrapped protocol a [`WrapperTransport`] as its transport. The policy's
//! hooks sit on both paths (bytes in, bytes out, closes) and may count, log, delay or
//! refuse. One generic factory with a policy replaces Twisted's subclass per policy, and
//! policies stack by wrapping a wrapping factory:
//!
//! ```
//! use std::time::Duration;
//! use torsion::protocol::{for_protocol, Protocol};
//! use torsion::protocols::policies::{
//!     IdleTimeout, LimitConnectionsByPeer, Throttling, WrappingFactory,
//! };
//! use torsion::transport::Transport;
//! use torsion::Reactor;
//!
//! struct Echo;
//! impl Protocol for Echo {
//!     fn data_received(&mut self, t: &Transport, data: &[u8]) {
//!         t.write(data);
//!     }
//! }
//!
//! let reactor = Reactor::new()?;
//! // Idle connections close after a minute...
//! let timeouts = WrappingFactory::with_policy(
//!     for_protocol(|| Echo),
//!     IdleTimeout::new(reactor.clone()).period(Some(Duration::from_secs(60))),
//! );
//! // ...no host gets more than 5 of them...
//! let per_peer = WrappingFactory::with_policy(timeouts, LimitConnectionsByPeer::new());
//! // ...and all of them together read at most 1 MB/s, 100 at a time.
//! let server = WrappingFactory::with_policy(
//!     per_peer,
//!     Throttling::new(reactor.clone()).max_connection_count(100).read_limit(1_000_000),
//! );
//! let port = reactor.listen_tcp(0, server, 50, "127.0.0.1")?;
//! # drop(port);
//! # reactor.close();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Flow control without fighting the protocol
//!
//! A throttle pauses reading and producers, and so may the wrapped protocol itself (or the
//! real transport, for a producer, when its buffer fills). The [`WrapperTransport`] keeps
//! the reasons apart: reading resumes only once neither the protocol nor the policy wants
//! it paused, and a producer is resumed only once neither the real transport nor the
//! policy holds it. (Twisted's `ThrottlingProtocol` resumes them regardless.)
//!
//! # Re-entrancy
//!
//! The transport rule holds through the wrappers: nothing reached from a transport method
//! calls into a protocol. Writes and closes only pass down to the real transport; the real
//! transport's events come up through the [`ProtocolWrapper`] from the top of the loop.
//! Timers (throttling checks, idle timeouts) act on transports only, never on a protocol,
//! except [`WithTimeout`], which owns its protocol for that very purpose: see [`timeout`]
//! for how a timer reaches it.
//!
//! # Twisted names
//!
//! | Twisted | torsion |
//! |---|---|
//! | `ProtocolWrapper(factory, wrappedProtocol)` | [`ProtocolWrapper`] (the protocol half) and [`WrapperTransport`] (the transport half), made by [`WrappingFactory::build_wrapper`] |
//! | `.wrappedProtocol`; `.transport` (the real one) | [`ProtocolWrapper::wrapped_protocol`], [`wrapped_as`](ProtocolWrapper::wrapped_as); [`WrapperTransport::lower`], [`Wrapped::lower`] |
//! | `WrappingFactory(wrappedFactory)` | [`WrappingFactory::new`] (or [`for_client`](WrappingFactory::for_client) to pass on the client calls) |
//! | `.wrappedFactory`, `.protocols` | [`wrapped_factory`](WrappingFactory::wrapped_factory), [`protocols`](WrappingFactory::protocols) ([`Protocols`]) |
//! | subclassing `WrappingFactory` / `ProtocolWrapper`; `registerProtocol` / `unregisterProtocol` | a [`Policy`] and [`WrappingFactory::with_policy`]; [`Policy::admit`] / [`Policy::release`] (the live set is kept for you) |
//! | `ThrottlingFactory(f, maxConnectionCount, readLimit, writeLimit)` | [`ThrottlingFactory`]`::with_policy(f, `[`Throttling::new`]`(clock).max_connection_count(n).read_limit(r).write_limit(w))` |
//! | `.connectionCount`, `.readThisSecond`, `.writtenThisSecond` | `factory.policy().`[`connection_count`](Throttling::connection_count)`()`, [`read_this_second`](Throttling::read_this_second), [`written_this_second`](Throttling::written_this_second) |
//! | `ThrottlingProtocol.throttleReads` / `throttleWrites` (and `un...`) | [`WrapperTransport::hold_reads`] / [`hold_writes`](WrapperTransport::hold_writes) |
//! | `TimeoutFactory(f, timeoutPeriod=1800)` | [`TimeoutFactory`]`::with_policy(f, `[`IdleTimeout::new`]`(clock).period(Some(p)))` |
//! | `TimeoutProtocol.setTimeout` / `cancelTimeout` / `resetTimeout` / `.timeoutCall` | [`WrapperTransport::set_timeout`] / [`cancel_timeout`](WrapperTransport::cancel_timeout) / [`reset_timeout`](WrapperTransport::reset_timeout) / [`timeout_call`](WrapperTransport::timeout_call) |
//! | `TimeoutProtocol.timeoutFunc` (`loseConnection`, reason `ConnectionDone`) | closes (or aborts: [`IdleTimeout::abort_on_timeout`]); the wrapped protocol gets [`ConnectionLost::TimedOut`](crate::protocol::ConnectionLost::TimedOut) |
//! | `TimeoutMixin`: `timeOut`, `setTimeout`, `resetTimeout` | a [`Timeout`] field: [`period`](Timeout::period), [`set_timeout`](Timeout::set_timeout), [`reset_timeout`](Timeout::reset_timeout) |
//! | `TimeoutMixin.timeoutConnection` | [`TimeoutMixin::timeout_connection`], delivered by [`WithTimeout`] |
//! | `callLater` overridden in tests | the clock given to [`Throttling::new`], [`IdleTimeout::new`], [`Timeout::new`] |
//! | `LimitConnectionsByPeer(f)`, `maxConnectionsPerPeer = 5` | `WrappingFactory::with_policy(f, `[`LimitConnectionsByPeer::new`]`())`, [`max_connections_per_peer`](LimitConnectionsByPeer::max_connections_per_peer) |
//! | `LimitTotalConnectionsFactory`: `connectionLimit`, `overflowProtocol`, `connectionCount` | [`LimitTotalConnectionsFactory`] with [`LimitTotalConnections::new`]`(limit)`, [`overflow_protocol`](LimitTotalConnections::overflow_protocol), [`connection_count`](LimitTotalConnections::connection_count) |
//! | `TrafficLoggingFactory(f, logfilePrefix, lengthLimit)` | [`TrafficLoggingFactory`] with [`TrafficLogging::to_files`]`(prefix).length_limit(l)` |
//! | `TrafficLoggingFactory.open` (overridden), `resetCounter`, `_counter` | [`TrafficLogging::to_writers`], [`reset_counter`](TrafficLogging::reset_counter), [`counter`](TrafficLogging::counter) |
//! | `SpewingFactory` | not provided: [`TrafficLogging::to_writers`] with `stderr` does the same |
//! | `logPrefix`, `ProtocolWrapper.stopConsuming` | not provided (no log prefixes, no such transport call) |
//!
//! Tests: `tests/policies_wrapper.rs`, `tests/policies_throttling.rs`,
//! `tests/policies_timeout.rs`, `tests/policies_timeout_mixin.rs`,
//! `tests/policies_limits.rs`, `tests/policies_logging.rs`.

mod limits;
mod logging;
mod throttling;
pub mod timeout;
mod wrapper;

pub use limits::{
    LimitConnectionsByPeer, LimitTotalConnections, LimitTotalConnectionsFactory,
    DEFAULT_MAX_CONNECTIONS_PER_PEER,
};
pub use logging::{TrafficLog, TrafficLogging, TrafficLoggingFactory};
pub use throttling::{Throttling, ThrottlingFactory};
pub use timeout::{
    IdleState, IdleTimeout, Timeout, TimeoutFactory, TimeoutMixin, WithTimeout,
    DEFAULT_TIMEOUT_PERIOD,
};
pub use wrapper::{
    Plain, Policy, ProtocolWrapper, Protocols, Wrapped, WrapperTransport, WrappingFactory,
};
