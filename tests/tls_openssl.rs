//! Interop with OpenSSL: our server against `openssl s_client`, our client against
//! `openssl s_server`, pinned to TLS 1.2 and to TLS 1.3, with certificates made at test
//! time. Also: s_client sees a clean close (our close_notify) after `lose_connection`;
//! ALPN; mutual TLS both ways; our client refuses an expired, a wrong-host and an
//! untrusted server certificate. Every peer is started and killed by the test, on a free
//! port of 127.0.0.1, and every wait is bounded. Skipped (with a message) without openssl.
#![cfg(feature = "tls")]

mod tls_util;

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tls_util::{Peer, Recorder, Shared};
use torsion::endpoints::{client_from_string, server_from_string};
use torsion::protocol::{for_protocol, Protocol};
use torsion::tls::{tls_of, TlsError, TlsErrorKind};
use torsion::transport::Transport;
use torsion::Reactor;

const LIMIT: Duration = Duration::from_secs(15);

/// Turns the loop until `done` (checked every 5 ms turn), at most `LIMIT`.
fn run_until(reactor: &Reactor, what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < LIMIT, "{what}: not within {LIMIT:?}");
        reactor.iterate(Duration::from_millis(5)).unwrap();
    }
}

fn listen(
    reactor: &Reactor,
    dir: &Path,
    extra: &str,
    make: impl Fn() -> Box<dyn Protocol> + 'static,
) -> u16 {
    let description = format!(
        "ssl:0:interface=127.0.0.1:privateKey={}:certKey={}{extra}",
        dir.join("server.key").display(),
        dir.join("server.pem").display()
    );
    server_from_string(reactor, &description)
        .unwrap()
        .listen(for_protocol(make))
        .take_result()
        .unwrap()
        .unwrap()
        .get_host()
        .port()
        .unwrap()
}

fn connect(reactor: &Reactor, description: &str, r: Recorder) {
    let cell = RefCell::new(Some(r));
    drop(
        client_from_string(reactor, description)
            .unwrap()
            .connect(for_protocol(move || cell.borrow_mut().take().unwrap())),
    );
}

fn kind_of(seen: &Shared) -> Option<TlsErrorKind> {
    seen.borrow()
        .lost
        .as_ref()
        .and_then(|r| TlsError::of(r).map(|e| e.kind()))
}

#[test]
fn our_server_with_s_client() {
    let dir = certs_or_skip!();
    let reactor = Reactor::new().unwrap();
    let port = listen(&reactor, dir, "", || Box::new(Recorder::echo().0));
    for (flag, version) in [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")] {
        let mut client = Peer::s_client(dir, port, &[flag, "-brief"]);
        run_until(&reactor, "s_client handshake", || {
            client.drain().contains("Verification: OK")
        });
        client.send(b"echo me\n");
        run_until(&reactor, "echo", || client.drain().contains("echo me"));
        let out = client.drain();
        assert!(
            out.contains(&format!("Protocol version: {version}")),
            "{out}"
        );
        assert!(out.contains("Verified peername: localhost"), "{out}");
    }
    reactor.close();
}

/// `lose_connection` sends close_notify: s_client ends cleanly (no "unexpected eof") even
/// with its stdin still open.
#[test]
fn s_client_sees_close_notify() {
    let dir = certs_or_skip!();
    let reactor = Reactor::new().unwrap();
    struct Bye;
    impl Protocol for Bye {
        fn data_received(&mut self, t: &Transport, _: &[u8]) {
            t.write(b"bye\n");
            t.lose_connection();
        }
    }
    let port = listen(&reactor, dir, "", || Box::new(Bye));
    for flag in ["-tls1_2", "-tls1_3"] {
        let mut client = Peer::s_client(dir, port, &[flag, "-brief"]);
        run_until(&reactor, "handshake", || {
            client.drain().contains("Verification: OK")
        });
        client.send(b"hi\n");
        run_until(&reactor, "s_client exits", || client.exited());
        let out = client.output(Duration::from_millis(100));
        assert!(out.contains("bye"), "{out}");
        assert!(!out.contains("unexpected eof"), "no close_notify?\n{out}");
    }
    reactor.close();
}

#[test]
fn alpn_with_s_client() {
    let dir = certs_or_skip!();
    let reactor = Reactor::new().unwrap();
    let seen: Rc<RefCell<Option<Shared>>> = Rc::default();
    let s2 = seen.clone();
    let port = listen(&reactor, dir, ":alpn=h2,http/1.1", move || {
        let (r, s) = Recorder::echo();
        *s2.borrow_mut() = Some(s);
        Box::new(r)
    });
    let mut client = Peer::s_client(dir, port, &["-alpn", "http/1.1", "-brief"]);
    run_until(&reactor, "handshake", || {
        client.drain().contains("Verification: OK")
    });
    client.send(b"x\n");
    run_until(&reactor, "echo", || client.drain().contains("x\n"));
    let t = seen
        .borrow()
        .as_ref()
        .unwrap()
        .borrow()
        .transport
        .clone()
        .unwrap();
    assert_eq!(
        tls_of(&t).unwrap().negotiated_protocol().as_deref(),
        Some(&b"http/1.1"[..])
    );
    reactor.close();
}

