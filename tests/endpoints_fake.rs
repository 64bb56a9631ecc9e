//! Endpoints against a fake `ReactorTcp` that records what listen and connect were called
//! with and lets the test play the connector: Twisted's `WrappingFactoryTests`, the
//! client and server endpoint mixins, and `ConnectProtocolTests`.

use std::cell::{Cell, RefCell};
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::rc::{Rc, Weak};
use std::time::Duration;

use torsion::defer::testing::{assert_no_result, failure_result_of, success_result_of};
use torsion::defer::{Cancelled, Deferred, Failure};
use torsion::endpoints::{
    client_from_string, connect_protocol, server_from_string, CannotListen, ConnectingCancelled,
    NoProtocol, StreamClientEndpoint, StreamServerEndpoint, TcpClientEndpoint, TcpServerEndpoint,
    UnixClientEndpoint, UnixServerEndpoint,
};
use torsion::protocol::{Address, ClientFactory, ConnectionLost, Factory, Protocol};
use torsion::tcp::{Connector, ConnectorCore, Destination, ListeningPort, PortCore, ReactorTcp};
use torsion::transport::{Producer, ProducerError, Transport, TransportCore};

// ----- the fakes -----

#[derive(Debug, Clone, PartialEq)]
enum Call {
    ListenTcp {
        port: u16,
        backlog: i32,
        interface: String,
    },
    ListenUnix {
        path: PathBuf,
        backlog: i32,
        mode: u32,
    },
    ConnectTcp {
        host: String,
        port: u16,
        timeout: Option<Duration>,
        bind: Option<SocketAddr>,
    },
    ConnectUnix {
        path: PathBuf,
        timeout: Option<Duration>,
    },
}

/// What a connect handed over: the factory to drive, and the connector given back.
struct Attempt {
    factory: Rc<dyn ClientFactory>,
    connector: Connector,
    core: Weak<FakeConnector>,
}

#[derive(Clone, Default)]
struct FakeReactor {
    calls: Rc<RefCell<Vec<Call>>>,
    attempts: Rc<RefCell<Vec<Attempt>>>,
    listen_error: Rc<Cell<Option<io::ErrorKind>>>,
    /// Fail every connect before returning, as a real connect to a missing Unix path does.
    fail_at_once: Rc<Cell<bool>>,
}

impl FakeReactor {
    fn connect(&self, call: Call, dest: Destination, factory: Rc<dyn ClientFactory>) -> Connector {
        self.calls.borrow_mut().push(call);
        let core = Rc::new(FakeConnector {
            dest,
            stops: Cell::new(0),
        });
        let connector = Connector::new(core.clone());
        factory.start_factory();
        factory.started_connecting(&connector);
        if self.fail_at_once.get() {
            let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
            factory.client_connection_failed(&connector, Failure::new(refused));
            factory.stop_factory();
        }
        self.attempts.borrow_mut().push(Attempt {
            factory,
            connector: connector.clone(),
            core: Rc::downgrade(&core),
        });
        connector
    }

    fn listen(&self, call: Call, host: Address) -> io::Result<ListeningPort> {
        self.calls.borrow_mut().push(call);
        match self.listen_error.get() {
            Some(kind) => Err(kind.into()),
            None => Ok(ListeningPort::new(Rc::new(FakePort { host }))),
        }
    }

    fn last_call(&self) -> Call {
        self.calls.borrow().last().cloned().expect("a call")
    }

    /// The factory and connector of attempt `i`.
    fn attempt(&self, i: usize) -> (Rc<dyn ClientFactory>, Connector) {
        let a = &self.attempts.borrow()[i];
        (a.factory.clone(), a.connector.clone())
    }
}

impl ReactorTcp for FakeReactor {
    fn listen_tcp_dyn(
        &self,
        port: u16,
        _: Rc<dyn Factory>,
        backlog: i32,
        interface: &str,
    ) -> io::Result<ListeningPort> {
        let call = Call::ListenTcp {
            port,
            backlog,
            interface: interface.into(),
        };
        self.listen(call, Address::Tcp(SocketAddr::from(([127, 0, 0, 1], port))))
    }

    fn connect_tcp_dyn(
        &self,
        host: &str,
        port: u16,
        factory: Rc<dyn ClientFactory>,
        timeout: Option<Duration>,
        bind: Option<SocketAddr>,
    ) -> Connector {
        let call = Call::ConnectTcp {
            host: host.into(),
            port,
            timeout,
            bind,
        };
        let dest = Destination::Tcp {
            host: host.into(),
            port,
        };
        self.connect(call, dest, factory)
    }

