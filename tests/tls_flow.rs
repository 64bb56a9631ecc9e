//! Flow through the TLS layer, in memory: small writes coalesce into one record, a push
//! producer is paused at the high-water mark (also while the handshake holds its data
//! back), and a paused reader gets what was held back once it resumes.
#![cfg(feature = "tls")]

mod tls_util;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use tls_util::{client_config, server_config, Recorder};
use torsion::protocol::Protocol;
use torsion::testing::{connected_server_and_client, Driver, PumpBuilder};
use torsion::time::Clock;
use torsion::tls::TlsProtocol;
use torsion::transport::{Producer, PushProducer, Transport};

/// 100 one-byte writes in one callback make one TLS record: about 122 bytes on the wire
/// instead of 100 records of 23.
#[test]
fn small_writes_make_one_record() {
    let dir = certs_or_skip!();
    struct Chatty;
    impl Protocol for Chatty {
        fn data_received(&mut self, t: &Transport, _: &[u8]) {
            for _ in 0..100 {
                t.write(b"x");
            }
        }
    }
    let (client, seen) = Recorder::new();
    let c = connected_server_and_client(
        TlsProtocol::server(&server_config(dir, "server"), Chatty).unwrap(),
        TlsProtocol::client(&client_config(dir, "localhost"), client).unwrap(),
    );
    let before = c.pump.bytes_from_server().len();
    seen.borrow().transport.clone().unwrap().write(b"go");
    c.pump.flush();
    assert_eq!(seen.borrow().data, [b'x'; 100]);
    let wire = c.pump.bytes_from_server().len() - before;
    assert!(
        wire < 160,
        "{wire} bytes on the wire for 100 one-byte writes"
    );
}

#[derive(Default)]
struct Flag {
    paused: Cell<bool>,
    pauses: Cell<u32>,
    resumes: Cell<u32>,
}

impl PushProducer for Flag {
    fn pause_producing(&self) {
        self.paused.set(true);
        self.pauses.set(self.pauses.get() + 1);
    }
    fn resume_producing(&self) {
        self.paused.set(false);
        self.resumes.set(self.resumes.get() + 1);
    }
    fn stop_producing(&self) {}
}

#[test]
fn producer_paused_at_the_high_water_mark() {
    let dir = certs_or_skip!();
    let (client, seen) = Recorder::new();
    let c = connected_server_and_client(
        TlsProtocol::server(&server_config(dir, "server"), Recorder::new().0).unwrap(),
        TlsProtocol::client(&client_config(dir, "localhost"), client).unwrap(),
    );
    let t = seen.borrow().transport.clone().unwrap();
    t.set_write_watermarks(16 * 1024, 0);
    let flag = Rc::new(Flag::default());
    t.register_producer(Producer::Push(flag.clone())).unwrap();
    t.write(&[1u8; 8 * 1024]);
    c.client.run_pending();
    assert!(!flag.paused.get(), "below the mark");
    // (No reactor and no clock: encrypted at once; the record adds its overhead.)
    assert!((8 * 1024..8 * 1024 + 64).contains(&t.write_buffer_len()));
    t.write(&[2u8; 16 * 1024]);
    // Encrypted at the next flush (no reactor: at once), then over the mark underneath.
    c.client.run_pending();
    assert!(flag.paused.get(), "paused above the high-water mark");
    assert!(t.write_buffer_len() > 16 * 1024);
    c.pump.flush();
    assert!(!flag.paused.get(), "resumed once the buffer drained");
    assert_eq!(t.write_buffer_len(), 0);
    assert_eq!((flag.pauses.get(), flag.resumes.get()), (1, 1));
    t.unregister_producer();
}

#[test]
fn producer_paused_while_the_handshake_holds_data() {
    let dir = certs_or_skip!();
    let clock = Clock::new();
    let flag = Rc::new(Flag::default());
    struct Eager(Rc<Flag>);
    impl Protocol for Eager {
        fn connection_made(&mut self, t: &Transport) {
            t.register_producer(Producer::Push(self.0.clone())).unwrap();
            t.write(&[0u8; 100 * 1024]); // before the handshake: held back
        }
        fn data_received(&mut self, _: &Transport, _: &[u8]) {}
    }
    let config = client_config(dir, "localhost").with_time(Rc::new(clock.clone()));
    let d = Driver::new(TlsProtocol::client(&config, Eager(flag.clone())).unwrap());
    assert!(!flag.paused.get(), "never from inside write");
    clock.advance(Duration::ZERO);
    d.run_pending();
    assert!(flag.paused.get(), "paused: 100 KiB waits for the handshake");
}

#[test]
fn a_paused_reader_gets_the_rest_after_resuming() {
    let dir = certs_or_skip!();
    let clock = Clock::new();
    struct Pauser {
        got: Rc<std::cell::RefCell<Vec<u8>>>,
    }
    impl Protocol for Pauser {
        fn data_received(&mut self, t: &Transport, data: &[u8]) {
            self.got.borrow_mut().extend_from_slice(data);
            t.pause_producing();
        }
    }
    let got: Rc<std::cell::RefCell<Vec<u8>>> = Rc::default();
    let (client, seen) = Recorder::new();
    let server = server_config(dir, "server").with_time(Rc::new(clock.clone()));
    let c = PumpBuilder::new().clock(clock.clone()).connect(
        TlsProtocol::server(&server, Pauser { got: got.clone() }).unwrap(),
        TlsProtocol::client(&client_config(dir, "localhost"), client).unwrap(),
    );
    let t = seen.borrow().transport.clone().unwrap();
    // Three full records (16 KiB each) reach the server in one delivery; the session
    // takes one at a time, and the first pauses the reader: the rest is held back.
    let mut data = vec![b'a'; 16 * 1024];
    data.extend([b'b'; 16 * 1024]);
    data.extend([b'c'; 16 * 1024]);
    t.write(&data);
    c.pump.flush();
    assert_eq!(got.borrow().len(), 16 * 1024);
    let server_t = c.server.handle();
    assert_eq!(server_t.get_peer(), c.client.handle().get_host());
    // Resume through the TLS transport: what was held back arrives, one record at a time
    // (the protocol pauses again after each), from a call scheduled on the clock.
    let tls_t = tls_util_server_transport(&c.server);
    for n in [2, 3] {
        tls_t.resume_producing();
        c.pump.flush();
        assert_eq!(got.borrow().len(), n * 16 * 1024);
    }
    assert_eq!(got.borrow().as_slice(), data.as_slice());
}

/// The TLS transport the server's protocol got (the driver holds the one underneath).
fn tls_util_server_transport(d: &Driver<TlsProtocol>) -> Transport {
    d.with_protocol(|p| p.transport().expect("connected"))
}
