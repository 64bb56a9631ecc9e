//! Writing a response: the status line and fields, `Content-Length` or chunked framing,
//! `Date`, `Connection`.

use super::state::State;
use crate::web::http::date::{with_date_line, DATE_FIELD_LEN, SERVER_FIELD};
use crate::web::http::{bodiless, reason_phrase};

/// Bodies up to this size are copied behind the head, so a response is one transport write.
const COPY_LIMIT: usize = 16 * 1024;

fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

fn push_hex(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 16];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b"0123456789abcdef"[(n & 15) as usize];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

impl State {
    /// True if no body bytes may follow the head (HEAD, 1xx, 204, 304).
    pub(crate) fn no_body(&self) -> bool {
        self.is_head || self.not_modified || bodiless(self.code)
    }

    /// Writes the head into `wbuf`: `whole` is the body's length when the response is
    /// written in one go, `None` when it is streamed.
    pub(crate) fn begin(&mut self, whole: Option<u64>, closing: bool) {
        self.started = true;
        if closing {
            self.keep_alive = false;
        }
        let no_body = self.no_body();
        let code = if self.not_modified { 304 } else { self.code };
        let mut length = None;
        if bodiless(code) {
            self.declared_length = None;
        } else if let Some(n) = self.declared_length {
            length = Some(n);
        } else if let Some(n) = whole {
            length = Some(n);
        } else if self.minor >= 1 {
            self.chunked = !self.is_head;
        } else if !no_body {
            self.keep_alive = false; // HTTP/1.0 and no length: the close ends the body
        }
        let w = &mut self.wbuf;
        w.clear();
        match &self.reason {
            None if code == 200 => w.extend_from_slice(b"HTTP/1.1 200 OK\r\n"),
            reason => {
                w.extend_from_slice(b"HTTP/1.1 ");
                push_u64(w, u64::from(code));
                w.push(b' ');
                match reason {
                    Some(r) if !self.not_modified => {
                        w.extend(
                            r.bytes()
                                .map(|c| if c == b'\r' || c == b'\n' { b' ' } else { c }),
                        )
                    }
                    _ => w.extend_from_slice(reason_phrase(code).as_bytes()),
                }
                w.extend_from_slice(b"\r\n");
            }
        }
        // Fields the server sets itself are looked for only if the resource set one
        // (`State::special_fields`, noted by `add_out_header`).
        let special = self.special_fields;
        let has = |name: &[u8]| {
            special
                && self
                    .out_fields
                    .iter()
                    .any(|(n, _)| self.out_buf[n.clone()].eq_ignore_ascii_case(name))
        };
        let set_date = !has(b"date");
        let set_server = !self.omit_server && !has(b"server");
        if set_date {
            // One copy of the per-thread "Date: <29 bytes>\r\nServer: torsion\r\n", or of
            // its Date line alone.
            with_date_line(|line| {
                w.extend_from_slice(if set_server {
                    line
                } else {
                    &line[..DATE_FIELD_LEN]
                })
            });
        } else if set_server {
            w.extend_from_slice(SERVER_FIELD);
        }
        for (n, v) in &self.out_fields {
            if n.start == n.end {
                continue;
            }
            let name = &self.out_buf[n.clone()];
            if special
                && (name.eq_ignore_ascii_case(b"content-length")
                    || name.eq_ignore_ascii_case(b"transfer-encoding")
                    || name.eq_ignore_ascii_case(b"connection"))
            {
                continue; // ours to set
            }
            w.extend_from_slice(name);
            w.extend_from_slice(b": ");
            w.extend_from_slice(&self.out_buf[v.clone()]);
            w.extend_from_slice(b"\r\n");
        }
        if let Some(n) = length {
            w.extend_from_slice(b"Content-Length: ");
            push_u64(w, n);
            w.extend_from_slice(b"\r\n");
        } else if self.chunked {
            w.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
        }
        if !self.keep_alive {
            w.extend_from_slice(b"Connection: close\r\n");
        } else if self.minor == 0 {
            w.extend_from_slice(b"Connection: keep-alive\r\n");
        }
        w.extend_from_slice(b"\r\n");
    }

    /// Queues body bytes after whatever is in `wbuf`, framed; returns the pieces to write.
    pub(crate) fn frame<'a>(&'a mut self, data: &'a [u8]) -> [&'a [u8]; 2] {
        if self.no_body() || data.is_empty() {
            return [&self.wbuf, b""];
        }
        self.sent += data.len() as u64;
        if self.chunked {
            push_hex(&mut self.wbuf, data.len() as u64);
            self.wbuf.extend_from_slice(b"\r\n");
            self.wbuf.extend_from_slice(data);
            self.wbuf.extend_from_slice(b"\r\n");
            [&self.wbuf, b""]
        } else if data.len() <= COPY_LIMIT {
            // One write of head and body: cheaper than two for small bodies.
            self.wbuf.extend_from_slice(data);
            [&self.wbuf, b""]
        } else {
            [&self.wbuf, data]
        }
    }
}
