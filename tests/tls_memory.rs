//! TLS through the testing kit: no sockets, no sleeping. Echo (also one byte at a time in
//! both directions), ALPN and SNI, the peer's certificate, the handshake Deferred,
//! close_notify, truncation, half-close, the handshake timeout on a manual clock.
#![cfg(feature = "tls")]

mod tls_util;

use std::rc::Rc;
use std::time::Duration;

use tls_util::{client_config, server_config, Recorder};
use torsion::protocol::{ConnectionLost, Protocol};
use torsion::testing::{connected_server_and_client, feed_bytewise, Driver, PumpBuilder};
use torsion::time::Clock;
use torsion::tls::{tls_of, TlsError, TlsErrorKind, TlsProtocol, TlsVersion};
use torsion::transport::Transport;

fn kind(reason: &Option<ConnectionLost>) -> Option<TlsErrorKind> {
    TlsError::of(reason.as_ref()?).map(|e| e.kind())
}

#[test]
fn echo_through_the_pump() {
    let dir = certs_or_skip!();
    let (server, server_seen) = Recorder::echo();
    let (client, client_seen) = Recorder::greeting(b"hello, TLS");
    let c = connected_server_and_client(
        TlsProtocol::server(&server_config(dir, "server"), server).unwrap(),
        TlsProtocol::client(&client_config(dir, "localhost"), client).unwrap(),
    );
    c.pump.flush();
    assert_eq!(server_seen.borrow().data, b"hello, TLS");
    assert_eq!(client_seen.borrow().data, b"hello, TLS");
    // The bytes on the wire are not the plaintext.
    let wire = c.pump.bytes_from_client();
    assert!(!wire.windows(5).any(|w| w == b"hello"));

    let t = client_seen.borrow().transport.clone().unwrap();
    let tls = tls_of(&t).expect("a TLS transport");
    assert!(tls.is_handshake_complete());
    assert_eq!(tls.protocol_version(), Some(TlsVersion::Tls13));
    assert!(tls.cipher_suite().unwrap().starts_with("TLS13_"));
    let certs = tls.peer_certificates();
    assert_eq!(certs.len(), 1);
    assert_eq!(certs[0], der_of(&dir.join("server.pem")));
    let st = server_seen.borrow().transport.clone().unwrap();
    assert_eq!(
        tls_of(&st).unwrap().server_name().as_deref(),
        Some("localhost")
    );

    // close_notify, then a clean close on both sides.
    t.lose_connection();
    c.pump.flush();
    assert!(client_seen.borrow().lost.as_ref().unwrap().is_clean());
    assert!(server_seen.borrow().lost.as_ref().unwrap().is_clean());
    // A closed transport still tells its addresses (those of the transport underneath).
    assert_eq!(t.get_peer(), c.client.handle().get_peer());
    assert_eq!(t.get_host(), c.client.handle().get_host());
    assert!(!t.is_connected());
}

/// The DER of the first certificate of a PEM file.
fn der_of(path: &std::path::Path) -> Vec<u8> {
    let out = std::process::Command::new("openssl")
        .args(["x509", "-outform", "DER", "-in"])
        .arg(path)
        .output()
        .unwrap();
    out.stdout
}

/// Moves bytes between two drivers one byte at a time until neither has anything to say.
fn pump_bytewise<A: Protocol, B: Protocol>(a: &Driver<A>, b: &Driver<B>) -> usize {
    let mut moved = 0;
    for _ in 0..10_000 {
        let ab = a.take_written();
        let ba = b.take_written();
        if ab.is_empty() && ba.is_empty() {
            a.run_pending();
            b.run_pending();
            if a.written().is_empty() && b.written().is_empty() {
                return moved;
            }
            continue;
        }
        moved += ab.len() + ba.len();
        feed_bytewise(b, &ab);
        feed_bytewise(a, &ba);
    }
    panic!("still talking after 10000 rounds");
}

