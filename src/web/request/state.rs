//! The state behind a [`Request`](super::Request): what arrived (a copy of the head, the
//! body) and what goes out. Every buffer keeps its capacity when the channel reuses the
//! state for the next request on the connection, so steady-state requests allocate nothing.

use std::ops::Range;
use std::rc::Weak;

use crate::defer::Deferred;
use crate::transport::{Producer, Transport};
use crate::web::channel::ChannelShared;
use crate::web::http::{Framing, Head};

#[derive(Default)]
pub(crate) struct State {
    // ---- in
    pub(crate) head: Vec<u8>,
    pub(crate) method: Range<usize>,
    pub(crate) target: Range<usize>,
    /// End of the path within `head` (the target up to `?`).
    pub(crate) path_end: usize,
    pub(crate) minor: u8,
    pub(crate) headers: Vec<(Range<usize>, Range<usize>)>,
    pub(crate) framing: Framing,
    pub(crate) content: Vec<u8>,
    /// Percent-decoded path segments, stored back to back.
    pub(crate) seg_bytes: Vec<u8>,
    pub(crate) segs: Vec<Range<usize>>,
    /// How many of `segs` traversal has moved to `prepath`.
    pub(crate) consumed: usize,
    pub(crate) keep_alive: bool,
    pub(crate) is_head: bool,
    pub(crate) secure: bool,
    // ---- out
    pub(crate) code: u16,
    pub(crate) reason: Option<String>,
    pub(crate) out_buf: Vec<u8>,
    /// Response fields (name and value ranges in `out_buf`); a removed one has an empty name.
    pub(crate) out_fields: Vec<(Range<usize>, Range<usize>)>,
    pub(crate) declared_length: Option<u64>,
    /// A response field the server sets itself (Date, Server, Content-Length,
    /// Transfer-Encoding, Connection) was set by the resource.
    pub(crate) special_fields: bool,
    pub(crate) started: bool,
    pub(crate) chunked: bool,
    pub(crate) finished: bool,
    pub(crate) gone: bool,
    pub(crate) not_modified: bool,
    pub(crate) sent: u64,
    pub(crate) notify: Vec<Deferred<()>>,
    pub(crate) producer: Option<Producer>,
    pub(crate) wbuf: Vec<u8>,
    /// The site sends no default `Server` field (`SiteOptions::omit_server_header`).
    pub(crate) omit_server: bool,
    // ---- links
    pub(crate) transport: Option<Transport>,
    pub(crate) channel: Weak<ChannelShared>,
}

impl State {
    /// Resets for a new request whose head is `input[..head.len]`, keeping capacity.
    pub(crate) fn start(&mut self, input: &[u8], head: &Head, transport: &Transport, secure: bool) {
        self.head.clear();
        self.head.extend_from_slice(&input[..head.len]);
        self.method = head.method.clone();
        self.target = head.target.clone();
        let target = &self.head[self.target.clone()];
        self.path_end = self.target.start
            + target
                .iter()
                .position(|&c| c == b'?')
                .unwrap_or(target.len());
        self.minor = head.minor;
        self.headers.clear();
        self.headers.extend(head.headers.iter().cloned());
        self.framing = head.framing;
        self.content.clear();
        self.keep_alive = head.keep_alive;
        self.is_head = &self.head[self.method.clone()] == b"HEAD";
        self.secure = secure;
        self.split_path();
        self.code = 200;
        self.reason = None;
        self.out_buf.clear();
        self.out_fields.clear();
        self.declared_length = None;
        self.special_fields = false;
        self.started = false;
        self.chunked = false;
        self.finished = false;
        self.gone = false;
        self.not_modified = false;
        self.sent = 0;
        self.notify.clear();
        self.producer = None;
        if self.transport.as_ref() != Some(transport) {
            self.transport = Some(transport.clone());
        }
    }

    fn split_path(&mut self) {
        self.seg_bytes.clear();
        self.segs.clear();
        self.consumed = 0;
        let path = &self.head[self.target.start..self.path_end];
        // Absolute-form targets (`http://host/path`) are reduced to their path.
        let path = match path.iter().position(|&c| c == b'/') {
            Some(_) if path.starts_with(b"/") => path,
            _ => match path.windows(3).position(|w| w == b"://") {
                Some(i) => {
                    let after = &path[i + 3..];
                    &after[after.iter().position(|&c| c == b'/').unwrap_or(after.len())..]
                }
                None => path,
            },
        };
        for seg in path.split(|&c| c == b'/').skip(1) {
            let start = self.seg_bytes.len();
            if seg.contains(&b'%') {
                super::forms::percent_decode_into(seg, false, &mut self.seg_bytes);
            } else {
                self.seg_bytes.extend_from_slice(seg);
            }
            self.segs.push(start..self.seg_bytes.len());
        }
    }

    pub(crate) fn header(&self, name: &[u8]) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| self.head[n.clone()].eq_ignore_ascii_case(name))
            .map(|(_, v)| &self.head[v.clone()])
    }

    pub(crate) fn out_header(&self, name: &[u8]) -> Option<&[u8]> {
        self.out_fields
            .iter()
            .find(|(n, _)| n.start < n.end && self.out_buf[n.clone()].eq_ignore_ascii_case(name))
            .map(|(_, v)| &self.out_buf[v.clone()])
    }

    pub(crate) fn remove_out_header(&mut self, name: &[u8]) {
        let buf = &self.out_buf;
        for (n, _) in self.out_fields.iter_mut() {
            if n.start < n.end && buf[n.clone()].eq_ignore_ascii_case(name) {
                *n = 0..0;
            }
        }
    }

    pub(crate) fn add_out_header(&mut self, name: &[u8], value: &[u8]) {
        // CR and LF in a value would split the response: they are replaced by spaces.
        let special: &[u8] = match name.len() {
            4 => b"date",
            6 => b"server",
            10 => b"connection",
            14 => b"content-length",
            17 => b"transfer-encoding",
            _ => b"",
        };
        self.special_fields |= !special.is_empty() && special.eq_ignore_ascii_case(name);
        let n0 = self.out_buf.len();
        self.out_buf.extend_from_slice(name);
        let v0 = self.out_buf.len();
        self.out_buf.extend_from_slice(value);
        for c in &mut self.out_buf[v0..] {
            if *c == b'\r' || *c == b'\n' {
                *c = b' ';
            }
        }
        let v1 = self.out_buf.len();
        self.out_fields.push((n0..v0, v0..v1));
    }
}
