//! Closed-loop TLS load generator, single-threaded (mio + rustls with the ring provider),
//! the same for every TLS server under test.
//!
//! `tls_loadgen --mode echo|handshake -c CONNECTIONS [-s SIZE] -d SECONDS [--warmup S]
//!  [--tls12] [--verify CA.pem] [--label NAME] ADDR`
//!
//! * `echo`: each connection does one handshake, then keeps exactly one message of SIZE
//!   bytes in flight: send, wait for all SIZE bytes back, check them, record the round
//!   trip, send the next. Reports messages per second and payload MiB/s (one direction).
//! * `handshake`: each connection loops: TCP connect, full TLS handshake (session
//!   resumption off), a 1-byte echo (so the server has finished its side of the
//!   handshake), close_notify, close. Reports full handshakes per second and their latency.
//!
//! The server's certificate is not verified unless `--verify CA.pem` is given: checking it
//! costs the client an ECDSA verification per handshake, and the client shares the
//! machine with the server under test; both servers are measured by the same client
//! either way. TLS 1.3 (rustls's default cipher order, so TLS13_AES_256_GCM_SHA384 and
//! X25519) unless `--tls12`. Client sockets set TCP_NODELAY. Prints a summary on stderr and
//! one JSON line on stdout; exits 1 if a connection failed or an echo did not match.

use std::collections::HashMap;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::exit;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Echo,
    Handshake,
}

struct Args {
    mode: Mode,
    connections: usize,
    size: usize,
    duration: f64,
    warmup: f64,
    tls12: bool,
    verify: Option<String>,
    label: String,
    addr: SocketAddr,
}

fn usage() -> ! {
    eprintln!("usage: tls_loadgen --mode echo|handshake -c N [-s SIZE] -d SECONDS [--warmup S] [--tls12] [--verify CA.pem] [--label NAME] ADDR");
    exit(2)
}

fn parse_args() -> Args {
    let mut a = Args {
        mode: Mode::Echo,
        connections: 1,
        size: 64,
        duration: 10.0,
        warmup: 2.0,
        tls12: false,
        verify: None,
        label: String::new(),
        addr: "127.0.0.1:1".parse().unwrap(),
    };
    let mut addr = None;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| usage());
        match arg.as_str() {
            "--mode" => {
                a.mode = match val().as_str() {
                    "echo" => Mode::Echo,
                    "handshake" => Mode::Handshake,
                    _ => usage(),
                }
            }
            "-c" => a.connections = val().parse().unwrap_or_else(|_| usage()),
            "-s" => a.size = val().parse().unwrap_or_else(|_| usage()),
            "-d" => a.duration = val().parse().unwrap_or_else(|_| usage()),
            "--warmup" => a.warmup = val().parse().unwrap_or_else(|_| usage()),
            "--tls12" => a.tls12 = true,
            "--verify" => a.verify = Some(val()),
            "--label" => a.label = val(),
            _ if addr.is_none() && !arg.starts_with('-') => {
                addr = arg.to_socket_addrs().ok().and_then(|mut i| i.next());
                if addr.is_none() {
                    eprintln!("tls_loadgen: cannot resolve {arg}");
                    exit(2);
                }
            }
            _ => usage(),
        }
    }
    a.addr = addr.unwrap_or_else(|| usage());
    if a.connections == 0 || a.size == 0 || a.duration <= 0.0 || a.warmup < 0.0 {
        usage();
    }
    a
}

/// Accepts any server certificate and signature (see the module docs).
#[derive(Debug)]
struct NoVerify(Vec<SignatureScheme>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }
    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.clone()
    }
}

