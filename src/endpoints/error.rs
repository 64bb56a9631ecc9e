//! The errors of endpoints: [`EndpointError`] for a description string that does not parse,
//! and the failures a listen or a connect can end with ([`CannotListen`],
//! [`ConnectingCancelled`], [`NoProtocol`]).
//!
//! Tests: `tests/endpoints_grammar.rs`, `tests/endpoints_fake.rs`.

use std::error::Error;
use std::fmt;
use std::io;

use crate::tcp::Destination;

/// Why an endpoint description could not be turned into an endpoint (Twisted raises a
/// `ValueError` or a `TypeError`). Every message names the part that is wrong.
///
/// # Examples
///
/// ```
/// use torsion::endpoints::{client_from_string, EndpointError};
/// use torsion::Reactor;
///
/// let reactor = Reactor::new()?;
/// let err = client_from_string(&reactor, "tcp:example.com:80a").unwrap_err();
/// assert_eq!(err.to_string(), r#"tcp: port "80a" is not a number"#);
/// assert!(matches!(err, EndpointError::BadValue { .. }));
/// # reactor.close();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndpointError {
    /// The description is empty.
    Empty,
    /// The description ends with a lone backslash.
    DanglingEscape {
        /// The whole description.
        description: String,
    },
    /// The description starts with `key=value` where the endpoint type belongs.
    MissingType {
        /// The first segment.
        segment: String,
    },
    /// No parser is registered for the prefix.
    UnknownType {
        /// The prefix as written.
        prefix: String,
        /// The prefixes that are known.
        expected: Vec<String>,
    },
    /// `ssl:` or `tls:` in a build without the `tls` feature.
    TlsUnavailable {
        /// The prefix as written.
        prefix: String,
    },
    /// A TLS endpoint's certificate, key or trust roots could not be loaded.
    TlsConfig {
        /// The prefix as written.
        prefix: String,
        /// What went wrong (names the file).
        message: String,
    },
    /// A required parameter is missing.
    MissingParameter {
        /// The endpoint type.
        prefix: String,
        /// The parameter.
        name: &'static str,
    },
    /// A parameter the endpoint type does not take.
    UnknownParameter {
        /// The endpoint type.
        prefix: String,
        /// The parameter as written.
        name: String,
        /// The parameters the endpoint type takes.
        expected: Vec<&'static str>,
    },
    /// More positional arguments than the endpoint type takes.
    UnexpectedArgument {
        /// The endpoint type.
        prefix: String,
        /// The first argument too many.
        value: String,
    },
    /// A parameter given twice (as `key=value` twice).
    Duplicate {
        /// The endpoint type.
        prefix: String,
        /// The parameter.
        name: String,
    },
    /// A value that does not parse (a port that is not a number, say).
    BadValue {
        /// The endpoint type.
        prefix: String,
        /// The parameter.
        name: &'static str,
        /// The value as written.
        value: String,
        /// What it should have been ("a number", "an IP address", ...).
        expected: &'static str,
    },
}

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndpointError::Empty => f.write_str("empty endpoint description"),
            EndpointError::DanglingEscape { description } => write!(
                f,
                "endpoint description {description:?} ends with a lone backslash"
            ),
            EndpointError::MissingType { segment } => write!(
                f,
                "endpoint description must start with its type (such as tcp:), not {segment:?}"
            ),
            EndpointError::UnknownType { prefix, expected } if expected.is_empty() => write!(
                f,
                "unknown endpoint type {prefix:?} (no endpoint types are registered)"
            ),
            EndpointError::UnknownType { prefix, expected } => write!(
                f,
                "unknown endpoint type {prefix:?} (expected {})",
                expected.join(", ")
            ),
            EndpointError::TlsUnavailable { prefix } => write!(
                f,
                "{prefix}: TLS endpoints are not available (torsion was built without its `tls` feature)"
            ),
            EndpointError::TlsConfig { prefix, message } => write!(f, "{prefix}: {message}"),
            EndpointError::MissingParameter { prefix, name } => {
                write!(f, "{prefix}: missing {name}")
            }
            EndpointError::UnknownParameter {
                prefix,
                name,
                expected,
            } => {
                write!(f, "{prefix}: unknown parameter {name:?}")?;
                match suggest(name, expected) {
                    Some(close) => write!(f, " (did you mean {close}?)"),
                    None => write!(f, " (expected {})", expected.join(", ")),
                }
            }
            EndpointError::UnexpectedArgument { prefix, value } => {
                write!(f, "{prefix}: unexpected argument {value:?}")
            }
            EndpointError::Duplicate { prefix, name } => {
                write!(f, "{prefix}: parameter {name:?} is given twice")
            }
            EndpointError::BadValue {
                prefix,
                name,
                value,
                expected,
            } => write!(f, "{prefix}: {name} {value:?} is not {expected}"),
        }
    }
}

