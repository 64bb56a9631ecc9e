//! Closed-loop TCP ping-pong load generator, single-threaded (mio), the same for every
//! server under test.
//!
//! `loadgen -c CONNECTIONS -s SIZE -d SECONDS [--warmup SECONDS] [--label NAME]
//!  [--server-pid PID] ADDR`
//!
//! Each connection has exactly one message in flight: it sends SIZE bytes, waits until
//! all SIZE bytes came back, checks they match what it sent (every message has its own
//! byte pattern), records the round-trip time (send start to last byte received) in an
//! HDR histogram, and sends the next message at once. Round trips completing during the
//! warm-up are counted in `total_msgs` only; the statistics cover the measured window
//! that follows. The run stops by itself after warm-up + duration (connect has a 5 s
//! timeout), prints a human-readable summary on stderr and one JSON line on stdout, and
//! exits 1 if a connection failed, an echo did not match, or nothing came back.
//!
//! Contention check: over the measured window it also reports, in % of one core, its own
//! and (with `--server-pid`) the server's CPU use (/proc/PID/stat), the time each spent
//! runnable but waiting for a CPU (/proc/PID/schedstat: other work on its core) and the
//! machine's steal time (/proc/stat). Both near 100 % CPU with ~0 waiting means the pair
//! had the two cores to itself.
//!
//! Client sockets set TCP_NODELAY; reads never ask for more than the rest of the
//! current message, so no read ever waits on (or swallows) the next one, and a complete
//! message needs no extra read to hit `WouldBlock` (the server sends nothing unasked).

use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::exit;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

struct Args {
    connections: usize,
    size: usize,
    duration: f64,
    warmup: f64,
    label: String,
    server_pid: Option<u32>,
    addr: SocketAddr,
}

fn usage() -> ! {
    eprintln!(
        "usage: loadgen -c CONNECTIONS -s SIZE -d SECONDS [--warmup SECONDS] [--label NAME] [--server-pid PID] ADDR"
    );
    exit(2)
}

fn parse_args() -> Args {
    let mut connections = 1usize;
    let mut size = 64usize;
    let mut duration = 10.0f64;
    let mut warmup = 2.0f64;
    let mut label = String::new();
    let mut server_pid = None;
    let mut addr = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "-c" | "--connections" => connections = val().parse().unwrap_or_else(|_| usage()),
            "-s" | "--size" => size = val().parse().unwrap_or_else(|_| usage()),
            "-d" | "--duration" => duration = val().parse().unwrap_or_else(|_| usage()),
            "--warmup" => warmup = val().parse().unwrap_or_else(|_| usage()),
            "--label" => label = val(),
            "--server-pid" => server_pid = Some(val().parse().unwrap_or_else(|_| usage())),
            "-h" | "--help" => usage(),
            _ if addr.is_none() && !a.starts_with('-') => {
                let resolved = a.to_socket_addrs().ok().and_then(|mut i| i.next());
                addr = Some(resolved.unwrap_or_else(|| {
                    eprintln!("loadgen: cannot resolve {a}");
                    exit(2)
                }));
            }
            _ => usage(),
        }
    }
    let Some(addr) = addr else { usage() };
    // NaN and infinities are refused too.
    if connections == 0
        || size == 0
        || !duration.is_finite()
        || duration <= 0.0
        || !warmup.is_finite()
        || warmup < 0.0
    {
        usage();
    }
    Args {
        connections,
        size,
        duration,
        warmup,
        label,
        server_pid,
        addr,
    }
}

struct Conn {
    stream: TcpStream,
    id: u64,
    seq: u64,
    msg: Vec<u8>,
    rbuf: Vec<u8>,
    sent: usize,
    recvd: usize,
    start: Instant,
    /// Stopped at the end of the run: a completed round trip sends nothing more.
    done: bool,
}

impl Conn {
    fn fill(&mut self) {
        let base = (self.id.wrapping_mul(0x9E37_79B9) ^ self.seq.wrapping_mul(31)) as u8;
        for (j, b) in self.msg.iter_mut().enumerate() {
            *b = base.wrapping_add(j as u8);
        }
    }

    /// Starts the next message and writes what the socket takes.
    fn start_next(&mut self, now: Instant) -> io::Result<()> {
        self.seq += 1;
        self.fill();
        self.sent = 0;
        self.recvd = 0;
        self.start = now;
        self.write_some()
    }

