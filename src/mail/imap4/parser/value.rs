//! What the parser gives: [`Response`]s made of [`Value`]s.

use std::fmt;

/// One parsed value of a server response (RFC 3501 §4): an atom, a number, a string
/// (quoted or literal), `NIL`, or a parenthesized list.
///
/// Atoms keep their case and may be flags (`\Seen`), capabilities (`AUTH=PLAIN`) or fetch
/// item names with a section (`BODY[HEADER.FIELDS (SUBJECT)]<0>`, one atom).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// An atom: `FLAGS`, `\Seen`, `BODY[TEXT]`.
    Atom(String),
    /// A number (all digits, fits in a `u64`).
    Number(u64),
    /// A quoted string (unescaped) or a literal's bytes.
    String(Vec<u8>),
    /// `NIL`.
    Nil,
    /// `( ... )`.
    List(Vec<Value>),
}

impl Value {
    /// The atom's text, or `None`.
    pub fn as_atom(&self) -> Option<&str> {
        match self {
            Value::Atom(a) => Some(a),
            _ => None,
        }
    }

    /// The number, or `None`.
    pub fn as_number(&self) -> Option<u64> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// The bytes of a string, or of an atom or number (servers send `INBOX` or `1` where
    /// a string is allowed); `None` for `NIL` and lists.
    pub fn as_bytes(&self) -> Option<std::borrow::Cow<'_, [u8]>> {
        match self {
            Value::String(s) => Some(std::borrow::Cow::Borrowed(s)),
            Value::Atom(a) => Some(std::borrow::Cow::Borrowed(a.as_bytes())),
            Value::Number(n) => Some(std::borrow::Cow::Owned(n.to_string().into_bytes())),
            _ => None,
        }
    }

    /// [`as_bytes`](Value::as_bytes) as text (invalid UTF-8 replaced).
    pub fn as_text(&self) -> Option<String> {
        self.as_bytes()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    /// The items of a list, or `None`.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    /// Whether this is `NIL`.
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }
}

impl fmt::Display for Value {
    /// IMAP syntax (strings always quoted, with `\"` and `\\` escaped; bytes that are not
    /// UTF-8 are replaced).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Atom(a) => f.write_str(a),
            Value::Number(n) => write!(f, "{n}"),
            Value::Nil => f.write_str("NIL"),
            Value::String(s) => {
                f.write_str("\"")?;
                for c in String::from_utf8_lossy(s).chars() {
                    if c == '"' || c == '\\' {
                        f.write_str("\\")?;
                    }
                    write!(f, "{c}")?;
                }
                f.write_str("\"")
            }
            Value::List(items) => {
                f.write_str("(")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str(")")
            }
        }
    }
}

/// The status of a status response: `OK`, `NO`, `BAD`, `PREAUTH`, `BYE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// `OK`: success (or information, untagged).
    Ok,
    /// `NO`: the command failed.
    No,
    /// `BAD`: the command (or the protocol) was wrong.
    Bad,
    /// `PREAUTH`: greeting of an already authenticated connection.
    PreAuth,
    /// `BYE`: the server is closing the connection.
    Bye,
}

impl Status {
    pub(crate) fn from_atom(atom: &str) -> Option<Status> {
        Some(match atom.to_ascii_uppercase().as_str() {
            "OK" => Status::Ok,
            "NO" => Status::No,
            "BAD" => Status::Bad,
            "PREAUTH" => Status::PreAuth,
            "BYE" => Status::Bye,
            _ => return None,
        })
    }
}

/// A response code, the bracketed part of a status response: `[UIDVALIDITY 3857529045]`
/// is `{ name: "UIDVALIDITY", args: [Number(3857529045)] }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseCode {
    /// The code's name, upper-cased (`READ-WRITE`, `CAPABILITY`, `APPENDUID` ...).
    pub name: String,
    /// What follows the name, parsed as values.
    pub args: Vec<Value>,
}

/// A status response's text: the optional code and the human-readable rest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusText {
    /// `OK`, `NO` ...
    pub status: Status,
    /// The bracketed code, if any.
    pub code: Option<ResponseCode>,
    /// The text after it (may be empty).
    pub text: String,
}

/// An untagged (`*`) response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Untagged {
    /// `* OK|NO|BAD|PREAUTH|BYE [code] text`.
    Status(StatusText),
    /// `* <number> <NAME> [values]`: `EXISTS`, `RECENT`, `EXPUNGE`, `FETCH (...)`.
    Numbered {
        /// The number (a count or a sequence number).
        number: u64,
        /// The name, upper-cased.
        name: String,
        /// What follows (for `FETCH`, one list).
        values: Vec<Value>,
    },
    /// `* <NAME> [values]`: `CAPABILITY`, `FLAGS`, `LIST`, `LSUB`, `SEARCH`, `STATUS`,
    /// `NAMESPACE` ... (the name upper-cased).
    Data {
        /// The name, upper-cased.
        name: String,
        /// What follows.
        values: Vec<Value>,
    },
}

/// One whole server response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// `tag OK|NO|BAD [code] text`: the end of a command.
    Tagged {
        /// The command's tag.
        tag: String,
        /// Status, code and text.
        status: StatusText,
    },
    /// `* ...`.
    Untagged(Untagged),
    /// `+ text`: the server waits for more of the command (the text is base64 during
    /// `AUTHENTICATE`).
    Continuation(Vec<u8>),
}
