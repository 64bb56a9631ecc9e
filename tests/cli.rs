//! The `torsion` command as a child process: help, argument errors, the echo server
//! serving a real connection and stopping gracefully on SIGTERM (queued data still
//! delivered), the port-in-use message, portforward moving bytes both ways, the chat room,
//! and the web server on a directory. Loopback only; every wait is bounded; children are killed by pid.

mod cli_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use cli_support::{run, text, Served, WAIT};

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.set_write_timeout(Some(WAIT)).unwrap();
    s
}

/// Sends `request` on a new connection and reads the answer until the server closes.
fn exchange(port: u16, request: &[u8]) -> String {
    let mut c = connect(port);
    c.write_all(request).unwrap();
    let mut got = String::new();
    c.read_to_string(&mut got).unwrap();
    got
}

#[test]
fn help_for_the_command_and_each_subcommand() {
    let out = run(&["--help"]);
    assert!(out.status.success());
    let top = text(&out.stdout);
    for cmd in ["web", "echo", "chat", "portforward", "bench"] {
        assert!(top.contains(cmd), "top-level help lists {cmd}: {top}");
    }
    for cmd in ["web", "echo", "chat", "portforward", "bench"] {
        let out = run(&[cmd, "--help"]);
        assert!(out.status.success(), "{cmd} --help");
        let help = text(&out.stdout);
        assert!(help.contains(&format!("usage: torsion {cmd}")), "{help}");
    }
    assert!(text(&run(&["bench", "echo", "--help"]).stdout).contains("--pipeline"));
}

#[test]
fn argument_errors_exit_2_and_say_what_to_do() {
    let cases: [(&[&str], &str); 7] = [
        (&["frobnicate"], "unknown command \"frobnicate\""),
        (&["echo", "--bogus"], "unknown option --bogus"),
        (&["echo", "--listen"], "--listen needs a value"),
        (&["echo", "--log-level", "loud"], "is not a level"),
        (&["portforward", "--listen", "tcp:0"], "--dest is required"),
        (
            &["bench", "echo", "-c", "2"],
            "--connect ENDPOINT is required",
        ),
        (
            &[
                "bench",
                "echo",
                "--connect",
                "tcp:127.0.0.1:1",
                "-d",
                "soon",
            ],
            "not a duration",
        ),
    ];
    for (args, wanted) in cases {
        let out = run(args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(wanted), "{args:?}: {err}");
    }
    // A bad endpoint description names the part and gives examples.
    let out = run(&["echo", "--listen", "tpc:80"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("unknown endpoint type \"tpc\"") && err.contains("tcp:8000"),
        "{err}"
    );
}

#[test]
fn echo_serves_and_stops_on_sigterm_delivering_queued_data() {
    let server = Served::start(&[
        "echo",
        "--listen",
        "tcp:0:interface=127.0.0.1",
        "--log-level",
        "info",
    ]);
    let mut a = connect(server.port);
    a.write_all(b"hello torsion").unwrap();
    let mut buf = [0u8; 13];
    a.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"hello torsion");

    // 16 MiB sent and not read yet: most of the echo sits in the server's write queue
    // when SIGTERM comes, and must still arrive, followed by an orderly close.
    let data: Vec<u8> = (0..16 << 20).map(|i: u32| (i % 251) as u8).collect();
    let writer = {
        let (mut w, data) = (a.try_clone().unwrap(), data.clone());
        thread::spawn(move || w.write_all(&data).unwrap())
    };
    writer.join().unwrap();
    // Time for the server to read what is still in its socket (closing with unread
    // input would reset the connection); it reads as fast as it can, so 1 s is ample.
    thread::sleep(Duration::from_secs(1));
    server.terminate();
    let mut back = Vec::new();
    a.read_to_end(&mut back)
        .expect("an orderly close after the data");
    assert_eq!(back.len(), data.len());
    assert!(back == data, "echoed bytes differ");

    let (status, err) = server.wait();
    assert!(status.success(), "graceful stop exits 0: {status:?} {err}");
    assert!(err.contains("received signal 15"), "{err}");
    assert!(err.contains("closing 1 connection(s)"), "{err}");
    // Stopped listening: nothing accepts on the port any more.
    let port_closed = TcpStream::connect(("127.0.0.1", server_port_after(&err))).is_err();
    assert!(port_closed);
}

#[test]
fn a_client_that_never_reads_is_aborted_after_the_grace_period() {
    let server = Served::start(&[
        "echo",
        "--listen",
        "tcp:0:interface=127.0.0.1",
        "--grace",
        "500ms",
    ]);
    let stuck = connect(server.port);
    // 16 MiB, never read back: the echo cannot drain.
    let writer = {
        let mut w = stuck.try_clone().unwrap();
        thread::spawn(move || {
            let chunk = vec![7u8; 1 << 16];
            for _ in 0..256 {
                if w.write_all(&chunk).is_err() {
                    break;
                }
            }
        })
    };
    writer.join().unwrap();
    thread::sleep(Duration::from_millis(200));
    let t = std::time::Instant::now();
    server.terminate();
    let (status, err) = server.wait();
    assert!(status.success(), "{status:?} {err}");
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "stopped after {:?}",
        t.elapsed()
    );
    assert!(err.contains("still sending after 500ms: aborted"), "{err}");
}

