//! How a client endpoint turns "connect with this factory" into a Deferred: Twisted's
//! `_WrappingFactory` and `_WrappingProtocol`.
//!
//! Each `connect` makes one [`Attempt`], a [`ClientFactory`] handed to the reactor in
//! place of the user's factory. It builds the user's protocol inside a wrapper whose
//! `connection_made` (after the user's) fires the Deferred with the transport; a failed
//! attempt errbacks it; cancelling it stops the connector.
//!
//! Ownership: the connector holds the attempt (as its factory); the attempt holds the
//! Deferred's producer handle and the connector only until the Deferred fires (so no `Rc`
//! cycle outlives the attempt); the Deferred's canceller holds the attempt weakly.
//!
//! Tests: `tests/endpoints_fake.rs`, `tests/endpoints_tcp.rs`.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::{Rc, Weak};

use super::error::{ConnectingCancelled, NoProtocol};
use crate::defer::{Deferred, Failure};
use crate::protocol::{Address, ClientFactory, ConnectionLost, Factory, Protocol};
use crate::tcp::{Connector, Destination};
use crate::transport::Transport;

/// Connects with `start`, which gets the wrapping factory and returns the connector, and
/// gives the Deferred of the connection.
pub(crate) fn connect_with(
    factory: Rc<dyn Factory>,
    destination: Destination,
    start: impl FnOnce(Rc<dyn ClientFactory>) -> Connector,
) -> Deferred<Transport> {
    let attempt = Rc::new_cyclic(|me: &Weak<Attempt>| {
        let weak = me.clone();
        let cancelled_dest = destination.clone();
        let deferred = Deferred::with_canceller(move |d: &Deferred<Transport>| {
            let connector = weak.upgrade().and_then(|a| a.finish());
            let _ = d.errback(ConnectingCancelled {
                destination: cancelled_dest,
            });
            // Its `client_connection_failed` comes back to an attempt that is finished.
            if let Some(connector) = connector {
                connector.stop_connecting();
            }
        });
        Attempt {
            me: me.clone(),
            factory,
            destination,
            deferred: RefCell::new(Some(deferred)),
            connector: RefCell::new(None),
            started: Cell::new(false),
        }
    });
    let d = attempt
        .deferred
        .borrow()
        .clone()
        .expect("fresh attempt has its Deferred");
    let connector = start(attempt.clone());
    // A reactor that did not call `started_connecting` still gives the connector here.
    let unfinished = attempt.deferred.borrow().is_some();
    if unfinished && attempt.connector.borrow().is_none() {
        *attempt.connector.borrow_mut() = Some(connector);
    }
    d
}

/// One connection attempt of a client endpoint (Twisted's `_WrappingFactory`).
pub(crate) struct Attempt {
    me: Weak<Attempt>,
    factory: Rc<dyn Factory>,
    destination: Destination,
    /// The producer's handle, until fired.
    deferred: RefCell<Option<Deferred<Transport>>>,
    /// The connector, while the attempt may still be cancelled.
    connector: RefCell<Option<Connector>>,
    /// `start_factory` was passed on and `stop_factory` is owed.
    started: Cell<bool>,
}

impl Attempt {
    /// Ends the attempt: forgets the Deferred and the connector (returned, for a cancel).
    fn finish(&self) -> Option<Connector> {
        let deferred = self.deferred.borrow_mut().take();
        drop(deferred);
        self.connector.borrow_mut().take()
    }

    /// Fires the Deferred unless it already was (or was cancelled).
    fn fire(&self, result: Result<Transport, Failure>) {
        let deferred = self.deferred.borrow_mut().take();
        let connector = self.connector.borrow_mut().take();
        drop(connector);
        if let Some(d) = deferred {
            // A late result after a cancel is swallowed by the Deferred itself.
            let _ = d.fire(result);
        }
    }
}

impl Factory for Attempt {
    fn build_protocol(&self, addr: &Address) -> Option<Box<dyn Protocol>> {
        match self.factory.build_protocol(addr) {
            Some(inner) => Some(Box::new(WrappingProtocol {
                inner,
                attempt: self.me.upgrade(),
            })),
            None => {
                self.fire(Err(Failure::new(NoProtocol)));
                None
            }
        }
    }

    fn start_factory(&self) {
        if !self.started.replace(true) {
            crate::protocol::do_start(&self.factory);
        }
    }

    fn stop_factory(&self) {
        if self.started.replace(false) {
            crate::protocol::do_stop(&self.factory);
        }
    }
}

impl ClientFactory for Attempt {
    fn started_connecting(&self, connector: &Connector) {
        if self.deferred.borrow().is_some() {
            *self.connector.borrow_mut() = Some(connector.clone());
        }
    }

    fn client_connection_failed(&self, _connector: &Connector, reason: Failure) {
        self.fire(Err(reason));
    }
}

impl Drop for Attempt {
    /// An attempt dropped while started (its reactor was closed mid-connection, say)
    /// still owes `stop_factory`, and its count must not outlive the factory.
    fn drop(&mut self) {
        if self.started.replace(false) {
            crate::protocol::do_stop(&self.factory);
        }
    }
}

impl fmt::Debug for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attempt")
            .field("destination", &self.destination)
            .field("pending", &self.deferred.borrow().is_some())
            .finish()
    }
}

/// The user's protocol, plus the firing of the Deferred (Twisted's `_WrappingProtocol`).
struct WrappingProtocol {
    inner: Box<dyn Protocol>,
    attempt: Option<Rc<Attempt>>,
}

impl Protocol for WrappingProtocol {
    fn connection_made(&mut self, transport: &Transport) {
        self.inner.connection_made(transport);
        if let Some(attempt) = self.attempt.take() {
            attempt.fire(Ok(transport.clone()));
        }
    }

    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        self.inner.data_received(transport, data)
    }

    fn connection_lost(&mut self, transport: &Transport, reason: ConnectionLost) {
        self.inner.connection_lost(transport, reason)
    }

    fn half_closeable(&self) -> bool {
        self.inner.half_closeable()
    }

    fn read_connection_lost(&mut self, transport: &Transport) {
        self.inner.read_connection_lost(transport)
    }

    fn write_connection_lost(&mut self, transport: &Transport) {
        self.inner.write_connection_lost(transport)
    }

    fn reading_resumed(&mut self, transport: &Transport) {
        self.inner.reading_resumed(transport)
    }
    fn handshake_completed(&mut self, transport: &Transport) {
        self.inner.handshake_completed(transport)
    }
}