    fn write_some(&mut self) -> io::Result<()> {
        while self.sent < self.msg.len() {
            match self.stream.write(&self.msg[self.sent..]) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(n) => self.sent += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Reads toward the end of the current message; `Ok(true)` once it is complete.
    fn read_some(&mut self) -> io::Result<bool> {
        let size = self.msg.len();
        while self.recvd < size {
            match self.stream.read(&mut self.rbuf[self.recvd..size]) {
                Ok(0) => {
                    return Err(io::Error::new(
                        ErrorKind::UnexpectedEof,
                        "server closed the connection",
                    ))
                }
                Ok(n) => self.recvd += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if self.rbuf[..size] != self.msg[..] {
            return Err(io::Error::new(
                ErrorKind::InvalidData,
                format!(
                    "echo mismatch on connection {} message {}",
                    self.id, self.seq
                ),
            ));
        }
        Ok(true)
    }
}

fn main() {
    let args = parse_args();
    let mut poll = Poll::new().unwrap_or_else(|e| fail(&format!("epoll: {e}")));
    let mut events = Events::with_capacity(1024);
    let mut conns = Vec::with_capacity(args.connections);
    for id in 0..args.connections {
        let std = std::net::TcpStream::connect_timeout(&args.addr, Duration::from_secs(5))
            .unwrap_or_else(|e| fail(&format!("connect {} (#{id}): {e}", args.addr)));
        std.set_nodelay(true)
            .unwrap_or_else(|e| fail(&format!("nodelay: {e}")));
        std.set_nonblocking(true)
            .unwrap_or_else(|e| fail(&format!("nonblocking: {e}")));
        let mut stream = TcpStream::from_std(std);
        poll.registry()
            .register(
                &mut stream,
                Token(id),
                Interest::READABLE | Interest::WRITABLE,
            )
            .unwrap_or_else(|e| fail(&format!("register: {e}")));
        conns.push(Conn {
            stream,
            id: id as u64,
            seq: 0,
            msg: vec![0; args.size],
            rbuf: vec![0; args.size],
            sent: 0,
            recvd: 0,
            start: Instant::now(),
            done: false,
        });
    }

    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).expect("histogram");
    let t0 = Instant::now();
    let warm_end = t0 + Duration::from_secs_f64(args.warmup);
    let end = warm_end + Duration::from_secs_f64(args.duration);
    let mut total_msgs = 0u64;
    let mut msgs = 0u64;
    let mut error: Option<String> = None;
    for c in conns.iter_mut() {
        if let Err(e) = c.start_next(t0) {
            error = Some(format!("connection {}: {e}", c.id));
        }
    }

    let server_pid = args.server_pid.map(|p| p.to_string());
    let mut mark: Option<Mark> = None;
    let mut active = conns.len();
    while error.is_none() && active > 0 {
        let now = Instant::now();
        if mark.is_none() && now >= warm_end {
            mark = Some(Mark::now(&server_pid));
        }
        if now >= end {
            break;
        }
        let timeout = (end - now).min(Duration::from_millis(100));
        if let Err(e) = poll.poll(&mut events, Some(timeout)) {
            if e.kind() == ErrorKind::Interrupted {
                continue;
            }
            error = Some(format!("poll: {e}"));
            break;
        }
        for ev in events.iter() {
            let c = &mut conns[ev.token().0];
            if c.done {
                continue;
            }
            let res = (|| -> io::Result<()> {
                if c.sent < c.msg.len() {
                    c.write_some()?;
                    if c.sent < c.msg.len() {
                        return Ok(());
                    }
                }
                if c.read_some()? {
                    let now = Instant::now();
                    total_msgs += 1;
                    if c.start >= warm_end && now <= end {
                        msgs += 1;
                        let ns = now.duration_since(c.start).as_nanos() as u64;
                        hist.saturating_record(ns.max(1));
                    }
                    if now < end {
                        c.start_next(now)?;
                    } else {
                        c.done = true;
                        active -= 1;
                    }
                }
                Ok(())
            })();
            if let Err(e) = res {
                error = Some(format!("connection {}: {e}", c.id));
                break;
            }
        }
    }
    let finished = Instant::now();
    let usage = mark
        .as_ref()
        .map(|m| m.usage_until(&Mark::now(&server_pid)));
    let get = |f: fn(&Usage) -> Option<f64>| usage.as_ref().and_then(f);
    let (own_cpu, server_cpu) = (get(|u| u.own_cpu), get(|u| u.server_cpu));
    let (own_wait, server_wait, steal) = (
        get(|u| u.own_wait),
        get(|u| u.server_wait),
        get(|u| u.steal),
    );
    let opt = |v: Option<f64>| v.map_or("null".to_string(), |v| format!("{v:.2}"));
    let window = finished
        .min(end)
        .saturating_duration_since(warm_end)
        .as_secs_f64();
    let total_s = finished.duration_since(t0).as_secs_f64();
    let rate = if window > 0.0 {
        msgs as f64 / window
    } else {
        0.0
    };
    let q = |p: f64| hist.value_at_quantile(p) as f64 / 1000.0;
    let (p50, p90, p99, p999) = (q(0.50), q(0.90), q(0.99), q(0.999));
    let max = hist.max() as f64 / 1000.0;
    let mean = hist.mean() / 1000.0;

    eprintln!(
        "loadgen {}{}: {} connections x {} bytes, {:.1} s warm-up + {:.2} s measured",
        args.addr,
        if args.label.is_empty() {
            String::new()
        } else {
            format!(" ({})", args.label)
        },
        args.connections,
        args.size,
        args.warmup,
        window
    );
    eprintln!(
        "  {msgs} round trips, {rate:.0} msgs/s ({total_msgs} in all, warm-up included, {total_s:.2} s)"
    );
    eprintln!(
        "  latency us: p50 {p50:.2}  p90 {p90:.2}  p99 {p99:.2}  p99.9 {p999:.2}  max {max:.2}  mean {mean:.2}"
    );
    eprintln!(
        "  in the measured window, % of one core: CPU loadgen {}  server {};  waiting for a CPU: loadgen {}  server {};  steal (all CPUs) {}",
        opt(own_cpu),
        opt(server_cpu),
        opt(own_wait),
        opt(server_wait),
        opt(steal)
    );
    if let Some(e) = &error {
        eprintln!("  ERROR: {e}");
    }
    println!(
        "{{\"label\":\"{}\",\"addr\":\"{}\",\"connections\":{},\"size\":{},\"warmup_s\":{},\"window_s\":{:.4},\"msgs\":{},\"msgs_per_s\":{:.1},\"p50_us\":{:.2},\"p90_us\":{:.2},\"p99_us\":{:.2},\"p999_us\":{:.2},\"max_us\":{:.2},\"mean_us\":{:.2},\"total_msgs\":{},\"total_s\":{:.4},\"loadgen_cpu_pct\":{},\"server_cpu_pct\":{},\"loadgen_wait_pct\":{},\"server_wait_pct\":{},\"steal_pct\":{},\"error\":{}}}",
        args.label.replace(['"', '\\'], "_"),
        args.addr,
        args.connections,
        args.size,
        args.warmup,
        window,
        msgs,
        rate,
        p50,
        p90,
        p99,
        p999,
        max,
        mean,
        total_msgs,
        total_s,
        opt(own_cpu),
        opt(server_cpu),
        opt(own_wait),
        opt(server_wait),
        opt(steal),
        match &error {
            Some(e) => format!("\"{}\"", e.replace(['"', '\\'], "'")),
            None => "null".to_string(),
        }
    );
    if error.is_some() || msgs == 0 {
        exit(1);
    }
}

/// CPU time (user + system, all threads) of a process in seconds, from /proc/PID/stat
/// (`pid` "self" for this one). Clock ticks are taken as 100 per second (USER_HZ on
/// every mainstream Linux build).
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}

/// Seconds the main thread of a process spent runnable but waiting for a CPU
/// (second field of /proc/PID/schedstat): other work on its core shows up here.
fn runqueue_wait_seconds(pid: &str) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/schedstat")).ok()?;
    let wait: u64 = s.split_whitespace().nth(1)?.parse().ok()?;
    Some(wait as f64 / 1e9)
}

/// Seconds of steal time (the hypervisor ran something else on our virtual CPUs),
/// summed over all CPUs, from /proc/stat.
fn steal_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/stat").ok()?;
    let line = s.lines().next()?;
    let steal: u64 = line.split_whitespace().nth(8)?.parse().ok()?;
    Some(steal as f64 / 100.0)
}

