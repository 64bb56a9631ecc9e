//! MemoryReactor: recording listens and connects, completing and failing connects, the
//! connector's bookkeeping, factory start/stop, time.

use std::cell::{Cell, RefCell};
use std::io;
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use torsion::defer::testing::success_result_of;
use torsion::defer::{Cancelled, Failure, TimedOut};
use torsion::protocol::{for_protocol, Address, ClientFactory, ConnectionLost, Factory, Protocol};
use torsion::tcp::{Connector, Destination, ReactorTcp};
use torsion::testing::{ConnectorState, ListenOn, MemoryReactor, FIRST_FAKE_PORT};
use torsion::time::{LocalFn, ReactorTime};
use torsion::transport::Transport;

/// Says hello on connect, closes on "bye".
struct Hello;

impl Protocol for Hello {
    fn connection_made(&mut self, t: &Transport) {
        t.write(b"hello");
    }
    fn data_received(&mut self, t: &Transport, data: &[u8]) {
        if data == b"bye" {
            t.lose_connection();
        }
    }
}

/// A client factory that logs every call and retries / reconnects `retries` times.
#[derive(Default)]
struct Logging {
    log: RefCell<Vec<String>>,
    retries: Cell<u32>,
    refuse: Cell<bool>,
    connectors: RefCell<Vec<Connector>>,
}

impl Logging {
    fn log(&self) -> Vec<String> {
        self.log.borrow().clone()
    }
    fn note(&self, s: impl Into<String>) {
        self.log.borrow_mut().push(s.into());
    }
    fn again(&self, connector: &Connector) {
        if self.retries.get() > 0 {
            self.retries.set(self.retries.get() - 1);
            connector.connect();
        }
    }
}

impl Factory for Logging {
    fn build_protocol(&self, addr: &Address) -> Option<Box<dyn Protocol>> {
        self.note(format!("build for {addr}"));
        (!self.refuse.get()).then(|| Box::new(Hello) as Box<dyn Protocol>)
    }
    fn start_factory(&self) {
        self.note("start");
    }
    fn stop_factory(&self) {
        self.note("stop");
    }
}

impl ClientFactory for Logging {
    fn started_connecting(&self, connector: &Connector) {
        self.connectors.borrow_mut().push(connector.clone());
        self.note("started");
    }
    fn client_connection_failed(&self, connector: &Connector, reason: Failure) {
        self.note(format!("failed: {}", reason.error()));
        self.again(connector);
    }
    fn client_connection_lost(&self, connector: &Connector, reason: &ConnectionLost) {
        self.note(format!("lost: clean={}", reason.is_clean()));
        self.again(connector);
    }
}

#[test]
fn records_tcp_and_unix_listens_with_their_arguments() {
    let reactor = MemoryReactor::new();
    let factory = for_protocol(|| Hello);
    let p1 = reactor
        .listen_tcp_dyn(8080, factory.clone(), 10, "")
        .unwrap();
    let p2 = reactor
        .listen_tcp_dyn(0, factory.clone(), 50, "::1")
        .unwrap();
    let p3 = reactor
        .listen_unix_dyn(Path::new("/tmp/x.sock"), factory.clone(), 5, 0o600)
        .unwrap();
    assert_eq!(p1.get_host().to_string(), "tcp:0.0.0.0:8080");
    assert_eq!(
        p2.get_host().to_string(),
        format!("tcp:[::1]:{FIRST_FAKE_PORT}")
    );
    assert_eq!(p3.get_host(), Address::Unix(Some("/tmp/x.sock".into())));

    let listens = reactor.listens();
    assert_eq!(listens.len(), 3);
    assert_eq!(
        listens[0].on,
        ListenOn::Tcp {
            port: 8080,
            interface: String::new()
        }
    );
    assert_eq!(listens[0].backlog, 10);
    assert_eq!(
        listens[1].on,
        ListenOn::Tcp {
            port: 0,
            interface: "::1".into()
        }
    );
    assert_eq!(
        listens[2].on,
        ListenOn::Unix {
            path: "/tmp/x.sock".into(),
            mode: 0o600
        }
    );
    let given: Rc<dyn Factory> = factory;
    assert!(Rc::ptr_eq(&listens[0].factory, &given));

    assert!(p1.is_listening());
    success_result_of(&p1.stop_listening());
    success_result_of(&p1.stop_listening());
    assert!(!listens[0].port.is_listening());
    assert_eq!(listens[0].port.stop_listening_calls(), 2);
    assert!(!p1.is_listening());
}

