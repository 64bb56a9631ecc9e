//! TLS over real TCP on one reactor, both ends ours: the `ssl:` / `tls:` endpoints, write
//! coalescing (counted system calls), backpressure through TLS, and bad input closing only
//! its own connection: a plaintext client, a reset in the middle of the handshake, a silent
//! client (handshake timeout), an untrusted certificate, a wrong host name, an expired
//! certificate.
#![cfg(feature = "tls")]

mod tls_util;

use std::cell::Cell;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::rc::Rc;
use std::time::Duration;

use tls_util::{client_config, Recorder, Shared};
use torsion::endpoints::{client_from_string, server_from_string};
use torsion::protocol::{for_protocol, Protocol};
use torsion::testing::Driver;
use torsion::tls::{tls_of, TlsError, TlsErrorKind, TlsProtocol};
use torsion::transport::{Producer, PushProducer, Transport};
use torsion::Reactor;

const LIMIT: Duration = Duration::from_secs(20);
/// What the producer test sends: more than the kernel buffers of a loopback connection hold.
const TOTAL: usize = 32 << 20;

fn run_until(reactor: &Reactor, mut done: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !done() {
        assert!(
            start.elapsed() < LIMIT,
            "condition not reached within {LIMIT:?}"
        );
        reactor.iterate(Duration::from_millis(5)).unwrap();
    }
}

/// An `ssl:` echo server on 127.0.0.1 with `cert`; returns its port and what each of its
/// connections saw.
fn echo_server(
    reactor: &Reactor,
    dir: &std::path::Path,
    cert: &str,
    extra: &str,
) -> (u16, Rc<std::cell::RefCell<Vec<Shared>>>) {
    let seen: Rc<std::cell::RefCell<Vec<Shared>>> = Rc::default();
    let s2 = seen.clone();
    let description = format!(
        "ssl:0:interface=127.0.0.1:privateKey={}:certKey={}{extra}",
        dir.join(format!("{cert}.key")).display(),
        dir.join(format!("{cert}.pem")).display()
    );
    let port = server_from_string(reactor, &description)
        .unwrap()
        .listen(for_protocol(move || {
            let (r, s) = Recorder::echo();
            s2.borrow_mut().push(s);
            r
        }))
        .take_result()
        .unwrap()
        .unwrap();
    (port.get_host().port().unwrap(), seen)
}

/// Connects a recorder with `tls:` to 127.0.0.1:`port`, trusting `ca`.
fn connect(
    reactor: &Reactor,
    port: u16,
    ca: &std::path::Path,
    extra: &str,
    greeting: &[u8],
) -> Shared {
    let (r, seen) = Recorder::greeting(greeting);
    let cell = std::cell::RefCell::new(Some(r));
    let description = format!("tls:127.0.0.1:{port}:trustRoots={}{extra}", ca.display());
    let d = client_from_string(reactor, &description)
        .unwrap()
        .connect(for_protocol(move || cell.borrow_mut().take().unwrap()));
    drop(d);
    seen
}

fn kind_of(seen: &Shared) -> Option<TlsErrorKind> {
    seen.borrow()
        .lost
        .as_ref()
        .and_then(|r| TlsError::of(r).map(|e| e.kind()))
}

#[test]
fn echo_through_the_endpoints_both_versions() {
    let dir = certs_or_skip!();
    let reactor = Reactor::new().unwrap();
    for method in ["TLSv1_2_METHOD", "TLSv1_3_METHOD"] {
        let (port, _) = echo_server(&reactor, dir, "server", &format!(":sslmethod={method}"));
        let seen = connect(&reactor, port, &dir.join("ca.pem"), "", b"ping over TLS");
        run_until(&reactor, || seen.borrow().data == b"ping over TLS");
        let t = seen.borrow().transport.clone().unwrap();
        let tls = t
            .downcast::<torsion::tls::TlsTransport>()
            .expect("the endpoint gives the TLS transport");
        let version = format!("{:?}", tls.protocol_version().unwrap());
        assert_eq!(
            version,
            if method.contains("1_2") {
                "Tls12"
            } else {
                "Tls13"
            }
        );
        t.lose_connection();
        run_until(&reactor, || seen.borrow().lost.is_some());
        assert!(seen.borrow().lost.as_ref().unwrap().is_clean());
    }
    reactor.close();
}

