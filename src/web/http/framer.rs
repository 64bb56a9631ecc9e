//! [`Framer`]: splits a connection's input into requests (head, body, end), sans-IO.

use super::{find_head_end, parse_head, ChunkedDecoder, Framing, FramingError, Head, Limits};

/// What [`Framer::advance`] reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Everything given was used (or kept for later); more input is needed.
    NeedMore,
    /// A head was parsed: [`Framer::head`] describes it, as offsets into the input given to
    /// this call (its first [`Head::len`] bytes).
    Head,
    /// The current request's body is complete; the next call starts the next request.
    Complete,
    /// The input is malformed: answer with the error's status and close. Every later call
    /// fails the same way.
    Failed(FramingError),
}

#[derive(Clone, Debug)]
enum State {
    Head { scanned: usize },
    Length(u64),
    Chunked(ChunkedDecoder),
    Complete,
    Failed(FramingError),
}

/// The request framing of one connection: heads through httparse and [`parse_head`],
/// bodies by `Content-Length` or the [`ChunkedDecoder`], within [`Limits`].
///
/// The caller owns the input buffer: it calls [`advance`](Framer::advance) with the bytes
/// not used yet and drops the count it returns from the front. A head is only parsed once
/// its final empty line is there, so the input of an unfinished head is rescanned only
/// from where the last scan stopped.
///
/// # Examples
///
/// ```
/// use torsion::web::http::{Framer, Limits, Progress};
///
/// let input = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET";
/// let mut framer = Framer::new(Limits::default());
/// let mut body = Vec::new();
/// let (used, p) = framer.advance(input, &mut |d| body.extend_from_slice(d));
/// assert_eq!(p, Progress::Head);
/// let (used2, p) = framer.advance(&input[used..], &mut |d| body.extend_from_slice(d));
/// assert_eq!((p, body.as_slice()), (Progress::Complete, &b"abc"[..]));
/// let (_, p) = framer.advance(&input[used + used2..], &mut |_| {});
/// assert_eq!(p, Progress::NeedMore); // "GET" is the start of the next head
/// ```
#[derive(Clone, Debug)]
pub struct Framer {
    limits: Limits,
    state: State,
    head: Head,
    body_seen: u64,
}

impl Framer {
    /// A framer waiting for the first request.
    pub fn new(limits: Limits) -> Framer {
        Framer {
            limits,
            state: State::Head { scanned: 0 },
            head: Head::default(),
            body_seen: 0,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The last head parsed.
    pub fn head(&self) -> &Head {
        &self.head
    }

    /// True while waiting for (or inside) a request head, with nothing of a request in
    /// progress.
    pub fn between_requests(&self) -> bool {
        matches!(self.state, State::Head { .. })
    }

    /// Bytes of the current body received so far.
    pub fn body_seen(&self) -> u64 {
        self.body_seen
    }

    fn head_done(&mut self, len: usize) -> (usize, Progress) {
        self.body_seen = 0;
        self.state = match self.head.framing {
            Framing::None | Framing::Length(0) => State::Complete,
            Framing::Length(n) => State::Length(n),
            Framing::Chunked => State::Chunked(ChunkedDecoder::new(self.limits.max_chunk_line)),
        };
        (len, Progress::Head)
    }

    fn failed(&mut self, e: FramingError) -> (usize, Progress) {
        self.state = State::Failed(e);
        (0, Progress::Failed(e))
    }

    /// Moves over `input`, giving body bytes to `body`; returns how many bytes were used
    /// and what was reached. Bytes of an unfinished head are not used (keep them and
    /// call again with more).
    pub fn advance(&mut self, input: &[u8], body: &mut dyn FnMut(&[u8])) -> (usize, Progress) {
        match &mut self.state {
            State::Failed(e) => (0, Progress::Failed(*e)),
            State::Complete => {
                self.state = State::Head { scanned: 0 };
                (0, Progress::Complete)
            }
            State::Head { scanned } => {
                if *scanned == 0 {
                    // Most heads arrive whole: parse at once, and scan for the end (below)
                    // only if that did not complete, so bytes trickling in cost O(n).
                    // An error is only reported once the end is there (below), so the
                    // verdict does not depend on how the input was cut.
                    if let Ok(Some(len)) = parse_head(input, &self.limits, &mut self.head) {
                        return self.head_done(len);
                    }
                }
                let Some(end) = find_head_end(input, *scanned) else {
                    if input.len() > self.limits.max_head_bytes {
                        return self.failed(FramingError::HeadTooLarge);
                    }
                    *scanned = input.len();
                    return (0, Progress::NeedMore);
                };
                if end > self.limits.max_head_bytes {
                    // Decided by where the end is, not by what the parser saw first, so
                    // the verdict is the same however the input was cut.
                    return self.failed(FramingError::HeadTooLarge);
                }
                match parse_head(input, &self.limits, &mut self.head) {
                    Err(e) => self.failed(e),
                    Ok(None) => {
                        // An empty line before the request line (skipped): look further.
                        *scanned = end;
                        if input.len() > self.limits.max_head_bytes {
                            return self.failed(FramingError::HeadTooLarge);
                        }
                        (0, Progress::NeedMore)
                    }
                    Ok(Some(len)) => self.head_done(len),
                }
            }
            State::Length(left) => {
                let n = input
                    .len()
                    .min(usize::try_from(*left).unwrap_or(usize::MAX));
                if n > 0 {
                    body(&input[..n]);
                }
                *left -= n as u64;
                self.body_seen += n as u64;
                if *left == 0 {
                    self.state = State::Head { scanned: 0 };
                    (n, Progress::Complete)
                } else {
                    (n, Progress::NeedMore)
                }
            }
            State::Chunked(decoder) => {
                let max = self.limits.max_body_bytes;
                let mut seen = self.body_seen;
                let mut too_large = false;
                let result = decoder.decode(input, |d| {
                    seen += d.len() as u64;
                    if seen > max {
                        too_large = true;
                    } else {
                        body(d);
                    }
                });
                self.body_seen = seen;
                let done = decoder.is_done();
                match result {
                    _ if too_large => self.failed(FramingError::BodyTooLarge),
                    Err(_) => self.failed(FramingError::Malformed("chunked body")),
                    Ok(n) if done => {
                        self.state = State::Head { scanned: 0 };
                        (n, Progress::Complete)
                    }
                    Ok(n) => (n, Progress::NeedMore),
                }
            }
        }
    }
}
