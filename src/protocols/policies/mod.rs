//! Policies around any factory's protocols (Twisted's `twisted.protocols.policies`): so
//! far the wrapper they are built on.
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
//! use torsion::protocol::{for_protocol, Protocol};
//! use torsion::protocols::policies::WrappingFactory;
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
//! let counted = WrappingFactory::new(for_protocol(|| Echo));
//! let port = reactor.listen_tcp(0, counted.clone(), 50, "127.0.0.1")?;
//! // ... `counted.protocols()` are the live connections.
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
//! Policy timers act on transports only, never on a protocol.
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
//! | `logPrefix`, `ProtocolWrapper.stopConsuming` | not provided (no log prefixes, no such transport call) |
//!
//! Tests: `tests/policies_wrapper.rs`.

mod wrapper;

pub use wrapper::{
    Plain, Policy, ProtocolWrapper, Protocols, Wrapped, WrapperTransport, WrappingFactory,
};
