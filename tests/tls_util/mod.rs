//! Helpers of the TLS tests: certificates made at test time (by `scripts/tls-certs.sh`,
//! with `openssl`), configurations, recording protocols, and real OpenSSL peers
//! (`s_server`, `s_client`) started and killed by the test, every wait bounded.
#![allow(dead_code)]

use std::cell::RefCell;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::rc::Rc;
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use torsion::protocol::{ConnectionLost, Protocol};
use torsion::tls::{TlsClientConfig, TlsServerConfig, TrustRoots};
use torsion::transport::Transport;

/// The directory of fresh test certificates, or `None` (with the reason printed) if
/// `openssl` is missing: the caller skips.
pub(crate) fn certs() -> Option<&'static Path> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        if Command::new("openssl").arg("version").output().is_err() {
            eprintln!("SKIP: openssl is not installed (apt-get install -y openssl)");
            return None;
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let dir = std::env::temp_dir().join(format!("torsion-tls-{}-{nanos}", std::process::id()));
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/tls-certs.sh");
        let out = Command::new("bash")
            .arg(&script)
            .arg(&dir)
            .output()
            .expect("run scripts/tls-certs.sh");
        assert!(
            out.status.success(),
            "tls-certs.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(dir)
    })
    .as_deref()
}

/// `certs()` or return from the test.
#[macro_export]
macro_rules! certs_or_skip {
    () => {
        match tls_util::certs() {
            Some(dir) => dir,
            None => return,
        }
    };
}

pub(crate) fn file(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

/// The server config for `name` (`server`, `expired`, `other-host`, `rogue`).
pub(crate) fn server_config(dir: &Path, name: &str) -> TlsServerConfig {
    TlsServerConfig::from_pem_files(
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}.key")),
    )
    .expect("server config")
}

/// A client trusting the test CA, verifying `host`.
pub(crate) fn client_config(dir: &Path, host: &str) -> TlsClientConfig {
    TlsClientConfig::new(host)
        .with_trust_roots(TrustRoots::from_pem_file(dir.join("ca.pem")).expect("ca.pem"))
}

// ----- recording protocols -----

/// What a [`Recorder`] saw.
#[derive(Default, Debug)]
pub(crate) struct Seen {
    pub(crate) made: bool,
    pub(crate) data: Vec<u8>,
    pub(crate) lost: Option<ConnectionLost>,
    pub(crate) eof: bool,
    pub(crate) transport: Option<Transport>,
}

pub(crate) type Shared = Rc<RefCell<Seen>>;

/// Records everything; optionally writes a greeting on connect and echoes.
pub(crate) struct Recorder {
    pub(crate) seen: Shared,
    pub(crate) greeting: Vec<u8>,
    pub(crate) echo: bool,
    pub(crate) half_close: bool,
}

impl Recorder {
    pub(crate) fn new() -> (Recorder, Shared) {
        let seen = Shared::default();
        (
            Recorder {
                seen: seen.clone(),
                greeting: Vec::new(),
                echo: false,
                half_close: false,
            },
            seen,
        )
    }

    pub(crate) fn echo() -> (Recorder, Shared) {
        let (mut r, s) = Recorder::new();
        r.echo = true;
        (r, s)
    }

    pub(crate) fn greeting(greeting: &[u8]) -> (Recorder, Shared) {
        let (mut r, s) = Recorder::new();
        r.greeting = greeting.to_vec();
        (r, s)
    }
}

impl Protocol for Recorder {
    fn connection_made(&mut self, t: &Transport) {
        let mut seen = self.seen.borrow_mut();
        seen.made = true;
        seen.transport = Some(t.clone());
        if !self.greeting.is_empty() {
            t.write(&self.greeting);
        }
    }
    fn data_received(&mut self, t: &Transport, data: &[u8]) {
        self.seen.borrow_mut().data.extend_from_slice(data);
        if self.echo {
            t.write(data);
        }
    }
    fn connection_lost(&mut self, _: &Transport, reason: ConnectionLost) {
        self.seen.borrow_mut().lost = Some(reason);
    }
    fn half_closeable(&self) -> bool {
        self.half_close
    }
    fn read_connection_lost(&mut self, _: &Transport) {
        self.seen.borrow_mut().eof = true;
    }
}