#[test]
fn our_client_with_s_server() {
    let dir = certs_or_skip!();
    let reactor = Reactor::new().unwrap();
    for (flag, version) in [("-tls1_2", "Tls12"), ("-tls1_3", "Tls13")] {
        let server = Peer::s_server(dir, "server", &["-rev", flag]);
        let (r, seen) = Recorder::greeting(b"hello world\n");
        let ca = dir.join("ca.pem");
        connect(
            &reactor,
            &format!("tls:127.0.0.1:{}:trustRoots={}", server.port, ca.display()),
            r,
        );
        run_until(&reactor, "reversed line", || {
            seen.borrow().data.ends_with(b"dlrow olleh\n")
        });
        let t = seen.borrow().transport.clone().unwrap();
        let tls = tls_of(&t).unwrap();
        assert_eq!(format!("{:?}", tls.protocol_version().unwrap()), version);
        assert!(!tls.peer_certificates().is_empty());
        t.lose_connection();
        run_until(&reactor, "close", || seen.borrow().lost.is_some());
        drop(server);
    }
    reactor.close();
}

#[test]
fn our_client_refuses_bad_servers() {
    let dir = certs_or_skip!();
    let reactor = Reactor::new().unwrap();
    let ca = dir.join("ca.pem");
    for (cert, kind) in [
        ("expired", TlsErrorKind::Expired),
        ("other-host", TlsErrorKind::NameMismatch),
        ("rogue", TlsErrorKind::UnknownIssuer),
    ] {
        let server = Peer::s_server(dir, cert, &["-rev"]);
        let (r, seen) = Recorder::greeting(b"secret\n");
        connect(
            &reactor,
            &format!(
                "tls:localhost:{}:trustRoots={}:endpoint=tcp\\:127.0.0.1\\:{}",
                server.port,
                ca.display(),
                server.port
            ),
            r,
        );
        run_until(&reactor, cert, || seen.borrow().lost.is_some());
        assert_eq!(
            kind_of(&seen),
            Some(kind),
            "{cert}: {:?}",
            seen.borrow().lost
        );
        assert!(seen.borrow().data.is_empty());
        drop(server);
    }
    reactor.close();
}

#[test]
fn mutual_tls_both_ways() {
    let dir = certs_or_skip!();
    let reactor = Reactor::new().unwrap();
    let ca = dir.join("ca.pem");
    // Our client with a certificate, s_server requiring one.
    let ca_arg = ca.to_str().unwrap();
    let server = Peer::s_server(
        dir,
        "server",
        &[
            "-rev",
            "-Verify",
            "1",
            "-CAfile",
            ca_arg,
            "-verify_return_error",
        ],
    );
    let (r, seen) = Recorder::greeting(b"abc\n");
    connect(
        &reactor,
        &format!(
            "tls:127.0.0.1:{}:trustRoots={}:certificate={}:privateKey={}",
            server.port,
            ca.display(),
            dir.join("client.pem").display(),
            dir.join("client.key").display()
        ),
        r,
    );
    run_until(&reactor, "mTLS echo", || {
        seen.borrow().data.ends_with(b"cba\n")
    });
    drop(server);

    // Our server requiring one: s_client with it works; without, it is refused.
    let mut config = tls_util::server_config(dir, "server")
        .with_client_auth(torsion::tls::TrustRoots::from_pem_file(&ca).unwrap())
        .unwrap();
    config = config.with_versions(&[
        torsion::tls::TlsVersion::Tls12,
        torsion::tls::TlsVersion::Tls13,
    ]);
    let seen_server: Rc<RefCell<Vec<Shared>>> = Rc::default();
    let s2 = seen_server.clone();
    let factory = torsion::tls::TlsServerFactory::new(
        config,
        for_protocol(move || {
            let (r, s) = Recorder::echo();
            s2.borrow_mut().push(s);
            r
        }),
    );
    use torsion::tcp::ReactorTcp;
    let port = reactor
        .listen_tcp_dyn(0, Rc::new(factory), 50, "127.0.0.1")
        .unwrap()
        .get_host()
        .port()
        .unwrap();
    let mut good = Peer::s_client(
        dir,
        port,
        &[
            "-cert",
            dir.join("client.pem").to_str().unwrap(),
            "-key",
            dir.join("client.key").to_str().unwrap(),
            "-brief",
        ],
    );
    run_until(&reactor, "handshake with a client cert", || {
        good.drain().contains("Verification: OK")
    });
    good.send(b"with cert\n");
    run_until(&reactor, "echo", || good.drain().contains("with cert"));
    let t = seen_server.borrow()[0].borrow().transport.clone().unwrap();
    assert!(
        !tls_of(&t).unwrap().peer_certificates().is_empty(),
        "the client's certificate"
    );

    let mut bad = Peer::s_client(dir, port, &["-brief", "-tls1_2"]);
    run_until(&reactor, "refused", || {
        seen_server.borrow().len() == 2 && seen_server.borrow()[1].borrow().lost.is_some()
    });
    assert_eq!(
        kind_of(&seen_server.borrow()[1]),
        Some(TlsErrorKind::NoPeerCertificate)
    );
    let _ = bad.wait_exit(Duration::from_secs(5));
    reactor.close();
}
