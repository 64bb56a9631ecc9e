//! `torsion bench`: a closed-loop load generator on torsion's own reactor.
//!
//! Every connection (or UDP socket) keeps `--pipeline` requests in flight and sends the
//! next one as soon as one completes. Round trips that complete in the measured window
//! (after `--warmup`) go into a log-linear [`histogram::Histogram`]; a progress line goes
//! to stderr each second; at the end it prints throughput, latency percentiles and error
//! counts (or one JSON object with `--json`) and exits, 1 if anything went wrong.
//!
//! - `echo`: each message has its own byte pattern, and every echoed byte is checked.
//! - `http`: `GET` requests, each response's framing checked (`framing.rs`).
//! - `udp`: datagrams carrying a sequence number, matched with their replies; a reply
//!   missing for a second counts as lost and the datagram is replaced.

mod echo;
mod framing;
pub(crate) mod histogram;
mod http;
mod report;
mod sched;
mod udp;

use std::cell::{Cell, RefCell};
use std::error::Error;
use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use log::LevelFilter;
use torsion::endpoints::ClientEndpoint;
use torsion::protocol::Factory;
use torsion::transport::Transport;
use torsion::Reactor;

use self::histogram::Histogram;
use self::report::Report;
use crate::args::{usage, Args};
use crate::logger;

pub(crate) const HELP: &str = "\
torsion bench: a closed-loop load generator (built on torsion's reactor)

usage: torsion bench echo|http|udp --connect ENDPOINT [-c CONNECTIONS] [-d DURATION]
                     [--size N] [--pipeline N] [--warmup DURATION] [--path PATH]
                     [--json] [--quiet] [--log-level LEVEL]

  echo                  TCP (or unix:, tls:) echo: sends --size bytes, checks every byte echoed
  http                  HTTP/1.1 GET --path, checks each response's framing and 2xx status
  udp                   datagrams of --size bytes to an echoing UDP server, matched by sequence
  --connect ENDPOINT    tcp:HOST:PORT, unix:PATH, tls:HOST:PORT; for udp: udp:HOST:PORT
  -c, --connections N   concurrent connections (UDP: sockets) (default 50)
  -d, --duration D      measured window, say 10s, 500ms, 1m (default 10s)
  --warmup D            load before the measured window, not counted (default 2s)
  --size N              message / datagram bytes (default 64; udp at least 16)
  --pipeline N          requests in flight per connection (default 1)
  --path PATH           http: the path to GET (default /)
  --json                print the result as one JSON object on stdout
  --quiet               no progress lines
  --server-pid PID      also report the server's CPU use and CPU wait (Linux /proc)
  --log-level LEVEL     off, error, warn (default), info, debug, trace
  -h, --help            this text

Exit status 1 if a connection failed, a byte or a response was wrong, or nothing completed.
";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Echo,
    Http,
    Udp,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Echo => "echo",
            Kind::Http => "http",
            Kind::Udp => "udp",
        })
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) kind: Kind,
    pub(crate) connect: String,
    pub(crate) connections: usize,
    pub(crate) duration: Duration,
    pub(crate) warmup: Duration,
    pub(crate) size: usize,
    pub(crate) pipeline: usize,
    pub(crate) path: String,
    pub(crate) json: bool,
    pub(crate) quiet: bool,
    pub(crate) log_level: LevelFilter,
    pub(crate) server_pid: Option<u32>,
}

