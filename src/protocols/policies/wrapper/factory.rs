//! [`WrappingFactory`]: wraps a factory's protocols and keeps the live ones.

use std::cell::Cell;
use std::fmt;
use std::rc::Rc;

use super::{Plain, Policy, ProtocolWrapper, Protocols, WrapperTransport};
use crate::defer::Failure;
use crate::protocol::{
    do_start, do_stop, Address, ClientFactory, ConnectionLost, Factory, Protocol,
};
use crate::tcp::Connector;

/// A factory that wraps every protocol of another factory in a [`ProtocolWrapper`] under a
/// [`Policy`], and keeps track of the live ones (Twisted's `WrappingFactory`, and with a
/// policy, its subclasses: see the [module documentation](super::super) for the list).
///
/// `start_factory` / `stop_factory` are passed on to the wrapped factory through
/// [`do_start`] / [`do_stop`], so a factory used both wrapped and directly still starts
/// once. Made with [`for_client`](WrappingFactory::for_client) (or
/// [`client_with_policy`](WrappingFactory::client_with_policy)), it also passes on the
/// [`ClientFactory`] calls; made from a plain [`Factory`], those are ignored.
///
/// # Examples
///
/// Counting a server's live connections:
///
/// ```
/// use torsion::protocol::{for_protocol, Protocol};
/// use torsion::protocols::policies::WrappingFactory;
/// use torsion::Reactor;
/// use torsion::transport::Transport;
///
/// struct Echo;
/// impl Protocol for Echo {
///     fn data_received(&mut self, t: &Transport, data: &[u8]) {
///         t.write(data);
///     }
/// }
///
/// let reactor = Reactor::new()?;
/// let factory = WrappingFactory::new(for_protocol(|| Echo));
/// let port = reactor.listen_tcp(0, factory.clone(), 50, "127.0.0.1")?;
/// assert_eq!(factory.protocols().len(), 0);
/// # drop(port);
/// # reactor.close();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct WrappingFactory<P: Policy = Plain> {
    wrapped: Rc<dyn Factory>,
    client: Option<Rc<dyn ClientFactory>>,
    policy: Rc<P>,
    protocols: Protocols<P>,
    /// `start_factory` was passed on and `stop_factory` is owed.
    started: Cell<bool>,
}

impl WrappingFactory<Plain> {
    /// Wraps `wrapped`'s protocols, changing nothing but keeping track of them.
    pub fn new(wrapped: Rc<dyn Factory>) -> Rc<WrappingFactory> {
        WrappingFactory::with_policy(wrapped, Plain)
    }

    /// [`new`](WrappingFactory::new) for a client factory, whose
    /// `started_connecting`, `client_connection_failed` and `client_connection_lost` are
    /// passed on.
    pub fn for_client(wrapped: Rc<dyn ClientFactory>) -> Rc<WrappingFactory> {
        WrappingFactory::client_with_policy(wrapped, Plain)
    }
}

impl<P: Policy> WrappingFactory<P> {
    /// Wraps `wrapped`'s protocols under `policy`.
    pub fn with_policy(wrapped: Rc<dyn Factory>, policy: P) -> Rc<WrappingFactory<P>> {
        Rc::new(WrappingFactory {
            wrapped,
            client: None,
            policy: Rc::new(policy),
            protocols: Protocols::new(),
            started: Cell::new(false),
        })
    }

    /// [`with_policy`](WrappingFactory::with_policy) for a client factory, whose
    /// [`ClientFactory`] calls are passed on.
    pub fn client_with_policy(wrapped: Rc<dyn ClientFactory>, policy: P) -> Rc<WrappingFactory<P>> {
        let as_factory: Rc<dyn Factory> = wrapped.clone();
        Rc::new(WrappingFactory {
            wrapped: as_factory,
            client: Some(wrapped),
            policy: Rc::new(policy),
            protocols: Protocols::new(),
            started: Cell::new(false),
        })
    }

    /// The wrapped factory (Twisted's `wrappedFactory`).
    pub fn wrapped_factory(&self) -> &Rc<dyn Factory> {
        &self.wrapped
    }

    /// The policy.
    pub fn policy(&self) -> &P {
        &self.policy
    }

    /// The live connections (Twisted's `protocols`).
    pub fn protocols(&self) -> &Protocols<P> {
        &self.protocols
    }

    /// What `build_protocol` returns, unboxed: the policy [admits](Policy::admit) the
    /// connection, builds the protocol to wrap, and the wrapper is made; `None` if the
    /// policy or the wrapped factory refused (a connection admitted and then not built is
    /// released at once).
    pub fn build_wrapper(&self, addr: &Address) -> Option<ProtocolWrapper<P>> {
        let conn = self.policy.admit(addr, &self.protocols)?;
        let Some(protocol) = self.policy.build_protocol(&conn, addr, &*self.wrapped) else {
            self.policy.release(&conn);
            return None;
        };
        let wrapper = WrapperTransport::new(
            self.policy.clone(),
            conn,
            addr.clone(),
            self.protocols.downgrade(),
        );
        Some(ProtocolWrapper::new(wrapper, protocol))
    }
}

impl<P: Policy> Factory for WrappingFactory<P> {
    fn build_protocol(&self, addr: &Address) -> Option<Box<dyn Protocol>> {
        self.build_wrapper(addr)
            .map(|w| Box::new(w) as Box<dyn Protocol>)
    }

    fn start_factory(&self) {
        if !self.started.replace(true) {
            do_start(&self.wrapped);
        }
    }

    fn stop_factory(&self) {
        if self.started.replace(false) {
            do_stop(&self.wrapped);
        }
    }
}

impl<P: Policy> ClientFactory for WrappingFactory<P> {
    fn started_connecting(&self, connector: &Connector) {
        if let Some(client) = &self.client {
            client.started_connecting(connector);
        }
    }

    fn client_connection_failed(&self, connector: &Connector, reason: Failure) {
        if let Some(client) = &self.client {
            client.client_connection_failed(connector, reason);
        }
    }

    fn client_connection_lost(&self, connector: &Connector, reason: &ConnectionLost) {
        if let Some(client) = &self.client {
            client.client_connection_lost(connector, reason);
        }
    }
}

impl<P: Policy> Drop for WrappingFactory<P> {
    /// A factory dropped while started still owes the wrapped factory its `stop_factory`.
    fn drop(&mut self) {
        if self.started.replace(false) {
            do_stop(&self.wrapped);
        }
    }
}

impl<P: Policy> fmt::Debug for WrappingFactory<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WrappingFactory")
            .field("policy", &std::any::type_name::<P>())
            .field("protocols", &self.protocols.len())
            .field("client", &self.client.is_some())
            .finish()
    }
}
