//! `Range: bytes=...` (RFC 9110 §14.1.2): parsing into satisfiable byte ranges.

/// The outcome of a `Range` header against a representation of `size` bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ranges {
    /// No usable header (absent, or not `bytes=`, or malformed): serve the whole body.
    Whole,
    /// The satisfiable ranges, inclusive `(first, last)` byte positions, in the order asked.
    Parts(Vec<(u64, u64)>),
    /// Well-formed, but no range overlaps the body: 416.
    Unsatisfiable,
}

/// At most this many ranges in one request; more (a classic amplification trick) is
/// treated as no `Range` header at all.
pub const MAX_RANGES: usize = 32;

fn num(s: &[u8]) -> Option<u64> {
    crate::web::http::parse_content_length(s)
}

/// Parses `header` for a body of `size` bytes.
///
/// # Examples
///
/// ```
/// use torsion::web::static_files::{parse_range, Ranges};
///
/// assert_eq!(parse_range(b"bytes=0-9, -5", 100), Ranges::Parts(vec![(0, 9), (95, 99)]));
/// assert_eq!(parse_range(b"bytes=200-", 100), Ranges::Unsatisfiable);
/// assert_eq!(parse_range(b"lines=1-2", 100), Ranges::Whole);
/// ```
pub fn parse_range(header: &[u8], size: u64) -> Ranges {
    let Some(spec) = header.strip_prefix(b"bytes=") else {
        return Ranges::Whole;
    };
    let mut parts = Vec::new();
    let mut count = 0;
    for r in spec.split(|&c| c == b',') {
        let r = crate::web::request::forms_trim(r);
        if r.is_empty() {
            continue;
        }
        count += 1;
        if count > MAX_RANGES {
            return Ranges::Whole;
        }
        let Some(dash) = r.iter().position(|&c| c == b'-') else {
            return Ranges::Whole;
        };
        let (a, b) = (&r[..dash], &r[dash + 1..]);
        let part = if a.is_empty() {
            // A suffix: the last n bytes.
            let Some(n) = num(b) else {
                return Ranges::Whole;
            };
            (n > 0 && size > 0).then(|| (size.saturating_sub(n), size - 1))
        } else {
            let Some(first) = num(a) else {
                return Ranges::Whole;
            };
            let last = if b.is_empty() {
                size.saturating_sub(1)
            } else {
                match num(b) {
                    Some(l) if l >= first => l.min(size.saturating_sub(1)),
                    _ => return Ranges::Whole,
                }
            };
            (first < size).then_some((first, last))
        };
        if let Some(p) = part {
            parts.push(p);
        }
    }
    if count == 0 {
        Ranges::Whole
    } else if parts.is_empty() {
        Ranges::Unsatisfiable
    } else {
        Ranges::Parts(parts)
    }
}
