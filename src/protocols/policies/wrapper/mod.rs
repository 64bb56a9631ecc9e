//! The wrapper every policy is built on: [`Policy`] (what a wrapper does), [`WrappingFactory`]
//! (builds a [`ProtocolWrapper`] around each protocol of a wrapped factory and keeps the live
//! ones in [`Protocols`]) and [`WrapperTransport`] (the transport the wrapped protocol sees).
//!
//! Twisted's `ProtocolWrapper` is one object that is the real transport's protocol and the
//! wrapped protocol's transport at once. Here those are two halves of one connection:
//!
//! ```text
//!   real transport ──calls──▶ ProtocolWrapper<P> ──calls──▶ wrapped protocol
//!   (TCP, TLS, a              (owned by the connection;     (owned by the wrapper)
//!    StringTransport...)       owns the wrapped protocol)          │
//!          ▲                                                       │ writes, closes,
//!          └──────forwards────── WrapperTransport<P> ◀─────────────┘ pauses...
//!                                (shared, an Rc; the wrapped protocol's Transport)
//! ```
//!
//! The wrapped protocol is owned by the [`ProtocolWrapper`], never by the shared
//! [`WrapperTransport`], so a wrapped protocol that keeps a clone of its transport makes no
//! reference cycle (Twisted has to break one by hand in `connectionLost`).
//!
//! Tests: `tests/policies_wrapper.rs`.

mod factory;
mod protocol;
mod transport;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::rc::{Rc, Weak};

use crate::protocol::{Address, ConnectionLost, Factory, Protocol};
use crate::transport::Transport;

pub use factory::WrappingFactory;
pub use protocol::ProtocolWrapper;
pub use transport::WrapperTransport;