    fn listen_unix_dyn(
        &self,
        path: &Path,
        _: Rc<dyn Factory>,
        backlog: i32,
        mode: u32,
    ) -> io::Result<ListeningPort> {
        let call = Call::ListenUnix {
            path: path.into(),
            backlog,
            mode,
        };
        self.listen(call, Address::Unix(Some(path.into())))
    }

    fn connect_unix_dyn(
        &self,
        path: &Path,
        factory: Rc<dyn ClientFactory>,
        timeout: Option<Duration>,
    ) -> Connector {
        let call = Call::ConnectUnix {
            path: path.into(),
            timeout,
        };
        self.connect(call, Destination::Unix(path.into()), factory)
    }
}

struct FakeConnector {
    dest: Destination,
    stops: Cell<u32>,
}

impl ConnectorCore for FakeConnector {
    fn connect(&self) {}
    fn disconnect(&self) {}
    fn stop_connecting(&self) {
        self.stops.set(self.stops.get() + 1);
    }
    fn get_destination(&self) -> Destination {
        self.dest.clone()
    }
    fn is_connected(&self) -> bool {
        false
    }
}

struct FakePort {
    host: Address,
}

impl PortCore for FakePort {
    fn get_host(&self) -> Address {
        self.host.clone()
    }
    fn stop_listening(&self) -> Deferred<()> {
        torsion::defer::succeed(())
    }
    fn is_listening(&self) -> bool {
        true
    }
}

#[derive(Default)]
struct FakeTransport;

impl TransportCore for FakeTransport {
    fn write(&self, _: &[u8]) {}
    fn lose_connection(&self) {}
    fn abort_connection(&self) {}
    fn lose_write_connection(&self) {}
    fn get_peer(&self) -> Address {
        Address::Memory("peer".into())
    }
    fn get_host(&self) -> Address {
        Address::Memory("host".into())
    }
    fn pause_producing(&self) {}
    fn resume_producing(&self) {}
    fn register_producer(&self, _: Producer) -> Result<(), ProducerError> {
        Ok(())
    }
    fn unregister_producer(&self) {}
    fn set_write_watermarks(&self, _: usize, _: usize) {}
    fn write_buffer_len(&self) -> usize {
        0
    }
    fn is_disconnecting(&self) -> bool {
        false
    }
    fn is_connected(&self) -> bool {
        true
    }
}

fn transport() -> Transport {
    Transport::new(Rc::new(FakeTransport))
}

/// A protocol that logs every call it gets.
struct Logging {
    log: Rc<RefCell<Vec<String>>>,
    half_closeable: bool,
}

impl Protocol for Logging {
    fn connection_made(&mut self, _: &Transport) {
        self.log.borrow_mut().push("connection_made".into());
    }
    fn data_received(&mut self, _: &Transport, data: &[u8]) {
        self.log
            .borrow_mut()
            .push(format!("data {}", String::from_utf8_lossy(data)));
    }
    fn connection_lost(&mut self, _: &Transport, reason: ConnectionLost) {
        self.log.borrow_mut().push(format!("lost {reason}"));
    }
    fn half_closeable(&self) -> bool {
        self.half_closeable
    }
    fn read_connection_lost(&mut self, _: &Transport) {
        self.log.borrow_mut().push("read lost".into());
    }
    fn write_connection_lost(&mut self, _: &Transport) {
        self.log.borrow_mut().push("write lost".into());
    }
}

/// A factory of `Logging` protocols that counts starts and stops (or refuses to build).
#[derive(Default)]
struct TestFactory {
    log: Rc<RefCell<Vec<String>>>,
    refuse: bool,
    half_closeable: bool,
    starts: Cell<u32>,
    stops: Cell<u32>,
}

impl Factory for TestFactory {
    fn build_protocol(&self, addr: &Address) -> Option<Box<dyn Protocol>> {
        self.log.borrow_mut().push(format!("build {addr}"));
        (!self.refuse).then(|| {
            Box::new(Logging {
                log: self.log.clone(),
                half_closeable: self.half_closeable,
            }) as Box<dyn Protocol>
        })
    }
    fn start_factory(&self) {
        self.starts.set(self.starts.get() + 1);
    }
    fn stop_factory(&self) {
        self.stops.set(self.stops.get() + 1);
    }
}

fn peer() -> Address {
    Address::Memory("server".into())
}

// ----- client endpoints -----

