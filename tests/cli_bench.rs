//! `torsion bench` (a child process) against servers in this test process, each on its
//! own thread and reactor, on loopback: a torsion echo server, one that corrupts a byte,
//! an HTTP responder (Content-Length and chunked responses, pipelined), one with broken
//! framing, and a UDP echo. Runs are a second or less; every wait is bounded.

mod cli_support;

use std::net::UdpSocket;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use cli_support::{run, text};
use torsion::endpoints::server_from_string;
use torsion::protocol::{for_protocol, Protocol};
use torsion::reactor::ThreadHandle;
use torsion::transport::Transport;
use torsion::Reactor;

/// A server on its own thread; stopped and joined on drop.
struct InProcess {
    port: u16,
    handle: ThreadHandle,
    thread: Option<JoinHandle<()>>,
}

impl InProcess {
    fn start<P: Protocol, F: Fn() -> P + Send + 'static>(make: F) -> InProcess {
        let (tx, rx) = mpsc::channel();
        let thread = thread::spawn(move || {
            let reactor = Reactor::new().unwrap();
            let endpoint = server_from_string(&reactor, "tcp:0:interface=127.0.0.1").unwrap();
            let port = endpoint
                .listen(for_protocol(make))
                .take_result()
                .unwrap()
                .unwrap();
            tx.send((port.get_host().port().unwrap(), reactor.thread_handle()))
                .unwrap();
            reactor.run().unwrap();
            reactor.close();
        });
        let (port, handle) = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        InProcess {
            port,
            handle,
            thread: Some(thread),
        }
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        let _ = self.handle.stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Echo;
impl Protocol for Echo {
    fn data_received(&mut self, t: &Transport, data: &[u8]) {
        t.write(data);
    }
}

/// Echoes, but flips one bit of the 1000th byte.
#[derive(Default)]
struct Corrupt {
    seen: usize,
}
impl Protocol for Corrupt {
    fn data_received(&mut self, t: &Transport, data: &[u8]) {
        let mut d = data.to_vec();
        if (self.seen..self.seen + d.len()).contains(&1000) {
            d[1000 - self.seen] ^= 1;
        }
        self.seen += d.len();
        t.write(&d);
    }
}

/// Answers each request (a blank line ends it) alternately with a Content-Length and a
/// chunked response; `broken` leaves the length out.
struct Http {
    pending: Vec<u8>,
    n: usize,
    broken: bool,
}
impl Protocol for Http {
    fn data_received(&mut self, t: &Transport, data: &[u8]) {
        self.pending.extend_from_slice(data);
        while let Some(end) = self.pending.windows(4).position(|w| w == b"\r\n\r\n") {
            assert!(self
                .pending
                .starts_with(b"GET /bench HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
            self.pending.drain(..end + 4);
            self.n += 1;
            if self.broken {
                t.write(b"HTTP/1.1 200 OK\r\n\r\nhello");
            } else if self.n % 2 == 0 {
                t.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
            } else {
                t.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2;x=y\r\nlo\r\n0\r\n\r\n");
            }
        }
    }
}

/// The value of `"key":NUMBER` in a flat JSON line.
fn field(json: &str, key: &str) -> f64 {
    let at = json
        .find(&format!("\"{key}\":"))
        .unwrap_or_else(|| panic!("{key} in {json}"));
    let rest = &json[at + key.len() + 3..];
    let end = rest.find([',', '}']).unwrap();
    rest[..end].parse().unwrap()
}

fn bench(args: &[&str]) -> (Option<i32>, String, String, Duration) {
    let t = Instant::now();
    let out = run(args);
    (
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr),
        t.elapsed(),
    )
}

#[test]
fn echo_load_checks_every_byte_and_stops_by_itself() {
    let server = InProcess::start(|| Echo);
    let connect = format!("tcp:127.0.0.1:{}", server.port);
    let (code, out, err, took) = bench(&[
        "bench",
        "echo",
        "--connect",
        &connect,
        "-c",
        "4",
        "-d",
        "1500ms",
        "--warmup",
        "200ms",
        "--size",
        "300",
        "--pipeline",
        "3",
        "--json",
    ]);
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(took < Duration::from_secs(8), "stops by itself: {took:?}");
    assert_eq!(field(&out, "errors"), 0.0, "{out}");
    assert_eq!(field(&out, "connected"), 4.0);
    let msgs = field(&out, "msgs");
    assert!(msgs > 100.0, "{out}");
    assert_eq!(field(&out, "bytes"), msgs * 300.0);
    assert!(field(&out, "total_msgs") >= msgs);
    let (p50, p99, max) = (
        field(&out, "p50_us"),
        field(&out, "p99_us"),
        field(&out, "max_us"),
    );
    assert!(0.0 < p50 && p50 <= p99 && p99 <= max, "{out}");
    assert!((field(&out, "window_s") - 1.5).abs() < 0.6, "{out}");
    assert!(err.contains("req/s"), "a progress line each second: {err}");
}

#[test]
fn sigint_ends_the_run_early_with_the_figures_so_far() {
    use std::io::{BufRead, BufReader, Read};
    let server = InProcess::start(|| Echo);
    let connect = format!("tcp:127.0.0.1:{}", server.port);
    let mut child = cli_support::torsion()
        .args([
            "bench",
            "echo",
            "--connect",
            &connect,
            "-c",
            "2",
            "-d",
            "60s",
            "--warmup",
            "0",
            "--json",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The first progress line shows the loop (and its signal handling) is running.
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let first = rx.recv_timeout(cli_support::WAIT).expect("a progress line");
    assert!(first.contains("req/s"), "{first}");
    let status = std::process::Command::new("sh")
        .args(["-c", &format!("kill -INT {}", child.id())])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = cli_support::wait_bounded(&mut child, Duration::from_secs(10))
        .expect("bench stops on SIGINT");
    let mut json = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut json)
        .unwrap();
    assert_eq!(exit.code(), Some(0), "{json}");
    assert!(field(&json, "msgs") > 0.0, "{json}");
    assert!(field(&json, "window_s") < 30.0, "{json}");
}

#[test]
fn a_corrupted_echo_is_a_mismatch_and_exit_1() {
    let server = InProcess::start(Corrupt::default);
    let connect = format!("tcp:127.0.0.1:{}", server.port);
    let (code, out, err, _) = bench(&[
        "bench",
        "echo",
        "--connect",
        &connect,
        "-c",
        "1",
        "-d",
        "500ms",
        "--warmup",
        "0",
        "--quiet",
    ]);
    assert_eq!(code, Some(1), "{out}\n{err}");
    assert!(out.contains("mismatch 1"), "{out}");
    assert!(
        err.contains("byte 40: got"),
        "names the byte (1000 = 15 x 64 + 40): {err}"
    );
}

#[test]
fn connection_refused_is_a_connect_error() {
    let gone = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let connect = format!("tcp:127.0.0.1:{}", gone.local_addr().unwrap().port());
    drop(gone);
    let (code, out, _, _) = bench(&[
        "bench",
        "echo",
        "--connect",
        &connect,
        "-c",
        "2",
        "-d",
        "300ms",
        "--warmup",
        "0",
        "--json",
        "--quiet",
    ]);
    assert_eq!(code, Some(1));
    assert!(out.contains("\"connect\":2"), "{out}");
}

#[test]
fn http_load_pipelines_and_checks_framing() {
    let server = InProcess::start(|| Http {
        pending: Vec::new(),
        n: 0,
        broken: false,
    });
    let connect = format!("tcp:127.0.0.1:{}", server.port);
    let (code, out, err, _) = bench(&[
        "bench",
        "http",
        "--connect",
        &connect,
        "--path",
        "/bench",
        "-c",
        "3",
        "-d",
        "1s",
        "--warmup",
        "100ms",
        "--pipeline",
        "4",
        "--json",
    ]);
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert_eq!(field(&out, "errors"), 0.0, "{out}");
    assert!(field(&out, "msgs") > 100.0, "{out}");

    let broken = InProcess::start(|| Http {
        pending: Vec::new(),
        n: 0,
        broken: true,
    });
    let connect = format!("tcp:127.0.0.1:{}", broken.port);
    let (code, out, err, _) = bench(&[
        "bench",
        "http",
        "--connect",
        &connect,
        "--path",
        "/bench",
        "-c",
        "1",
        "-d",
        "300ms",
        "--warmup",
        "0",
        "--quiet",
    ]);
    assert_eq!(code, Some(1));
    assert!(out.contains("framing 1"), "{out}");
    assert!(err.contains("neither Content-Length nor chunked"), "{err}");
}

#[test]
fn udp_load_matches_replies() {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    socket
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let echo = {
        let stop = stop.clone();
        thread::spawn(move || {
            let mut buf = [0u8; 2048];
            let deadline = Instant::now() + Duration::from_secs(30);
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                if let Ok((n, from)) = socket.recv_from(&mut buf) {
                    let _ = socket.send_to(&buf[..n], from);
                }
            }
        })
    };
    let connect = format!("udp:127.0.0.1:{port}");
    let (code, out, err, _) = bench(&[
        "bench",
        "udp",
        "--connect",
        &connect,
        "-c",
        "2",
        "-d",
        "1s",
        "--warmup",
        "100ms",
        "--size",
        "100",
        "--json",
    ]);
    stop.store(true, Ordering::Relaxed);
    echo.join().unwrap();
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert_eq!(field(&out, "errors"), 0.0, "{out}");
    assert!(field(&out, "msgs") > 100.0, "{out}");
}
