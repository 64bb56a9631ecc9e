//! [`Imap4Error`]: why a command failed.

use std::fmt;

use crate::mail::imap4::parser::ParseError;

/// Why a command's Deferred failed (Twisted's `IMAP4Exception`, `IllegalServerResponse`,
/// `NoSupportedAuthentication`), carried in the `Failure`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Imap4Error {
    /// The server answered `NO`: the command failed (the text, with its code in brackets).
    No(String),
    /// The server answered `BAD`: it did not accept the command.
    Bad(String),
    /// The server sent bytes that are not IMAP4; every pending command gets this and the
    /// connection is closed.
    Parse(ParseError),
    /// A response that parses but makes no sense here (an unknown tag, a missing item);
    /// the connection is closed if the stream cannot be trusted any more.
    IllegalResponse(String),
    /// The server does not offer what the command needs (`IDLE`, `MOVE`, `UIDPLUS`, an
    /// `AUTH=` mechanism, `LOGINDISABLED` on an insecure connection ...).
    Unsupported(String),
    /// The connection closed before the command finished (or before it was sent).
    ConnectionLost(String),
    /// STARTTLS could not be started.
    Tls(String),
    /// The server sent nothing for this long while a command waited
    /// ([`set_timeout`](crate::mail::imap4::Imap4Client::set_timeout)); the connection
    /// is closed.
    TimedOut(std::time::Duration),
    /// The command was used wrongly (`done` without `idle`, an empty message set ...).
    Usage(String),
}

impl fmt::Display for Imap4Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Imap4Error::No(t) => write!(f, "IMAP4 command failed: NO {t}"),
            Imap4Error::Bad(t) => write!(f, "IMAP4 command refused: BAD {t}"),
            Imap4Error::Parse(e) => write!(f, "{e}"),
            Imap4Error::IllegalResponse(t) => write!(f, "illegal IMAP4 server response: {t}"),
            Imap4Error::Unsupported(t) => write!(f, "not supported by the IMAP4 server: {t}"),
            Imap4Error::ConnectionLost(t) => write!(f, "IMAP4 connection lost: {t}"),
            Imap4Error::Tls(t) => write!(f, "IMAP4 STARTTLS failed: {t}"),
            Imap4Error::TimedOut(d) => write!(f, "IMAP4 server silent for {d:?}"),
            Imap4Error::Usage(t) => write!(f, "IMAP4 client misuse: {t}"),
        }
    }
}

impl std::error::Error for Imap4Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Imap4Error::Parse(e) => Some(e),
            _ => None,
        }
    }
}
