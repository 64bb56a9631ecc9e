//! Shared by `tests/cli.rs` and `tests/cli_bench.rs`: running the `torsion` binary as a
//! child process, with every wait bounded and every child killed by its pid on drop.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::thread;
use std::time::{Duration, Instant};

pub(crate) const WAIT: Duration = Duration::from_secs(20);

pub(crate) fn torsion() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_torsion"));
    c.env_remove("TORSION_POLLER_LOG");
    c
}

/// Runs `torsion ARGS` to completion (at most `WAIT`).
pub(crate) fn run(args: &[&str]) -> Output {
    let child = torsion()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn torsion");
    wait_output(child, WAIT)
}

/// Waits for `child` to exit (killing it after `limit`) and collects its output.
pub(crate) fn wait_output(mut child: Child, limit: Duration) -> Output {
    let out = drain(child.stdout.take().unwrap());
    let err = drain(child.stderr.take().unwrap());
    let status = wait_bounded(&mut child, limit).unwrap_or_else(|| {
        let _ = child.kill();
        let _ = child.wait();
        panic!("torsion did not exit within {limit:?}");
    });
    Output {
        status,
        stdout: out.recv_timeout(WAIT).unwrap_or_default(),
        stderr: err.recv_timeout(WAIT).unwrap_or_default(),
    }
}

pub(crate) fn wait_bounded(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() > deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

fn drain(mut r: impl Read + Send + 'static) -> Receiver<Vec<u8>> {
    let (tx, rx) = channel();
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        let _ = tx.send(buf);
    });
    rx
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A `torsion` server child: killed by its pid when dropped.
pub(crate) struct Served {
    pub(crate) child: Child,
    pub(crate) port: u16,
    pub(crate) stderr: Receiver<Vec<u8>>,
}

impl Served {
    /// Starts `torsion ARGS` and waits (bounded) for its `... listening on tcp:ADDR:PORT`
    /// line.
    pub(crate) fn start(args: &[&str]) -> Served {
        let mut child = torsion()
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn torsion");
        let stdout = child.stdout.take().unwrap();
        let stderr = drain(child.stderr.take().unwrap());
        let (tx, rx) = channel();
        thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            while let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
        });
        let line = match rx.recv_timeout(WAIT) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                let err = stderr.recv_timeout(WAIT).unwrap_or_default();
                panic!("no listening line from torsion {args:?}: {}", text(&err));
            }
        };
        assert!(line.contains("listening on tcp:127.0.0.1:"), "{line}");
        let port = line.rsplit(':').next().unwrap().parse().unwrap();
        Served {
            child,
            port,
            stderr,
        }
    }

    /// Sends SIGTERM (through the shell's kill: the tests stay free of unsafe code).
    pub(crate) fn terminate(&self) {
        let status = Command::new("sh")
            .args(["-c", &format!("kill -TERM {}", self.child.id())])
            .status()
            .expect("kill(1)");
        assert!(status.success());
    }

    /// Waits (bounded) for the exit; its status and stderr.
    pub(crate) fn wait(mut self) -> (ExitStatus, String) {
        let status = wait_bounded(&mut self.child, WAIT).expect("torsion did not stop");
        let err = self.stderr.recv_timeout(WAIT).unwrap_or_default();
        (status, text(&err))
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