#[test]
fn echo_one_byte_at_a_time_both_ways() {
    let dir = certs_or_skip!();
    for version in [TlsVersion::Tls12, TlsVersion::Tls13] {
        let (server, server_seen) = Recorder::echo();
        let (client, client_seen) = Recorder::greeting(b"0123456789 one byte at a time");
        let s = Driver::new(
            TlsProtocol::server(
                &server_config(dir, "server").with_versions(&[version]),
                server,
            )
            .unwrap(),
        );
        let c = Driver::new(TlsProtocol::client(&client_config(dir, "localhost"), client).unwrap());
        let moved = pump_bytewise(&c, &s);
        assert!(moved > 500, "a handshake happened ({moved} bytes)");
        assert_eq!(server_seen.borrow().data, b"0123456789 one byte at a time");
        assert_eq!(client_seen.borrow().data, b"0123456789 one byte at a time");
        let t = client_seen.borrow().transport.clone().unwrap();
        assert_eq!(tls_of(&t).unwrap().protocol_version(), Some(version));
    }
}

#[test]
fn alpn_is_negotiated() {
    let dir = certs_or_skip!();
    let (server, server_seen) = Recorder::new();
    let (client, client_seen) = Recorder::new();
    let _c = connected_server_and_client(
        TlsProtocol::server(
            &server_config(dir, "server").with_alpn(["h2", "http/1.1"]),
            server,
        )
        .unwrap(),
        TlsProtocol::client(
            &client_config(dir, "localhost").with_alpn(["http/1.1"]),
            client,
        )
        .unwrap(),
    );
    for seen in [&server_seen, &client_seen] {
        let t = seen.borrow().transport.clone().unwrap();
        assert_eq!(
            tls_of(&t).unwrap().negotiated_protocol().as_deref(),
            Some(&b"http/1.1"[..])
        );
    }
}

#[test]
fn handshake_done_fires_then_writes_go_out() {
    let dir = certs_or_skip!();
    struct Hello;
    impl Protocol for Hello {
        fn connection_made(&mut self, t: &Transport) {
            let t2 = t.clone();
            let tls = tls_of(t).unwrap();
            assert!(!tls.is_handshake_complete());
            drop(
                tls.handshake_done()
                    .add_callback(move |()| t2.write(b"after handshake")),
            );
        }
        fn data_received(&mut self, _: &Transport, _: &[u8]) {}
    }
    let (server, server_seen) = Recorder::new();
    let _c = connected_server_and_client(
        TlsProtocol::server(&server_config(dir, "server"), server).unwrap(),
        TlsProtocol::client(&client_config(dir, "localhost"), Hello).unwrap(),
    );
    assert_eq!(server_seen.borrow().data, b"after handshake");
}

#[test]
fn truncation_without_close_notify_is_an_error() {
    let dir = certs_or_skip!();
    let (server, server_seen) = Recorder::new();
    let (client, client_seen) = Recorder::greeting(b"data before the cut");
    let c = connected_server_and_client(
        TlsProtocol::server(&server_config(dir, "server"), server).unwrap(),
        TlsProtocol::client(&client_config(dir, "localhost"), client).unwrap(),
    );
    // The client's TCP closes with no TLS close_notify (its StringTransport, underneath).
    c.client.handle().lose_connection();
    c.pump.flush();
    assert_eq!(
        server_seen.borrow().data,
        b"data before the cut",
        "delivered data stays"
    );
    assert_eq!(
        kind(&server_seen.borrow().lost),
        Some(TlsErrorKind::UnexpectedEof)
    );
    assert!(client_seen.borrow().lost.is_some());
}

