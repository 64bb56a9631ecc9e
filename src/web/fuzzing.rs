//! The entry points of the web fuzz targets (`fuzz/fuzz_targets/http_{head, chunked,
//! pipeline}.rs`), public so the committed corpus also runs under plain `cargo test`
//! (`tests/fuzz_corpus.rs`).
//!
//! * [`http_head`]: [`parse_head`] on any bytes never panics, agrees with itself on the
//!   head alone, and finds a head no shorter than [`find_head_end`] says it can be.
//! * [`http_chunked`]: the [`ChunkedDecoder`] gives the same data and verdict for the
//!   reads the fuzzer chose as for the whole input.
//! * [`http_pipeline`]: a stream of pipelined requests split anywhere gives the same
//!   [`Framer`] events as the whole stream; then a [`Site`] serves it under
//!   [`drive_protocol`] (pauses, closes and aborts
//!   as the fuzzer chooses), with resources that answer at once, later, chunked and with
//!   a Deferred.

use std::cell::RefCell;
use std::rc::Rc;

use super::http::{find_head_end, parse_head, ChunkedDecoder, Framer, Head, Limits, Progress};
use super::{Directory, Rendered, Request, Resource, Site};
use crate::defer::Deferred;
use crate::testing::fuzz::{drive_protocol, reads};

/// See the [module docs](self).
pub fn http_head(data: &[u8]) {
    let limits = Limits::default();
    let mut head = Head::default();
    let whole = parse_head(data, &limits, &mut head);
    if let Ok(Some(len)) = whole {
        assert!(len <= data.len());
        let end = find_head_end(data, 0).expect("a complete head has an end");
        assert!(
            end <= len,
            "the first empty line ({end}) after the head's end ({len})"
        );
        let mut again = Head::default();
        assert_eq!(parse_head(&data[..len], &limits, &mut again), Ok(Some(len)));
        assert_eq!((again.method, again.target), (head.method, head.target));
        assert_eq!(again.framing, head.framing);
    }
}

/// See the [module docs](self).
pub fn http_chunked(data: &[u8]) {
    let pieces = reads(data);
    let whole: Vec<u8> = pieces.concat();
    let run = |pieces: &[&[u8]]| {
        let mut d = ChunkedDecoder::new(64);
        let mut out = Vec::new();
        let mut used = 0;
        for piece in pieces {
            match d.decode(piece, |x| out.extend_from_slice(x)) {
                Ok(n) => used += n,
                Err(e) => return (out, used, Err(e)),
            }
            if d.is_done() {
                break;
            }
        }
        (out, used, Ok(d.is_done()))
    };
    let (a, b) = (run(&pieces), run(&[&whole]));
    assert_eq!(a.2, b.2, "verdict");
    if a.2.is_ok() {
        assert_eq!((a.0, a.1), (b.0, b.1));
    }
}

/// The Framer's events over `pieces`, fed in turn.
fn framer_events(pieces: &[&[u8]]) -> Vec<(Progress, Vec<u8>)> {
    let limits = Limits {
        max_head_bytes: 512,
        max_body_bytes: 4096,
        max_chunk_line: 64,
        ..Limits::default()
    };
    let mut framer = Framer::new(limits);
    let mut events = Vec::new();
    let mut buf = Vec::new();
    let mut body = Vec::new();
    for piece in pieces {
        buf.extend_from_slice(piece);
        loop {
            let (n, p) = framer.advance(&buf, &mut |d| body.extend_from_slice(d));
            match p {
                Progress::Head => events.push((p, buf[..n].to_vec())),
                Progress::Complete => events.push((p, std::mem::take(&mut body))),
                Progress::Failed(_) => {
                    events.push((p, Vec::new()));
                    return events;
                }
                Progress::NeedMore => {}
            }
            buf.drain(..n);
            if p == Progress::NeedMore {
                break;
            }
        }
    }
    events
}

struct Later(RefCell<Vec<Request>>);

impl Resource for Later {
    fn is_leaf(&self) -> bool {
        true
    }
    fn allowed_methods(&self) -> &'static [&'static str] {
        &["GET", "HEAD", "POST"]
    }
    fn render_get(&self, request: &Request) -> Rendered {
        // Finish the previous one (if still open) and keep this one: answers lag by one.
        if let Some(previous) = self.0.borrow_mut().pop() {
            previous.write(b"late");
            previous.finish();
        }
        self.0.borrow_mut().push(request.clone());
        Rendered::NotDoneYet
    }
    fn render_post(&self, request: &Request) -> Rendered {
        let d = Deferred::new();
        let body = request.content();
        let _ = d.callback(body);
        Rendered::Deferred(d)
    }
}

struct Chunks;

impl Resource for Chunks {
    fn is_leaf(&self) -> bool {
        true
    }
    fn render_get(&self, request: &Request) -> Rendered {
        request.write(b"a");
        request.write(&request.content());
        request.finish();
        Rendered::NotDoneYet
    }
}

/// See the [module docs](self).
pub fn http_pipeline(data: &[u8]) {
    let pieces = reads(data);
    let whole: Vec<u8> = pieces.concat();
    assert_eq!(framer_events(&pieces), framer_events(&[&whole]));
    let root = Rc::new(Directory::new());
    root.put_child(b"later", Rc::new(Later(RefCell::new(Vec::new()))));
    root.put_child(b"chunks", Rc::new(Chunks));
    root.put_child(
        b"data",
        Rc::new(super::Data::new(b"data".to_vec(), "text/plain")),
    );
    let site = Site::new(root);
    drive_protocol(data, || site.channel());
}
