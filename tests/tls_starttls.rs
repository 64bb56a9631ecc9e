//! STARTTLS on established TCP connections (`start_tls`): between our own two ends, and
//! our SMTP-like server against `openssl s_client -starttls smtp`. The protocol's
//! `Transport` handle stays the same object before and after; what was written before
//! `start_tls` goes out in the clear, everything after is encrypted.
#![cfg(feature = "tls")]

mod tls_util;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tls_util::Peer;
use torsion::protocol::{for_protocol, ConnectionLost, Protocol};
use torsion::tcp::ReactorTcp;
use torsion::testing::StringTransport;
use torsion::tls::{start_tls, tls_of, TlsClientConfig, TlsErrorKind, TlsServerConfig};
use torsion::transport::Transport;
use torsion::Reactor;

const LIMIT: Duration = Duration::from_secs(15);

fn run_until(reactor: &Reactor, what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < LIMIT, "{what}: not within {LIMIT:?}");
        reactor.iterate(Duration::from_millis(5)).unwrap();
    }
}

#[derive(Default)]
struct Log {
    lines: Vec<String>,
    handles: Vec<Transport>,
    lost: Option<ConnectionLost>,
}

/// A line server in the manner of SMTP: "220 ready" on connect; `EHLO` → `250 STARTTLS`;
/// `STARTTLS` → "220 go ahead" (in the clear) then TLS; anything else is echoed.
struct SmtpLike {
    config: TlsServerConfig,
    buf: Vec<u8>,
    log: Rc<RefCell<Log>>,
}

impl Protocol for SmtpLike {
    fn connection_made(&mut self, t: &Transport) {
        self.log.borrow_mut().handles.push(t.clone());
        t.write(b"220 localhost ready\r\n");
    }
    fn data_received(&mut self, t: &Transport, data: &[u8]) {
        self.buf.extend_from_slice(data);
        while let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
            let line: Vec<u8> = self.buf.drain(..i + 2).collect();
            let line = String::from_utf8_lossy(&line[..i]).into_owned();
            self.log.borrow_mut().lines.push(line.clone());
            self.log.borrow_mut().handles.push(t.clone());
            if line.starts_with("EHLO") {
                t.write(b"250-localhost\r\n250 STARTTLS\r\n");
            } else if line == "STARTTLS" {
                t.write(b"220 go ahead\r\n");
                start_tls(t, self.config.clone()).expect("start_tls");
                // A STARTTLS server drops what was pipelined after the command.
                self.buf.clear();
            } else {
                t.write(format!("echo {line}\r\n").as_bytes());
            }
        }
    }
    fn connection_lost(&mut self, _: &Transport, reason: ConnectionLost) {
        self.log.borrow_mut().lost = Some(reason);
    }
}

fn listen_smtp_like(reactor: &Reactor, dir: &std::path::Path) -> (u16, Rc<RefCell<Log>>) {
    let log: Rc<RefCell<Log>> = Rc::default();
    let l2 = log.clone();
    let config = tls_util::server_config(dir, "server");
    let port = reactor
        .listen_tcp_dyn(
            0,
            for_protocol(move || SmtpLike {
                config: config.clone(),
                buf: Vec::new(),
                log: l2.clone(),
            }),
            50,
            "127.0.0.1",
        )
        .unwrap()
        .get_host()
        .port()
        .unwrap();
    (port, log)
}

/// The client side: sends STARTTLS after the greeting, starts TLS on "220 go ahead",
/// then sends a line through TLS.
struct Upgrader {
    config: TlsClientConfig,
    log: Rc<RefCell<Log>>,
    started: bool,
}

