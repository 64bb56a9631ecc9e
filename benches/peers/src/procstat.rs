//! /proc readings for the contention check (a copy of loadgen.rs's, shared by udp_loadgen).

use std::time::Instant;

/// CPU time (user + system, all threads) of a process in seconds, from /proc/PID/stat
/// (`pid` "self" for this one). Clock ticks are taken as 100 per second (USER_HZ on
/// every mainstream Linux build).
pub(crate) fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}

/// Seconds the main thread of a process spent runnable but waiting for a CPU
/// (second field of /proc/PID/schedstat): other work on its core shows up here.
pub(crate) fn runqueue_wait_seconds(pid: &str) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/schedstat")).ok()?;
    let wait: u64 = s.split_whitespace().nth(1)?.parse().ok()?;
    Some(wait as f64 / 1e9)
}

/// Seconds of steal time (the hypervisor ran something else on our virtual CPUs),
/// summed over all CPUs, from /proc/stat.
pub(crate) fn steal_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/stat").ok()?;
    let line = s.lines().next()?;
    let steal: u64 = line.split_whitespace().nth(8)?.parse().ok()?;
    Some(steal as f64 / 100.0)
}

/// Counters read at the start and at the end of the measured window.
pub(crate) struct Mark {
    at: Instant,
    pub(crate) own_cpu: Option<f64>,
    pub(crate) server_cpu: Option<f64>,
    pub(crate) own_wait: Option<f64>,
    pub(crate) server_wait: Option<f64>,
    pub(crate) steal: Option<f64>,
}

/// Percent of one core, over the measured window, for each counter of [`Mark`].
pub(crate) struct Usage {
    pub(crate) own_cpu: Option<f64>,
    pub(crate) server_cpu: Option<f64>,
    pub(crate) own_wait: Option<f64>,
    pub(crate) server_wait: Option<f64>,
    pub(crate) steal: Option<f64>,
}

impl Mark {
    pub(crate) fn now(server: &Option<String>) -> Mark {
        Mark {
            at: Instant::now(),
            own_cpu: cpu_seconds("self"),
            server_cpu: server.as_deref().and_then(cpu_seconds),
            own_wait: runqueue_wait_seconds("self"),
            server_wait: server.as_deref().and_then(runqueue_wait_seconds),
            steal: steal_seconds(),
        }
    }

    pub(crate) fn usage_until(&self, end: &Mark) -> Usage {
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

