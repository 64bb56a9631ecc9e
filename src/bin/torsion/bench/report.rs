//! The result of a run: text for people, one JSON object for scripts.

use std::fmt::Write;
use std::time::Duration;

use super::histogram::Histogram;
use super::{Config, FAULTS};

#[derive(Debug)]
pub(crate) struct Report {
    kind: String,
    connect: String,
    connections: usize,
    connected: usize,
    size: usize,
    pipeline: usize,
    warmup: Duration,
    window: Duration,
    msgs: u64,
    total_msgs: u64,
    bytes: u64,
    /// p50, p90, p99, p99.9, max, in ns.
    latency: [u64; 5],
    mean_ns: f64,
    min_ns: u64,
    faults: [u64; 6],
    /// % of the window: own CPU, own wait for a CPU, server CPU, server wait.
    usage: [Option<f64>; 4],
}

impl Report {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        config: &Config,
        window: Duration,
        msgs: u64,
        total_msgs: u64,
        bytes: u64,
        hist: &Histogram,
        faults: [u64; 6],
        connected: usize,
        usage: [Option<f64>; 4],
    ) -> Report {
        Report {
            kind: config.kind.to_string(),
            connect: config.connect.clone(),
            connections: config.connections,
            connected,
            size: config.size,
            pipeline: config.pipeline,
            warmup: config.warmup,
            window,
            msgs,
            total_msgs,
            bytes,
            latency: [
                hist.percentile(50.0),
                hist.percentile(90.0),
                hist.percentile(99.0),
                hist.percentile(99.9),
                hist.max(),
            ],
            mean_ns: hist.mean(),
            min_ns: hist.min().unwrap_or(0),
            faults,
            usage,
        }
    }

    fn rate(&self) -> f64 {
        let s = self.window.as_secs_f64();
        if s > 0.0 {
            self.msgs as f64 / s
        } else {
            0.0
        }
    }

    pub(crate) fn errors(&self) -> u64 {
        self.faults.iter().sum()
    }

    /// Why the run failed, if it did.
    pub(crate) fn verdict(&self) -> Option<String> {
        if self.errors() > 0 {
            Some(format!("{} error(s) (see above)", self.errors()))
        } else if self.msgs == 0 {
            Some("no request completed in the measured window".to_string())
        } else {
            None
        }
    }

    pub(crate) fn text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "torsion bench {}: {}, {} connection(s) ({} made), {} B, pipeline {}, {:.2} s measured after {:.1} s warm-up",
            self.kind,
            self.connect,
            self.connections,
            self.connected,
            self.size,
            self.pipeline,
            self.window.as_secs_f64(),
            self.warmup.as_secs_f64()
        );
        let _ = writeln!(
            s,
            "  requests  {} in the window = {} req/s ({} in all, warm-up included); {:.1} MB/s received",
            self.msgs,
            thousands(self.rate()),
            self.total_msgs,
            self.bytes as f64 / self.window.as_secs_f64().max(1e-9) / 1e6
        );
        let [p50, p90, p99, p999, max] = self.latency;
        let _ = writeln!(
            s,
            "  latency   min {}  p50 {}  p90 {}  p99 {}  p99.9 {}  max {}  mean {}",
            time(self.min_ns),
            time(p50),
            time(p90),
            time(p99),
            time(p999),
            time(max),
            time(self.mean_ns as u64)
        );
        let detail: Vec<String> = FAULTS
            .iter()
            .map(|f| format!("{} {}", f.name(), self.faults[*f as usize]))
            .collect();
        let _ = writeln!(s, "  errors    {} ({})", self.errors(), detail.join(", "));
        let pct = |v: Option<f64>| v.map_or("?".to_string(), |v| format!("{v:.0} %"));
        let [cpu, wait, server_cpu, server_wait] = self.usage;
        if cpu.is_some() {
            let _ = write!(
                s,
                "  CPU       this load generator {} busy, {} waiting for a CPU",
                pct(cpu),
                pct(wait)
            );
            if server_cpu.is_some() {
                let _ = write!(
                    s,
                    "; server {} busy, {} waiting",
                    pct(server_cpu),
                    pct(server_wait)
                );
            }
            let _ = writeln!(s, " (of one core, over the window)");
        }
        s
    }

    pub(crate) fn json(&self) -> String {
        let us = |ns: u64| ns as f64 / 1000.0;
        let [p50, p90, p99, p999, max] = self.latency;
        let faults: Vec<String> = FAULTS
            .iter()
            .map(|f| format!("\"{}\":{}", f.name(), self.faults[*f as usize]))
            .collect();
        format!(
            "{{\"tool\":\"torsion-bench\",\"kind\":\"{}\",\"connect\":\"{}\",\"connections\":{},\"connected\":{},\"size\":{},\"pipeline\":{},\"warmup_s\":{},\"window_s\":{:.4},\"msgs\":{},\"msgs_per_s\":{:.1},\"total_msgs\":{},\"bytes\":{},\"p50_us\":{:.2},\"p90_us\":{:.2},\"p99_us\":{:.2},\"p999_us\":{:.2},\"max_us\":{:.2},\"mean_us\":{:.2},\"min_us\":{:.2},\"self_cpu_pct\":{},\"self_wait_pct\":{},\"server_cpu_pct\":{},\"server_wait_pct\":{},\"errors\":{},\"faults\":{{{}}}}}",
            self.kind,
            self.connect.replace(['"', '\\'], "_"),
            self.connections,
            self.connected,
            self.size,
            self.pipeline,
            self.warmup.as_secs_f64(),
            self.window.as_secs_f64(),
            self.msgs,
            self.rate(),
            self.total_msgs,
            self.bytes,
            us(p50),
            us(p90),
            us(p99),
            us(p999),
            us(max),
            self.mean_ns / 1000.0,
            us(self.min_ns),
            num(self.usage[0]),
            num(self.usage[1]),
            num(self.usage[2]),
            num(self.usage[3]),
            self.errors(),
            faults.join(",")
        )
    }
}

/// A JSON number with one decimal, or `null`.
fn num(v: Option<f64>) -> String {
    v.map_or("null".to_string(), |v| format!("{v:.1}"))
}

/// `123456.7` as `123,457`.
pub(crate) fn thousands(v: f64) -> String {
    let digits = format!("{:.0}", v.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Nanoseconds as `850ns`, `312.4µs`, `1.25ms`, `2.00s`.
pub(crate) fn time(ns: u64) -> String {
    let v = ns as f64;
    if ns < 1_000 {
        format!("{ns}ns")
    } else if ns < 1_000_000 {
        format!("{:.1}µs", v / 1e3)
    } else if ns < 1_000_000_000 {
        format!("{:.2}ms", v / 1e6)
    } else {
        format!("{:.2}s", v / 1e9)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.4), "999");
        assert_eq!(thousands(1234567.0), "1,234,567");
        assert_eq!(time(850), "850ns");
        assert_eq!(time(312_400), "312.4µs");
        assert_eq!(time(1_250_000), "1.25ms");
        assert_eq!(time(2_000_000_000), "2.00s");
    }
}
