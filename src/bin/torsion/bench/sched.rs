//! Contention check: CPU time and time spent runnable but waiting for a CPU, of this
//! process and optionally of the server, from `/proc/PID/schedstat` (Linux; elsewhere
//! the figures are simply absent). `/proc/PID/schedstat` covers the main thread, which is
//! where the load generator's reactor runs.

use std::time::Instant;

/// (time on a CPU, time waiting for one), in ns.
fn schedstat(pid: &str) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/schedstat")).ok()?;
    let mut it = text.split_whitespace().map(|f| f.parse::<u64>().ok());
    Some((it.next()??, it.next()??))
}

/// A reading at the start of the window.
#[derive(Debug)]
pub(crate) struct Mark {
    at: Instant,
    own: Option<(u64, u64)>,
    server: Option<(u64, u64)>,
}

/// % of the window: own CPU, own wait, server CPU, server wait.
pub(crate) type Usage = [Option<f64>; 4];

pub(crate) fn mark(server_pid: Option<u32>) -> Mark {
    Mark {
        at: Instant::now(),
        own: schedstat("self"),
        server: server_pid.and_then(|p| schedstat(&p.to_string())),
    }
}

/// The usage since `start`.
pub(crate) fn since(start: &Mark, server_pid: Option<u32>) -> Usage {
    let window = start.at.elapsed().as_nanos() as f64;
    let pct = |a: Option<(u64, u64)>, b: Option<(u64, u64)>| match (a, b) {
        (Some(a), Some(b)) if window > 0.0 => (
            Some(b.0.saturating_sub(a.0) as f64 / window * 100.0),
            Some(b.1.saturating_sub(a.1) as f64 / window * 100.0),
        ),
        _ => (None, None),
    };
    let own = pct(start.own, schedstat("self"));
    let server = pct(
        start.server,
        server_pid.and_then(|p| schedstat(&p.to_string())),
    );
    [own.0, own.1, server.0, server.1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_is_measured_on_linux() {
        let m = mark(Some(std::process::id()));
        std::thread::sleep(std::time::Duration::from_millis(20));
        let u = since(&m, Some(std::process::id()));
        if cfg!(target_os = "linux") && std::path::Path::new("/proc/self/schedstat").exists() {
            // (The test harness's main thread mostly sleeps meanwhile.)
            for v in u {
                let v = v.expect("a figure");
                assert!((0.0..=100.0).contains(&v), "{u:?}");
            }
        }
        assert!(since(&m, None)[2].is_none());
    }
}