pub(crate) fn parse(words: Vec<String>) -> Result<Option<Config>, Box<dyn Error>> {
    let mut words = words;
    // `--log-level X` passed on from before the command may precede the kind.
    let mut kind = None;
    let at = if words.first().is_some_and(|w| w == "--log-level") {
        2
    } else {
        0
    };
    if words.get(at).is_some_and(|w| !w.starts_with('-')) {
        kind = Some(words.remove(at));
    }
    let mut args = Args::new("bench", words);
    let kind = match kind.as_deref() {
        Some("echo") => Kind::Echo,
        Some("http") => Kind::Http,
        Some("udp") => Kind::Udp,
        Some(other) => {
            return Err(usage!(
                "bench: unknown kind {other:?}: say bench echo, bench http or bench udp"
            )
            .into())
        }
        None => {
            // Only --help makes sense without a kind.
            if let Some(f) = args.next_flag()? {
                if f == "-h" || f == "--help" {
                    print!("{HELP}");
                    return Ok(None);
                }
            }
            return Err(usage!("bench: say what to load: bench echo|http|udp --connect ENDPOINT (see `torsion bench --help`)").into());
        }
    };
    let mut c = Config {
        kind,
        connect: String::new(),
        connections: 50,
        duration: Duration::from_secs(10),
        warmup: Duration::from_secs(2),
        size: 64,
        pipeline: 1,
        path: "/".to_string(),
        json: false,
        quiet: false,
        log_level: LevelFilter::Warn,
        server_pid: None,
    };
    while let Some(flag) = args.next_flag()? {
        match flag.as_str() {
            "-h" | "--help" => {
                print!("{HELP}");
                return Ok(None);
            }
            "--connect" => c.connect = args.value(&flag)?,
            "-c" | "--connections" => c.connections = args.parsed(&flag, "a number")?,
            "-d" | "--duration" => c.duration = args.duration(&flag)?,
            "--warmup" => c.warmup = args.duration(&flag)?,
            "--size" | "-s" => c.size = args.parsed(&flag, "a number of bytes")?,
            "--pipeline" => c.pipeline = args.parsed(&flag, "a number")?,
            "--path" => c.path = args.value(&flag)?,
            "--json" => c.json = true,
            "--quiet" | "-q" => c.quiet = true,
            "--server-pid" => c.server_pid = Some(args.parsed(&flag, "a process id")?),
            "--log-level" => c.log_level = logger::parse_level(&args.value(&flag)?)?,
            _ => return Err(args.unknown(&flag).into()),
        }
    }
    if c.connect.is_empty() {
        return Err(usage!(
            "bench {kind}: --connect ENDPOINT is required, say --connect {}",
            if kind == Kind::Udp {
                "udp:127.0.0.1:9000"
            } else {
                "tcp:127.0.0.1:8000"
            }
        )
        .into());
    }
    if c.connections == 0 || c.pipeline == 0 {
        return Err(usage!("bench: -c and --pipeline must be at least 1").into());
    }
    if c.duration.is_zero() {
        return Err(usage!("bench: -d must be more than 0").into());
    }
    if c.size == 0 || (kind == Kind::Udp && !(udp::MIN_SIZE..=65_000).contains(&c.size)) {
        return Err(usage!(
            "bench: --size {} is out of range (echo: 1 or more; udp: {} to 65000)",
            c.size,
            udp::MIN_SIZE
        )
        .into());
    }
    if !c.path.starts_with('/') || c.path.contains(char::is_whitespace) {
        return Err(usage!(
            "bench: --path {:?} must start with / and hold no spaces",
            c.path
        )
        .into());
    }
    Ok(Some(c))
}

/// Why a request went wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    /// A connection could not be made.
    Connect,
    /// An echoed byte (or datagram) differed from what was sent.
    Mismatch,
    /// The server closed a connection before the end.
    Closed,
    /// An HTTP response was not framed correctly.
    Framing,
    /// An HTTP response was not 2xx.
    Status,
    /// A UDP reply did not come back within a second (or the send failed).
    Lost,
}

pub(crate) const FAULTS: [Fault; 6] = [
    Fault::Connect,
    Fault::Mismatch,
    Fault::Closed,
    Fault::Framing,
    Fault::Status,
    Fault::Lost,
];

impl Fault {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Fault::Connect => "connect",
            Fault::Mismatch => "mismatch",
            Fault::Closed => "closed",
            Fault::Framing => "framing",
            Fault::Status => "status",
            Fault::Lost => "lost",
        }
    }
}

/// What the connections report to, shared by all of them (one thread).
pub(crate) struct Stats {
    measuring: Cell<bool>,
    /// Set at the end: closes from then on are ours, not errors.
    pub(crate) stopping: Cell<bool>,
    hist: RefCell<Histogram>,
    second: RefCell<Histogram>,
    done: Cell<u64>,
    done_total: Cell<u64>,
    bytes: Cell<u64>,
    faults: [Cell<u64>; 6],
    pub(crate) connected: Cell<usize>,
    pub(crate) open: Cell<usize>,
}

