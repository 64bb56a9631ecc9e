//! TCP endpoints on real loopback sockets with the real reactor (every backend): a round
//! trip through string endpoints, listen errors, refused connections, connect timeouts
//! against a listener whose queue is full, and cancelling a pending connect.

mod util;

use std::cell::RefCell;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::time::{Duration, Instant};

use torsion::defer::{Deferred, TimedOut};
use torsion::endpoints::{
    client_from_string, connect_protocol, server_from_string, CannotListen, ConnectingCancelled,
    StreamClientEndpoint, TcpClientEndpoint,
};
use torsion::protocol::{for_protocol, ConnectionLost, Protocol};
use torsion::transport::Transport;
use torsion::Reactor;
use util::{reactors, turn_until};

const LIMIT: Duration = Duration::from_secs(10);

struct Echo;

impl Protocol for Echo {
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        transport.write(data);
    }
}

/// Writes a greeting on connect and collects what comes back.
struct Greeter {
    greeting: &'static [u8],
    got: Rc<RefCell<Vec<u8>>>,
    lost: Rc<RefCell<Option<ConnectionLost>>>,
}

impl Protocol for Greeter {
    fn connection_made(&mut self, transport: &Transport) {
        transport.write(self.greeting);
    }
    fn data_received(&mut self, _: &Transport, data: &[u8]) {
        self.got.borrow_mut().extend_from_slice(data);
    }
    fn connection_lost(&mut self, _: &Transport, reason: ConnectionLost) {
        *self.lost.borrow_mut() = Some(reason);
    }
}

fn wait_fired<T: 'static>(reactor: &Reactor, d: &Deferred<T>) {
    turn_until(reactor, LIMIT, || d.called());
}

fn echo_server(reactor: &Reactor) -> (torsion::tcp::ListeningPort, u16) {
    let server = server_from_string(reactor, "tcp:0:interface=127.0.0.1").unwrap();
    let port = server
        .listen(for_protocol(|| Echo))
        .take_result()
        .expect("listen is synchronous")
        .expect("listening");
    let number = port.get_host().port().unwrap();
    (port, number)
}

#[test]
fn round_trip_through_string_endpoints() {
    for reactor in reactors() {
        let (port, number) = echo_server(&reactor);
        let got = Rc::new(RefCell::new(Vec::new()));
        let lost = Rc::new(RefCell::new(None));
        let (g, l) = (got.clone(), lost.clone());
        let client =
            client_from_string(&reactor, &format!("tcp:host=127.0.0.1:port={number}")).unwrap();
        let d = client.connect(for_protocol(move || Greeter {
            greeting: b"hello, endpoints",
            got: g.clone(),
            lost: l.clone(),
        }));
        wait_fired(&reactor, &d);
        let transport = d.take_result().unwrap().expect("connected");
        assert_eq!(transport.get_peer(), port.get_host());
        turn_until(&reactor, LIMIT, || got.borrow().len() == 16);
        assert_eq!(&*got.borrow(), b"hello, endpoints");
        transport.lose_connection();
        turn_until(&reactor, LIMIT, || lost.borrow().is_some());
        assert!(lost.borrow().as_ref().unwrap().is_clean());
        drop(port.stop_listening());
        reactor.close();
    }
}

#[test]
fn connect_protocol_over_loopback() {
    let reactor = Reactor::new().unwrap();
    let (port, number) = echo_server(&reactor);
    let got = Rc::new(RefCell::new(Vec::new()));
    let endpoint = TcpClientEndpoint::new(&reactor, "127.0.0.1", number);
    let d = connect_protocol(
        &endpoint,
        Greeter {
            greeting: b"ping",
            got: got.clone(),
            lost: Rc::default(),
        },
    );
    wait_fired(&reactor, &d);
    let transport = d.take_result().unwrap().unwrap();
    turn_until(&reactor, LIMIT, || got.borrow().len() == 4);
    assert_eq!(&*got.borrow(), b"ping");
    transport.abort_connection();
    drop(port.stop_listening());
    reactor.close();
}

#[test]
fn listening_on_a_taken_port_fails_with_the_os_error() {
    let reactor = Reactor::new().unwrap();
    let (port, number) = echo_server(&reactor);
    let again = server_from_string(&reactor, &format!("tcp:{number}:interface=127.0.0.1")).unwrap();
    let failure = again
        .listen(for_protocol(|| Echo))
        .take_result()
        .unwrap()
        .unwrap_err();
    let err = failure
        .downcast_ref::<CannotListen>()
        .expect("CannotListen");
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    assert!(
        err.to_string()
            .contains(&format!("TCP port {number} (interface 127.0.0.1)")),
        "{err}"
    );
    drop(port.stop_listening());
    reactor.close();
}

