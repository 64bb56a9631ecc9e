//! The server against real clients nobody here wrote, over loopback: curl (keep-alive
//! reuse, chunked upload, `Expect: 100-continue`, HTTP/1.0), Python's http.client
//! (keep-alive, chunked body from a generator), h2load in HTTP/1.1 pipelined mode, a raw
//! pipelined burst with a FIN after it, slowloris connections that are closed while a
//! normal client keeps being served, and `examples/web_counter` run as a process.
//!
//! Each client is skipped, with a message, when it is not installed (`.ci/run` installs
//! curl, nghttp2-client and python3). The server runs on a reactor thread of this test;
//! every wait is bounded and every child is killed by its pid.

mod web_util;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Output, Stdio};
use std::rc::Rc;
use std::sync::mpsc::channel;
use std::thread;
use std::time::{Duration, Instant};

use torsion::reactor::ThreadHandle;
use torsion::web::http::Limits;
use torsion::web::{Directory, Resource, Site, SiteOptions};
use torsion::Reactor;

struct Server {
    port: u16,
    handle: ThreadHandle,
    thread: Option<thread::JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.handle.stop();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// `/` the counter, `/echo` the body back, with a 2 s header timeout.
fn serve() -> Server {
    let (tx, rx) = channel();
    let thread = thread::spawn(move || {
        let reactor = Reactor::new().unwrap();
        let root = Rc::new(Directory::new());
        root.put_child(b"", Rc::new(web_util::Counter::default()));
        root.put_child(b"echo", Rc::new(web_util::Echo));
        let limits = Limits {
            header_timeout: Some(Duration::from_secs(2)),
            ..Limits::default()
        };
        let site = Site::with_options(
            root,
            SiteOptions {
                limits,
                ..SiteOptions::default()
            },
        );
        let port = reactor.listen_tcp(0, site, 128, "127.0.0.1").unwrap();
        let addr = match port.get_host() {
            torsion::protocol::Address::Tcp(a) => a.port(),
            other => panic!("{other}"),
        };
        tx.send((addr, reactor.thread_handle())).unwrap();
        // Bounded: the test stops it, or this does after two minutes.
        let r = reactor.clone();
        reactor.call_later(Duration::from_secs(120), move || {
            let _ = r.stop();
        });
        reactor.run().unwrap();
        reactor.close();
    });
    let (port, handle) = rx.recv_timeout(Duration::from_secs(20)).unwrap();
    Server {
        port,
        handle,
        thread: Some(thread),
    }
}

fn installed(cmd: &str, arg: &str) -> bool {
    let ok = Command::new(cmd)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !ok {
        eprintln!("skipped: {cmd} is not installed");
    }
    ok
}

/// Runs a command with a time limit (kills it by pid past it). Its output goes to files,
/// so a large output never blocks it on a full pipe.
fn run(cmd: &mut Command, limit: Duration) -> Output {
    let base = std::env::temp_dir().join(format!(
        "torsion-web-clients-{}-{:?}",
        std::process::id(),
        thread::current().id()
    ));
    let (out_path, err_path) = (base.with_extension("out"), base.with_extension("err"));
    let mut child = cmd
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break child.wait().unwrap();
        }
        thread::sleep(Duration::from_millis(20));
    };
    let output = Output {
        status,
        stdout: std::fs::read(&out_path).unwrap_or_default(),
        stderr: std::fs::read(&err_path).unwrap_or_default(),
    };
    let _ = std::fs::remove_file(&out_path);
    let _ = std::fs::remove_file(&err_path);
    output
}

#[test]
fn curl() {
    if !installed("curl", "--version") {
        return;
    }
    let s = serve();
    let url = format!("http://127.0.0.1:{}/", s.port);
    let out = run(
        Command::new("curl").args(["-sv", "-m", "10", &url, &url]),
        Duration::from_secs(20),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Re-using existing connection"), "{err}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "I am request #1\nI am request #2\n"
    );

    let body: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let file = std::env::temp_dir().join(format!("torsion-web-curl-{}", std::process::id()));
    std::fs::write(&file, &body).unwrap();
    let echo = format!("http://127.0.0.1:{}/echo", s.port);
    let data = format!("@{}", file.display());
    for expect in ["Expect:", "Expect: 100-continue"] {
        let out = run(
            Command::new("curl").args([
                "-s",
                "-m",
                "10",
                "-H",
                "Transfer-Encoding: chunked",
                "-H",
                expect,
                "--expect100-timeout",
                "5",
                "--data-binary",
                &data,
                &echo,
            ]),
            Duration::from_secs(20),
        );
        assert!(
            out.stdout == body,
            "{expect}: {} bytes back",
            out.stdout.len()
        );
    }
    let _ = std::fs::remove_file(&file);
    let out = run(
        Command::new("curl").args([
            "-s",
            "-m",
            "10",
            "--http1.0",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &url,
        ]),
        Duration::from_secs(20),
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "200");
}

