//! Connection limits: [`LimitConnectionsByPeer`] and [`LimitTotalConnections`] (Twisted's
//! `LimitConnectionsByPeer` and `LimitTotalConnectionsFactory`).
//!
//! Tests: `tests/policies_limits.rs`.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::rc::Rc;

use super::wrapper::{Policy, Protocols, WrappingFactory};
use crate::protocol::{for_protocol, Address, Factory, Protocol};

/// A [`WrappingFactory`] under [`LimitTotalConnections`] (Twisted's
/// `LimitTotalConnectionsFactory`).
pub type LimitTotalConnectionsFactory = WrappingFactory<LimitTotalConnections>;

/// Twisted's `LimitConnectionsByPeer.maxConnectionsPerPeer`.
pub const DEFAULT_MAX_CONNECTIONS_PER_PEER: usize = 5;

/// Refuses a connection when its peer host already has
/// [`max_connections_per_peer`](LimitConnectionsByPeer::max_connections_per_peer)
/// connections open (Twisted's `LimitConnectionsByPeer`, 5 by default).
///
/// Peers are told apart by host: the IP address of a TCP peer (whatever its port), the
/// whole address otherwise. A connection counts from the moment it is admitted until it is
/// lost (or fails to start).
///
/// # Examples
///
/// ```
/// use torsion::protocol::{for_protocol, Address, Protocol};
/// use torsion::protocols::policies::{LimitConnectionsByPeer, WrappingFactory};
/// use torsion::testing::Driver;
/// use torsion::transport::Transport;
///
/// struct Quiet;
/// impl Protocol for Quiet {
///     fn data_received(&mut self, _: &Transport, _: &[u8]) {}
/// }
///
/// let factory = WrappingFactory::with_policy(
///     for_protocol(|| Quiet),
///     LimitConnectionsByPeer::new().max_connections_per_peer(1),
/// );
/// let alice: Address = "10.0.0.1:1000".parse::<std::net::SocketAddr>().unwrap().into();
/// let alice_again: Address = "10.0.0.1:2000".parse::<std::net::SocketAddr>().unwrap().into();
/// let first = Driver::new(factory.build_wrapper(&alice).unwrap());
/// assert!(factory.build_wrapper(&alice_again).is_none());
/// first.handle().abort_connection();
/// first.run_pending();
/// assert!(factory.build_wrapper(&alice_again).is_some());
/// ```
pub struct LimitConnectionsByPeer {
    max: usize,
    peers: RefCell<HashMap<Address, usize>>,
}

impl LimitConnectionsByPeer {
    /// At most [`DEFAULT_MAX_CONNECTIONS_PER_PEER`] connections per peer.
    pub fn new() -> LimitConnectionsByPeer {
        LimitConnectionsByPeer {
            max: DEFAULT_MAX_CONNECTIONS_PER_PEER,
            peers: RefCell::new(HashMap::new()),
        }
    }

    /// At most `max` connections per peer (Twisted's `maxConnectionsPerPeer`).
    pub fn max_connections_per_peer(mut self, max: usize) -> LimitConnectionsByPeer {
        self.max = max;
        self
    }

    /// How many connections the host of `addr` has now.
    pub fn connections_from(&self, addr: &Address) -> usize {
        self.peers
            .borrow()
            .get(&peer_host(addr))
            .copied()
            .unwrap_or(0)
    }
}

impl Default for LimitConnectionsByPeer {
    fn default() -> Self {
        LimitConnectionsByPeer::new()
    }
}

/// The part of an address that names the peer host.
fn peer_host(addr: &Address) -> Address {
    match addr {
        Address::Tcp(a) => Address::Tcp(SocketAddr::new(a.ip(), 0)),
        other => other.clone(),
    }
}

impl Policy for LimitConnectionsByPeer {
    /// The peer host the connection counts against.
    type Conn = Address;

    fn admit(&self, addr: &Address, _protocols: &Protocols<Self>) -> Option<Address> {
        let host = peer_host(addr);
        let mut peers = self.peers.borrow_mut();
        let count = peers.entry(host.clone()).or_insert(0);
        if *count >= self.max {
            log::info!("refusing a connection from {addr}: {} open already", *count);
            return None;
        }
        *count += 1;
        Some(host)
    }

    fn release(&self, host: &Address) {
        let mut peers = self.peers.borrow_mut();
        if let Some(count) = peers.get_mut(host) {
            *count -= 1;
            if *count == 0 {
                peers.remove(host);
            }
        }
    }
}

