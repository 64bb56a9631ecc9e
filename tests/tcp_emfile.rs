//! Running out of descriptors (EMFILE) must not spin the loop, and service must resume
//! when descriptors are free again (`../shared/peers/probes.md` probe 1).
//!
//! The server runs in a child process (this test binary re-executed) with a 64-descriptor
//! limit, so the limit does not touch the other tests.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

use torsion::protocol::{for_protocol, Protocol};
use torsion::reactor::IoHandler;
use torsion::sys::Interest;
use torsion::transport::Transport;
use torsion::Reactor;

const CHILD_ENV: &str = "TORSION_EMFILE_CHILD";

struct Echo;
impl Protocol for Echo {
    fn data_received(&mut self, t: &Transport, data: &[u8]) {
        t.write(data);
    }
}

/// The server half: only does something when re-executed by the test below.
#[test]
#[ignore = "run by accept_does_not_spin_when_descriptors_run_out in a child process"]
fn emfile_child_server() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    torsion::sys::process::set_nofile_limit(64).unwrap();
    let reactor = Reactor::new().unwrap();
    let port = reactor
        .listen_tcp(0, for_protocol(|| Echo), 1024, "127.0.0.1")
        .unwrap();
    println!("PORT={}", port.get_host().port().unwrap());
    // Stop when the parent closes our stdin.
    let stdin = std::io::stdin();
    let handler: Rc<dyn IoHandler> = Rc::new(|r: &Reactor, _| {
        let mut buf = [0u8; 64];
        match torsion::sys::socket::read(std::io::stdin(), &mut buf) {
            Ok(0) | Err(_) => {
                let _ = r.stop();
            }
            Ok(_) => {}
        }
    });
    reactor
        .add_source(&stdin, Interest::READABLE, handler)
        .unwrap();
    reactor.run().unwrap();
}

fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    ticks as f64 / 100.0 // CLK_TCK is 100 on Linux
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

fn echo_once(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    if s.write_all(b"still there?").is_err() {
        return false;
    }
    let mut buf = [0u8; 12];
    s.read_exact(&mut buf).is_ok() && &buf == b"still there?"
}

#[test]
fn accept_does_not_spin_when_descriptors_run_out() {
    if !std::path::Path::new("/proc/self/stat").exists() {
        eprintln!("skipped: needs /proc");
        return;
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "emfile_child_server",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    // Read the child's output on a thread, so a child that never prints cannot hang us.
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(at) = line.find("PORT=") {
                let _ = tx.send(line[at + 5..].trim().parse::<u16>().ok());
            }
        }
    });
    let Ok(Some(port)) = rx.recv_timeout(Duration::from_secs(30)) else {
        let _ = child.kill();
        panic!("the child server did not report its port");
    };
    assert!(echo_once(port), "served before the flood");
    let baseline = open_fds(pid);

    // The flood: more connections than the server has descriptors.
    let held: Vec<TcpStream> = (0..200)
        .filter_map(|_| TcpStream::connect(("127.0.0.1", port)).ok())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let during = open_fds(pid);
    assert!(
        during >= 60,
        "the flood did not exhaust the child's descriptors ({during} open)"
    );
    let before = cpu_seconds(pid);
    let window = Instant::now();
    std::thread::sleep(Duration::from_secs(2));
    let used = cpu_seconds(pid) - before;
    let share = used / window.elapsed().as_secs_f64();
    assert!(
        share < 0.10,
        "the server spun at {:.0}% CPU while out of descriptors",
        share * 100.0
    );

    // The flood ends: service resumes, and no descriptor leaked.
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !echo_once(port) {
        assert!(Instant::now() < deadline, "service did not resume");
        std::thread::sleep(Duration::from_millis(100));
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while open_fds(pid) > baseline {
        assert!(
            Instant::now() < deadline,
            "descriptors leaked: {baseline} -> {}",
            open_fds(pid)
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    drop(child.stdin.take());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the child server did not stop");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
