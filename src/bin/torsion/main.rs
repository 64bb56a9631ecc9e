//! `torsion`: the command (Twisted's `twist`). Servers (`web`, `echo`, `chat`,
//! `portforward`) and the load generator the benchmark suite is built on (`bench`).
//!
//! Hand-rolled argument parsing (`args.rs`) and a tiny stderr logger for the `log` facade
//! (`logger.rs`): the binary adds no dependency to the library's graph. One module per
//! subcommand; `serve.rs` holds what the servers share (listening, the graceful stop).
//!
//! Exit status: 0 on success and after a graceful stop (SIGINT / SIGTERM), 1 on a runtime
//! error (a port in use, a failed benchmark), 2 on a command-line mistake.
//!
//! Tests: unit tests in each module; `tests/cli.rs` (the command as a child process),
//! `tests/cli_bench.rs` (`torsion bench` against in-process servers).
#![forbid(unsafe_code)]

mod args;
mod bench;
mod chat;
mod echo;
mod logger;
mod portforward;
mod serve;
mod web;

use std::error::Error;
use std::process::ExitCode;
use std::time::Duration;

use log::LevelFilter;

use crate::args::{usage, Args, UsageError};

const HELP: &str = "\
torsion: Twisted's event-driven networking in Rust, as a command (like `twist`)

usage: torsion [--log-level LEVEL] COMMAND [OPTIONS]

commands:
  web          serve a directory over HTTP (the default command; needs the web module)
  echo         an echo server
  chat         a chat room: each line goes to every client
  portforward  forward connections to another address, with flow control both ways
  bench        load generator: bench echo|http|udp --connect ENDPOINT -c N -d DURATION

common options (every server command):
  --listen ENDPOINT   tcp:8000, tcp:8000:interface=127.0.0.1, tcp6:8000, unix:/tmp/s, ssl:...
  --log-level LEVEL   off, error, warn, info (default), debug, trace (stderr)
  --grace DURATION    how long SIGINT / SIGTERM waits for connections to finish (default 10s)
  -h, --help          help for torsion or for a command (torsion echo --help)

examples:
  torsion echo --listen tcp:8000
  torsion portforward --listen tcp:8000 --dest tcp:example.com:80
  torsion bench echo --connect tcp:127.0.0.1:8000 -c 50 -d 10s
";

/// The options every server command takes.
#[derive(Debug)]
pub(crate) struct Common {
    pub(crate) log_level: LevelFilter,
    pub(crate) grace: Duration,
}

impl Default for Common {
    fn default() -> Common {
        Common {
            log_level: LevelFilter::Info,
            grace: serve::DEFAULT_GRACE,
        }
    }
}

impl Common {
    /// Takes `flag` (and its value) if it is a common option.
    pub(crate) fn parse(&mut self, flag: &str, args: &mut Args) -> Result<bool, UsageError> {
        match flag {
            "--log-level" => self.log_level = logger::parse_level(&args.value(flag)?)?,
            "--grace" => self.grace = args.duration(flag)?,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Installs the logger at the chosen level.
    pub(crate) fn apply(&self) {
        logger::init(self.log_level);
    }
}

fn run(words: Vec<String>) -> Result<(), Box<dyn Error>> {
    let mut words = words.into_iter().peekable();
    // Options before the command: --help, --version, --log-level.
    let mut level = None;
    while let Some(w) = words.peek().filter(|w| w.starts_with('-')).cloned() {
        words.next();
        match w.as_str() {
            "-h" | "--help" => {
                print!("{HELP}");
                return Ok(());
            }
            "-V" | "--version" => {
                println!("torsion {}", env!("CARGO_PKG_VERSION"));
                return Ok(());
            }
            "--log-level" => {
                let v = words
                    .next()
                    .ok_or_else(|| usage!("--log-level needs a value"))?;
                level = Some(logger::parse_level(&v)?);
            }
            _ => {
                return Err(
                    usage!("unknown option {w} before the command (see `torsion --help`)").into(),
                )
            }
        }
    }
    let command = words.next();
    let mut rest: Vec<String> = Vec::new();
    if let Some(level) = level {
        // Passed on, so the command's own --log-level (given later) wins.
        rest.extend(["--log-level".to_string(), level.to_string()]);
    }
    rest.extend(words);
    match command.as_deref() {
        None | Some("web") => web::main(Args::new("web", rest)),
        Some("echo") => echo::main(Args::new("echo", rest)),
        Some("chat") => chat::main(Args::new("chat", rest)),
        Some("portforward") => portforward::main(Args::new("portforward", rest)),
        Some("bench") => bench::main(rest),
        Some("help") => {
            print!("{HELP}");
            Ok(())
        }
        Some(other) => Err(usage!(
            "unknown command {other:?}: the commands are web, echo, chat, portforward, bench \
             (see `torsion --help`)"
        )
        .into()),
    }
}

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("torsion: {e}");
            if e.is::<UsageError>() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
