//! Building command lines: atoms, quoted strings, and literals where quoting cannot carry
//! the bytes (CR, LF, NUL, 8-bit, or longer than [`MAX_QUOTED`]).

/// The longest string sent quoted; longer ones go as literals.
pub(crate) const MAX_QUOTED: usize = 1024;

/// One piece of a command: text, or a literal (sent after the server's `+`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Chunk {
    Text(Vec<u8>),
    Literal(Vec<u8>),
}

/// A command being built (without its tag and CRLF).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct CommandLine {
    pub(crate) chunks: Vec<Chunk>,
}

impl CommandLine {
    pub(crate) fn new(name: &str) -> CommandLine {
        let mut c = CommandLine::default();
        c.raw(name.as_bytes());
        c
    }

    /// Appends bytes as they are.
    pub(crate) fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        match self.chunks.last_mut() {
            Some(Chunk::Text(t)) => t.extend_from_slice(bytes),
            _ => self.chunks.push(Chunk::Text(bytes.to_vec())),
        }
        self
    }

    /// A space, then bytes as they are.
    pub(crate) fn arg(&mut self, bytes: &str) -> &mut Self {
        self.raw(b" ").raw(bytes.as_bytes())
    }

    /// A space, then a string: quoted if it can be, a literal otherwise.
    pub(crate) fn string(&mut self, bytes: &[u8]) -> &mut Self {
        self.raw(b" ");
        self.bare_string(bytes)
    }

    pub(crate) fn bare_string(&mut self, bytes: &[u8]) -> &mut Self {
        let quotable = bytes.len() <= MAX_QUOTED
            && bytes
                .iter()
                .all(|&b| (0x01..0x80).contains(&b) && b != b'\r' && b != b'\n');
        if quotable {
            let mut q = Vec::with_capacity(bytes.len() + 2);
            q.push(b'"');
            for &b in bytes {
                if b == b'"' || b == b'\\' {
                    q.push(b'\\');
                }
                q.push(b);
            }
            q.push(b'"');
            self.raw(&q)
        } else {
            self.literal(bytes.to_vec())
        }
    }

    /// A literal `{n}` announcement (no space before it), then its bytes.
    pub(crate) fn literal(&mut self, bytes: Vec<u8>) -> &mut Self {
        self.raw(format!("{{{}}}", bytes.len()).as_bytes());
        self.chunks.push(Chunk::Literal(bytes));
        self
    }

    /// A space, then a mailbox name (modified UTF-7, quoted).
    pub(crate) fn mailbox(&mut self, name: &str) -> &mut Self {
        let coded = crate::mail::imap4::types::encode_mailbox_name(name);
        self.string(coded.as_bytes())
    }

    /// The bytes, literals inline, for tests and logs.
    #[cfg(test)]
    pub(crate) fn flatten(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for c in &self.chunks {
            match c {
                Chunk::Text(t) => out.extend_from_slice(t),
                Chunk::Literal(l) => {
                    out.extend_from_slice(b"\r\n");
                    out.extend_from_slice(l);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_quoted_or_literal() {
        let mut c = CommandLine::new("LOGIN");
        c.string(b"al\"ice").string(b"pa\\ss");
        assert_eq!(c.flatten(), b"LOGIN \"al\\\"ice\" \"pa\\\\ss\"");
        let mut c = CommandLine::new("LOGIN");
        c.string(b"bob").string("pässwörd".as_bytes());
        assert_eq!(c.chunks.len(), 2);
        assert_eq!(c.flatten(), "LOGIN \"bob\" {10}\r\npässwörd".as_bytes());
        let mut c = CommandLine::new("X");
        c.string(b"a\r\nb");
        assert_eq!(c.flatten(), b"X {4}\r\na\r\nb");
    }
}
