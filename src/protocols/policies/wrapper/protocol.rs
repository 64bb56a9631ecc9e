//! [`ProtocolWrapper`]: the protocol half of a wrapper, owned by the real connection.

use std::fmt;
use std::rc::Rc;

use super::{Policy, Wrapped, WrapperTransport};
use crate::protocol::{ConnectionLost, Protocol};
use crate::transport::Transport;

/// The protocol the real transport drives (the protocol half of Twisted's
/// `ProtocolWrapper`): it owns the wrapped protocol and passes each event to it through the
/// [`Policy`]'s hooks, handing it the [`WrapperTransport`] as its transport.
///
/// Made by [`WrappingFactory`](super::WrappingFactory) (`build_protocol` boxes one;
/// [`build_wrapper`](super::WrappingFactory::build_wrapper) gives the concrete type, handy
/// in tests). On `connection_made` it joins the factory's
/// [`protocols`](super::WrappingFactory::protocols); on `connection_lost` it leaves them
/// and the policy [releases](Policy::release) the connection before the wrapped protocol
/// hears of the loss, as in Twisted. Dropped without a `connection_lost` (its connection
/// never started), it releases the connection then.
///
/// The wrapped protocol is kept after `connection_lost` (nothing refers back to the
/// wrapper, so there is no cycle to break), so a test can still look at it.
///
/// # Examples
///
/// ```
/// use torsion::protocol::{for_protocol, Address, ConnectionLost, Protocol};
/// use torsion::protocols::policies::WrappingFactory;
/// use torsion::testing::Driver;
/// use torsion::transport::Transport;
///
/// #[derive(Default)]
/// struct Hangup {
///     lost: Option<ConnectionLost>,
/// }
/// impl Protocol for Hangup {
///     fn data_received(&mut self, t: &Transport, _: &[u8]) {
///         t.write(b"bye");
///         t.lose_connection();
///     }
///     fn connection_lost(&mut self, _: &Transport, reason: ConnectionLost) {
///         self.lost = Some(reason);
///     }
/// }
///
/// let factory = WrappingFactory::new(for_protocol(Hangup::default));
/// let d = Driver::new(factory.build_wrapper(&Address::Memory("peer".into())).unwrap());
/// d.data_received(b"hi");
/// assert_eq!(d.take_written(), b"bye");
/// d.run_pending();
/// let clean = d.with_protocol(|w| w.wrapped_as::<Hangup>().unwrap().lost.as_ref().unwrap().is_clean());
/// assert!(clean);
/// ```
pub struct ProtocolWrapper<P: Policy> {
    wrapper: Rc<WrapperTransport<P>>,
    transport: Transport,
    protocol: Box<dyn Protocol>,
    lost: bool,
}

impl<P: Policy> ProtocolWrapper<P> {
    pub(super) fn new(wrapper: Rc<WrapperTransport<P>>, protocol: Box<dyn Protocol>) -> Self {
        let transport = wrapper.transport();
        ProtocolWrapper {
            wrapper,
            transport,
            protocol,
            lost: false,
        }
    }

    /// The transport half, shared with the wrapped protocol's [`Transport`].
    pub fn wrapper(&self) -> &Rc<WrapperTransport<P>> {
        &self.wrapper
    }

    /// The wrapped protocol (Twisted's `wrappedProtocol`).
    pub fn wrapped_protocol(&mut self) -> &mut dyn Protocol {
        &mut *self.protocol
    }

    /// The wrapped protocol if it is a `T`.
    pub fn wrapped_as<T: Protocol>(&mut self) -> Option<&mut T> {
        let protocol: &mut dyn Protocol = &mut *self.protocol;
        let any: &mut dyn std::any::Any = protocol;
        any.downcast_mut::<T>()
    }

    /// Runs a protocol-side hook, if the connection is made and not lost.
    fn with_hook(&mut self, hook: impl FnOnce(&P, Wrapped<'_, P>)) {
        if self.lost {
            return;
        }
        let Some(lower) = self.wrapper.lower() else {
            return;
        };
        let wrapped = Wrapped {
            wrapper: &self.wrapper,
            lower,
            transport: &self.transport,
            protocol: &mut *self.protocol,
        };
        hook(self.wrapper.policy(), wrapped);
    }
}

impl<P: Policy> Protocol for ProtocolWrapper<P> {
    fn connection_made(&mut self, transport: &Transport) {
        self.wrapper.connect(transport);
        self.with_hook(|policy, wrapped| policy.connection_made(wrapped));
    }

    fn data_received(&mut self, _transport: &Transport, data: &[u8]) {
        self.with_hook(|policy, wrapped| policy.data_received(wrapped, data));
    }

    fn connection_lost(&mut self, _transport: &Transport, reason: ConnectionLost) {
        self.wrapper.finish();
        self.with_hook(|policy, wrapped| policy.connection_lost(wrapped, reason));
        self.lost = true;
    }

    fn half_closeable(&self) -> bool {
        self.protocol.half_closeable()
    }

    fn read_connection_lost(&mut self, _transport: &Transport) {
        if !self.lost {
            self.protocol.read_connection_lost(&self.transport);
        }
    }

    fn reading_resumed(&mut self, _transport: &Transport) {
        if !self.lost {
            self.protocol.reading_resumed(&self.transport);
        }
    }

    fn handshake_completed(&mut self, _transport: &Transport) {
        if !self.lost {
            self.protocol.handshake_completed(&self.transport);
        }
    }

    fn write_connection_lost(&mut self, _transport: &Transport) {
        if !self.lost {
            self.protocol.write_connection_lost(&self.transport);
        }
    }
}

impl<P: Policy> Drop for ProtocolWrapper<P> {
    fn drop(&mut self) {
        self.wrapper.finish();
    }
}

impl<P: Policy> fmt::Debug for ProtocolWrapper<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProtocolWrapper")
            .field("wrapper", &self.wrapper)
            .field("lost", &self.lost)
            .finish()
    }
}
