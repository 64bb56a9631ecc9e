//! [`MessageSet`]: sets of message sequence numbers or UIDs (`1:3,5:*`).

use std::fmt;
use std::str::FromStr;

/// One end of a range: a number, or `*` (the last message).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SeqNumber {
    /// A message number or UID (1 and up).
    Number(u32),
    /// `*`: the highest number in use.
    Last,
}

impl fmt::Display for SeqNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeqNumber::Number(n) => write!(f, "{n}"),
            SeqNumber::Last => f.write_str("*"),
        }
    }
}

/// A set of message numbers (or UIDs), as ranges: Twisted's `MessageSet` and
/// `parseIdList`. Its `Display` is IMAP's `sequence-set`.
///
/// # Examples
///
/// ```
/// use torsion::mail::imap4::MessageSet;
///
/// let set: MessageSet = "1:3,5:*".parse().unwrap();
/// assert_eq!(set.to_string(), "1:3,5:*");
/// assert!(set.contains(2, 10) && !set.contains(4, 10) && set.contains(9, 10));
///
/// let built = MessageSet::range(1, 3).with(MessageSet::from_last(5));
/// assert_eq!(built, set);
/// assert_eq!(MessageSet::one(7).to_string(), "7");
/// assert!("0".parse::<MessageSet>().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct MessageSet {
    ranges: Vec<(SeqNumber, SeqNumber)>,
}

/// A string that is not a message set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadMessageSet(pub String);

impl fmt::Display for BadMessageSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a message set: {:?}", self.0)
    }
}

impl std::error::Error for BadMessageSet {}

impl MessageSet {
    /// The empty set (not valid in a command until something is added).
    pub fn new() -> MessageSet {
        MessageSet::default()
    }

    /// One message.
    pub fn one(n: u32) -> MessageSet {
        MessageSet {
            ranges: vec![(SeqNumber::Number(n), SeqNumber::Number(n))],
        }
    }

    /// `first:last`.
    pub fn range(first: u32, last: u32) -> MessageSet {
        MessageSet {
            ranges: vec![(SeqNumber::Number(first), SeqNumber::Number(last))],
        }
    }

    /// `first:*`.
    pub fn from_last(first: u32) -> MessageSet {
        MessageSet {
            ranges: vec![(SeqNumber::Number(first), SeqNumber::Last)],
        }
    }

    /// `1:*`: every message.
    pub fn all() -> MessageSet {
        MessageSet::from_last(1)
    }

    /// This set and `other`'s ranges after it.
    pub fn with(mut self, other: MessageSet) -> MessageSet {
        self.ranges.extend(other.ranges);
        self
    }

    /// Adds a range.
    pub fn add(&mut self, first: SeqNumber, last: SeqNumber) {
        self.ranges.push((first, last));
    }

    /// The ranges, as given.
    pub fn ranges(&self) -> &[(SeqNumber, SeqNumber)] {
        &self.ranges
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Whether `n` is in the set when `*` means `last`.
    pub fn contains(&self, n: u32, last: u32) -> bool {
        let value = |s: SeqNumber| match s {
            SeqNumber::Number(v) => v,
            SeqNumber::Last => last,
        };
        self.ranges.iter().any(|&(a, b)| {
            let (a, b) = (value(a), value(b));
            a.min(b) <= n && n <= a.max(b)
        })
    }

    /// The numbers from 1 to `last` in the set, in order, `*` meaning `last`.
    pub fn numbers(&self, last: u32) -> Vec<u32> {
        (1..=last).filter(|&n| self.contains(n, last)).collect()
    }
}

impl fmt::Display for MessageSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, &(a, b)) in self.ranges.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if a == b {
                write!(f, "{a}")?;
            } else {
                write!(f, "{a}:{b}")?;
            }
        }
        Ok(())
    }
}

fn seq_number(s: &str) -> Option<SeqNumber> {
    if s == "*" {
        return Some(SeqNumber::Last);
    }
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match s.parse::<u32>() {
        Ok(0) | Err(_) => None,
        Ok(n) => Some(SeqNumber::Number(n)),
    }
}

impl FromStr for MessageSet {
    type Err = BadMessageSet;

    fn from_str(s: &str) -> Result<MessageSet, BadMessageSet> {
        let bad = || BadMessageSet(s.to_string());
        let mut set = MessageSet::new();
        for part in s.split(',') {
            let (a, b) = match part.split_once(':') {
                Some((a, b)) => (
                    seq_number(a).ok_or_else(bad)?,
                    seq_number(b).ok_or_else(bad)?,
                ),
                None => {
                    let n = seq_number(part).ok_or_else(bad)?;
                    (n, n)
                }
            };
            set.add(a, b);
        }
        Ok(set)
    }
}

impl From<u32> for MessageSet {
    fn from(n: u32) -> MessageSet {
        MessageSet::one(n)
    }
}

impl From<std::ops::RangeInclusive<u32>> for MessageSet {
    fn from(r: std::ops::RangeInclusive<u32>) -> MessageSet {
        MessageSet::range(*r.start(), *r.end())
    }
}

impl From<std::ops::RangeFrom<u32>> for MessageSet {
    fn from(r: std::ops::RangeFrom<u32>) -> MessageSet {
        MessageSet::from_last(r.start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        for good in ["1", "*", "1:*", "3:1", "1,2,3", "1:3,5:*,7"] {
            assert_eq!(good.parse::<MessageSet>().unwrap().to_string(), good);
        }
        for bad in [
            "",
            "0",
            "1:",
            ":3",
            "a",
            "1,,2",
            "1:2:3",
            "-1",
            "99999999999",
        ] {
            assert!(bad.parse::<MessageSet>().is_err(), "{bad:?}");
        }
        let set: MessageSet = "3:1,8:*".parse().unwrap();
        assert_eq!(set.numbers(9), [1, 2, 3, 8, 9]);
        assert!(set.contains(2, 9) && !set.contains(5, 9));
        assert_eq!(MessageSet::from(2..=4).to_string(), "2:4");
        assert_eq!(MessageSet::from(6..).to_string(), "6:*");
        assert!(MessageSet::new().is_empty());
    }
}