fn client_config(a: &Args) -> Arc<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: &[&rustls::SupportedProtocolVersion] = if a.tls12 {
        &[&rustls::version::TLS12]
    } else {
        &[&rustls::version::TLS13]
    };
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .expect("versions");
    let mut config = match &a.verify {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_file_iter(ca).expect("CA file") {
                roots.add(c.expect("CA PEM")).expect("CA");
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        None => {
            let schemes = provider
                .signature_verification_algorithms
                .supported_schemes();
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoVerify(schemes)))
                .with_no_client_auth()
        }
    };
    config.resumption = rustls::client::Resumption::disabled();
    Arc::new(config)
}

struct Conn {
    sock: TcpStream,
    tls: ClientConnection,
    connected: bool,
    started: Instant,
    /// The message in flight (echo) and how much of it came back.
    msg: Vec<u8>,
    got: usize,
    seq: u64,
    sent_msg: bool,
}

struct Run {
    args: Args,
    config: Arc<ClientConfig>,
    poll: Poll,
    conns: HashMap<Token, Conn>,
    next_token: usize,
    hist: Histogram<u64>,
    ops: u64,
    total_ops: u64,
    measuring: bool,
    suite: String,
    buf: Vec<u8>,
}

fn fail(what: &str, e: impl std::fmt::Display) -> ! {
    eprintln!("tls_loadgen: {what}: {e}");
    exit(1)
}

impl Run {
    fn open(&mut self) {
        let sock = TcpStream::connect(self.args.addr).unwrap_or_else(|e| fail("connect", e));
        sock.set_nodelay(true).ok();
        let name = ServerName::try_from("localhost").unwrap();
        let tls = ClientConnection::new(self.config.clone(), name).unwrap_or_else(|e| fail("tls", e));
        let token = Token(self.next_token);
        self.next_token += 1;
        let mut conn = Conn {
            sock,
            tls,
            connected: false,
            started: Instant::now(),
            msg: Vec::new(),
            got: 0,
            seq: token.0 as u64 * 1_000_003,
            sent_msg: false,
        };
        self.poll
            .registry()
            .register(&mut conn.sock, token, Interest::READABLE | Interest::WRITABLE)
            .unwrap_or_else(|e| fail("register", e));
        self.conns.insert(token, conn);
    }

    fn close(&mut self, token: Token) {
        if let Some(mut c) = self.conns.remove(&token) {
            c.tls.send_close_notify();
            let _ = c.tls.write_tls(&mut c.sock);
            let _ = self.poll.registry().deregister(&mut c.sock);
        }
    }