// ----- OpenSSL peers -----

/// A free port on 127.0.0.1 (the listener is closed again; the peer binds it next).
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed (by pid) when dropped.
pub(crate) struct Peer {
    pub(crate) child: Child,
    pub(crate) port: u16,
    stdin: Option<ChildStdin>,
    output: mpsc::Receiver<Vec<u8>>,
    collected: Vec<u8>,
}

impl Peer {
    fn spawn(mut cmd: Command, port: u16) -> Peer {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn openssl");
        let (tx, rx) = mpsc::channel();
        for mut pipe in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()) as Box<dyn Read + Send>,
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut buf) {
                    if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
            });
        }
        Peer {
            stdin: child.stdin.take(),
            child,
            port,
            output: rx,
            collected: Vec::new(),
        }
    }

    /// `openssl s_server` on a free port with `cert`/`key` (names in the cert dir) and
    /// extra arguments (`-rev`, `-tls1_2`...). Waits (at most 10 s) until it accepts.
    pub(crate) fn s_server(dir: &Path, cert: &str, extra: &[&str]) -> Peer {
        let port = free_port();
        let mut cmd = Command::new("openssl");
        cmd.arg("s_server")
            .arg("-accept")
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(dir.join(format!("{cert}.pem")))
            .arg("-key")
            .arg(dir.join(format!("{cert}.key")))
            .args(extra);
        let peer = Peer::spawn(cmd, port);
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "s_server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        peer
    }

    /// `openssl s_client` to 127.0.0.1:`port`, verifying against the test CA and the name
    /// localhost, with extra arguments (`-tls1_3`...). Its stdin stays open.
    pub(crate) fn s_client(dir: &Path, port: u16, extra: &[&str]) -> Peer {
        let mut cmd = Command::new("openssl");
        cmd.arg("s_client")
            .arg("-connect")
            .arg(format!("127.0.0.1:{port}"))
            .arg("-servername")
            .arg("localhost")
            .arg("-CAfile")
            .arg(dir.join("ca.pem"))
            .arg("-verify_hostname")
            .arg("localhost")
            .arg("-verify_return_error")
            .args(extra);
        Peer::spawn(cmd, port)
    }

    pub(crate) fn send(&mut self, data: &[u8]) {
        if let Some(stdin) = self.stdin.as_mut() {
            let _ = stdin.write_all(data);
            let _ = stdin.flush();
        }
    }

    /// Closes its stdin.
    pub(crate) fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Collects output until `done(output)` or `limit`; returns everything so far.
    pub(crate) fn wait_output(&mut self, limit: Duration, done: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let text = String::from_utf8_lossy(&self.collected).into_owned();
            if done(&text) || start.elapsed() >= limit {
                return text;
            }
            if let Ok(chunk) = self.output.recv_timeout(Duration::from_millis(20)) {
                self.collected.extend_from_slice(&chunk);
            }
        }
    }

    /// Output so far, without waiting.
    pub(crate) fn drain(&mut self) -> String {
        while let Ok(chunk) = self.output.try_recv() {
            self.collected.extend_from_slice(&chunk);
        }
        String::from_utf8_lossy(&self.collected).into_owned()
    }

    /// Has it exited?
    pub(crate) fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Output so far (waiting at most `wait` for more).
    pub(crate) fn output(&mut self, wait: Duration) -> String {
        self.wait_output(wait, |_| false)
    }

    /// Waits (at most `limit`) for the process to exit.
    pub(crate) fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if start.elapsed() >= limit {
                return None;
            }
            while let Ok(chunk) = self.output.try_recv() {
                self.collected.extend_from_slice(&chunk);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