impl Protocol for Upgrader {
    fn connection_made(&mut self, t: &Transport) {
        self.log.borrow_mut().handles.push(t.clone());
    }
    fn data_received(&mut self, t: &Transport, data: &[u8]) {
        let text = String::from_utf8_lossy(data).into_owned();
        self.log.borrow_mut().lines.push(text.clone());
        self.log.borrow_mut().handles.push(t.clone());
        if text.starts_with("220 localhost") {
            t.write(b"STARTTLS\r\n");
        } else if text.starts_with("220 go ahead") && !self.started {
            self.started = true;
            let tls = start_tls(t, self.config.clone()).expect("start_tls");
            assert!(!tls.is_handshake_complete());
            t.write(b"secret line\r\n"); // encrypted, sent after the handshake
        }
    }
    fn connection_lost(&mut self, _: &Transport, reason: ConnectionLost) {
        self.log.borrow_mut().lost = Some(reason);
    }
}

#[test]
fn starttls_between_our_ends_keeps_the_transport() {
    let dir = certs_or_skip!();
    let reactor = Reactor::new().unwrap();
    let (port, server_log) = listen_smtp_like(&reactor, dir);
    let client_log: Rc<RefCell<Log>> = Rc::default();
    let c2 = client_log.clone();
    let config = tls_util::client_config(dir, "localhost");
    let cell = RefCell::new(Some(Upgrader {
        config,
        log: c2,
        started: false,
    }));
    reactor.connect_tcp_dyn(
        "127.0.0.1",
        port,
        for_protocol(move || cell.borrow_mut().take().unwrap()),
        Some(LIMIT),
        None,
    );
    run_until(&reactor, "the encrypted echo", || {
        client_log
            .borrow()
            .lines
            .iter()
            .any(|l| l.contains("echo secret line"))
    });
    assert_eq!(server_log.borrow().lines, ["STARTTLS", "secret line"]);
    // The same Transport handle throughout, on both sides.
    for log in [&client_log, &server_log] {
        let log = log.borrow();
        assert!(
            log.handles.windows(2).all(|w| w[0] == w[1]),
            "one transport handle"
        );
        let tls = tls_of(&log.handles[0]).expect("TLS is reachable from the old handle");
        assert!(tls.is_handshake_complete());
    }
    // lose_connection on the old handle closes TLS cleanly (close_notify).
    let handle = client_log.borrow().handles[0].clone();
    assert!(
        handle.downcast::<torsion::tls::TlsTransport>().is_none(),
        "still the TCP transport"
    );
    handle.lose_connection();
    run_until(&reactor, "both closed", || {
        client_log.borrow().lost.is_some() && server_log.borrow().lost.is_some()
    });
    assert!(client_log.borrow().lost.as_ref().unwrap().is_clean());
    assert!(server_log.borrow().lost.as_ref().unwrap().is_clean());
    // Starting TLS twice, or on a closed transport, is refused.
    assert!(start_tls(&handle, tls_util::client_config(dir, "localhost")).is_err());
    reactor.close();
}

#[test]
fn starttls_with_openssl_s_client_smtp() {
    let dir = certs_or_skip!();
    let reactor = Reactor::new().unwrap();
    let (port, log) = listen_smtp_like(&reactor, dir);
    for flag in ["-tls1_2", "-tls1_3"] {
        let mut client = Peer::s_client(dir, port, &["-starttls", "smtp", flag, "-brief"]);
        run_until(&reactor, "STARTTLS handshake", || {
            client.drain().contains("Verification: OK")
        });
        client.send(b"hello through TLS\r\n");
        run_until(&reactor, "echo", || {
            client.drain().contains("echo hello through TLS")
        });
        assert!(log.borrow().lines.iter().any(|l| l == "hello through TLS"));
    }
    reactor.close();
}

#[test]
fn starttls_needs_a_transport_that_supports_it() {
    let dir = certs_or_skip!();
    let (_st, t) = StringTransport::pair();
    let e = start_tls(&t, tls_util::client_config(dir, "localhost")).unwrap_err();
    assert_eq!(e.kind(), TlsErrorKind::Config);
    assert!(e.to_string().contains("cannot start TLS"), "{e}");
}
