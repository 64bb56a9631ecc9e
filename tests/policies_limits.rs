//! LimitConnectionsByPeer and LimitTotalConnections (Twisted's
//! `LimitTotalConnectionsFactoryTests`, and `LimitConnectionsByPeer`, which Twisted leaves
//! untested).

use std::cell::Cell;
use std::net::SocketAddr;
use std::rc::Rc;

use torsion::protocol::{for_protocol, Address, ConnectionLost, Factory, Protocol};
use torsion::protocols::policies::{
    LimitConnectionsByPeer, LimitTotalConnections, LimitTotalConnectionsFactory, WrappingFactory,
    DEFAULT_MAX_CONNECTIONS_PER_PEER,
};
use torsion::testing::Driver;
use torsion::transport::Transport;

struct Quiet;

impl Protocol for Quiet {
    fn data_received(&mut self, _: &Transport, _: &[u8]) {}
}

fn tcp(s: &str) -> Address {
    s.parse::<SocketAddr>().unwrap().into()
}

#[test]
fn five_connections_per_peer_host_by_default() {
    let factory =
        WrappingFactory::with_policy(for_protocol(|| Quiet), LimitConnectionsByPeer::new());
    assert_eq!(DEFAULT_MAX_CONNECTIONS_PER_PEER, 5);
    let alice: Vec<_> = (0..5)
        .map(|i| {
            Driver::new(
                factory
                    .build_wrapper(&tcp(&format!("10.0.0.1:{}", 1000 + i)))
                    .unwrap(),
            )
        })
        .collect();
    assert!(
        factory.build_wrapper(&tcp("10.0.0.1:2000")).is_none(),
        "same host, any port"
    );
    assert_eq!(factory.policy().connections_from(&tcp("10.0.0.1:1")), 5);
    let bob = factory.build_wrapper(&tcp("10.0.0.2:1000"));
    assert!(bob.is_some(), "another host");
    let v6 = factory.build_wrapper(&tcp("[::1]:1000"));
    assert!(v6.is_some());

    alice[0].connection_lost(ConnectionLost::Done);
    assert_eq!(factory.policy().connections_from(&tcp("10.0.0.1:1")), 4);
    assert!(factory.build_wrapper(&tcp("10.0.0.1:3000")).is_some());
    // (that one was dropped unconnected, and released)
    assert_eq!(factory.policy().connections_from(&tcp("10.0.0.1:1")), 4);
    drop(alice);
    assert_eq!(factory.policy().connections_from(&tcp("10.0.0.1:1")), 0);
}

#[test]
fn other_addresses_count_whole() {
    let factory = WrappingFactory::with_policy(
        for_protocol(|| Quiet),
        LimitConnectionsByPeer::new().max_connections_per_peer(1),
    );
    let a = Address::Memory("a".into());
    let _first = Driver::new(factory.build_wrapper(&a).unwrap());
    assert!(factory.build_wrapper(&a).is_none());
    assert!(factory
        .build_wrapper(&Address::Memory("b".into()))
        .is_some());
    assert!(factory.build_wrapper(&Address::Unix(None)).is_some());
}

#[test]
fn a_refusal_of_the_wrapped_factory_does_not_count() {
    #[derive(Default)]
    struct RefuseOnce(Cell<bool>);
    impl Factory for RefuseOnce {
        fn build_protocol(&self, _: &Address) -> Option<Box<dyn Protocol>> {
            self.0
                .replace(true)
                .then(|| Box::new(Quiet) as Box<dyn Protocol>)
        }
    }
    let factory = WrappingFactory::with_policy(
        Rc::new(RefuseOnce::default()),
        LimitConnectionsByPeer::new().max_connections_per_peer(1),
    );
    let a = tcp("10.0.0.1:1");
    assert!(factory.build_wrapper(&a).is_none());
    assert_eq!(factory.policy().connections_from(&a), 0);
    assert!(factory.build_wrapper(&a).is_some());
}

#[test]
fn connections_are_counted() {
    // testConnectionCounting
    let factory = LimitTotalConnectionsFactory::with_policy(
        for_protocol(|| Quiet),
        LimitTotalConnections::new(None),
    );
    let policy = || factory.policy().connection_count();
    assert_eq!(policy(), 0);
    let p1 = Driver::new(factory.build_wrapper(&Address::Memory("1".into())).unwrap());
    assert_eq!(policy(), 1);
    let p2 = Driver::new(factory.build_wrapper(&Address::Memory("2".into())).unwrap());
    assert_eq!(policy(), 2);
    p1.connection_lost(ConnectionLost::Done);
    assert_eq!(policy(), 1);
    p2.connection_lost(ConnectionLost::Done);
    assert_eq!(policy(), 0);
    assert_eq!(factory.policy().connection_limit(), None);
}

#[test]
fn connections_over_the_limit_are_refused_or_overflow() {
    // testConnectionLimiting
    let addr = Address::Memory("peer".into());
    let refusing = LimitTotalConnectionsFactory::with_policy(
        for_protocol(|| Quiet),
        LimitTotalConnections::new(Some(1)),
    );
    let p = Driver::new(refusing.build_wrapper(&addr).unwrap());
    assert_eq!(refusing.policy().connection_count(), 1);
    assert!(refusing.build_wrapper(&addr).is_none());
    assert_eq!(refusing.policy().connection_count(), 1);
    p.connection_lost(ConnectionLost::Done);
    assert!(refusing.build_wrapper(&addr).is_some());

    let overflowed = Rc::new(Cell::new(false));
    struct Overflow(Rc<Cell<bool>>);
    impl Protocol for Overflow {
        fn connection_made(&mut self, _: &Transport) {
            self.0.set(true);
        }
        fn data_received(&mut self, _: &Transport, _: &[u8]) {}
    }
    let flag = overflowed.clone();
    let factory = LimitTotalConnectionsFactory::with_policy(
        for_protocol(|| Quiet),
        LimitTotalConnections::new(Some(1)).overflow_protocol(move || Overflow(flag.clone())),
    );
    let p = Driver::new(factory.build_wrapper(&addr).unwrap());
    assert!(p.with_protocol(|w| w.wrapped_as::<Quiet>().is_some()));
    let op = Driver::new(factory.build_wrapper(&addr).unwrap());
    assert!(overflowed.get());
    assert!(op.with_protocol(|w| w.wrapped_as::<Overflow>().is_some()));
    assert_eq!(
        factory.policy().connection_count(),
        2,
        "overflow connections count"
    );
    assert!(
        factory.build_wrapper(&addr).is_some(),
        "and overflow has no limit"
    );
    p.connection_lost(ConnectionLost::Done);
    assert_eq!(factory.policy().connection_count(), 1);
    op.connection_lost(ConnectionLost::Done);
    assert_eq!(factory.policy().connection_count(), 0);
    // Back under the limit: the normal protocol again.
    let again = Driver::new(factory.build_wrapper(&addr).unwrap());
    assert!(again.with_protocol(|w| w.wrapped_as::<Quiet>().is_some()));
}

#[test]
fn an_overflow_factory_that_refuses_releases_the_count() {
    struct Refuse;
    impl Factory for Refuse {
        fn build_protocol(&self, _: &Address) -> Option<Box<dyn Protocol>> {
            None
        }
    }
    let addr = Address::Memory("peer".into());
    let factory = LimitTotalConnectionsFactory::with_policy(
        for_protocol(|| Quiet),
        LimitTotalConnections::new(Some(0)).overflow_factory(Rc::new(Refuse)),
    );
    assert!(factory.build_wrapper(&addr).is_none());
    assert_eq!(factory.policy().connection_count(), 0);
}
