//! Modified UTF-7 mailbox names (RFC 3501 §5.1.3; Twisted's `imap4-utf-7` codec).

use std::fmt;

use crate::mail::imap4::auth::base64;

/// A mailbox name that is not valid modified UTF-7.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadMailboxName(pub String);

impl fmt::Display for BadMailboxName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a modified UTF-7 mailbox name: {:?}", self.0)
    }
}

impl std::error::Error for BadMailboxName {}

/// Encodes a mailbox name to modified UTF-7: printable ASCII stays (`&` becomes `&-`),
/// anything else becomes `&` + modified base64 of UTF-16BE + `-`.
///
/// # Examples
///
/// ```
/// use torsion::mail::imap4::{decode_mailbox_name, encode_mailbox_name};
///
/// assert_eq!(encode_mailbox_name("~peter/mail/台北/日本語"), "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
/// assert_eq!(encode_mailbox_name("Tom & Jerry"), "Tom &- Jerry");
/// assert_eq!(decode_mailbox_name("&U,BTFw-").unwrap(), "台北");
/// assert!(decode_mailbox_name("&Jjo!").is_err());
/// ```
pub fn encode_mailbox_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    let flush = |pending: &mut Vec<u16>, out: &mut String| {
        if pending.is_empty() {
            return;
        }
        let bytes: Vec<u8> = pending.iter().flat_map(|u| u.to_be_bytes()).collect();
        out.push('&');
        out.push_str(&base64::encode_imap(&bytes));
        out.push('-');
        pending.clear();
    };
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut pending, &mut out);
            out.push(c);
            if c == '&' {
                out.push('-');
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut pending, &mut out);
    out
}

/// Decodes a modified UTF-7 mailbox name.
pub fn decode_mailbox_name(name: &str) -> Result<String, BadMailboxName> {
    let bad = || BadMailboxName(name.to_string());
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let end = after.find('-').ok_or_else(bad)?;
        if end == 0 {
            out.push('&');
        } else {
            let bytes = base64::decode_imap(&after.as_bytes()[..end]).ok_or_else(bad)?;
            if bytes.len() % 2 != 0 {
                return Err(bad());
            }
            let units: Vec<u16> = bytes
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            out.push_str(&String::from_utf16(&units).map_err(|_| bad())?);
        }
        rest = &after[end + 1..];
    }
    if rest.chars().any(|c| !(' '..='~').contains(&c)) {
        return Err(bad());
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for name in [
            "INBOX",
            "a&b",
            "Entwürfe",
            "日本語",
            "x😀y",
            "&",
            "",
            "Sent Items",
        ] {
            let coded = encode_mailbox_name(name);
            assert!(coded.bytes().all(|b| (b' '..=b'~').contains(&b)), "{coded}");
            assert_eq!(decode_mailbox_name(&coded).unwrap(), name);
        }
        assert_eq!(encode_mailbox_name("Entwürfe"), "Entw&APw-rfe");
    }

    #[test]
    fn rejects_malformed() {
        assert!(decode_mailbox_name("&AGE").is_err()); // no '-'
        assert!(decode_mailbox_name("&AG-").is_err()); // odd bytes
        assert!(decode_mailbox_name("é").is_err());
        assert!(decode_mailbox_name("&2D0-").is_err()); // lone surrogate
    }
}
