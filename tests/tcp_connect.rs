//! Client connections: ClientFactory callbacks in order, refusal, timeouts, names resolved
//! off the reactor thread, stop_connecting, reconnecting from client_connection_lost, bind
//! addresses, and Unix sockets.

mod util;

use std::cell::RefCell;
use std::net::TcpListener;
use std::rc::Rc;
use std::time::Duration;

use torsion::defer::{Cancelled, Failure, TimedOut};
use torsion::protocol::{for_protocol, Address, ClientFactory, ConnectionLost, Factory, Protocol};
use torsion::tcp::Connector;
use torsion::transport::Transport;
use torsion::Reactor;
use util::{reactors, run_until};

const LIMIT: Duration = Duration::from_secs(15);

struct Echo;
impl Protocol for Echo {
    fn data_received(&mut self, t: &Transport, data: &[u8]) {
        t.write(data);
    }
}

struct Hello;
impl Protocol for Hello {
    fn connection_made(&mut self, t: &Transport) {
        t.write(b"hi");
    }
    fn data_received(&mut self, t: &Transport, _: &[u8]) {
        t.lose_connection();
    }
}

/// Logs every callback; reconnects `reconnects` times from client_connection_lost.
struct Logging {
    log: Rc<RefCell<Vec<String>>>,
    reconnects: std::cell::Cell<u32>,
}

impl Factory for Logging {
    fn build_protocol(&self, addr: &Address) -> Option<Box<dyn Protocol>> {
        self.log.borrow_mut().push(format!(
            "build {}",
            matches!(addr, Address::Tcp(_) | Address::Unix(_))
        ));
        Some(Box::new(Hello))
    }
    fn start_factory(&self) {
        self.log.borrow_mut().push("start".into());
    }
    fn stop_factory(&self) {
        self.log.borrow_mut().push("stop".into());
    }
}

impl ClientFactory for Logging {
    fn started_connecting(&self, _: &Connector) {
        self.log.borrow_mut().push("started".into());
    }
    fn client_connection_failed(&self, _: &Connector, reason: Failure) {
        let kind = if reason.check::<TimedOut>() {
            "timeout".to_string()
        } else if reason.check::<Cancelled>() {
            "cancelled".to_string()
        } else if let Some(e) = reason.downcast_ref::<std::io::Error>() {
            format!("{:?}", e.kind())
        } else {
            reason.to_string()
        };
        self.log.borrow_mut().push(format!("failed {kind}"));
    }
    fn client_connection_lost(&self, connector: &Connector, reason: &ConnectionLost) {
        self.log
            .borrow_mut()
            .push(format!("lost clean={}", reason.is_clean()));
        if self.reconnects.get() > 0 {
            self.reconnects.set(self.reconnects.get() - 1);
            connector.connect();
        }
    }
}

fn logging(reconnects: u32) -> (Rc<Logging>, Rc<RefCell<Vec<String>>>) {
    let log = Rc::new(RefCell::new(Vec::new()));
    (
        Rc::new(Logging {
            log: log.clone(),
            reconnects: std::cell::Cell::new(reconnects),
        }),
        log,
    )
}

#[test]
fn callbacks_come_in_order_and_a_client_can_reconnect() {
    for reactor in reactors() {
        let port = reactor
            .listen_tcp(0, for_protocol(|| Echo), 50, "127.0.0.1")
            .unwrap();
        let (factory, log) = logging(1);
        let connector = reactor.connect_tcp(
            "127.0.0.1",
            port.get_host().port().unwrap(),
            factory,
            Some(Duration::from_secs(5)),
            None,
        );
        run_until(&reactor, LIMIT, || {
            log.borrow().last().map(String::as_str) == Some("stop")
        });
        assert_eq!(
            *log.borrow(),
            [
                "start",
                "started",
                "build true",
                "lost clean=true",
                "started",
                "build true",
                "lost clean=true",
                "stop"
            ]
        );
        assert!(!connector.is_connected());
        reactor.close();
    }
}