impl fmt::Debug for LimitConnectionsByPeer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LimitConnectionsByPeer")
            .field("max", &self.max)
            .field("peers", &*self.peers.borrow())
            .finish()
    }
}

/// Limits the number of simultaneous connections (the policy of Twisted's
/// `LimitTotalConnectionsFactory`, `connectionLimit` and `overflowProtocol`).
///
/// Every connection counts, from the moment it is admitted until it is lost. Beyond the
/// limit, a connection is refused, or, with an
/// [overflow factory](LimitTotalConnections::overflow_factory), given one of its protocols
/// instead of the wrapped factory's (to say "too busy" before closing, say); overflow
/// connections count too.
///
/// # Examples
///
/// ```
/// use torsion::protocol::{for_protocol, Address, Protocol};
/// use torsion::protocols::policies::{LimitTotalConnections, LimitTotalConnectionsFactory};
/// use torsion::testing::Driver;
/// use torsion::transport::Transport;
///
/// struct Hello;
/// impl Protocol for Hello {
///     fn connection_made(&mut self, t: &Transport) {
///         t.write(b"hello\r\n");
///     }
///     fn data_received(&mut self, _: &Transport, _: &[u8]) {}
/// }
///
/// struct Busy;
/// impl Protocol for Busy {
///     fn connection_made(&mut self, t: &Transport) {
///         t.write(b"too busy, try later\r\n");
///         t.lose_connection();
///     }
///     fn data_received(&mut self, _: &Transport, _: &[u8]) {}
/// }
///
/// let factory = LimitTotalConnectionsFactory::with_policy(
///     for_protocol(|| Hello),
///     LimitTotalConnections::new(Some(1)).overflow_protocol(|| Busy),
/// );
/// let addr = Address::Memory("peer".into());
/// let first = Driver::new(factory.build_wrapper(&addr).unwrap());
/// let second = Driver::new(factory.build_wrapper(&addr).unwrap());
/// assert_eq!(first.written(), b"hello\r\n");
/// assert_eq!(second.written(), b"too busy, try later\r\n");
/// assert_eq!(factory.policy().connection_count(), 2);
/// ```
pub struct LimitTotalConnections {
    limit: Option<usize>,
    overflow: Option<Rc<dyn Factory>>,
    count: Cell<usize>,
}

impl LimitTotalConnections {
    /// At most `limit` connections at once (`None`: no limit, only counting), refusing the
    /// others.
    pub fn new(limit: Option<usize>) -> LimitTotalConnections {
        LimitTotalConnections {
            limit,
            overflow: None,
            count: Cell::new(0),
        }
    }

    /// Connections beyond the limit get a protocol from `factory` (Twisted's
    /// `overflowProtocol`) instead of being refused.
    pub fn overflow_factory(mut self, factory: Rc<dyn Factory>) -> LimitTotalConnections {
        self.overflow = Some(factory);
        self
    }

    /// Connections beyond the limit get the protocol `make` returns.
    pub fn overflow_protocol<P, F>(self, make: F) -> LimitTotalConnections
    where
        P: Protocol,
        F: Fn() -> P + 'static,
    {
        self.overflow_factory(for_protocol(make))
    }

    /// Connections open now, overflow ones included (Twisted's `connectionCount`).
    pub fn connection_count(&self) -> usize {
        self.count.get()
    }

    /// The limit (Twisted's `connectionLimit`).
    pub fn connection_limit(&self) -> Option<usize> {
        self.limit
    }
}

impl Policy for LimitTotalConnections {
    /// Whether the connection is an overflow one.
    type Conn = bool;

    fn admit(&self, _addr: &Address, _protocols: &Protocols<Self>) -> Option<bool> {
        let count = self.count.get();
        let overflow = self.limit.is_some_and(|limit| count >= limit);
        if overflow && self.overflow.is_none() {
            log::info!("refusing a connection: {count} open already");
            return None;
        }
        self.count.set(count + 1);
        Some(overflow)
    }

    fn build_protocol(
        &self,
        overflow: &bool,
        addr: &Address,
        wrapped: &dyn Factory,
    ) -> Option<Box<dyn Protocol>> {
        match (&self.overflow, *overflow) {
            (Some(factory), true) => factory.build_protocol(addr),
            _ => wrapped.build_protocol(addr),
        }
    }

    fn release(&self, _overflow: &bool) {
        self.count.set(self.count.get().saturating_sub(1));
    }
}

impl fmt::Debug for LimitTotalConnections {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LimitTotalConnections")
            .field("limit", &self.limit)
            .field("overflow", &self.overflow.is_some())
            .field("count", &self.count.get())
            .finish()
    }
}
