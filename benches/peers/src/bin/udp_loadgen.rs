//! Closed-loop UDP echo load generator, single-threaded, the same for every server under
//! test.
//!
//! `udp_loadgen -c SOCKETS -w IN_FLIGHT -s SIZE -d SECONDS [--warmup SECONDS]
//!  [--label NAME] [--server-pid PID] [--segment] ADDR`
//!
//! SOCKETS client sockets (default 8), each connected to ADDR, share IN_FLIGHT datagrams
//! in flight (default 64, spread evenly). Every echo that comes back (checked: its socket,
//! epoch and sequence number, carried in the first 20 bytes, and the filler bytes) is
//! counted and answered at once by a new datagram on the same socket, so the window stays
//! full. UDP may drop: a socket that hears nothing for 200 ms refills its window under a
//! new epoch (late echoes of the old one are ignored) and the refill is counted as loss.
//! Round-trip times (send to echo) go into an HDR histogram; the output (stderr summary,
//! one JSON line on stdout, exit 1 on error or no echo) matches `loadgen`'s.
//!
//! To keep the load generator from being the bottleneck it uses the same batched calls a
//! fast server would: `recvmmsg` per socket per readiness event and `sendmmsg` for the
//! replacements (through torsion-sys's `RecvBatch` / `SendBatch`). Both servers face the
//! identical client. `--segment` switches on segmentation offload both ways, where the
//! kernel has it: each socket's replacements leave as one `UDP_SEGMENT` run (the server
//! still receives separate datagrams unless it asks for coalescing itself), and the
//! sockets accept coalesced runs (`UDP_GRO`: a server that sends runs has them arrive
//! as one buffer, which is cut back into datagrams and each checked). The load generator's
//! core then pays the kernel's per-datagram work once per run, so that it stops being the
//! bottleneck.

#[path = "../procstat.rs"]
mod procstat;

use std::io::{self, ErrorKind};
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::process::exit;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use mio::{Events, Interest, Poll, Token};
use procstat::Mark;
use torsion_sys::socket::{udp_segmentation_supported, RecvBatch, SendBatch, COALESCED_SLOT};

const HEADER: usize = 20;
const STALL: Duration = Duration::from_millis(200);

struct Args {
    sockets: usize,
    window: usize,
    size: usize,
    duration: f64,
    warmup: f64,
    label: String,
    server_pid: Option<u32>,
    segment: bool,
    addr: SocketAddr,
}

fn usage() -> ! {
    eprintln!("usage: udp_loadgen -c SOCKETS -w IN_FLIGHT -s SIZE -d SECONDS [--warmup SECONDS] [--label NAME] [--server-pid PID] [--segment] ADDR");
    exit(2)
}

fn parse_args() -> Args {
    let (mut sockets, mut window, mut size) = (8usize, 64usize, 64usize);
    let (mut duration, mut warmup) = (10.0f64, 2.0f64);
    let (mut label, mut server_pid, mut addr) = (String::new(), None, None);
    let mut segment = false;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "-c" => sockets = val().parse().unwrap_or_else(|_| usage()),
            "-w" => window = val().parse().unwrap_or_else(|_| usage()),
            "-s" => size = val().parse().unwrap_or_else(|_| usage()),
            "-d" => duration = val().parse().unwrap_or_else(|_| usage()),
            "--warmup" => warmup = val().parse().unwrap_or_else(|_| usage()),
            "--label" => label = val(),
            "--server-pid" => server_pid = Some(val().parse().unwrap_or_else(|_| usage())),
            "--segment" => segment = true,
            _ if addr.is_none() && !a.starts_with('-') => {
                addr = a.to_socket_addrs().ok().and_then(|mut i| i.next());
                if addr.is_none() {
                    usage()
                }
            }
            _ => usage(),
        }
    }
    let Some(addr) = addr else { usage() };
    if sockets == 0 || window < sockets || size < HEADER || !(duration > 0.0) || !(warmup >= 0.0) {
        usage();
    }
    Args { sockets, window, size, duration, warmup, label, server_pid, segment, addr }
}

struct Client {
    sock: mio::net::UdpSocket,
    id: u32,
    epoch: u32,
    seq: u64,
    /// Datagrams this socket keeps in flight.
    window: usize,
    last_progress: Instant,
}

/// Fills `buf` with the header (socket, epoch, seq, send time in ns since t0) and filler.
fn fill(buf: &mut [u8], id: u32, epoch: u32, seq: u64, sent_ns: u32) {
    buf[0..4].copy_from_slice(&id.to_le_bytes());
    buf[4..8].copy_from_slice(&epoch.to_le_bytes());
    buf[8..16].copy_from_slice(&seq.to_le_bytes());
    buf[16..20].copy_from_slice(&sent_ns.to_le_bytes());
    let base = (seq as u8).wrapping_mul(31) ^ id as u8;
    for (j, b) in buf[HEADER..].iter_mut().enumerate() {
        *b = base.wrapping_add(j as u8);
    }
}

