//! The grammar stage: framed segments (lines and their literals) to a [`Response`].

use super::value::{Response, ResponseCode, Status, StatusText, Untagged, Value};
use super::{ParseError, Segment};

/// Parses one framed response.
pub(super) fn parse(
    segments: Vec<Segment>,
    max_depth: usize,
) -> std::result::Result<Response, ParseError> {
    let mut c = Cursor {
        segments,
        seg: 0,
        pos: 0,
        max_depth,
    };
    let response = c.response();
    response.map_err(|message| {
        let line = String::from_utf8_lossy(&c.segments[0].text);
        let excerpt: String = line.chars().take(80).collect();
        ParseError::new(format!("{message} in {excerpt:?}"))
    })
}

struct Cursor {
    segments: Vec<Segment>,
    seg: usize,
    pos: usize,
    max_depth: usize,
}

type Result<T> = std::result::Result<T, String>;

fn is_atom_byte(b: u8, in_code: bool) -> bool {
    !(b <= b' ' || b == 0x7f || matches!(b, b'(' | b')' | b'{' | b'"') || (in_code && b == b']'))
}

impl Cursor {
    fn text(&self) -> &[u8] {
        &self.segments[self.seg].text
    }

    fn peek(&self) -> Option<u8> {
        self.text().get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.text().len() && self.seg + 1 >= self.segments.len()
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.pos += 1;
        }
    }

    fn expect_space(&mut self, what: &str) -> Result<()> {
        if self.peek() != Some(b' ') {
            return Err(format!("expected a space {what}"));
        }
        self.skip_spaces();
        Ok(())
    }

    fn response(&mut self) -> Result<Response> {
        match self.peek() {
            None => Err("empty line".into()),
            Some(b'+') => {
                self.pos += 1;
                if self.peek() == Some(b' ') {
                    self.pos += 1;
                }
                Ok(Response::Continuation(self.rest_bytes()))
            }
            Some(b'*') => {
                self.pos += 1;
                self.expect_space("after '*'")?;
                self.untagged().map(Response::Untagged)
            }
            Some(_) => {
                let tag = self.atom(false)?;
                if tag.is_empty() {
                    return Err("expected a tag, '*' or '+'".into());
                }
                self.expect_space("after the tag")?;
                let word = self.atom(false)?;
                match Status::from_atom(&word) {
                    Some(status @ (Status::Ok | Status::No | Status::Bad)) => {
                        let status = self.status_text(status)?;
                        Ok(Response::Tagged { tag, status })
                    }
                    _ => Err(format!(
                        "expected OK, NO or BAD after the tag, got {word:?}"
                    )),
                }
            }
        }
    }

    fn untagged(&mut self) -> Result<Untagged> {
        let word = self.atom(false)?;
        if word.is_empty() {
            return Err("expected a response name after '*'".into());
        }
        if word.bytes().all(|b| b.is_ascii_digit()) {
            let number = word
                .parse::<u64>()
                .map_err(|_| format!("number {word} too large"))?;
            self.expect_space("after the number")?;
            let name = self.atom(false)?.to_ascii_uppercase();
            if name.is_empty() || name.bytes().any(|b| !b.is_ascii_alphabetic()) {
                return Err(format!("expected a response name after {number}"));
            }
            let values = self.values_to_end()?;
            return Ok(Untagged::Numbered {
                number,
                name,
                values,
            });
        }
        if let Some(status) = Status::from_atom(&word) {
            return self.status_text(status).map(Untagged::Status);
        }
        let name = word.to_ascii_uppercase();
        if name
            .bytes()
            .any(|b| !(b.is_ascii_alphanumeric() || b == b'-' || b == b'.'))
        {
            return Err(format!("bad response name {word:?}"));
        }
        let values = self.values_to_end()?;
        Ok(Untagged::Data { name, values })
    }

    /// After `OK` / `NO` ...: an optional `[code]`, then free text.
    fn status_text(&mut self, status: Status) -> Result<StatusText> {
        self.skip_spaces();
        let mut code = None;
        if self.peek() == Some(b'[') {
            self.pos += 1;
            let name = self.atom(true)?.to_ascii_uppercase();
            if name.is_empty() {
                return Err("empty response code".into());
            }
            let mut args = Vec::new();
            loop {
                self.skip_spaces();
                match self.peek() {
                    Some(b']') => {
                        self.pos += 1;
                        break;
                    }
                    None => return Err("unterminated response code".into()),
                    Some(_) => args.push(self.value(true)?),
                }
            }
            code = Some(ResponseCode { name, args });
            self.skip_spaces();
        }
        let text = String::from_utf8_lossy(&self.rest_bytes()).into_owned();
        Ok(StatusText { status, code, text })
    }

    /// The rest of the response as bytes (free text; a literal in it is kept verbatim).
    fn rest_bytes(&mut self) -> Vec<u8> {
        let mut out = self.text()[self.pos.min(self.text().len())..].to_vec();
        while self.seg + 1 < self.segments.len() {
            if let Some(lit) = self.segments[self.seg].literal.take() {
                out.extend_from_slice(b"\r\n");
                out.extend_from_slice(&lit);
            }
            self.seg += 1;
            out.extend_from_slice(&self.segments[self.seg].text);
        }
        self.pos = self.text().len();
        out
    }

    fn values_to_end(&mut self) -> Result<Vec<Value>> {
        let mut values = Vec::new();
        loop {
            self.skip_spaces();
            if self.at_end() {
                return Ok(values);
            }
            values.push(self.value(false)?);
        }
    }

    /// An atom: bytes up to a delimiter; a `[` takes everything up to its matching `]`
    /// (fetch sections). Empty if the next byte is a delimiter.
    fn atom(&mut self, in_code: bool) -> Result<String> {
        let start = self.pos;
        let text = &self.segments[self.seg].text;
        let mut i = self.pos;
        while i < text.len() && is_atom_byte(text[i], in_code) {
            if text[i] == b'[' && !in_code {
                let mut depth = 0usize;
                loop {
                    match text.get(i) {
                        None => return Err("unterminated '[' in an atom".into()),
                        Some(b'[') => depth += 1,
                        Some(b']') => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        Some(_) => {}
                    }
                    i += 1;
                }
            }
            i += 1;
        }
        self.pos = i;
        let atom = &text[start..i];
        if atom.iter().any(|&b| b < b' ' || b == 0x7f) {
            return Err("control character in an atom".into());
        }
        Ok(String::from_utf8_lossy(atom).into_owned())
    }

    /// One value, lists included (an explicit stack bounds the depth).
    fn value(&mut self, in_code: bool) -> Result<Value> {
        let mut stack: Vec<Vec<Value>> = Vec::new();
        loop {
            self.skip_spaces();
            let value = match self.peek() {
                None if self.at_end() || self.seg + 1 >= self.segments.len() => {
                    return Err(if stack.is_empty() {
                        "unexpected end of response".into()
                    } else {
                        "unterminated list".into()
                    });
                }
                None => return Err("unexpected end of line".into()),
                Some(b'(') => {
                    if stack.len() >= self.max_depth {
                        return Err(format!("lists nested deeper than {}", self.max_depth));
                    }
                    self.pos += 1;
                    stack.push(Vec::new());
                    continue;
                }
                Some(b')') => {
                    let Some(items) = stack.pop() else {
                        return Err("unexpected ')'".into());
                    };
                    self.pos += 1;
                    Value::List(items)
                }
                Some(b'"') => self.quoted()?,
                Some(b'{') => self.literal()?,
                Some(b) => {
                    let atom = self.atom(in_code)?;
                    if atom.is_empty() {
                        return Err(format!("unexpected byte {:?}", b as char));
                    }
                    if atom.eq_ignore_ascii_case("NIL") {
                        Value::Nil
                    } else if atom.bytes().all(|b| b.is_ascii_digit()) {
                        match atom.parse::<u64>() {
                            Ok(n) => Value::Number(n),
                            Err(_) => Value::Atom(atom),
                        }
                    } else {
                        Value::Atom(atom)
                    }
                }
            };
            match stack.last_mut() {
                None => return Ok(value),
                Some(items) => items.push(value),
            }
        }
    }

    fn quoted(&mut self) -> Result<Value> {
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let Some(b) = self.peek() else {
                return Err("unterminated quoted string".into());
            };
            self.pos += 1;
            match b {
                b'"' => return Ok(Value::String(out)),
                b'\\' => {
                    let Some(e) = self.peek() else {
                        return Err("unterminated quoted string".into());
                    };
                    self.pos += 1;
                    out.push(e);
                }
                _ => out.push(b),
            }
        }
    }

    /// `{n}` at the end of this segment's line: the segment's literal.
    fn literal(&mut self) -> Result<Value> {
        let text = &self.segments[self.seg].text;
        let close = text[self.pos..].iter().position(|&b| b == b'}');
        match close {
            Some(i) if self.pos + i + 1 == text.len() => {}
            _ => return Err("'{' that does not announce a literal".into()),
        }
        let Some(literal) = self.segments[self.seg].literal.take() else {
            return Err("literal announced twice".into());
        };
        self.seg += 1;
        self.pos = 0;
        Ok(Value::String(literal))
    }
}
