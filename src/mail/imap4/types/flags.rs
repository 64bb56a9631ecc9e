//! [`Flag`]: system flags and keywords.

use std::fmt;

/// A message flag: one of the system flags of RFC 3501 §2.3.2, or a keyword. Also `\*`
/// (in `PERMANENTFLAGS`: "new keywords may be created").
///
/// # Examples
///
/// ```
/// use torsion::mail::imap4::Flag;
///
/// assert_eq!(Flag::parse("\\seen"), Flag::Seen);
/// assert_eq!(Flag::parse("$Forwarded"), Flag::Keyword("$Forwarded".into()));
/// assert_eq!(Flag::Deleted.to_string(), "\\Deleted");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Flag {
    /// `\Seen`.
    Seen,
    /// `\Answered`.
    Answered,
    /// `\Flagged`.
    Flagged,
    /// `\Deleted`.
    Deleted,
    /// `\Draft`.
    Draft,
    /// `\Recent` (set by the server only).
    Recent,
    /// `\*` (only in `PERMANENTFLAGS`).
    MayCreate,
    /// Any other flag or keyword, as sent (`$Junk`, `\Unknown`).
    Keyword(String),
}

impl Flag {
    /// Parses a flag (system flags in any case).
    pub fn parse(s: &str) -> Flag {
        match s.to_ascii_lowercase().as_str() {
            "\\seen" => Flag::Seen,
            "\\answered" => Flag::Answered,
            "\\flagged" => Flag::Flagged,
            "\\deleted" => Flag::Deleted,
            "\\draft" => Flag::Draft,
            "\\recent" => Flag::Recent,
            "\\*" => Flag::MayCreate,
            _ => Flag::Keyword(s.to_string()),
        }
    }
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Flag::Seen => "\\Seen",
            Flag::Answered => "\\Answered",
            Flag::Flagged => "\\Flagged",
            Flag::Deleted => "\\Deleted",
            Flag::Draft => "\\Draft",
            Flag::Recent => "\\Recent",
            Flag::MayCreate => "\\*",
            Flag::Keyword(k) => k,
        })
    }
}

impl From<&str> for Flag {
    fn from(s: &str) -> Flag {
        Flag::parse(s)
    }
}