#[test]
fn a_bad_interface_fails_as_on_the_real_reactor() {
    let reactor = MemoryReactor::new();
    let err = reactor
        .listen_tcp_dyn(80, for_protocol(|| Hello), 50, "localhost")
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(reactor.listens().is_empty());
    reactor.set_listen_error(Some(io::ErrorKind::PermissionDenied));
    let err = reactor
        .listen_unix_dyn(Path::new("/x"), for_protocol(|| Hello), 50, 0o666)
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
    reactor.set_listen_error(None);
    assert!(reactor
        .listen_tcp_dyn(80, for_protocol(|| Hello), 50, "")
        .is_ok());
}

#[test]
fn records_connects_and_tells_the_factory_it_started() {
    let reactor = MemoryReactor::new();
    let factory = Rc::new(Logging::default());
    let bind = Some("10.1.1.1:0".parse().unwrap());
    let c1 = reactor.connect_tcp_dyn(
        "example.org",
        443,
        factory.clone(),
        Some(Duration::from_secs(9)),
        bind,
    );
    let c2 = reactor.connect_unix_dyn(Path::new("/run/s"), factory.clone(), None);
    let connects = reactor.connects();
    assert_eq!(connects.len(), 2);
    assert_eq!(
        connects[0].destination,
        Destination::Tcp {
            host: "example.org".into(),
            port: 443
        }
    );
    assert_eq!(connects[0].timeout, Some(Duration::from_secs(9)));
    assert_eq!(connects[0].bind_address, bind);
    assert_eq!(connects[1].destination, Destination::Unix("/run/s".into()));
    assert_eq!(factory.log(), ["start"], "started once, shared");
    // As on the real reactor, attempts begin from the top of the loop: here, the clock.
    reactor.advance(Duration::ZERO);
    assert_eq!(factory.log(), ["start", "started", "started"]);
    assert_eq!(factory.connectors.borrow()[0], c1);
    assert_eq!(factory.connectors.borrow()[1], c2);
    assert_eq!(reactor.pending_connects(), 2);
    assert_eq!(connects[0].connector.state(), ConnectorState::Connecting);
    assert_eq!(c1.get_destination(), connects[0].destination);
    assert!(!c1.is_connected());
}

#[test]
fn succeed_once_connects_the_client_to_a_string_transport() {
    let reactor = MemoryReactor::new();
    let factory = Rc::new(Logging::default());
    let connector = reactor.connect_tcp_dyn("192.0.2.1", 25, factory.clone(), None, None);
    let client = reactor.succeed_once().unwrap();
    assert_eq!(reactor.pending_connects(), 0);
    assert!(reactor.succeed_once().is_none());
    assert!(connector.is_connected());
    let recorded = reactor.connects()[0].connector.clone();
    assert_eq!(recorded.state(), ConnectorState::Connected);
    assert_eq!(recorded.transport(), Some(client.handle()));
    assert_eq!(client.handle().get_peer().to_string(), "tcp:192.0.2.1:25");
    assert_eq!(client.handle().get_host().port(), Some(FIRST_FAKE_PORT));
    assert_eq!(client.take_written(), b"hello");

    client.data_received(b"bye");
    client.run_pending();
    assert!(client.lost_reason().unwrap().is_clean());
    assert_eq!(recorded.state(), ConnectorState::Disconnected);
    assert_eq!(
        factory.log(),
        [
            "start",
            "started",
            "build for tcp:192.0.2.1:25",
            "lost: clean=true",
            "stop"
        ]
    );
}