/// A port nobody listens on (bound then closed).
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn connecting_to_a_closed_port_is_refused() {
    for reactor in reactors() {
        let port = closed_port();
        let client = client_from_string(&reactor, &format!("tcp:127.0.0.1:{port}")).unwrap();
        let d = client.connect(for_protocol(|| Echo));
        wait_fired(&reactor, &d);
        let failure = d.take_result().unwrap().unwrap_err();
        let err = failure.downcast_ref::<io::Error>().expect("an io::Error");
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        reactor.close();
    }
}

#[test]
fn a_name_that_does_not_resolve_fails() {
    let reactor = Reactor::new().unwrap();
    let client =
        client_from_string(&reactor, "tcp:host=nonexistent.invalid:port=80:timeout=5").unwrap();
    let d = client.connect(for_protocol(|| Echo));
    wait_fired(&reactor, &d);
    let failure = d.take_result().unwrap().unwrap_err();
    assert!(
        failure.check::<io::Error>() || failure.check::<TimedOut>(),
        "{failure}"
    );
    reactor.close();
}

/// A listener with backlog 0 that never accepts, its queue filled so that the next
/// connect hangs (the kernel drops its SYN). Returns the socket and what fills it.
fn hung_listener() -> (OwnedFd, SocketAddr, Vec<TcpStream>) {
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let fd = torsion::sys::socket::tcp_listen(addr, 0, true).unwrap();
    let addr = torsion::sys::socket::local_addr(&fd).unwrap();
    let mut fillers = Vec::new();
    for _ in 0..16 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(s) => fillers.push(s),
            Err(e) if e.kind() == io::ErrorKind::TimedOut => return (fd, addr, fillers),
            Err(e) => panic!("filling the queue: {e}"),
        }
    }
    panic!("the listen queue never filled");
}

#[test]
fn connect_timeout_errbacks_with_timed_out() {
    let (_listener, addr, _fillers) = hung_listener();
    let reactor = Reactor::new().unwrap();
    let client = client_from_string(
        &reactor,
        &format!("tcp:127.0.0.1:{}:timeout=0.5", addr.port()),
    )
    .unwrap();
    let started = Instant::now();
    let d = client.connect(for_protocol(|| Echo));
    wait_fired(&reactor, &d);
    let elapsed = started.elapsed();
    let failure = d.take_result().unwrap().unwrap_err();
    assert!(failure.check::<TimedOut>(), "{failure}");
    assert!(
        elapsed >= Duration::from_millis(450) && elapsed < Duration::from_secs(5),
        "{elapsed:?}"
    );
    reactor.close();
}

#[test]
fn cancelling_a_pending_connect() {
    let (_listener, addr, _fillers) = hung_listener();
    let reactor = Reactor::new().unwrap();
    let endpoint = TcpClientEndpoint::new(&reactor, "127.0.0.1", addr.port())
        .with_timeout(Some(Duration::from_millis(300)));
    let d = endpoint.connect(for_protocol(|| Echo));
    let deadline = Instant::now() + Duration::from_millis(50);
    turn_until(&reactor, LIMIT, || Instant::now() >= deadline);
    assert!(!d.called(), "still connecting");
    d.cancel();
    let failure = d.take_result().unwrap().unwrap_err();
    let cancelled = failure
        .downcast_ref::<ConnectingCancelled>()
        .expect("ConnectingCancelled");
    assert_eq!(
        cancelled.destination.to_string(),
        format!("tcp:127.0.0.1:{}", addr.port())
    );
    // The attempt is gone: its timeout does not fire into anything later.
    let deadline = Instant::now() + Duration::from_millis(500);
    turn_until(&reactor, LIMIT, || Instant::now() >= deadline);
    assert!(
        reactor.get_delayed_calls().is_empty(),
        "the connect timer was cancelled"
    );
    reactor.close();
}

#[test]
fn a_dyn_endpoint_connects_too() {
    let reactor = Reactor::new().unwrap();
    let (port, number) = echo_server(&reactor);
    let endpoint: Rc<dyn StreamClientEndpoint> =
        Rc::new(TcpClientEndpoint::new(&reactor, "localhost", number));
    let d = endpoint.connect(for_protocol(|| Echo));
    wait_fired(&reactor, &d);
    // "localhost" may resolve to ::1 first, where nothing listens: either is an answer.
    match d.take_result().unwrap() {
        Ok(t) => t.abort_connection(),
        Err(f) => assert!(f.check::<io::Error>(), "{f}"),
    }
    drop(port.stop_listening());
    reactor.close();
}