impl Stats {
    fn new() -> Stats {
        Stats {
            measuring: Cell::new(false),
            stopping: Cell::new(false),
            hist: RefCell::new(Histogram::new()),
            second: RefCell::new(Histogram::new()),
            done: Cell::new(0),
            done_total: Cell::new(0),
            bytes: Cell::new(0),
            faults: Default::default(),
            connected: Cell::new(0),
            open: Cell::new(0),
        }
    }

    /// A round trip of `bytes` payload bytes that took `latency` finished.
    pub(crate) fn complete(&self, latency: Duration, bytes: usize) {
        let ns = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        self.done_total.set(self.done_total.get() + 1);
        self.second.borrow_mut().record(ns);
        if self.measuring.get() {
            self.hist.borrow_mut().record(ns);
            self.done.set(self.done.get() + 1);
            self.bytes.set(self.bytes.get() + bytes as u64);
        }
    }

    /// Counts a fault; the first few of each kind are logged with `detail`.
    pub(crate) fn fault(&self, fault: Fault, detail: impl fmt::Display) {
        if self.stopping.get() {
            return;
        }
        let cell = &self.faults[fault as usize];
        cell.set(cell.get() + 1);
        if cell.get() <= 3 {
            log::warn!("bench: {} error: {detail}", fault.name());
        }
    }

    fn faults(&self) -> [u64; 6] {
        std::array::from_fn(|i| self.faults[i].get())
    }
}

/// What a kind of load hands back: how to close everything at the end.
pub(crate) type Closer = Box<dyn FnOnce()>;

/// Connects one stream client through `endpoint`; a failure counts as a connect fault.
fn connect_counting(
    endpoint: &ClientEndpoint,
    factory: Rc<dyn Factory>,
    stats: &Rc<Stats>,
    connect: &str,
) {
    let (stats, connect) = (stats.clone(), connect.to_string());
    drop(endpoint.connect(factory).add_callbacks(
        |_| Ok(()),
        move |failure| {
            stats.fault(Fault::Connect, format!("{connect}: {failure}"));
            Ok(())
        },
    ));
}

/// The closer of the stream loads: aborts every connection still open.
fn abort_open(open: Rc<RefCell<Vec<Transport>>>) -> Closer {
    Box::new(move || {
        let open: Vec<Transport> = open.borrow().clone();
        for t in open {
            t.abort_connection();
        }
    })
}

pub(crate) fn main(words: Vec<String>) -> Result<(), Box<dyn Error>> {
    let Some(config) = parse(words)? else {
        return Ok(());
    };
    logger::init(config.log_level);
    let report = run(&config)?;
    if config.json {
        println!("{}", report.json());
    } else {
        print!("{}", report.text());
    }
    match report.verdict() {
        None => Ok(()),
        Some(why) => Err(format!("bench {}: {why}", config.kind).into()),
    }
}