/// The port from the server's log line (the Served value is gone by then).
fn server_port_after(log: &str) -> u16 {
    let line = log.lines().find(|l| l.contains("listening on")).unwrap();
    line.rsplit(':').next().unwrap().trim().parse().unwrap()
}

#[test]
fn a_port_in_use_names_the_port_and_suggests_another() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let listen = format!("tcp:{port}:interface=127.0.0.1");
    let out = run(&["echo", "--listen", &listen]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("port {port} is in use")), "{err}");
    let other = format!("--listen tcp:{}:interface=127.0.0.1", port + 1);
    assert!(err.contains(&other), "{err}");
    assert!(err.contains("tcp:0"), "{err}");
}

#[test]
fn portforward_moves_bytes_both_ways() {
    // The destination: reads 1 MiB, answers with 2 MiB of its own, then closes.
    let dest = TcpListener::bind("127.0.0.1:0").unwrap();
    let dest_port = dest.local_addr().unwrap().port();
    let upload: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 253) as u8).collect();
    let download: Vec<u8> = (0..2 << 20).map(|i: u32| (i % 241) as u8 ^ 0x5a).collect();
    let remote = {
        let (upload, download) = (upload.clone(), download.clone());
        thread::spawn(move || {
            let (mut s, _) = dest.accept().unwrap();
            s.set_read_timeout(Some(WAIT)).unwrap();
            let mut got = vec![0u8; upload.len()];
            s.read_exact(&mut got).unwrap();
            assert!(got == upload, "the destination got other bytes");
            s.write_all(&download).unwrap();
        })
    };
    let dest_arg = format!("tcp:127.0.0.1:{dest_port}");
    let server = Served::start(&[
        "portforward",
        "--listen",
        "tcp:0:interface=127.0.0.1",
        "--dest",
        &dest_arg,
    ]);
    let mut c = connect(server.port);
    c.write_all(&upload).unwrap();
    let mut back = Vec::new();
    c.read_to_end(&mut back).unwrap();
    assert_eq!(back.len(), download.len());
    assert!(back == download, "the client got other bytes");
    remote.join().unwrap();

    drop(c);
    server.terminate();
    let (status, _) = server.wait();
    assert!(status.success());
}

/// Resident memory of a process, from /proc (Linux).
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn portforward_pauses_a_fast_sender_while_the_destination_does_not_read() {
    const TOTAL: usize = 96 << 20;
    let dest = TcpListener::bind("127.0.0.1:0").unwrap();
    let dest_arg = format!("tcp:127.0.0.1:{}", dest.local_addr().unwrap().port());
    let server = Served::start(&[
        "portforward",
        "--listen",
        "tcp:0:interface=127.0.0.1",
        "--dest",
        &dest_arg,
    ]);
    let client = connect(server.port);
    let (mut stalled, _) = dest.accept().unwrap();
    stalled.set_read_timeout(Some(WAIT)).unwrap();
    let written = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let writer = {
        let (mut c, written) = (client.try_clone().unwrap(), written.clone());
        thread::spawn(move || {
            let chunk: Vec<u8> = (0..1 << 16).map(|i: u32| (i % 251) as u8).collect();
            let mut sent = 0;
            while sent < TOTAL {
                c.write_all(&chunk).unwrap();
                sent += chunk.len();
                written.store(sent, std::sync::atomic::Ordering::Relaxed);
            }
            c.shutdown(Shutdown::Write).unwrap();
        })
    };
    // The destination reads nothing for a while: the proxy must stop reading from the
    // client instead of queueing what it cannot send.
    thread::sleep(Duration::from_millis(1500));
    let sent = written.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        sent < TOTAL,
        "the sender was never paused ({sent} bytes written)"
    );
    // (Linux only: elsewhere there is no /proc to read the proxy's memory from.)
    if let Some(rss) = rss_kib(server.child.id()) {
        assert!(
            rss < 40 * 1024,
            "the proxy holds {rss} KiB with {sent} bytes sent"
        );
    }
    // Now it reads: everything arrives, in order.
    let mut got = 0usize;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = stalled.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        for (i, &b) in buf[..n].iter().enumerate() {
            assert_eq!(b, ((got + i) % (1 << 16) % 251) as u8, "byte {}", got + i);
        }
        got += n;
    }
    writer.join().unwrap();
    assert_eq!(got, TOTAL);
    drop((client, stalled));
    server.terminate();
    assert!(server.wait().0.success());
}