    /// Drives one connection after an event. Returns false if it is finished (handshake
    /// mode) and must be replaced.
    fn drive(&mut self, token: Token) -> bool {
        let size = self.args.size;
        let mode = self.args.mode;
        let Some(c) = self.conns.get_mut(&token) else {
            return true;
        };
        if !c.connected {
            match c.sock.peer_addr() {
                Ok(_) => c.connected = true,
                Err(e) if e.kind() == ErrorKind::NotConnected => return true,
                Err(e) => fail("connect", e),
            }
        }
        // Read everything there is.
        loop {
            match c.tls.read_tls(&mut c.sock) {
                Ok(0) => fail("read", "the server closed the connection"),
                Ok(_) => {
                    if let Err(e) = c.tls.process_new_packets() {
                        fail("tls", e);
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => fail("read", e),
            }
        }
        let mut done = false;
        if !c.tls.is_handshaking() {
            if self.suite.is_empty() {
                if let Some(s) = c.tls.negotiated_cipher_suite() {
                    self.suite = format!("{:?} {:?}", c.tls.protocol_version().unwrap(), s.suite());
                }
            }
            let want = if mode == Mode::Echo { size } else { 1 };
            if !c.sent_msg {
                c.seq += 1;
                c.msg = (0..want).map(|i| (c.seq as usize * 31 + i * 7) as u8).collect();
                c.got = 0;
                if mode == Mode::Echo {
                    c.started = Instant::now();
                }
                c.tls.writer().write_all(&c.msg).unwrap();
                c.sent_msg = true;
            }
            loop {
                let room = want - c.got;
                if room == 0 {
                    break;
                }
                let n = self.buf.len().min(room);
                match c.tls.reader().read(&mut self.buf[..n]) {
                    Ok(0) => fail("read", "close_notify from the server"),
                    Ok(n) => {
                        if self.buf[..n] != c.msg[c.got..c.got + n] {
                            fail("echo", "the echo does not match");
                        }
                        c.got += n;
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => fail("read", e),
                }
            }
            if c.got == want {
                let us = c.started.elapsed().as_micros() as u64;
                self.total_ops += 1;
                if self.measuring {
                    self.ops += 1;
                    let _ = self.hist.record(us.max(1));
                }
                c.sent_msg = false;
                if mode == Mode::Handshake {
                    done = true;
                } else {
                    // The next message at once.
                    c.seq += 1;
                    c.msg = (0..want).map(|i| (c.seq as usize * 31 + i * 7) as u8).collect();
                    c.got = 0;
                    c.started = Instant::now();
                    c.tls.writer().write_all(&c.msg).unwrap();
                    c.sent_msg = true;
                }
            }
        }
        // Write everything rustls has.
        while c.tls.wants_write() {
            match c.tls.write_tls(&mut c.sock) {
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => fail("write", e),
            }
        }
        !done
    }
}

fn main() {
    let args = parse_args();
    let config = client_config(&args);
    let mut run = Run {
        config,
        poll: Poll::new().expect("poll"),
        conns: HashMap::new(),
        next_token: 0,
        hist: Histogram::new_with_bounds(1, 60_000_000, 3).unwrap(),
        ops: 0,
        total_ops: 0,
        measuring: false,
        suite: String::new(),
        buf: vec![0u8; 64 * 1024],
        args,
    };
    for _ in 0..run.args.connections {
        run.open();
    }
    let mut events = Events::with_capacity(1024);
    let start = Instant::now();
    let warmup = Duration::from_secs_f64(run.args.warmup);
    let end = warmup + Duration::from_secs_f64(run.args.duration);
    let mut measure_start = start;
    loop {
        let now = start.elapsed();
        if now >= end {
            break;
        }
        if !run.measuring && now >= warmup {
            run.measuring = true;
            measure_start = Instant::now();
        }
        if let Err(e) = run.poll.poll(&mut events, Some(Duration::from_millis(50))) {
            if e.kind() != io::ErrorKind::Interrupted {
                fail("poll", e);
            }
        }
        let tokens: Vec<Token> = events.iter().map(|e| e.token()).collect();
        for token in tokens {
            if !run.drive(token) {
                run.close(token);
                run.open();
            }
        }
    }
    let secs = measure_start.elapsed().as_secs_f64();
    if run.ops == 0 {
        fail("result", "nothing completed in the measured window");
    }
    let a = &run.args;
    let rate = run.ops as f64 / secs;
    let mib = if a.mode == Mode::Echo { rate * a.size as f64 / (1024.0 * 1024.0) } else { 0.0 };
    let mode = if a.mode == Mode::Echo { "echo" } else { "handshake" };
    eprintln!(
        "{} {mode} c={} s={}: {:.0} ops/s, {:.1} MiB/s, p50 {} us, p99 {} us ({})",
        a.label,
        a.connections,
        a.size,
        rate,
        mib,
        run.hist.value_at_quantile(0.5),
        run.hist.value_at_quantile(0.99),
        run.suite
    );
    println!(
        "{{\"label\":\"{}\",\"mode\":\"{mode}\",\"connections\":{},\"size\":{},\"seconds\":{:.3},\"ops\":{},\"ops_per_s\":{:.1},\"mib_per_s\":{:.2},\"p50_us\":{},\"p99_us\":{},\"suite\":\"{}\"}}",
        a.label,
        a.connections,
        a.size,
        secs,
        run.ops,
        rate,
        mib,
        run.hist.value_at_quantile(0.5),
        run.hist.value_at_quantile(0.99),
        run.suite
    );
}