#[test]
fn a_refused_connection_fails_with_the_os_error() {
    let free = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for reactor in reactors() {
        let (factory, log) = logging(0);
        reactor.connect_tcp("127.0.0.1", free, factory, None, None);
        run_until(&reactor, LIMIT, || log.borrow().len() >= 3);
        assert_eq!(
            *log.borrow(),
            ["start", "started", "failed ConnectionRefused", "stop"]
        );
        reactor.close();
    }
}

#[test]
fn a_connect_that_hangs_times_out() {
    // A listener with a full backlog that never accepts: further SYNs are dropped.
    let listener =
        torsion::sys::socket::tcp_listen("127.0.0.1:0".parse().unwrap(), 0, true).unwrap();
    let addr = torsion::sys::socket::local_addr(&listener).unwrap();
    let mut fillers = Vec::new();
    for _ in 0..4 {
        if let Ok((fd, _)) = torsion::sys::socket::tcp_connect(addr) {
            fillers.push(fd);
        }
    }
    std::thread::sleep(Duration::from_millis(50));
    let reactor = Reactor::new().unwrap();
    let (factory, log) = logging(0);
    reactor.connect_tcp(
        "127.0.0.1",
        addr.port(),
        factory,
        Some(Duration::from_millis(300)),
        None,
    );
    run_until(&reactor, LIMIT, || {
        log.borrow().iter().any(|l| l.starts_with("failed"))
    });
    assert!(
        log.borrow().iter().any(|l| l == "failed timeout"),
        "expected a timeout: {:?}",
        log.borrow()
    );
    reactor.close();
}

#[test]
fn stop_connecting_cancels_an_attempt() {
    let reactor = Reactor::new().unwrap();
    let (factory, log) = logging(0);
    let connector = reactor.connect_tcp("127.0.0.1", 9, factory, None, None);
    connector.stop_connecting();
    run_until(&reactor, LIMIT, || log.borrow().len() >= 3);
    assert_eq!(*log.borrow(), ["start", "failed cancelled", "stop"]);
    reactor.close();
}

#[test]
fn names_resolve_off_the_reactor_thread_and_bind_addresses_apply() {
    let reactor = Reactor::new().unwrap();
    let port = reactor
        .listen_tcp(0, for_protocol(|| Echo), 50, "127.0.0.1")
        .unwrap();
    let (factory, log) = logging(0);
    let bind: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
    reactor.connect_tcp(
        "localhost",
        port.get_host().port().unwrap(),
        factory,
        None,
        Some(bind),
    );
    run_until(&reactor, LIMIT, || {
        log.borrow().last().map(String::as_str) == Some("stop")
    });
    // localhost may resolve to ::1 first, where nothing listens; either way the attempt ended.
    let log = log.borrow();
    assert!(
        log.contains(&"lost clean=true".to_string()) || log.iter().any(|l| l.starts_with("failed")),
        "{log:?}"
    );
    reactor.close();
}

#[test]
fn unix_sockets_listen_connect_and_clean_up() {
    for reactor in reactors() {
        let dir = std::env::temp_dir().join(format!(
            "torsion-unix-{}-{}",
            std::process::id(),
            reactor.backend()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("echo.sock");
        let port = reactor
            .listen_unix(&path, for_protocol(|| Echo), 50, 0o600)
            .unwrap();
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let (factory, log) = logging(0);
        reactor.connect_unix(&path, factory, Some(Duration::from_secs(5)));
        run_until(&reactor, LIMIT, || {
            log.borrow().last().map(String::as_str) == Some("stop")
        });
        assert_eq!(
            *log.borrow(),
            ["start", "started", "build true", "lost clean=true", "stop"]
        );
        drop(port.stop_listening());
        assert!(
            !path.exists(),
            "the socket file is removed when the port stops"
        );
        // A stale socket file left by a crashed server does not stop a restart.
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        assert!(path.exists());
        let again = reactor
            .listen_unix(&path, for_protocol(|| Echo), 50, 0o666)
            .unwrap();
        drop(again.stop_listening());
        std::fs::remove_dir_all(&dir).unwrap();
        reactor.close();
    }
}