#[test]
fn connect_success_fires_after_connection_made() {
    let reactor = FakeReactor::default();
    let factory = Rc::new(TestFactory::default());
    let d = TcpClientEndpoint::new(&reactor, "localhost", 80).connect(factory.clone());
    assert_no_result(&d);
    assert_eq!(
        reactor.last_call(),
        Call::ConnectTcp {
            host: "localhost".into(),
            port: 80,
            timeout: Some(Duration::from_secs(30)),
            bind: None
        }
    );

    let (wrapper, _) = reactor.attempt(0);
    let mut protocol = wrapper.build_protocol(&peer()).expect("a protocol");
    let t = transport();
    let log = factory.log.clone();
    let fired = d.add_callback(move |t: Transport| {
        log.borrow_mut().push("deferred fired".into());
        Ok(t)
    });
    protocol.connection_made(&t);
    assert_eq!(success_result_of(&fired), t);
    assert_eq!(
        *factory.log.borrow(),
        ["build memory:server", "connection_made", "deferred fired"]
    );
}

#[test]
fn connect_failure_errbacks_with_the_reason() {
    let reactor = FakeReactor::default();
    let d =
        TcpClientEndpoint::new(&reactor, "localhost", 80).connect(Rc::new(TestFactory::default()));
    let (wrapper, connector) = reactor.attempt(0);
    let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
    wrapper.client_connection_failed(&connector, Failure::new(refused));
    let failure = failure_result_of(&d);
    assert_eq!(
        failure.downcast_ref::<io::Error>().unwrap().kind(),
        io::ErrorKind::ConnectionRefused
    );
    // A second report is ignored.
    wrapper.client_connection_failed(&connector, Failure::msg("again"));
}

#[test]
fn failure_before_connect_returns_gives_a_failed_deferred() {
    let reactor = FakeReactor::default();
    reactor.fail_at_once.set(true);
    let d = UnixClientEndpoint::new(&reactor, "/nowhere").connect(Rc::new(TestFactory::default()));
    assert!(failure_result_of(&d).check::<io::Error>());
}

#[test]
fn cancel_stops_the_connector_and_names_the_destination() {
    let reactor = FakeReactor::default();
    let d = TcpClientEndpoint::new(&reactor, "example.com", 80)
        .connect(Rc::new(TestFactory::default()));
    d.cancel();
    let (wrapper, connector) = reactor.attempt(0);
    // The connector then reports the abandoned attempt; that is ignored.
    wrapper.client_connection_failed(&connector, Failure::new(Cancelled));
    let failure = failure_result_of(&d);
    let cancelled = failure
        .downcast_ref::<ConnectingCancelled>()
        .expect("ConnectingCancelled");
    assert_eq!(
        cancelled.destination,
        Destination::Tcp {
            host: "example.com".into(),
            port: 80
        }
    );
    assert_eq!(
        reactor.attempts.borrow()[0]
            .core
            .upgrade()
            .unwrap()
            .stops
            .get(),
        1
    );
}

#[test]
fn cancel_after_success_does_nothing() {
    let reactor = FakeReactor::default();
    let d = TcpClientEndpoint::new(&reactor, "h", 1).connect(Rc::new(TestFactory::default()));
    let (wrapper, _) = reactor.attempt(0);
    let t = transport();
    wrapper.build_protocol(&peer()).unwrap().connection_made(&t);
    d.cancel();
    assert_eq!(success_result_of(&d), t);
    assert_eq!(
        reactor.attempts.borrow()[0]
            .core
            .upgrade()
            .unwrap()
            .stops
            .get(),
        0
    );
}

#[test]
fn non_default_args_reach_the_reactor() {
    let reactor = FakeReactor::default();
    let bind: SocketAddr = "127.0.0.1:49595".parse().unwrap();
    let _d = TcpClientEndpoint::new(&reactor, "localhost", 80)
        .with_timeout(Some(Duration::from_secs(10)))
        .with_bind_address(Some(bind))
        .connect(Rc::new(TestFactory::default()));
    assert_eq!(
        reactor.last_call(),
        Call::ConnectTcp {
            host: "localhost".into(),
            port: 80,
            timeout: Some(Duration::from_secs(10)),
            bind: Some(bind)
        }
    );
    let _d = UnixClientEndpoint::new(&reactor, "/s")
        .with_timeout(None)
        .connect(Rc::new(TestFactory::default()));
    assert_eq!(
        reactor.last_call(),
        Call::ConnectUnix {
            path: "/s".into(),
            timeout: None
        }
    );
}

