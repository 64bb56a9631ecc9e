//! Hand-rolled argument parsing: `--flag VALUE`, `--flag=VALUE`, `-c VALUE`, repeated
//! flags, and durations such as `10s`, `500ms`, `2m` or `1.5`. No parser crate, so the
//! crate's dependency graph stays what the library needs.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A command-line mistake: the message names what is wrong and how to fix it.
#[derive(Debug)]
pub(crate) struct UsageError(pub(crate) String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Builds a [`UsageError`] from a format string.
macro_rules! usage {
    ($($t:tt)*) => { $crate::args::UsageError(format!($($t)*)) };
}
pub(crate) use usage;

/// The words of a command line after the subcommand, consumed flag by flag.
#[derive(Debug)]
pub(crate) struct Args {
    words: Vec<String>,
    pos: usize,
    /// The value of an `--flag=value` word, waiting to be taken.
    inline: Option<String>,
    command: &'static str,
}

impl Args {
    pub(crate) fn new(command: &'static str, words: Vec<String>) -> Args {
        Args {
            words,
            pos: 0,
            inline: None,
            command,
        }
    }

    /// The next flag (`--listen`, `-c`) or positional word, or `None` at the end. An
    /// `--flag=value` word gives `--flag`, and the value is taken by [`Args::value`].
    pub(crate) fn next_flag(&mut self) -> Result<Option<String>, UsageError> {
        if let Some(v) = self.inline.take() {
            return Err(usage!(
                "{}: unexpected value {v:?} (that flag takes no value)",
                self.command
            ));
        }
        let Some(word) = self.words.get(self.pos).cloned() else {
            return Ok(None);
        };
        self.pos += 1;
        if word.starts_with("--") {
            if let Some((flag, value)) = word.split_once('=') {
                self.inline = Some(value.to_string());
                return Ok(Some(flag.to_string()));
            }
        }
        Ok(Some(word))
    }

    /// The value that follows `flag`.
    pub(crate) fn value(&mut self, flag: &str) -> Result<String, UsageError> {
        if let Some(v) = self.inline.take() {
            return Ok(v);
        }
        match self.words.get(self.pos) {
            Some(v) => {
                self.pos += 1;
                Ok(v.clone())
            }
            None => Err(usage!(
                "{}: {flag} needs a value (see `torsion {} --help`)",
                self.command,
                self.command
            )),
        }
    }

    /// The value that follows `flag`, parsed.
    pub(crate) fn parsed<T: FromStr>(&mut self, flag: &str, what: &str) -> Result<T, UsageError> {
        let v = self.value(flag)?;
        v.parse().map_err(|_| {
            usage!(
                "{}: {flag} {v:?} is not {what} (see `torsion {} --help`)",
                self.command,
                self.command
            )
        })
    }

    /// The duration that follows `flag`.
    pub(crate) fn duration(&mut self, flag: &str) -> Result<Duration, UsageError> {
        let v = self.value(flag)?;
        parse_duration(&v).ok_or_else(|| {
            usage!(
                "{}: {flag} {v:?} is not a duration (say 10s, 500ms, 2m or 1.5)",
                self.command
            )
        })
    }

    /// The error for a word nobody expected.
    pub(crate) fn unknown(&self, word: &str) -> UsageError {
        if word.starts_with('-') {
            usage!(
                "{}: unknown option {word} (see `torsion {} --help`)",
                self.command,
                self.command
            )
        } else {
            usage!(
                "{}: unexpected argument {word:?} (see `torsion {} --help`)",
                self.command,
                self.command
            )
        }
    }
}

/// `10s`, `500ms`, `2m`, `1.5` (seconds), `100us`.
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: f64 = number.parse().ok()?;
    let seconds = match unit {
        "" | "s" => n,
        "ms" => n / 1e3,
        "us" | "µs" => n / 1e6,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        _ => return None,
    };
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Args {
        Args::new("echo", words.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse_duration("10"), Some(Duration::from_secs(10)));
        assert_eq!(parse_duration("1.5"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("3x"), None);
        assert_eq!(parse_duration(""), None);
        assert_eq!(parse_duration("-1"), None);
    }

    #[test]
    fn flags_values_and_inline_values() {
        let mut a = args(&["--listen", "tcp:1", "--listen=tcp:2", "-c", "7", "--x"]);
        assert_eq!(a.next_flag().unwrap().as_deref(), Some("--listen"));
        assert_eq!(a.value("--listen").unwrap(), "tcp:1");
        assert_eq!(a.next_flag().unwrap().as_deref(), Some("--listen"));
        assert_eq!(a.value("--listen").unwrap(), "tcp:2");
        assert_eq!(a.next_flag().unwrap().as_deref(), Some("-c"));
        assert_eq!(a.parsed::<u32>("-c", "a number").unwrap(), 7);
        assert_eq!(a.next_flag().unwrap().as_deref(), Some("--x"));
        let err = a.value("--x").unwrap_err().to_string();
        assert!(err.contains("--x needs a value"), "{err}");
        assert!(a.next_flag().unwrap().is_none());
    }

    #[test]
    fn bad_numbers_and_stray_values_are_named() {
        let mut a = args(&["-c", "many"]);
        a.next_flag().unwrap();
        let err = a.parsed::<u32>("-c", "a number").unwrap_err().to_string();
        assert!(err.contains("-c \"many\" is not a number"), "{err}");
        let mut a = args(&["--help=yes"]);
        a.next_flag().unwrap();
        let err = a.next_flag().unwrap_err().to_string();
        assert!(err.contains("unexpected value"), "{err}");
        assert!(args(&[])
            .unknown("--bogus")
            .to_string()
            .contains("unknown option --bogus"));
    }
}