/// Counters read at the start and at the end of the measured window.
struct Mark {
    at: Instant,
    own_cpu: Option<f64>,
    server_cpu: Option<f64>,
    own_wait: Option<f64>,
    server_wait: Option<f64>,
    steal: Option<f64>,
}

/// Percent of one core, over the measured window, for each counter of [`Mark`].
struct Usage {
    own_cpu: Option<f64>,
    server_cpu: Option<f64>,
    own_wait: Option<f64>,
    server_wait: Option<f64>,
    steal: Option<f64>,
}

impl Mark {
    fn now(server: &Option<String>) -> Mark {
        Mark {
            at: Instant::now(),
            own_cpu: cpu_seconds("self"),
            server_cpu: server.as_deref().and_then(cpu_seconds),
            own_wait: runqueue_wait_seconds("self"),
            server_wait: server.as_deref().and_then(runqueue_wait_seconds),
            steal: steal_seconds(),
        }
    }

    fn usage_until(&self, end: &Mark) -> Usage {
        let wall = end.at.duration_since(self.at).as_secs_f64();
        let pct = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if wall > 0.0 => Some(100.0 * (b - a) / wall),
            _ => None,
        };
        Usage {
            own_cpu: pct(self.own_cpu, end.own_cpu),
            server_cpu: pct(self.server_cpu, end.server_cpu),
            own_wait: pct(self.own_wait, end.own_wait),
            server_wait: pct(self.server_wait, end.server_wait),
            steal: pct(self.steal, end.steal),
        }
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("loadgen: {msg}");
    exit(1)
}