#[test]
fn strings_reach_the_reactor() {
    let reactor = FakeReactor::default();
    let c = client_from_string(
        &reactor,
        "tcp:host=example.com:port=1234:timeout=7:bindAddress=10.0.0.2",
    )
    .unwrap();
    let _d = c.connect(Rc::new(TestFactory::default()));
    assert_eq!(
        reactor.last_call(),
        Call::ConnectTcp {
            host: "example.com".into(),
            port: 1234,
            timeout: Some(Duration::from_secs(7)),
            bind: Some("10.0.0.2:0".parse().unwrap()),
        }
    );
    let c = client_from_string(&reactor, "unix:/var/foo/bar:timeout=9").unwrap();
    let _d = c.connect(Rc::new(TestFactory::default()));
    assert_eq!(
        reactor.last_call(),
        Call::ConnectUnix {
            path: "/var/foo/bar".into(),
            timeout: Some(Duration::from_secs(9))
        }
    );
    let s = server_from_string(&reactor, "tcp:1234:backlog=12:interface=10.0.0.1").unwrap();
    let _p = s.listen(Rc::new(TestFactory::default()));
    assert_eq!(
        reactor.last_call(),
        Call::ListenTcp {
            port: 1234,
            backlog: 12,
            interface: "10.0.0.1".into()
        }
    );
    let s = server_from_string(&reactor, "tcp6:80").unwrap();
    let _p = s.listen(Rc::new(TestFactory::default()));
    assert_eq!(
        reactor.last_call(),
        Call::ListenTcp {
            port: 80,
            backlog: 50,
            interface: "::".into()
        }
    );
    let s = server_from_string(&reactor, "unix:/var/foo/bar:backlog=7:mode=0123").unwrap();
    let _p = s.listen(Rc::new(TestFactory::default()));
    assert_eq!(
        reactor.last_call(),
        Call::ListenUnix {
            path: "/var/foo/bar".into(),
            backlog: 7,
            mode: 0o123
        }
    );
}

// ----- the wrapping factory and protocol -----

#[test]
fn no_protocol_errbacks() {
    let reactor = FakeReactor::default();
    let factory = Rc::new(TestFactory {
        refuse: true,
        ..Default::default()
    });
    let d = TcpClientEndpoint::new(&reactor, "h", 1).connect(factory);
    let (wrapper, connector) = reactor.attempt(0);
    assert!(wrapper.build_protocol(&peer()).is_none());
    // The connector reports the refusal as a failed attempt too; ignored.
    wrapper.client_connection_failed(&connector, Failure::msg("refused by the factory"));
    assert!(failure_result_of(&d).check::<NoProtocol>());
}

#[test]
fn wrapped_protocol_gets_every_call() {
    let reactor = FakeReactor::default();
    let factory = Rc::new(TestFactory {
        half_closeable: true,
        ..Default::default()
    });
    let _d = TcpClientEndpoint::new(&reactor, "h", 1).connect(factory.clone());
    let (wrapper, _) = reactor.attempt(0);
    let mut p = wrapper.build_protocol(&peer()).unwrap();
    let t = transport();
    assert!(p.half_closeable());
    p.connection_made(&t);
    p.data_received(&t, b"foo");
    p.data_received(&t, b"bar");
    p.read_connection_lost(&t);
    p.write_connection_lost(&t);
    p.connection_lost(&t, ConnectionLost::Done);
    assert_eq!(
        factory.log.borrow()[1..],
        [
            "connection_made",
            "data foo",
            "data bar",
            "read lost",
            "write lost",
            "lost connection was closed cleanly"
        ]
    );
}

#[test]
fn start_and_stop_pass_through_once_for_concurrent_attempts() {
    let reactor = FakeReactor::default();
    let factory = Rc::new(TestFactory::default());
    let endpoint = TcpClientEndpoint::new(&reactor, "h", 1);
    let d1 = endpoint.connect(factory.clone());
    let d2 = endpoint.connect(factory.clone());
    assert_eq!((factory.starts.get(), factory.stops.get()), (1, 0));
    let (w1, c1) = reactor.attempt(0);
    let (w2, c2) = reactor.attempt(1);
    w1.client_connection_failed(&c1, Failure::msg("no"));
    w1.stop_factory();
    assert_eq!((factory.starts.get(), factory.stops.get()), (1, 0));
    w2.client_connection_failed(&c2, Failure::msg("no"));
    w2.stop_factory();
    w2.stop_factory(); // a second stop from the same attempt is not counted
    assert_eq!((factory.starts.get(), factory.stops.get()), (1, 1));
    drop((failure_result_of(&d1), failure_result_of(&d2)));
}