#[test]
fn disconnect_closes_a_connected_connector_cleanly() {
    let reactor = MemoryReactor::new();
    let factory = Rc::new(Logging::default());
    let connector = reactor.connect_tcp_dyn("192.0.2.1", 25, factory.clone(), None, None);
    let client = reactor.succeed_once().unwrap();
    connector.disconnect();
    assert!(client.transport().disconnecting());
    client.take_written();
    client.run_pending();
    assert!(client.is_closed());
    assert_eq!(reactor.connects()[0].connector.disconnect_calls(), 1);
}

#[test]
fn fail_once_fails_the_oldest_attempt_and_a_retry_queues_another() {
    let reactor = MemoryReactor::new();
    let factory = Rc::new(Logging::default());
    factory.retries.set(1);
    reactor.connect_tcp_dyn("192.0.2.1", 25, factory.clone(), None, None);
    let refused = Failure::new(io::Error::from(io::ErrorKind::ConnectionRefused));
    assert!(reactor.fail_once(refused));
    let recorded = reactor.connects()[0].connector.clone();
    assert_eq!(recorded.attempts(), 2, "the factory retried");
    assert_eq!(recorded.connect_calls(), 1);
    assert_eq!(reactor.pending_connects(), 1);
    assert!(reactor.fail_once(Failure::msg("unreachable")));
    assert!(!reactor.fail_once(Failure::msg("nothing left")));
    let log = factory.log();
    assert_eq!(log[0], "start");
    assert!(
        log[2].starts_with("failed: ") && log[2].contains("refused"),
        "{log:?}"
    );
    assert_eq!(log[3], "started");
    assert_eq!(log[4], "failed: unreachable");
    assert_eq!(log[5], "stop", "stopped once nothing uses it");
    assert_eq!(recorded.state(), ConnectorState::Disconnected);
}

#[test]
fn a_client_factory_may_reconnect_after_a_lost_connection() {
    let reactor = MemoryReactor::new();
    let factory = Rc::new(Logging::default());
    factory.retries.set(1);
    reactor.connect_tcp_dyn("192.0.2.1", 25, factory.clone(), None, None);
    let first = reactor.succeed_once().unwrap();
    first.connection_lost(ConnectionLost::from_io(io::ErrorKind::BrokenPipe.into()));
    assert_eq!(reactor.pending_connects(), 1);
    let second = reactor.succeed_once().unwrap();
    assert_eq!(second.take_written(), b"hello");
    assert_eq!(reactor.connects()[0].connector.attempts(), 2);
    assert!(!factory.log().contains(&"stop".to_string()), "still in use");
}

#[test]
fn a_timeout_on_the_clock_fails_the_attempt() {
    let reactor = MemoryReactor::new();
    let factory = Rc::new(Logging::default());
    reactor.connect_tcp_dyn(
        "192.0.2.1",
        25,
        factory.clone(),
        Some(Duration::from_secs(30)),
        None,
    );
    reactor.advance(Duration::from_secs(29));
    assert_eq!(reactor.pending_connects(), 1);
    reactor.advance(Duration::from_secs(1));
    assert_eq!(reactor.pending_connects(), 0);
    let log = factory.log();
    assert_eq!(log[2], format!("failed: {TimedOut}"));

    // Completed in time: the timer is cancelled.
    reactor.connect_tcp_dyn(
        "192.0.2.1",
        25,
        factory.clone(),
        Some(Duration::from_secs(30)),
        None,
    );
    let client = reactor.succeed_once().unwrap();
    assert_eq!(reactor.clock().pending_calls(), 0);
    reactor.advance(Duration::from_secs(60));
    assert!(!client.is_closed());
}