/// What a [`WrappingFactory`] does to the connections it wraps: the methods a subclass of
/// Twisted's `WrappingFactory` / `ProtocolWrapper` overrides, in one trait.
///
/// A policy is shared by all the factory's connections (`&self`; keep counters in `Cell`s).
/// Each connection it admits gets its own [`Conn`](Policy::Conn) state, reachable from every
/// hook through [`WrapperTransport::state`].
///
/// Every hook has a default that passes the call straight through, so a policy overrides
/// only what it changes. Protocol-side hooks receive a [`Wrapped`] and decide whether, when
/// and with what to call the wrapped protocol ([`Wrapped::data_received`] ...); transport-side
/// hooks receive the real transport and decide what reaches it.
///
/// # Re-entrancy
///
/// Transport-side hooks run inside the wrapped protocol's callbacks, which run inside the
/// protocol-side hooks: keep the policy's state in `Cell`s and never hold a `RefCell` borrow
/// across a call to the wrapped protocol. Hooks follow the transport rule: a transport-side
/// hook must not call into the wrapped protocol (it is running).
///
/// # Examples
///
/// A policy that counts the bytes each connection received and refuses a sixth connection:
///
/// ```
/// use std::cell::Cell;
/// use torsion::protocol::{for_protocol, Address, Protocol};
/// use torsion::protocols::policies::{Policy, Protocols, Wrapped, WrappingFactory};
/// use torsion::testing::Driver;
/// use torsion::transport::Transport;
///
/// #[derive(Default)]
/// struct Metered;
///
/// impl Policy for Metered {
///     type Conn = Cell<usize>; // bytes received on this connection
///
///     fn admit(&self, _: &Address, protocols: &Protocols<Self>) -> Option<Cell<usize>> {
///         (protocols.len() < 5).then(|| Cell::new(0))
///     }
///
///     fn data_received(&self, mut wrapped: Wrapped<'_, Self>, data: &[u8]) {
///         let count = wrapped.wrapper().state();
///         count.set(count.get() + data.len());
///         wrapped.data_received(data);
///     }
/// }
///
/// struct Echo;
/// impl Protocol for Echo {
///     fn data_received(&mut self, t: &Transport, data: &[u8]) {
///         t.write(data);
///     }
/// }
///
/// let factory = WrappingFactory::with_policy(for_protocol(|| Echo), Metered);
/// let d = Driver::new(factory.build_wrapper(&Address::Memory("peer".into())).unwrap());
/// d.data_received(b"hello");
/// assert_eq!(d.written(), b"hello");
/// assert_eq!(d.with_protocol(|w| w.wrapper().state().get()), 5);
/// assert_eq!(factory.protocols().len(), 1);
/// ```
pub trait Policy: Sized + 'static {
    /// The state of one admitted connection (`()` if the policy keeps none).
    type Conn: 'static;

    /// A connection from (or to) `addr` is about to be built: its state, or `None` to refuse
    /// it (Twisted's `buildProtocol` returning `None`). Called before the wrapped factory
    /// builds anything; `protocols` are the factory's connections now. Every admitted
    /// connection is [released](Policy::release) exactly once later.
    fn admit(&self, addr: &Address, protocols: &Protocols<Self>) -> Option<Self::Conn>;

    /// Builds the protocol to wrap for an admitted connection. The default asks the wrapped
    /// factory; `None` refuses the connection (and releases it).
    fn build_protocol(
        &self,
        conn: &Self::Conn,
        addr: &Address,
        wrapped: &dyn Factory,
    ) -> Option<Box<dyn Protocol>> {
        let _ = conn;
        wrapped.build_protocol(addr)
    }

    /// An admitted connection is over (Twisted's `unregisterProtocol`): it was lost (called
    /// just before the wrapped protocol's `connection_lost`), or it never started (the
    /// protocol could not be built, or the wrapper was dropped unconnected).
    fn release(&self, conn: &Self::Conn) {
        let _ = conn;
    }

    /// The connection is up. The default tells the wrapped protocol.
    fn connection_made(&self, mut wrapped: Wrapped<'_, Self>) {
        wrapped.connection_made()
    }

    /// Bytes arrived. The default hands them to the wrapped protocol.
    fn data_received(&self, mut wrapped: Wrapped<'_, Self>, data: &[u8]) {
        wrapped.data_received(data)
    }

    /// The connection is closed. The default tells the wrapped protocol, with the same
    /// reason.
    fn connection_lost(&self, mut wrapped: Wrapped<'_, Self>, reason: ConnectionLost) {
        wrapped.connection_lost(reason)
    }

    /// The wrapped protocol writes. The default writes to the real transport.
    fn write(&self, wrapper: &WrapperTransport<Self>, lower: &Transport, data: &[u8]) {
        let _ = wrapper;
        lower.write(data)
    }

    /// The wrapped protocol writes several buffers. The default passes them on as one
    /// gathered write.
    fn write_sequence(&self, wrapper: &WrapperTransport<Self>, lower: &Transport, data: &[&[u8]]) {
        let _ = wrapper;
        lower.write_sequence(data)
    }

    /// The wrapped protocol closes its transport. The default closes the real one.
    fn lose_connection(&self, wrapper: &WrapperTransport<Self>, lower: &Transport) {
        let _ = wrapper;
        lower.lose_connection()
    }
}

/// The policy of a plain [`WrappingFactory`]: admits every connection and changes nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Plain;

impl Policy for Plain {
    type Conn = ();

    fn admit(&self, _addr: &Address, _protocols: &Protocols<Self>) -> Option<()> {
        Some(())
    }
}

/// A protocol-side hook's view of the connection: the wrapped protocol, the transport it
/// sees, and the real transport underneath. Its methods pass a call on to the wrapped
/// protocol (Twisted's `ProtocolWrapper.dataReceived(self, data)` calling
/// `self.wrappedProtocol.dataReceived(data)`).
pub struct Wrapped<'a, P: Policy> {
    pub(super) wrapper: &'a WrapperTransport<P>,
    pub(super) lower: &'a Transport,
    pub(super) transport: &'a Transport,
    pub(super) protocol: &'a mut dyn Protocol,
}