/// Runs the load for warm-up + duration and reports.
pub(crate) fn run(config: &Config) -> Result<Report, Box<dyn Error>> {
    let reactor = Reactor::builder().handle_signals(true).build()?;
    let stats = Rc::new(Stats::new());
    let closer = match config.kind {
        Kind::Echo => echo::start(&reactor, config, &stats)?,
        Kind::Http => http::start(&reactor, config, &stats)?,
        Kind::Udp => udp::start(&reactor, config, &stats)?,
    };
    let t0 = Instant::now();
    let window_start = Rc::new(Cell::new(None::<Instant>));
    let usage_mark = Rc::new(RefCell::new(None::<sched::Mark>));
    let usage = Rc::new(Cell::new(None::<sched::Usage>));
    let window_end = Rc::new(Cell::new(None::<Instant>));
    {
        let (stats, window_start) = (stats.clone(), window_start.clone());
        let (usage_mark, pid) = (usage_mark.clone(), config.server_pid);
        let begin = move || {
            stats.measuring.set(true);
            window_start.set(Some(Instant::now()));
            *usage_mark.borrow_mut() = Some(sched::mark(pid));
        };
        if config.warmup.is_zero() {
            begin();
        } else {
            drop(reactor.call_later(config.warmup, begin));
        }
    }
    {
        let (stats, window_end, r) = (stats.clone(), window_end.clone(), reactor.clone());
        let (usage_mark, usage, pid) = (usage_mark.clone(), usage.clone(), config.server_pid);
        drop(
            reactor.call_later(config.warmup + config.duration, move || {
                stats.measuring.set(false);
                window_end.set(Some(Instant::now()));
                if let Some(m) = usage_mark.borrow().as_ref() {
                    usage.set(Some(sched::since(m, pid)));
                }
                let _ = r.stop();
            }),
        );
    }
    if !config.quiet {
        progress(&reactor, &stats, t0, 1, config.warmup);
    }
    let result = reactor.run();
    // Stopped early (a signal): the window ends now.
    stats.measuring.set(false);
    if usage.get().is_none() {
        if let Some(m) = usage_mark.borrow().as_ref() {
            usage.set(Some(sched::since(m, config.server_pid)));
        }
    }
    let end = window_end.get().unwrap_or_else(Instant::now);
    stats.stopping.set(true);
    closer();
    for _ in 0..3 {
        let _ = reactor.iterate(Duration::ZERO);
    }
    reactor.close();
    result?;
    let hist = stats.hist.borrow().clone();
    let window = window_start
        .get()
        .map_or(Duration::ZERO, |s| end.saturating_duration_since(s));
    Ok(Report::new(
        config,
        window,
        stats.done.get(),
        stats.done_total.get(),
        stats.bytes.get(),
        &hist,
        stats.faults(),
        stats.connected.get(),
        usage.get().unwrap_or_default(),
    ))
}

/// A progress line on stderr at t0 + n seconds, then the next one.
fn progress(reactor: &Reactor, stats: &Rc<Stats>, t0: Instant, n: u32, warmup: Duration) {
    let target = t0 + Duration::from_secs(u64::from(n));
    let delay = target.saturating_duration_since(Instant::now());
    let (r, s) = (reactor.clone(), stats.clone());
    drop(reactor.call_later(delay, move || {
        let mut second = s.second.borrow_mut();
        let errors: u64 = s.faults().iter().sum();
        eprintln!(
            "[{n:4}s] {:>9} req/s  p50 {:>9}  p99 {:>9}  max {:>9}  errors {errors}  open {}{}",
            report::thousands(second.count() as f64),
            report::time(second.percentile(50.0)),
            report::time(second.percentile(99.0)),
            report::time(second.max()),
            s.open.get(),
            if Duration::from_secs(u64::from(n)) <= warmup {
                "  (warm-up)"
            } else {
                ""
            }
        );
        second.clear();
        drop(second);
        progress(&r, &s, t0, n + 1, warmup);
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_a_full_command_line() {
        let c = parse(words(
            "http --connect tcp:127.0.0.1:80 -c 8 -d 3s --warmup 0 --pipeline 4 --path /x --json",
        ))
        .unwrap()
        .unwrap();
        assert_eq!(c.kind, Kind::Http);
        assert_eq!(c.connections, 8);
        assert_eq!(c.duration, Duration::from_secs(3));
        assert_eq!(c.warmup, Duration::ZERO);
        assert_eq!(c.pipeline, 4);
        assert_eq!(c.path, "/x");
        assert!(c.json);
        let c = parse(words("--log-level info echo --connect tcp:h:1"))
            .unwrap()
            .unwrap();
        assert_eq!((c.kind, c.log_level), (Kind::Echo, LevelFilter::Info));
    }

    #[test]
    fn mistakes_are_named() {
        let err = |s: &str| parse(words(s)).unwrap_err().to_string();
        assert!(err("echo -c 5").contains("--connect ENDPOINT is required"));
        assert!(err("ftp --connect x").contains("unknown kind \"ftp\""));
        assert!(err("").contains("bench echo|http|udp"));
        assert!(err("udp --connect udp:h:1 --size 4").contains("--size 4 is out of range"));
        assert!(err("echo --connect x -c 0").contains("at least 1"));
        assert!(err("echo --connect x -d 1y").contains("not a duration"));
    }
}