/// 100 small writes in one callback leave as one TLS record in one `sendmsg`.
#[test]
fn small_writes_in_one_turn_coalesce() {
    let dir = certs_or_skip!();
    let reactor = Reactor::new().unwrap();
    struct Chatty;
    impl Protocol for Chatty {
        fn data_received(&mut self, t: &Transport, _: &[u8]) {
            for i in 0..100u8 {
                t.write(&[b'a' + i % 26]);
            }
        }
    }
    let port = server_from_string(
        &reactor,
        &format!(
            "ssl:0:interface=127.0.0.1:privateKey={}:certKey={}",
            dir.join("server.key").display(),
            dir.join("server.pem").display()
        ),
    )
    .unwrap()
    .listen(for_protocol(|| Chatty))
    .take_result()
    .unwrap()
    .unwrap()
    .get_host()
    .port()
    .unwrap();
    let seen = connect(&reactor, port, &dir.join("ca.pem"), "", b"");
    run_until(&reactor, || {
        seen.borrow()
            .transport
            .as_ref()
            .is_some_and(|t| tls_of(t).unwrap().is_handshake_complete())
    });
    // Let the handshake's last flight settle.
    for _ in 0..5 {
        reactor.iterate(Duration::from_millis(5)).unwrap();
    }
    let before = reactor.stats();
    seen.borrow().transport.clone().unwrap().write(b"go");
    run_until(&reactor, || seen.borrow().data.len() == 100);
    let after = reactor.stats();
    // One write for "go" (client) and one for the 100 answers (server).
    assert!(
        after.writes - before.writes <= 2,
        "{} writes",
        after.writes - before.writes
    );
    reactor.close();
}

/// A push producer writing through TLS is paused at the TLS transport's high-water mark
/// while the peer does not read, and resumed when it does.
#[test]
fn producer_paused_through_tls() {
    let dir = certs_or_skip!();
    let reactor = Reactor::new().unwrap();
    struct Firehose {
        transport: Transport,
        paused: Cell<bool>,
        pauses: Cell<u32>,
        sent: Cell<usize>,
        max_buffered: Cell<usize>,
    }
    impl Firehose {
        fn pump(&self) {
            while !self.paused.get() && self.sent.get() < TOTAL {
                self.transport.write(&[7u8; 16 * 1024]);
                self.sent.set(self.sent.get() + 16 * 1024);
                let len = self.transport.write_buffer_len();
                self.max_buffered.set(self.max_buffered.get().max(len));
                if self.max_buffered.get() > 8 << 20 {
                    return; // the test fails below
                }
                if self.sent.get() % (256 * 1024) == 0 {
                    return; // come back on the next resume or timer
                }
            }
        }
    }
    impl PushProducer for Firehose {
        fn pause_producing(&self) {
            self.paused.set(true);
            self.pauses.set(self.pauses.get() + 1);
        }
        fn resume_producing(&self) {
            self.paused.set(false);
            self.pump();
        }
        fn stop_producing(&self) {}
    }
    let hose: Rc<std::cell::RefCell<Option<Rc<Firehose>>>> = Rc::default();
    let h2 = hose.clone();
    struct Source(Rc<std::cell::RefCell<Option<Rc<Firehose>>>>);
    impl Protocol for Source {
        fn connection_made(&mut self, t: &Transport) {
            t.set_write_watermarks(64 * 1024, 0);
            let f = Rc::new(Firehose {
                transport: t.clone(),
                paused: Cell::new(false),
                pauses: Cell::new(0),
                sent: Cell::new(0),
                max_buffered: Cell::new(0),
            });
            t.register_producer(Producer::Push(f.clone())).unwrap();
            *self.0.borrow_mut() = Some(f);
        }
        fn data_received(&mut self, _: &Transport, _: &[u8]) {
            if let Some(f) = self.0.borrow().clone() {
                f.pump();
            }
        }
    }
    let cell = std::cell::RefCell::new(Some(Source(h2)));
    let port = server_from_string(
        &reactor,
        &format!(
            "ssl:0:interface=127.0.0.1:privateKey={}:certKey={}",
            dir.join("server.key").display(),
            dir.join("server.pem").display()
        ),
    )
    .unwrap()
    .listen(for_protocol(move || cell.borrow_mut().take().unwrap()))
    .take_result()
    .unwrap()
    .unwrap()
    .get_host()
    .port()
    .unwrap();
    let seen = connect(&reactor, port, &dir.join("ca.pem"), "", b"start");
    run_until(&reactor, || {
        seen.borrow().transport.is_some() && hose.borrow().is_some()
    });
    let client = seen.borrow().transport.clone().unwrap();
    run_until(&reactor, || !seen.borrow().data.is_empty());
    client.pause_producing(); // stop reading: the server's buffers fill
    let f = hose.borrow().clone().unwrap();
    run_until(&reactor, || f.paused.get());
    for _ in 0..20 {
        reactor.iterate(Duration::from_millis(5)).unwrap();
    }
    assert!(f.paused.get());
    let stalled_at = f.sent.get();
    assert!(stalled_at < TOTAL, "the producer was paused before the end");
    assert!(
        f.max_buffered.get() < 2 << 20,
        "buffered {} bytes",
        f.max_buffered.get()
    );
    client.resume_producing();
    run_until(&reactor, || seen.borrow().data.len() >= TOTAL);
    assert!(f.pauses.get() >= 1);
    reactor.close();
}