#[test]
fn half_close_with_close_notify() {
    let dir = certs_or_skip!();
    let (mut server, server_seen) = Recorder::echo();
    server.half_close = true;
    let (client, client_seen) = Recorder::greeting(b"last words");
    let c = connected_server_and_client(
        TlsProtocol::server(&server_config(dir, "server"), server).unwrap(),
        TlsProtocol::client(&client_config(dir, "localhost"), client).unwrap(),
    );
    let t = client_seen.borrow().transport.clone().unwrap();
    t.lose_write_connection();
    c.pump.flush();
    // The server saw the end of input (close_notify) and can still write.
    assert!(server_seen.borrow().eof);
    assert!(server_seen.borrow().lost.is_none());
    let st = server_seen.borrow().transport.clone().unwrap();
    st.write(b" and a reply");
    st.lose_connection();
    c.pump.flush();
    assert_eq!(client_seen.borrow().data, b"last words and a reply");
    assert!(server_seen.borrow().lost.as_ref().unwrap().is_clean());
    assert!(client_seen.borrow().lost.as_ref().unwrap().is_clean());
}

#[test]
fn handshake_timeout_on_a_manual_clock() {
    let dir = certs_or_skip!();
    let clock = Clock::new();
    let config = server_config(dir, "server")
        .with_time(Rc::new(clock.clone()))
        .with_handshake_timeout(Some(Duration::from_secs(5)));
    let (server, seen) = Recorder::new();
    // A silent client: nothing arrives.
    let d = Driver::new(TlsProtocol::server(&config, server).unwrap());
    clock.advance(Duration::from_secs(4));
    d.run_pending();
    assert!(seen.borrow().lost.is_none());
    clock.advance(Duration::from_secs(1));
    d.run_pending();
    assert!(d.transport().aborted());
    assert_eq!(
        kind(&seen.borrow().lost),
        Some(TlsErrorKind::HandshakeTimeout)
    );
    assert!(seen
        .borrow()
        .lost
        .as_ref()
        .unwrap()
        .to_string()
        .contains("handshake"));
}

#[test]
fn a_completed_handshake_cancels_the_timeout() {
    let dir = certs_or_skip!();
    let clock = Clock::new();
    let config = server_config(dir, "server")
        .with_time(Rc::new(clock.clone()))
        .with_handshake_timeout(Some(Duration::from_secs(5)));
    let (server, seen) = Recorder::new();
    let (client, _) = Recorder::new();
    let c = PumpBuilder::new().clock(clock.clone()).connect(
        TlsProtocol::server(&config, server).unwrap(),
        TlsProtocol::client(&client_config(dir, "localhost"), client).unwrap(),
    );
    clock.advance(Duration::from_secs(60));
    c.pump.flush();
    assert!(seen.borrow().lost.is_none());
    assert_eq!(clock.pending_calls(), 0);
}

/// `Protocol::handshake_completed` runs once on each side, after `connection_made` and
/// before any data, with the peer already known.
#[test]
fn handshake_completed_hook_runs_once_before_data() {
    let dir = certs_or_skip!();
    type Log = Rc<std::cell::RefCell<Vec<String>>>;
    struct Listener(Log, &'static [u8]);
    impl Protocol for Listener {
        fn connection_made(&mut self, t: &Transport) {
            self.0.borrow_mut().push("made".into());
            if !self.1.is_empty() {
                t.write(self.1);
            }
        }
        fn handshake_completed(&mut self, t: &Transport) {
            let tls = tls_of(t).expect("a TLS transport");
            assert!(tls.is_handshake_complete());
            self.0
                .borrow_mut()
                .push(format!("handshake {:?}", tls.protocol_version()));
        }
        fn data_received(&mut self, _: &Transport, data: &[u8]) {
            self.0
                .borrow_mut()
                .push(format!("data {}", String::from_utf8_lossy(data)));
        }
    }
    let server_log: Log = Rc::default();
    let client_log: Log = Rc::default();
    let c = connected_server_and_client(
        TlsProtocol::server(
            &server_config(dir, "server"),
            Listener(server_log.clone(), b""),
        )
        .unwrap(),
        TlsProtocol::client(
            &client_config(dir, "localhost"),
            Listener(client_log.clone(), b"hi"),
        )
        .unwrap(),
    );
    c.pump.flush();
    assert_eq!(
        *server_log.borrow(),
        ["made", "handshake Some(Tls13)", "data hi"]
    );
    assert_eq!(*client_log.borrow(), ["made", "handshake Some(Tls13)"]);
}