impl<'a, P: Policy> Wrapped<'a, P> {
    /// The shared half of the wrapper: the connection's [`state`](WrapperTransport::state),
    /// read and write holds.
    pub fn wrapper(&self) -> &'a WrapperTransport<P> {
        self.wrapper
    }

    /// The real transport (Twisted's `wrapper.transport`).
    pub fn lower(&self) -> &'a Transport {
        self.lower
    }

    /// The transport the wrapped protocol sees (the wrapper itself, in Twisted).
    pub fn transport(&self) -> &'a Transport {
        self.transport
    }

    /// The wrapped protocol.
    pub fn protocol(&mut self) -> &mut dyn Protocol {
        self.protocol
    }

    /// Calls the wrapped protocol's `connection_made`.
    pub fn connection_made(&mut self) {
        self.protocol.connection_made(self.transport)
    }

    /// Calls the wrapped protocol's `data_received`.
    pub fn data_received(&mut self, data: &[u8]) {
        self.protocol.data_received(self.transport, data)
    }

    /// Calls the wrapped protocol's `connection_lost`.
    pub fn connection_lost(&mut self, reason: ConnectionLost) {
        self.protocol.connection_lost(self.transport, reason)
    }
}

impl<P: Policy> fmt::Debug for Wrapped<'_, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wrapped")
            .field("wrapper", self.wrapper)
            .finish()
    }
}

/// The live connections of a [`WrappingFactory`] (Twisted's `WrappingFactory.protocols`):
/// a connection is in from its `connection_made` until it is lost. A cheap handle (`Clone`);
/// every clone sees the same set.
///
/// # Examples
///
/// ```
/// use torsion::protocol::{for_protocol, Address, Protocol};
/// use torsion::protocols::policies::WrappingFactory;
/// use torsion::testing::Driver;
/// use torsion::transport::Transport;
///
/// struct Quiet;
/// impl Protocol for Quiet {
///     fn data_received(&mut self, _: &Transport, _: &[u8]) {}
/// }
///
/// let factory = WrappingFactory::new(for_protocol(|| Quiet));
/// let addr = Address::Memory("peer".into());
/// let wrapper = factory.build_wrapper(&addr).unwrap();
/// assert!(factory.protocols().is_empty()); // built, not connected yet
/// let d = Driver::new(wrapper);
/// assert_eq!(factory.protocols().len(), 1);
/// // Say goodbye to everyone:
/// for t in factory.protocols().transports() {
///     t.write(b"bye");
/// }
/// assert_eq!(d.written(), b"bye");
/// d.handle().abort_connection();
/// d.run_pending();
/// assert!(factory.protocols().is_empty());
/// ```
pub struct Protocols<P: Policy> {
    inner: Rc<RefCell<Registry<P>>>,
}

pub(super) struct Registry<P: Policy> {
    next: u64,
    live: BTreeMap<u64, Rc<WrapperTransport<P>>>,
}

impl<P: Policy> Protocols<P> {
    pub(super) fn new() -> Protocols<P> {
        Protocols {
            inner: Rc::new(RefCell::new(Registry {
                next: 0,
                live: BTreeMap::new(),
            })),
        }
    }

    pub(super) fn downgrade(&self) -> Weak<RefCell<Registry<P>>> {
        Rc::downgrade(&self.inner)
    }

    /// How many connections are live.
    pub fn len(&self) -> usize {
        self.inner.borrow().live.len()
    }

    /// True if no connection is live.
    pub fn is_empty(&self) -> bool {
        self.inner.borrow().live.is_empty()
    }

    /// The live connections' wrappers, oldest first.
    pub fn to_vec(&self) -> Vec<Rc<WrapperTransport<P>>> {
        self.inner.borrow().live.values().cloned().collect()
    }

    /// The transports the live connections' wrapped protocols see, oldest first.
    pub fn transports(&self) -> Vec<Transport> {
        self.to_vec().iter().map(|w| w.transport()).collect()
    }
}

impl<P: Policy> Registry<P> {
    pub(super) fn insert(&mut self, wrapper: Rc<WrapperTransport<P>>) -> u64 {
        let id = self.next;
        self.next += 1;
        self.live.insert(id, wrapper);
        id
    }

    pub(super) fn remove(&mut self, id: u64) -> Option<Rc<WrapperTransport<P>>> {
        self.live.remove(&id)
    }
}

impl<P: Policy> Clone for Protocols<P> {
    fn clone(&self) -> Self {
        Protocols {
            inner: self.inner.clone(),
        }
    }
}

impl<P: Policy> fmt::Debug for Protocols<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Protocols")
            .field("len", &self.len())
            .finish()
    }
}