/// Bad input closes only its own connection, with a clear reason, while a good one keeps
/// echoing.
#[test]
fn bad_input_closes_only_that_connection() {
    let dir = certs_or_skip!();
    let reactor = Reactor::new().unwrap();
    let (port, server_seen) = echo_server(&reactor, dir, "server", ":handshakeTimeout=0.5");
    let good = connect(&reactor, port, &dir.join("ca.pem"), "", b"first");
    run_until(&reactor, || good.borrow().data == b"first");
    let good_t = good.borrow().transport.clone().unwrap();
    let mut rounds = 0;
    let mut still_good = |reactor: &Reactor| {
        rounds += 1;
        let msg = format!("round {rounds}");
        good.borrow_mut().data.clear();
        good_t.write(msg.as_bytes());
        run_until(reactor, || good.borrow().data == msg.as_bytes());
    };
    let last_server =
        |seen: &Rc<std::cell::RefCell<Vec<Shared>>>| seen.borrow().last().unwrap().clone();

    // 1. A plaintext client on the TLS port.
    let mut plain = TcpStream::connect(("127.0.0.1", port)).unwrap();
    plain.set_read_timeout(Some(LIMIT)).unwrap();
    plain.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    run_until(&reactor, || {
        server_seen.borrow().len() == 2 && last_server(&server_seen).borrow().lost.is_some()
    });
    assert_eq!(
        kind_of(&last_server(&server_seen)),
        Some(TlsErrorKind::NotTls)
    );
    let mut rest = Vec::new();
    let _ = plain.read_to_end(&mut rest); // an alert, then the close
    still_good(&reactor);

    // 2. Half a ClientHello, then a reset.
    let hello = Driver::new(
        TlsProtocol::client(&client_config(dir, "localhost"), Recorder::new().0).unwrap(),
    )
    .take_written();
    let cut = TcpStream::connect(("127.0.0.1", port)).unwrap();
    (&cut).write_all(&hello[..hello.len() / 2]).unwrap();
    run_until(&reactor, || server_seen.borrow().len() == 3);
    for _ in 0..5 {
        reactor.iterate(Duration::from_millis(5)).unwrap();
    }
    torsion::sys::socket::set_linger_zero(&cut).unwrap();
    drop(cut);
    run_until(&reactor, || {
        last_server(&server_seen).borrow().lost.is_some()
    });
    assert_eq!(
        kind_of(&last_server(&server_seen)),
        Some(TlsErrorKind::HandshakeInterrupted)
    );
    still_good(&reactor);

    // 3. A silent client: the handshake timeout (0.5 s here) closes it.
    let silent = TcpStream::connect(("127.0.0.1", port)).unwrap();
    run_until(&reactor, || {
        server_seen.borrow().len() == 4 && last_server(&server_seen).borrow().lost.is_some()
    });
    assert_eq!(
        kind_of(&last_server(&server_seen)),
        Some(TlsErrorKind::HandshakeTimeout)
    );
    drop(silent);
    still_good(&reactor);

    // 4. A client that trusts another CA: unknown issuer (client side), alert (server side).
    let untrusting = connect(&reactor, port, &dir.join("rogue-ca.pem"), "", b"x");
    run_until(&reactor, || untrusting.borrow().lost.is_some());
    assert_eq!(kind_of(&untrusting), Some(TlsErrorKind::UnknownIssuer));
    run_until(&reactor, || {
        last_server(&server_seen).borrow().lost.is_some()
    });
    assert_eq!(
        kind_of(&last_server(&server_seen)),
        Some(TlsErrorKind::AlertReceived)
    );
    still_good(&reactor);

    // 5. The wrong host name.
    let wrong = client_from_string(
        &reactor,
        &format!(
            "ssl:127.0.0.1:{port}:hostname=example.org:caCertsDir={}",
            dir.display()
        ),
    )
    .unwrap();
    let (r, wrong_seen) = Recorder::new();
    let cell = std::cell::RefCell::new(Some(r));
    drop(wrong.connect(for_protocol(move || cell.borrow_mut().take().unwrap())));
    run_until(&reactor, || wrong_seen.borrow().lost.is_some());
    assert_eq!(kind_of(&wrong_seen), Some(TlsErrorKind::NameMismatch));
    let message = wrong_seen.borrow().lost.as_ref().unwrap().to_string();
    assert!(message.contains("example.org"), "{message}");
    still_good(&reactor);

    // 6. An expired certificate (another server).
    let (expired_port, _) = echo_server(&reactor, dir, "expired", "");
    let expired = connect(&reactor, expired_port, &dir.join("ca.pem"), "", b"x");
    run_until(&reactor, || expired.borrow().lost.is_some());
    assert_eq!(kind_of(&expired), Some(TlsErrorKind::Expired));
    still_good(&reactor);

    assert!(good.borrow().lost.is_none());
    reactor.close();
}