#[test]
fn a_finished_attempt_lets_go_of_its_connector() {
    let reactor = FakeReactor::default();
    let d = TcpClientEndpoint::new(&reactor, "h", 1).connect(Rc::new(TestFactory::default()));
    let (wrapper, connector) = reactor.attempt(0);
    let core = reactor.attempts.borrow()[0].core.clone();
    wrapper
        .build_protocol(&peer())
        .unwrap()
        .connection_made(&transport());
    drop(connector);
    reactor.attempts.borrow_mut()[0].connector = Connector::new(Rc::new(FakeConnector {
        dest: Destination::Unix("/x".into()),
        stops: Cell::new(0),
    }));
    // Only the attempt could still hold the first connector: it must not.
    assert!(
        core.upgrade().is_none(),
        "the attempt keeps its connector after firing"
    );
    drop((wrapper, success_result_of(&d)));
}

// ----- server endpoints -----

#[test]
fn listen_success_gives_the_port() {
    let reactor = FakeReactor::default();
    let d = TcpServerEndpoint::new(&reactor, 0)
        .with_backlog(100)
        .with_interface("127.0.0.1")
        .listen(Rc::new(TestFactory::default()));
    let port = success_result_of(&d);
    assert!(port.is_listening());
    assert_eq!(
        reactor.last_call(),
        Call::ListenTcp {
            port: 0,
            backlog: 100,
            interface: "127.0.0.1".into()
        }
    );
}

#[test]
fn listen_failure_names_the_port_and_keeps_the_os_error() {
    let reactor = FakeReactor::default();
    reactor.listen_error.set(Some(io::ErrorKind::AddrInUse));
    let d = TcpServerEndpoint::new(&reactor, 8080).listen(Rc::new(TestFactory::default()));
    let failure = failure_result_of(&d);
    let err = failure
        .downcast_ref::<CannotListen>()
        .expect("CannotListen");
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    assert!(
        err.to_string()
            .starts_with("cannot listen on TCP port 8080 (all interfaces): "),
        "{err}"
    );
    assert!(std::error::Error::source(err).is_some());

    let d =
        UnixServerEndpoint::new(&reactor, "/run/x.sock").listen(Rc::new(TestFactory::default()));
    let failure = failure_result_of(&d);
    assert_eq!(
        failure.downcast_ref::<CannotListen>().unwrap().what(),
        "Unix socket /run/x.sock"
    );
}

// ----- connect_protocol -----

#[test]
fn connect_protocol_gives_its_protocol_once() {
    let reactor = FakeReactor::default();
    let log = Rc::new(RefCell::new(Vec::new()));
    let endpoint = TcpClientEndpoint::new(&reactor, "127.0.0.1", 0);
    let d = connect_protocol(
        &endpoint,
        Logging {
            log: log.clone(),
            half_closeable: false,
        },
    );
    assert_eq!(reactor.attempts.borrow().len(), 1);
    let (wrapper, _) = reactor.attempt(0);
    let t = transport();
    wrapper.build_protocol(&peer()).unwrap().connection_made(&t);
    assert_eq!(*log.borrow(), ["connection_made"]);
    assert_eq!(success_result_of(&d), t);

    // Through a trait object, the same.
    let dyn_endpoint: &dyn StreamClientEndpoint = &endpoint;
    let d = connect_protocol(
        dyn_endpoint,
        Logging {
            log,
            half_closeable: false,
        },
    );
    let (wrapper, _) = reactor.attempt(1);
    assert!(wrapper.build_protocol(&peer()).is_some());
    assert!(
        wrapper.build_protocol(&peer()).is_none(),
        "one protocol, one connection"
    );
    drop(failure_result_of(&d));
}

#[test]
fn an_attempt_dropped_while_started_stops_the_factory() {
    let reactor = FakeReactor::default();
    let factory = Rc::new(TestFactory::default());
    let endpoint = TcpClientEndpoint::new(&reactor, "h", 1);
    let d = endpoint.connect(factory.clone());
    assert_eq!((factory.starts.get(), factory.stops.get()), (1, 0));
    // The reactor goes away mid-attempt, never calling stop_factory.
    reactor.attempts.borrow_mut().clear();
    assert_eq!((factory.starts.get(), factory.stops.get()), (1, 1));
    // The count starts again from zero for the next attempt.
    let _d2 = endpoint.connect(factory.clone());
    assert_eq!((factory.starts.get(), factory.stops.get()), (2, 1));
    assert_no_result(&d);
}