#[test]
fn stop_connecting_and_disconnect_cancel_an_attempt() {
    let reactor = MemoryReactor::new();
    let factory = Rc::new(Logging::default());
    let a = reactor.connect_tcp_dyn("192.0.2.1", 1, factory.clone(), None, None);
    let b = reactor.connect_tcp_dyn("192.0.2.1", 2, factory.clone(), None, None);
    a.stop_connecting();
    b.disconnect();
    a.stop_connecting(); // not connecting any more: nothing to do
    assert_eq!(reactor.pending_connects(), 0);
    let cancelled = format!("failed: {Cancelled}");
    assert_eq!(factory.log().iter().filter(|l| **l == cancelled).count(), 2);
    let recorded = reactor.connects();
    assert_eq!(recorded[0].connector.stop_connecting_calls(), 2);
    assert_eq!(recorded[1].connector.disconnect_calls(), 1);
    assert_eq!(factory.log().last().unwrap(), "stop");
}

#[test]
fn a_refusing_client_factory_fails_the_attempt() {
    let reactor = MemoryReactor::new();
    let factory = Rc::new(Logging::default());
    factory.refuse.set(true);
    reactor.connect_tcp_dyn("192.0.2.1", 25, factory.clone(), None, None);
    assert!(reactor.succeed_once().is_none());
    assert!(factory.log().iter().any(|l| l.contains("refused to build")));
}

#[test]
fn factories_start_once_and_stop_when_the_last_port_stops() {
    let reactor = MemoryReactor::new();
    let factory = Rc::new(Logging::default());
    let p1 = reactor.listen_tcp_dyn(1, factory.clone(), 50, "").unwrap();
    let p2 = reactor.listen_tcp_dyn(2, factory.clone(), 50, "").unwrap();
    assert_eq!(factory.log(), ["start"]);
    success_result_of(&p1.stop_listening());
    assert_eq!(factory.log(), ["start"]);
    success_result_of(&p2.stop_listening());
    success_result_of(&p2.stop_listening());
    assert_eq!(factory.log(), ["start", "stop"]);
}

#[test]
fn succeed_once_with_server_pumps_between_the_two_factories() {
    let reactor = MemoryReactor::new();
    let server_factory = Rc::new(Logging::default());
    let client_factory = Rc::new(Logging::default());
    reactor
        .listen_tcp_dyn(0, server_factory.clone(), 50, "")
        .unwrap();
    let port = reactor.listens()[0].port.get_host().port().unwrap();
    // One connect to a port nobody listens on, then one that matches.
    reactor.connect_tcp_dyn("127.0.0.1", 9, client_factory.clone(), None, None);
    reactor.connect_tcp_dyn("127.0.0.1", port, client_factory.clone(), None, None);
    let c = reactor.succeed_once_with_server().expect("a match");
    assert_eq!(reactor.pending_connects(), 1, "the unmatched one waits");
    assert_eq!(c.pump.bytes_from_server(), b"hello");
    assert_eq!(c.pump.bytes_from_client(), b"hello");
    assert_eq!(c.server.handle().get_peer(), c.client.handle().get_host());
    assert_eq!(c.client.handle().get_peer().port(), Some(port));

    c.client.handle().write(b"bye");
    c.pump.flush();
    assert!(c.server.is_closed() && c.client.is_closed());
    assert!(client_factory
        .log()
        .contains(&"lost: clean=true".to_string()));
    assert!(reactor.succeed_once_with_server().is_none());
}

#[test]
fn succeed_once_with_server_matches_unix_paths_and_pumps_on_the_reactors_clock() {
    let reactor = MemoryReactor::new();
    reactor
        .listen_unix_dyn(Path::new("/s"), for_protocol(|| Hello), 50, 0o666)
        .unwrap();
    reactor.connect_unix_dyn(Path::new("/s"), for_protocol(|| Hello), None);
    let c = reactor.succeed_once_with_server().unwrap();
    assert_eq!(c.client.handle().get_host(), Address::Unix(None));
    assert_eq!(
        c.client.handle().get_peer(),
        Address::Unix(Some("/s".into()))
    );
    reactor.advance(Duration::from_secs(2));
    assert_eq!(c.pump.clock().now(), Duration::from_secs(2));
}

