//! [`Factory`], [`ClientFactory`] and the [`for_protocol`] convenience.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

use super::{Address, ConnectionLost, Protocol};
use crate::defer::Failure;
use crate::tcp::Connector;

/// Makes a protocol for each new connection (Twisted's `Factory`). One factory may serve
/// several listening ports; it is shared as an `Rc` and takes `&self`, so state shared by
/// all its connections lives in `Cell`s or `RefCell`s inside it (or in an `Rc` it hands to
/// each protocol).
///
/// # Examples
///
/// A factory that counts connections and refuses the eleventh:
///
/// ```
/// use std::cell::Cell;
/// use torsion::protocol::{Address, Factory, Protocol};
/// use torsion::transport::Transport;
///
/// struct Hello;
/// impl Protocol for Hello {
///     fn connection_made(&mut self, transport: &Transport) {
///         transport.write(b"hello\r\n");
///         transport.lose_connection();
///     }
///     fn data_received(&mut self, _: &Transport, _: &[u8]) {}
/// }
///
/// #[derive(Default)]
/// struct Limited {
///     served: Cell<u32>,
/// }
///
/// impl Factory for Limited {
///     fn build_protocol(&self, _addr: &Address) -> Option<Box<dyn Protocol>> {
///         self.served.set(self.served.get() + 1);
///         (self.served.get() <= 10).then(|| Box::new(Hello) as Box<dyn Protocol>)
///     }
/// }
/// ```
pub trait Factory: 'static {
    /// A protocol for a connection from (or to) `addr`, or `None` to refuse it (the
    /// connection is closed at once).
    fn build_protocol(&self, addr: &Address) -> Option<Box<dyn Protocol>>;

    /// Called when the first port using this factory starts listening (or the first
    /// connection attempt starts), once however many ports share the factory.
    fn start_factory(&self) {}

    /// Called when the last port using this factory stops listening.
    fn stop_factory(&self) {}
}

/// A [`Factory`] that also hears about client connection attempts (Twisted's
/// `ClientFactory`). All methods have empty defaults.
pub trait ClientFactory: Factory {
    /// A connection attempt has started.
    fn started_connecting(&self, connector: &Connector) {
        let _ = connector;
    }

    /// A connection attempt failed (refused, unreachable, timed out, the name did not
    /// resolve). `connector.connect()` tries again.
    fn client_connection_failed(&self, connector: &Connector, reason: Failure) {
        let _ = (connector, reason);
    }

    /// An established connection ended (after the protocol's `connection_lost`).
    /// `connector.connect()` reconnects.
    fn client_connection_lost(&self, connector: &Connector, reason: &ConnectionLost) {
        let _ = (connector, reason);
    }
}

thread_local! {
    /// How many ports and connectors use each factory (keyed by its address; an entry
    /// exists only while a user holds the factory, so the address cannot be reused).
    static IN_USE: RefCell<HashMap<*const (), usize>> = RefCell::new(HashMap::new());
}

/// A port or connection attempt starts using `factory`: the first one calls its
/// `start_factory` (Twisted's `doStart`, which counts `numPorts`). Every listening port,
/// connector and endpoint of this thread shares the count, so `start_factory` runs once
/// however many of them share a factory.
pub fn do_start(factory: &Rc<dyn Factory>) {
    let key = Rc::as_ptr(factory) as *const ();
    let first = IN_USE.with(|m| {
        let mut m = m.borrow_mut();
        let n = m.entry(key).or_insert(0);
        *n += 1;
        *n == 1
    });
    if first {
        factory.start_factory();
    }
}

/// A port or connection attempt stops using `factory`: the last one calls its
/// `stop_factory` (Twisted's `doStop`).
pub fn do_stop(factory: &Rc<dyn Factory>) {
    let key = Rc::as_ptr(factory) as *const ();
    let last = IN_USE.with(|m| {
        let mut m = m.borrow_mut();
        match m.get_mut(&key) {
            Some(n) if *n > 1 => {
                *n -= 1;
                false
            }
            Some(_) => {
                m.remove(&key);
                true
            }
            None => false,
        }
    });
    if last {
        factory.stop_factory();
    }
}

/// A factory that builds every protocol with one function: Twisted's
/// `Factory.forProtocol`. Made by [`for_protocol`].
pub struct ForProtocol<F> {
    make: F,
}

/// A factory (usable for servers and clients) whose protocols come from `make`.
///
/// # Examples
///
/// ```
/// use torsion::protocol::{for_protocol, Protocol};
/// use torsion::transport::Transport;
///
/// struct Echo;
/// impl Protocol for Echo {
///     fn data_received(&mut self, transport: &Transport, data: &[u8]) {
///         transport.write(data);
///     }
/// }
///
/// let factory = for_protocol(|| Echo);
/// # let _ = factory;
/// ```
pub fn for_protocol<P, F>(make: F) -> Rc<ForProtocol<F>>
where
    P: Protocol,
    F: Fn() -> P + 'static,
{
    Rc::new(ForProtocol { make })
}

impl<P: Protocol, F: Fn() -> P + 'static> Factory for ForProtocol<F> {
    fn build_protocol(&self, _addr: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new((self.make)()))
    }
}

impl<P: Protocol, F: Fn() -> P + 'static> ClientFactory for ForProtocol<F> {}

impl<F> fmt::Debug for ForProtocol<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ForProtocol")
    }
}
