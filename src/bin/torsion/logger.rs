//! A tiny logger for the `log` facade: one line per record on stderr, with the time since
//! start, the level and the target (`torsion::reactor`, ...).

use std::io::Write;
use std::sync::OnceLock;
use std::time::Instant;

use log::{LevelFilter, Log, Metadata, Record};

use crate::args::{usage, UsageError};

struct StderrLogger {
    start: OnceLock<Instant>,
}

static LOGGER: StderrLogger = StderrLogger {
    start: OnceLock::new(),
};

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let t = self.start.get_or_init(Instant::now).elapsed().as_secs_f64();
        // One write per line, so lines from several threads do not interleave.
        let line = format!(
            "[{t:9.3}s {:5} {}] {}\n",
            record.level(),
            record.target(),
            record.args()
        );
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn flush(&self) {}
}

/// `off`, `error`, `warn`, `info`, `debug`, `trace`.
pub(crate) fn parse_level(text: &str) -> Result<LevelFilter, UsageError> {
    text.parse().map_err(|_| {
        usage!("--log-level {text:?} is not a level (off, error, warn, info, debug, trace)")
    })
}

/// Installs the logger at `level` (once; later calls only change the level).
pub(crate) fn init(level: LevelFilter) {
    LOGGER.start.get_or_init(Instant::now);
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_and_bad_ones_are_named() {
        assert_eq!(parse_level("debug").unwrap(), LevelFilter::Debug);
        assert_eq!(parse_level("WARN").unwrap(), LevelFilter::Warn);
        assert_eq!(parse_level("off").unwrap(), LevelFilter::Off);
        let err = parse_level("loud").unwrap_err().to_string();
        assert!(err.contains("\"loud\" is not a level"), "{err}");
    }
}