#[test]
fn a_stopped_port_accepts_nothing_and_a_refusing_server_closes_at_once() {
    let reactor = MemoryReactor::new();
    let refusing = Rc::new(Logging::default());
    refusing.refuse.set(true);
    let port = reactor
        .listen_tcp_dyn(80, refusing.clone(), 50, "")
        .unwrap();
    let client_factory = Rc::new(Logging::default());
    reactor.connect_tcp_dyn("127.0.0.1", 80, client_factory.clone(), None, None);
    let c = reactor.succeed_once_with_server().unwrap();
    assert!(c.client.is_closed(), "the server closed at once");
    assert!(c.client.lost_reason().unwrap().is_clean());

    success_result_of(&port.stop_listening());
    reactor.connect_tcp_dyn("127.0.0.1", 80, client_factory, None, None);
    assert!(reactor.succeed_once_with_server().is_none());
    assert_eq!(reactor.pending_connects(), 1);
}

#[test]
fn time_comes_from_the_embedded_clock() {
    let reactor = MemoryReactor::new();
    let fired = Rc::new(Cell::new(false));
    let f = fired.clone();
    let time: &dyn ReactorTime = &reactor;
    time.call_later_fn(
        Duration::from_millis(1500),
        LocalFn::new(move || f.set(true)),
    );
    assert_eq!(time.get_delayed_calls().len(), 1);
    reactor.advance(Duration::from_secs(1));
    assert!(!fired.get());
    reactor.clock().advance(Duration::from_millis(500));
    assert!(fired.get());
    assert_eq!(time.seconds(), 1.5);
    assert!(format!("{reactor:?}").contains("MemoryReactor"));
}

#[test]
fn an_attempt_stopped_before_it_began_only_fails() {
    let reactor = MemoryReactor::new();
    let factory = Rc::new(Logging::default());
    let connector = reactor.connect_tcp_dyn("192.0.2.1", 25, factory.clone(), None, None);
    connector.stop_connecting();
    reactor.advance(Duration::ZERO);
    assert_eq!(
        factory.log(),
        ["start", format!("failed: {Cancelled}").as_str(), "stop"],
        "never told it started"
    );
    assert_eq!(reactor.clock().pending_calls(), 0);
}

#[test]
fn a_connect_from_inside_a_factory_callback_does_not_call_back_into_it() {
    /// Reconnects from inside `client_connection_failed` while holding a borrow of its
    /// own state: a synchronous `started_connecting` would panic.
    #[derive(Default)]
    struct Holding {
        state: RefCell<Vec<&'static str>>,
    }
    impl Factory for Holding {
        fn build_protocol(&self, _: &Address) -> Option<Box<dyn Protocol>> {
            Some(Box::new(Hello))
        }
    }
    impl ClientFactory for Holding {
        fn started_connecting(&self, _: &Connector) {
            self.state.borrow_mut().push("started");
        }
        fn client_connection_failed(&self, connector: &Connector, _: Failure) {
            let mut state = self.state.borrow_mut();
            state.push("failed");
            if state.len() < 4 {
                connector.connect();
            }
        }
    }
    let reactor = MemoryReactor::new();
    let factory = Rc::new(Holding::default());
    reactor.connect_tcp_dyn("192.0.2.1", 25, factory.clone(), None, None);
    assert!(reactor.fail_once(Failure::msg("refused")));
    assert!(reactor.fail_once(Failure::msg("refused")));
    assert_eq!(
        *factory.state.borrow(),
        ["started", "failed", "started", "failed"]
    );
    assert_eq!(reactor.pending_connects(), 0);
}
