//! `examples/chat.rs` against two real `nc` clients (netcat-openbsd) over loopback: each
//! sees the other's lines, and a line over the limit closes only its sender.
//!
//! Skipped, with a message, when `nc` is not installed (`.ci/run` installs
//! netcat-openbsd). Every wait is bounded; every process is killed by its pid at the end.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);

/// Kills its children by pid when dropped, also when a test assertion fails.
struct Procs(Vec<Child>);

impl Drop for Procs {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn nc_installed() -> bool {
    Command::new("nc")
        .arg("-h")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// The example binary `cargo test` built beside this test (target/<profile>/examples),
/// built now if it is not there.
fn chat_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    let path = profile_dir.join("examples/chat");
    if !path.exists() {
        let mut build = Command::new(env!("CARGO"))
            .args(["build", "--example", "chat"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .spawn()
            .expect("cargo build --example chat");
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            if let Some(status) = build.try_wait().unwrap() {
                assert!(status.success(), "building the chat example failed");
                break;
            }
            if Instant::now() > deadline {
                let _ = build.kill();
                panic!("building the chat example took over 10 minutes");
            }
            thread::sleep(Duration::from_millis(100));
        }
    }
    path
}

/// One `nc` client: its stdin, and everything it printed so far.
struct Client {
    stdin: Option<ChildStdin>,
    output: Receiver<Option<Vec<u8>>>,
    seen: Vec<u8>,
    eof: bool,
}

impl Client {
    fn start(port: u16, procs: &mut Procs) -> Client {
        let mut child = Command::new("nc")
            .args(["127.0.0.1", &port.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("nc");
        let stdin = child.stdin.take();
        let mut stdout = child.stdout.take().unwrap();
        procs.0.push(child);
        let (tx, output) = channel();
        thread::spawn(move || {
            let mut buf = [0u8; 65536];
            loop {
                match stdout.read(&mut buf) {
                    Ok(0) | Err(_) => {
                        let _ = tx.send(None);
                        return;
                    }
                    Ok(n) => {
                        if tx.send(Some(buf[..n].to_vec())).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        Client {
            stdin,
            output,
            seen: Vec::new(),
            eof: false,
        }
    }

    fn send(&mut self, data: &[u8]) {
        // A write may fail once the server closed us: that is checked elsewhere.
        if let Some(stdin) = &mut self.stdin {
            let _ = stdin.write_all(data);
            let _ = stdin.flush();
        }
    }

    /// Waits up to `within` for `needle` in the output.
    fn saw(&mut self, needle: &[u8], within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            if self.seen.windows(needle.len()).any(|w| w == needle) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || self.eof {
                return false;
            }
            match self.output.recv_timeout(left) {
                Ok(Some(bytes)) => self.seen.extend_from_slice(&bytes),
                Ok(None) | Err(RecvTimeoutError::Disconnected) => self.eof = true,
                Err(RecvTimeoutError::Timeout) => return false,
            }
        }
    }
}

/// Established TCP sockets whose local port is `port` (the server's side of each
/// client), from /proc/net/tcp.
fn established_server_sockets(port: u16) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    let local = format!(":{port:04X}");
    table
        .lines()
        .skip(1)
        .filter(|row| {
            let cols: Vec<&str> = row.split_whitespace().collect();
            cols.len() > 3 && cols[1].ends_with(&local) && cols[3] == "01"
        })
        .count()
}

#[test]
fn two_nc_clients_chat_and_an_over_long_line_closes_only_its_sender() {
    if !nc_installed() {
        eprintln!("skipped: `nc` is not installed (apt-get install -y netcat-openbsd)");
        return;
    }
    let mut procs = Procs(Vec::new());
    let mut server = Command::new(chat_binary())
        .arg("tcp:0:interface=127.0.0.1")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the chat example");
    let stdout = server.stdout.take().unwrap();
    procs.0.push(server);
    let (tx, rx) = channel();
    thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let banner = rx.recv_timeout(WAIT).expect("the chat server's banner");
    // "chat server listening on tcp:127.0.0.1:PORT"
    let port: u16 = banner.trim().rsplit(':').next().unwrap().parse().unwrap();
    let source = format!("<tcp:127.0.0.1:{port}> ");

    // Each client's own line comes back to it once it is in the room.
    let mut alice = Client::start(port, &mut procs);
    alice.send(b"alice here\r\n");
    assert!(alice.saw(format!("{source}alice here\r\n").as_bytes(), WAIT));
    let mut bob = Client::start(port, &mut procs);
    bob.send(b"bob here\r\n");
    let bob_here = format!("{source}bob here\r\n");
    assert!(bob.saw(bob_here.as_bytes(), WAIT));
    assert!(alice.saw(bob_here.as_bytes(), WAIT));

    // Lines cross.
    alice.send(b"hello bob\r\n");
    assert!(bob.saw(format!("{source}hello bob\r\n").as_bytes(), WAIT));
    bob.send(b"hello alice\r\n");
    assert!(alice.saw(format!("{source}hello alice\r\n").as_bytes(), WAIT));

    // Bob sends a line over the 16384-byte limit: the server closes bob only. (nc keeps
    // running while its stdin is open, so the server's side of the sockets is watched.)
    assert_eq!(established_server_sockets(port), 2);
    let mut long = vec![b'x'; 20_000];
    long.extend_from_slice(b"\r\nbob again\r\n");
    bob.send(&long);
    let deadline = Instant::now() + WAIT;
    while established_server_sockets(port) != 1 {
        assert!(Instant::now() < deadline, "bob's connection was not closed");
        thread::sleep(Duration::from_millis(20));
    }
    alice.send(b"still here\r\n");
    assert!(alice.saw(format!("{source}still here\r\n").as_bytes(), WAIT));
    assert!(!bob.saw(b"still here", Duration::from_millis(500)));
    for (who, client) in [("alice", &alice), ("bob", &bob)] {
        assert!(
            !client.seen.windows(100).any(|w| w == [b'x'; 100]),
            "{who} got the long line"
        );
        assert!(
            !client.seen.windows(9).any(|w| w == b"bob again"),
            "{who} got a line bob sent after the long one"
        );
    }
    drop(alice.stdin.take());
    drop(bob.stdin.take());
}