fn check(buf: &[u8], id: u32) -> Option<(u32, u64, u32)> {
    let rid = u32::from_le_bytes(buf.get(0..4)?.try_into().ok()?);
    let epoch = u32::from_le_bytes(buf[4..8].try_into().ok()?);
    let seq = u64::from_le_bytes(buf[8..16].try_into().ok()?);
    let sent = u32::from_le_bytes(buf[16..20].try_into().ok()?);
    let base = (seq as u8).wrapping_mul(31) ^ id as u8;
    let ok = rid == id && buf[HEADER..].iter().enumerate().all(|(j, &b)| b == base.wrapping_add(j as u8));
    ok.then_some((epoch, seq, sent))
}

/// Sends `n` fresh datagrams on `c` (one sendmmsg per up to 64).
fn send_n(c: &mut Client, n: usize, out: &mut [Vec<u8>], tx: &mut SendBatch, ns: u32) -> io::Result<()> {
    let mut left = n;
    while left > 0 {
        let k = left.min(out.len());
        for buf in out.iter_mut().take(k) {
            c.seq += 1;
            fill(buf, c.id, c.epoch, c.seq, ns);
        }
        let mut done = 0;
        while done < k {
            match tx.send(&c.sock, out[done..k].iter().map(|b| (&b[..], None))) {
                Ok(m) => done += m.max(1),
                // The kernel's buffer is full: those datagrams are lost; the stall timer
                // refills the window.
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        left -= k;
    }
    Ok(())
}

fn main() {
    let a = parse_args();
    let mut poll = Poll::new().unwrap_or_else(|e| fail(&format!("epoll: {e}")));
    let mut events = Events::with_capacity(256);
    let t0 = Instant::now();
    let mut clients = Vec::new();
    for i in 0..a.sockets {
        let std = UdpSocket::bind(if a.addr.is_ipv4() { "127.0.0.1:0" } else { "[::1]:0" })
            .and_then(|s| s.connect(a.addr).map(|_| s))
            .and_then(|s| s.set_nonblocking(true).map(|_| s))
            .unwrap_or_else(|e| fail(&format!("socket: {e}")));
        let mut sock = mio::net::UdpSocket::from_std(std);
        poll.registry()
            .register(&mut sock, Token(i), Interest::READABLE)
            .unwrap_or_else(|e| fail(&format!("register: {e}")));
        let window = a.window / a.sockets + usize::from(i < a.window % a.sockets);
        clients.push(Client { sock, id: i as u32, epoch: 0, seq: 0, window, last_progress: t0 });
    }
    let mut rx = RecvBatch::new(64);
    let mut tx = SendBatch::new(64);
    if a.segment {
        tx.set_segmentation(clients.first().is_some_and(|c| udp_segmentation_supported(&c.sock)));
        if !tx.segmentation() {
            fail("--segment: this kernel has no UDP_SEGMENT");
        }
    }
    if a.segment {
        for c in &clients {
            if !rx.set_coalescing(&c.sock, true).unwrap_or(false) {
                fail("--segment: this kernel has no UDP_GRO");
            }
        }
    }
    let slot = if a.segment { COALESCED_SLOT } else { 2048.max(a.size + 1) };
    let mut inbufs = vec![vec![0u8; 64 * slot]];
    let mut out: Vec<Vec<u8>> = (0..64).map(|_| vec![0u8; a.size]).collect();
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).expect("histogram");
    let warm_end = t0 + Duration::from_secs_f64(a.warmup);
    let end = warm_end + Duration::from_secs_f64(a.duration);
    let (mut total, mut msgs, mut refills) = (0u64, 0u64, 0u64);
    let mut error: Option<String> = None;
    for c in clients.iter_mut() {
        let w = c.window;
        if let Err(e) = send_n(c, w, &mut out, &mut tx, 0) {
            error = Some(format!("send: {e}"));
        }
    }
    let server_pid = a.server_pid.map(|p| p.to_string());
    let mut mark: Option<Mark> = None;
    'run: while error.is_none() {
        let now = Instant::now();
        if mark.is_none() && now >= warm_end {
            mark = Some(Mark::now(&server_pid));
        }
        if now >= end {
            break;
        }
        if let Err(e) = poll.poll(&mut events, Some((end - now).min(Duration::from_millis(50)))) {
            if e.kind() != ErrorKind::Interrupted {
                error = Some(format!("poll: {e}"));
            }
            continue;
        }
        for ev in events.iter() {
            let c = &mut clients[ev.token().0];
            loop {
                let n = match rx.recv(&c.sock, &mut inbufs, slot) {
                    Ok(n) => n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => {
                        error = Some(format!("recv on socket {}: {e}", c.id));
                        break 'run;
                    }
                };
                let now = Instant::now();
                let now_ns = now.duration_since(t0).as_nanos() as u64;
                let mut fresh = 0;
                for (offset, len) in (0..n).flat_map(|i| rx.get(i).expect("received").datagrams()) {
                    let data = &inbufs[0][offset..offset + len];
                    if len != a.size {
                        error = Some(format!("socket {}: echo of {} bytes, sent {}", c.id, len, a.size));
                        break 'run;
                    }
                    let Some((epoch, _seq, sent)) = check(data, c.id) else {
                        error = Some(format!("socket {}: echo does not match", c.id));
                        break 'run;
                    };
                    if epoch != c.epoch {
                        continue;
                    }
                    fresh += 1;
                    total += 1;
                    let sent_at = t0 + Duration::from_nanos(u64::from(sent) | (now_ns & !0xFFFF_FFFF));
                    if now >= warm_end && now <= end {
                        msgs += 1;
                        if sent_at <= now && sent_at >= warm_end {
                            hist.saturating_record((now - sent_at).as_nanos().max(1) as u64);
                        }
                    }
                }
                if fresh > 0 {
                    c.last_progress = now;
                    if now < end {
                        let ns = now_ns as u32;
                        if let Err(e) = send_n(c, fresh, &mut out, &mut tx, ns) {
                            error = Some(format!("send: {e}"));
                            break 'run;
                        }
                    }
                }
                if n < rx.capacity() {
                    break;
                }
            }
        }
        let now = Instant::now();
        for c in clients.iter_mut() {
            if now.duration_since(c.last_progress) > STALL && now < end {
                c.epoch += 1;
                c.last_progress = now;
                refills += 1;
                let (w, ns) = (c.window, now.duration_since(t0).as_nanos() as u32);
                if let Err(e) = send_n(c, w, &mut out, &mut tx, ns) {
                    error = Some(format!("send: {e}"));
                }
            }
        }
    }
    let finished = Instant::now();
    let usage = mark.as_ref().map(|m| m.usage_until(&Mark::now(&server_pid)));
    let get = |f: fn(&procstat::Usage) -> Option<f64>| usage.as_ref().and_then(f);
    let opt = |v: Option<f64>| v.map_or("null".to_string(), |v| format!("{v:.2}"));
    let window_s = finished.min(end).saturating_duration_since(warm_end).as_secs_f64();
    let rate = if window_s > 0.0 { msgs as f64 / window_s } else { 0.0 };
    let q = |p: f64| hist.value_at_quantile(p) as f64 / 1000.0;
    eprintln!(
        "udp_loadgen {}{}: {} sockets, {} in flight, {} bytes: {msgs} echoes, {rate:.0}/s ({total} in all, {refills} window refills after loss)",
        a.addr,
        if a.label.is_empty() { String::new() } else { format!(" ({})", a.label) },
        a.sockets, a.window, a.size
    );
    eprintln!(
        "  latency us: p50 {:.2} p99 {:.2};  CPU % loadgen {} server {};  waiting for a CPU: loadgen {} server {}",
        q(0.5), q(0.99),
        opt(get(|u| u.own_cpu)), opt(get(|u| u.server_cpu)),
        opt(get(|u| u.own_wait)), opt(get(|u| u.server_wait))
    );
    if let Some(e) = &error {
        eprintln!("  ERROR: {e}");
    }
    println!(
        "{{\"label\":\"{}\",\"sockets\":{},\"in_flight\":{},\"size\":{},\"window_s\":{:.4},\"msgs\":{},\"msgs_per_s\":{:.1},\"p50_us\":{:.2},\"p99_us\":{:.2},\"refills\":{},\"loadgen_cpu_pct\":{},\"server_cpu_pct\":{},\"loadgen_wait_pct\":{},\"server_wait_pct\":{},\"steal_pct\":{},\"error\":{}}}",
        a.label.replace(['"', '\\'], "_"), a.sockets, a.window, a.size, window_s, msgs, rate,
        q(0.5), q(0.99), refills,
        opt(get(|u| u.own_cpu)), opt(get(|u| u.server_cpu)), opt(get(|u| u.own_wait)),
        opt(get(|u| u.server_wait)), opt(get(|u| u.steal)),
        match &error { Some(e) => format!("\"{}\"", e.replace(['"', '\\'], "'")), None => "null".into() }
    );
    if error.is_some() || msgs == 0 {
        exit(1);
    }
}

fn fail(msg: &str) -> ! {
    eprintln!("udp_loadgen: {msg}");
    exit(1)
}
