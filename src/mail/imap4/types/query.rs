//! [`Query`]: the `SEARCH` criteria builder (Twisted's `Query`, `Or`, `Not`).

use super::message_set::MessageSet;
use crate::mail::imap4::client::wire::CommandLine;

/// Search criteria (RFC 3501 §6.4.4). Several criteria together mean "all of them"
/// ([`and`](Query::and)); [`or`](Query::or) and [`not`](Query::not) combine them.
/// Strings are quoted, or sent as literals when they are not plain ASCII (the client
/// then adds `CHARSET UTF-8`). Dates are IMAP dates, `1-Feb-2024`.
///
/// # Examples
///
/// ```
/// use torsion::mail::imap4::{MessageSet, Query};
///
/// let q = Query::unseen()
///     .and(Query::or(Query::from("bob"), Query::subject("re: \"hi\"")))
///     .and(Query::not(Query::deleted()))
///     .and(Query::uid(MessageSet::from_last(10)));
/// assert_eq!(
///     q.to_string(),
///     r#"UNSEEN OR FROM "bob" SUBJECT "re: \"hi\"" NOT DELETED UID 10:*"#
/// );
/// assert_eq!(
///     Query::not(Query::seen().and(Query::flagged())).to_string(),
///     "NOT (SEEN FLAGGED)"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Query {
    /// A key without argument: `ALL`, `SEEN`, `NEW` ...
    Key(&'static str),
    /// A key with a string: `SUBJECT "x"`, `KEYWORD` (an atom) ...
    Text(&'static str, String),
    /// A key with a number: `LARGER 1000`.
    Number(&'static str, u64),
    /// A key with a date: `SINCE 1-Feb-2024`.
    Date(&'static str, String),
    /// `HEADER name value`.
    Header(String, String),
    /// A message set: `1:3` (sequence numbers) or `UID 1:3`.
    Set(bool, MessageSet),
    /// All of these.
    And(Vec<Query>),
    /// Either.
    Or(Box<Query>, Box<Query>),
    /// Not this.
    Not(Box<Query>),
}

macro_rules! keys {
    ($($(#[$doc:meta])* $name:ident => $key:literal),* $(,)?) => {
        $( $(#[$doc])* pub fn $name() -> Query { Query::Key($key) } )*
    };
}

macro_rules! text_keys {
    ($($(#[$doc:meta])* $name:ident => $key:literal),* $(,)?) => {
        $( $(#[$doc])* pub fn $name(text: impl Into<String>) -> Query { Query::Text($key, text.into()) } )*
    };
}

macro_rules! date_keys {
    ($($(#[$doc:meta])* $name:ident => $key:literal),* $(,)?) => {
        $( $(#[$doc])* pub fn $name(date: impl Into<String>) -> Query { Query::Date($key, date.into()) } )*
    };
}

impl Query {
    keys! {
        /// `ALL`.
        all => "ALL",
        /// `ANSWERED`.
        answered => "ANSWERED",
        /// `DELETED`.
        deleted => "DELETED",
        /// `DRAFT`.
        draft => "DRAFT",
        /// `FLAGGED`.
        flagged => "FLAGGED",
        /// `NEW`.
        new => "NEW",
        /// `OLD`.
        old => "OLD",
        /// `RECENT`.
        recent => "RECENT",
        /// `SEEN`.
        seen => "SEEN",
        /// `UNANSWERED`.
        unanswered => "UNANSWERED",
        /// `UNDELETED`.
        undeleted => "UNDELETED",
        /// `UNDRAFT`.
        undraft => "UNDRAFT",
        /// `UNFLAGGED`.
        unflagged => "UNFLAGGED",
        /// `UNSEEN`.
        unseen => "UNSEEN",
    }

    text_keys! {
        /// `BCC string`.
        bcc => "BCC",
        /// `BODY string`.
        body => "BODY",
        /// `CC string`.
        cc => "CC",
        /// `FROM string`.
        from => "FROM",
        /// `SUBJECT string`.
        subject => "SUBJECT",
        /// `TEXT string` (headers and body).
        text => "TEXT",
        /// `TO string`.
        to => "TO",
        /// `KEYWORD flag`.
        keyword => "KEYWORD",
        /// `UNKEYWORD flag`.
        unkeyword => "UNKEYWORD",
    }

    date_keys! {
        /// `BEFORE date` (internal date).
        before => "BEFORE",
        /// `ON date` (internal date).
        on => "ON",
        /// `SINCE date` (internal date).
        since => "SINCE",
        /// `SENTBEFORE date` (`Date:` header).
        sent_before => "SENTBEFORE",
        /// `SENTON date`.
        sent_on => "SENTON",
        /// `SENTSINCE date`.
        sent_since => "SENTSINCE",
    }

    /// `LARGER n` (octets).
    pub fn larger(n: u64) -> Query {
        Query::Number("LARGER", n)
    }

    /// `SMALLER n` (octets).
    pub fn smaller(n: u64) -> Query {
        Query::Number("SMALLER", n)
    }

    /// `HEADER name value`.
    pub fn header(name: impl Into<String>, value: impl Into<String>) -> Query {
        Query::Header(name.into(), value.into())
    }

    /// `UID set`.
    pub fn uid(set: MessageSet) -> Query {
        Query::Set(true, set)
    }

    /// A set of sequence numbers.
    pub fn messages(set: MessageSet) -> Query {
        Query::Set(false, set)
    }

    /// This and `other`.
    pub fn and(self, other: Query) -> Query {
        match self {
            Query::And(mut items) => {
                items.push(other);
                Query::And(items)
            }
            q => Query::And(vec![q, other]),
        }
    }

    /// `OR a b`.
    pub fn or(a: Query, b: Query) -> Query {
        Query::Or(Box::new(a), Box::new(b))
    }

    /// `NOT q`.
    #[allow(clippy::should_implement_trait)]
    pub fn not(q: Query) -> Query {
        Query::Not(Box::new(q))
    }

    /// Whether a string needs `CHARSET UTF-8`.
    pub(crate) fn needs_utf8(&self) -> bool {
        match self {
            Query::Text(_, s) => !s.is_ascii(),
            Query::Header(n, v) => !n.is_ascii() || !v.is_ascii(),
            Query::And(items) => items.iter().any(Query::needs_utf8),
            Query::Or(a, b) => a.needs_utf8() || b.needs_utf8(),
            Query::Not(q) => q.needs_utf8(),
            _ => false,
        }
    }

    /// Writes the criteria (after a space) to a command.
    pub(crate) fn write(&self, line: &mut CommandLine, nested: bool) {
        match self {
            Query::Key(k) => {
                line.arg(k);
            }
            Query::Text(k @ ("KEYWORD" | "UNKEYWORD"), s) => {
                line.arg(k).arg(s);
            }
            Query::Text(k, s) => {
                line.arg(k).string(s.as_bytes());
            }
            Query::Number(k, n) => {
                line.arg(k).arg(&n.to_string());
            }
            Query::Date(k, d) => {
                line.arg(k).arg(d);
            }
            Query::Header(n, v) => {
                line.arg("HEADER").string(n.as_bytes()).string(v.as_bytes());
            }
            Query::Set(uid, set) => {
                if *uid {
                    line.arg("UID");
                }
                line.arg(&set.to_string());
            }
            Query::And(items) => {
                if nested {
                    line.raw(b" (");
                    for (i, q) in items.iter().enumerate() {
                        let mut inner = CommandLine::default();
                        q.write(&mut inner, true);
                        strip_leading_space(&mut inner, i == 0);
                        line.chunks.extend(inner.chunks);
                    }
                    line.raw(b")");
                } else {
                    for q in items {
                        q.write(line, true);
                    }
                }
            }
            Query::Or(a, b) => {
                line.arg("OR");
                a.write(line, true);
                b.write(line, true);
            }
            Query::Not(q) => {
                line.arg("NOT");
                q.write(line, true);
            }
        }
    }
}

impl Default for Query {
    /// `ALL`.
    fn default() -> Query {
        Query::all()
    }
}

fn strip_leading_space(line: &mut CommandLine, first: bool) {
    if first {
        if let Some(crate::mail::imap4::client::wire::Chunk::Text(t)) = line.chunks.first_mut() {
            if t.first() == Some(&b' ') {
                t.remove(0);
            }
        }
    }
}

impl std::fmt::Display for Query {
    /// The criteria as sent (literals shown inline after their `{n}`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut line = CommandLine::default();
        self.write(&mut line, false);
        let mut out = Vec::new();
        for c in line.chunks {
            match c {
                crate::mail::imap4::client::wire::Chunk::Text(t)
                | crate::mail::imap4::client::wire::Chunk::Literal(t) => out.extend(t),
            }
        }
        let s = String::from_utf8_lossy(&out);
        f.write_str(s.strip_prefix(' ').unwrap_or(&s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_adds_parentheses_only_where_needed() {
        let q = Query::or(
            Query::seen().and(Query::flagged()),
            Query::not(Query::all()),
        );
        assert_eq!(q.to_string(), "OR (SEEN FLAGGED) NOT ALL");
        let q = Query::not(Query::or(
            Query::larger(10),
            Query::smaller(5).and(Query::draft()),
        ));
        assert_eq!(q.to_string(), "NOT OR LARGER 10 (SMALLER 5 DRAFT)");
        let q = Query::header("X-Spam", "yes")
            .and(Query::keyword("$Junk"))
            .and(Query::messages(MessageSet::range(1, 5)));
        assert_eq!(q.to_string(), "HEADER \"X-Spam\" \"yes\" KEYWORD $Junk 1:5");
        assert_eq!(Query::default().to_string(), "ALL");
        assert!(Query::not(Query::to("josé")).needs_utf8());
        assert!(!Query::to("jose").needs_utf8());
    }
}