#[test]
fn portforward_to_nowhere_closes_the_client() {
    let gone = TcpListener::bind("127.0.0.1:0").unwrap();
    let dest_arg = format!("tcp:127.0.0.1:{}", gone.local_addr().unwrap().port());
    drop(gone);
    let server = Served::start(&[
        "portforward",
        "--listen",
        "tcp:0:interface=127.0.0.1",
        "--dest",
        &dest_arg,
    ]);
    let mut c = connect(server.port);
    let mut buf = Vec::new();
    assert_eq!(c.read_to_end(&mut buf).unwrap(), 0);
    server.terminate();
    let (status, err) = server.wait();
    assert!(status.success());
    assert!(err.contains("cannot reach the destination"), "{err}");
}

#[test]
fn chat_relays_lines_to_every_client() {
    let server = Served::start(&["chat", "--listen", "tcp:0:interface=127.0.0.1"]);
    let a = connect(server.port);
    let b = connect(server.port);
    let (mut ra, mut rb) = (BufReader::new(a.try_clone().unwrap()), BufReader::new(b));
    let line = |r: &mut BufReader<TcpStream>| {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        line
    };
    let from_server = |text: &str| format!("<tcp:127.0.0.1:{}> {text}\r\n", server.port);
    // b's line reaching a shows that both have joined (no sleep needed).
    rb.get_ref().write_all(b"b here\n").unwrap();
    assert_eq!(line(&mut ra), from_server("b here"));
    assert_eq!(line(&mut rb), from_server("b here"));
    (&a).write_all(b"hi all\n").unwrap();
    assert_eq!(line(&mut ra), from_server("hi all"));
    assert_eq!(line(&mut rb), from_server("hi all"));
    a.shutdown(Shutdown::Both).unwrap();
    server.terminate();
    let (status, _) = server.wait();
    assert!(status.success());
}

#[test]
fn web_serves_a_directory_with_added_headers_and_an_access_log() {
    let out = run(&["web", "--path", "/no/such/dir"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("not a directory"));

    let dir = std::env::temp_dir().join(format!("torsion-cli-web-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("index.html"), b"<p>home</p>\n").unwrap();
    std::fs::write(dir.join("sub").join("a.txt"), b"0123456789").unwrap();
    let log = dir.with_extension("log");
    let server = Served::start(&[
        "web",
        "--listen",
        "tcp:0:interface=127.0.0.1",
        "--path",
        dir.to_str().unwrap(),
        "--add-header",
        "Cache-Control: no-store",
        "--access-log",
        log.to_str().unwrap(),
    ]);
    // Two requests on one keep-alive connection: the index, then a range of a file.
    let got = exchange(
        server.port,
        b"GET / HTTP/1.1\r\nHost: t\r\n\r\nGET /sub/a.txt HTTP/1.1\r\nHost: t\r\nRange: bytes=2-4\r\nConnection: close\r\n\r\n",
    );
    let (first, second) = got.split_at(got.find("HTTP/1.1 206").expect("a 206 second"));
    assert!(first.starts_with("HTTP/1.1 200 OK\r\n"), "{got}");
    assert!(first.contains("<p>home</p>"), "{got}");
    assert!(first.contains("\r\nServer: torsion\r\n"), "{got}");
    assert!(
        first
            .to_ascii_lowercase()
            .contains("cache-control: no-store"),
        "{got}"
    );
    assert!(
        second
            .to_ascii_lowercase()
            .contains("cache-control: no-store"),
        "{got}"
    );
    assert!(second.ends_with("\r\n\r\n234"), "{got}");
    // Nothing outside the root.
    let got = exchange(
        server.port,
        b"GET /../../etc/passwd HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    assert!(got.starts_with("HTTP/1.1 404"), "{got}");
    server.terminate();
    let (status, _) = server.wait();
    assert!(status.success());
    let lines = std::fs::read_to_string(&log).unwrap();
    assert_eq!(lines.lines().count(), 3, "{lines}");
    assert!(
        lines.contains("\"GET /sub/a.txt HTTP/1.1\" 206 3"),
        "{lines}"
    );

    // --no-server-header: the same answer without the Server field.
    let server = Served::start(&[
        "web",
        "--listen",
        "tcp:0:interface=127.0.0.1",
        "--path",
        dir.to_str().unwrap(),
        "--no-server-header",
    ]);
    let got = exchange(
        server.port,
        b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    assert!(got.starts_with("HTTP/1.1 200 OK\r\n"), "{got}");
    assert!(got.contains("<p>home</p>"), "{got}");
    assert!(!got.to_ascii_lowercase().contains("\r\nserver:"), "{got}");
    server.terminate();
    assert!(server.wait().0.success());

    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::remove_file(&log).unwrap();
}