#[test]
fn python_http_client() {
    if !installed("python3", "--version") {
        return;
    }
    let s = serve();
    let script = r#"
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=5)
for _ in range(3):
    c.request("GET", "/"); r = c.getresponse(); r.read(); assert r.status == 200
s1 = c.sock
c.request("POST", "/echo", body=(b"part%d," % i for i in range(50)), encode_chunked=True)
r = c.getresponse(); b = r.read(); assert b == b"".join(b"part%d," % i for i in range(50)), b[:80]
assert c.sock is s1, "connection was not kept alive"
c.request("HEAD", "/"); r = c.getresponse(); assert r.read() == b"" and r.status == 200
c.request("GET", "/nope/x"); r = c.getresponse(); r.read(); assert r.status == 404, r.status
print("python-ok")
"#;
    let out = run(
        Command::new("python3").args(["-c", script, &s.port.to_string()]),
        Duration::from_secs(30),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("python-ok"),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn h2load_pipelined() {
    if !installed("h2load", "--version") {
        return;
    }
    let s = serve();
    let url = format!("http://127.0.0.1:{}/", s.port);
    let out = run(
        Command::new("h2load").args(["--h1", "-n", "5000", "-c", "20", "-m", "10", &url]),
        Duration::from_secs(60),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("5000 succeeded, 0 failed"), "{text}");
}

#[test]
fn pipelined_burst_then_fin_gets_every_response() {
    let s = serve();
    let mut c = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let req = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".repeat(50);
    c.write_all(&req).unwrap();
    c.shutdown(std::net::Shutdown::Write).unwrap();
    let mut out = Vec::new();
    c.read_to_end(&mut out).unwrap();
    let r = web_util::parse_responses(&out, &[]);
    assert_eq!(r.len(), 50);
    assert_eq!(r[49].body, b"I am request #50\n");
}

#[test]
fn slowloris_connections_are_closed_and_others_served() {
    let s = serve();
    let mut slow: Vec<TcpStream> = (0..20)
        .map(|_| {
            let mut c = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
            c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
            c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            c
        })
        .collect();
    let start = Instant::now();
    // Served meanwhile, on a fresh connection each time.
    for _ in 0..5 {
        let mut c = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut out = Vec::new();
        c.read_to_end(&mut out).unwrap();
        assert!(out.starts_with(b"HTTP/1.1 200 OK"));
        for s in &mut slow {
            let _ = s.write_all(b"X-a: b\r\n");
        }
        thread::sleep(Duration::from_millis(200));
    }
    for c in &mut slow {
        let mut out = Vec::new();
        c.read_to_end(&mut out).unwrap();
        assert!(
            out.starts_with(b"HTTP/1.1 408"),
            "{}",
            String::from_utf8_lossy(&out)
        );
    }
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(6),
        "closed after {took:?} (header timeout 2 s)"
    );
}

/// `examples/web_counter.rs` as a process: `I am request #N`, counting, `text/plain`.
#[test]
fn the_web_counter_example() {
    use std::io::{BufRead, BufReader};
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples/web_counter");
    if !path.exists() {
        eprintln!(
            "skipped: {} is not built (cargo test builds examples)",
            path.display()
        );
        return;
    }
    let mut child = Command::new(&path)
        .arg("tcp:0:interface=127.0.0.1")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stderr = child.stderr.take().unwrap();
    let child = Kill(child);
    let (tx, rx) = channel();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let line = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the example starts");
    let port: u16 = line
        .rsplit(':')
        .next()
        .unwrap()
        .trim()
        .parse()
        .expect(&line);
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /any/path HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut out = Vec::new();
    c.read_to_end(&mut out).unwrap();
    let r = web_util::parse_responses(&out, &[]);
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].body, b"I am request #1\n");
    assert_eq!(r[1].body, b"I am request #2\n");
    assert_eq!(r[1].header("content-type"), Some("text/plain"));
    drop(child);
}