impl Error for EndpointError {}

/// The known parameter closest to a misspelt `name`, if one is close: the same name in
/// another case, or at most two edits away.
fn suggest(name: &str, expected: &[&'static str]) -> Option<&'static str> {
    if let Some(same) = expected.iter().find(|e| e.eq_ignore_ascii_case(name)) {
        return Some(same);
    }
    expected
        .iter()
        .map(|e| {
            (
                edit_distance(&name.to_ascii_lowercase(), &e.to_ascii_lowercase()),
                *e,
            )
        })
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, e)| e)
}

/// Levenshtein distance, with a transposition counting as one edit.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut rows = vec![(0..=b.len()).collect::<Vec<_>>(); a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = d;
        }
    }
    rows[a.len()][b.len()]
}

/// A server endpoint could not listen (Twisted's `CannotListenError`): the OS error, and
/// what was being listened on.
///
/// # Examples
///
/// ```
/// use std::io;
/// use torsion::endpoints::CannotListen;
///
/// let err = CannotListen::new("TCP port 80 (all interfaces)", io::ErrorKind::AddrInUse.into());
/// assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
/// assert!(err.to_string().starts_with("cannot listen on TCP port 80 (all interfaces): "));
/// ```
#[derive(Debug)]
pub struct CannotListen {
    what: String,
    error: io::Error,
}

impl CannotListen {
    /// `what` could not listen because of `error`.
    pub fn new(what: impl Into<String>, error: io::Error) -> CannotListen {
        CannotListen {
            what: what.into(),
            error,
        }
    }

    /// What was being listened on, such as `TCP port 8080 (interface 127.0.0.1)`.
    pub fn what(&self) -> &str {
        &self.what
    }

    /// The OS error.
    pub fn io_error(&self) -> &io::Error {
        &self.error
    }

    /// The OS error's kind (`AddrInUse`, `PermissionDenied`, ...).
    pub fn kind(&self) -> io::ErrorKind {
        self.error.kind()
    }
}

impl fmt::Display for CannotListen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot listen on {}: {}", self.what, self.error)
    }
}

impl Error for CannotListen {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.error)
    }
}

/// A connection attempt was cancelled through its Deferred (Twisted's
/// `ConnectingCancelledError`), with where it was going.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectingCancelled {
    /// Where the attempt was connecting to.
    pub destination: Destination,
}

impl fmt::Display for ConnectingCancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "connecting to {} was cancelled", self.destination)
    }
}

impl Error for ConnectingCancelled {}

/// The factory given to a client endpoint refused to build a protocol (Twisted's
/// `NoProtocol`): its `build_protocol` returned `None`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoProtocol;

impl fmt::Display for NoProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the factory built no protocol for the connection")
    }
}

impl Error for NoProtocol {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let expected = ["port", "interface", "backlog"];
        assert_eq!(suggest("intreface", &expected), Some("interface"));
        assert_eq!(suggest("Port", &expected), Some("port"));
        assert_eq!(suggest("backlg", &expected), Some("backlog"));
        assert_eq!(suggest("colour", &expected), None);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("ab", "ba"), 1);
    }
}
