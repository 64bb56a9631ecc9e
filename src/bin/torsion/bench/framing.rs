//! A minimal HTTP/1.x response framing checker: finds where each response ends (status
//! line, headers, then a `Content-Length` body or a chunked one with its trailers) and
//! rejects what a pipelining client could not frame. It does not keep bodies.

use std::fmt;

/// Head (status line + headers) size limit.
const MAX_HEAD: usize = 64 * 1024;
/// Chunk-size and trailer line limit.
const MAX_LINE: usize = 8 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FramingError(pub(crate) String);

impl fmt::Display for FramingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn bad<T>(msg: impl Into<String>) -> Result<T, FramingError> {
    Err(FramingError(msg.into()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Head,
    Body(u64),
    ChunkSize,
    ChunkData(u64),
    /// The CRLF after a chunk's data: how many of its two bytes were seen.
    ChunkEnd(u8),
    Trailers,
}

/// Feeds on response bytes; reports each complete response's status.
#[derive(Debug)]
pub(crate) struct ResponseParser {
    state: State,
    line: Vec<u8>,
    status: u16,
}

impl ResponseParser {
    pub(crate) fn new() -> ResponseParser {
        ResponseParser {
            state: State::Head,
            line: Vec::new(),
            status: 0,
        }
    }

    /// True between responses (nothing of a next one seen yet).
    pub(crate) fn idle(&self) -> bool {
        self.state == State::Head && self.line.is_empty()
    }

    /// Consumes `data`, calling `done(status, body_bytes_seen)` after each complete final
    /// (non-1xx) response.
    pub(crate) fn feed(
        &mut self,
        mut data: &[u8],
        done: &mut impl FnMut(u16),
    ) -> Result<(), FramingError> {
        while !data.is_empty() {
            match self.state {
                State::Head => {
                    // Up to and including the blank line ending the head.
                    let before = self.line.len();
                    self.line.extend_from_slice(data);
                    let search_from = before.saturating_sub(3);
                    match find(&self.line[search_from..], b"\r\n\r\n") {
                        Some(at) => {
                            let end = search_from + at + 4;
                            let used = end - before;
                            self.line.truncate(end);
                            data = &data[used..];
                            let head = std::mem::take(&mut self.line);
                            self.head(&head, done)?;
                        }
                        None => {
                            if self.line.len() > MAX_HEAD {
                                return bad(format!("response head longer than {MAX_HEAD} bytes"));
                            }
                            return Ok(());
                        }
                    }
                }
                State::Body(left) => {
                    let take = left.min(data.len() as u64);
                    data = &data[take as usize..];
                    if take == left {
                        self.finish(done);
                    } else {
                        self.state = State::Body(left - take);
                    }
                }
                State::ChunkSize | State::Trailers => {
                    let Some(nl) = data.iter().position(|&b| b == b'\n') else {
                        self.line.extend_from_slice(data);
                        if self.line.len() > MAX_LINE {
                            return bad("chunk-size or trailer line too long");
                        }
                        return Ok(());
                    };
                    self.line.extend_from_slice(&data[..=nl]);
                    data = &data[nl + 1..];
                    let line = std::mem::take(&mut self.line);
                    let Some(line) = line.strip_suffix(b"\r\n") else {
                        return bad("chunk-size or trailer line not ended by CRLF");
                    };
                    if self.state == State::Trailers {
                        if line.is_empty() {
                            self.finish(done);
                        }
                        continue;
                    }
                    let digits = line.split(|&b| b == b';').next().unwrap_or_default();
                    let digits = std::str::from_utf8(digits).unwrap_or("?").trim_end();
                    let size = match u64::from_str_radix(digits, 16) {
                        Ok(n) if !digits.is_empty() && !digits.starts_with('+') => n,
                        _ => return bad(format!("bad chunk size {digits:?}")),
                    };
                    self.state = if size == 0 {
                        State::Trailers
                    } else {
                        State::ChunkData(size)
                    };
                }
                State::ChunkData(left) => {
                    let take = left.min(data.len() as u64);
                    data = &data[take as usize..];
                    self.state = if take == left {
                        State::ChunkEnd(0)
                    } else {
                        State::ChunkData(left - take)
                    };
                }
                State::ChunkEnd(seen) => {
                    let want = b"\r\n"[seen as usize];
                    if data[0] != want {
                        return bad("chunk data not followed by CRLF");
                    }
                    data = &data[1..];
                    self.state = if seen == 0 {
                        State::ChunkEnd(1)
                    } else {
                        State::ChunkSize
                    };
                }
            }
        }
        Ok(())
    }

    fn finish(&mut self, done: &mut impl FnMut(u16)) {
        self.state = State::Head;
        done(self.status);
    }

    fn head(&mut self, head: &[u8], done: &mut impl FnMut(u16)) -> Result<(), FramingError> {
        let text = match std::str::from_utf8(head) {
            Ok(t) => t,
            Err(_) => return bad("response head is not UTF-8"),
        };
        let mut lines = text[..text.len() - 4].split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status = parse_status_line(status_line)?;
        let mut length: Option<u64> = None;
        let mut chunked = false;
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                return bad(format!("header line without a colon: {line:?}"));
            };
            if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c.is_control()) {
                return bad(format!("bad header name {name:?}"));
            }
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                let n: u64 = match value.parse() {
                    Ok(n) if value.bytes().all(|b| b.is_ascii_digit()) => n,
                    _ => return bad(format!("bad Content-Length {value:?}")),
                };
                if length.is_some_and(|l| l != n) {
                    return bad("two different Content-Length headers");
                }
                length = Some(n);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                let last = value.rsplit(',').next().unwrap_or_default().trim();
                if !last.eq_ignore_ascii_case("chunked") {
                    return bad(format!(
                        "Transfer-Encoding {value:?} does not end in chunked"
                    ));
                }
                chunked = true;
            }
        }
        self.status = status;
        if (100..200).contains(&status) {
            // An interim response: the final one follows.
            return Ok(());
        }
        if status == 204 || status == 304 {
            self.finish(done);
        } else if chunked {
            self.state = State::ChunkSize;
        } else if let Some(n) = length {
            if n == 0 {
                self.finish(done);
            } else {
                self.state = State::Body(n);
            }
        } else {
            return bad(format!(
                "status {status} response with neither Content-Length nor chunked encoding \
                 (its end cannot be found on a kept-alive connection)"
            ));
        }
        Ok(())
    }
}

/// `HTTP/1.1 200 OK` → 200.
fn parse_status_line(line: &str) -> Result<u16, FramingError> {
    let rest = match line.strip_prefix("HTTP/1.") {
        Some(r) if r.starts_with(['0', '1']) => &r[1..],
        _ => return bad(format!("bad status line {line:?}")),
    };
    let code = rest.strip_prefix(' ').unwrap_or("");
    let digits = code.get(..3).unwrap_or("");
    let after = code.get(3..).unwrap_or("x");
    if digits.len() != 3
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || !(after.is_empty() || after.starts_with(' '))
    {
        return bad(format!("bad status line {line:?}"));
    }
    digits
        .parse()
        .map_err(|_| FramingError(format!("bad status line {line:?}")))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CL: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: x\r\n\r\nhello";
    const CHUNKED: &[u8] = b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n\
        5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: y\r\n\r\n";
    const EMPTY: &[u8] = b"HTTP/1.0 304 Not Modified\r\nContent-Length: 99\r\n\r\n";

    fn statuses(data: &[u8], chunk: usize) -> Result<Vec<u16>, FramingError> {
        let mut p = ResponseParser::new();
        let mut out = Vec::new();
        for piece in data.chunks(chunk) {
            p.feed(piece, &mut |s| out.push(s))?;
        }
        assert!(p.idle(), "ends between responses");
        Ok(out)
    }

    #[test]
    fn pipelined_responses_in_any_chunking() {
        let all = [CL, CHUNKED, EMPTY, b"HTTP/1.1 100 Continue\r\n\r\n", CL].concat();
        for chunk in [1, 2, 3, 7, 64, all.len()] {
            assert_eq!(
                statuses(&all, chunk).unwrap(),
                [200, 201, 304, 200],
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn mid_response_is_not_idle() {
        let mut p = ResponseParser::new();
        p.feed(&CL[..CL.len() - 1], &mut |_| panic!("not yet"))
            .unwrap();
        assert!(!p.idle());
    }

    #[test]
    fn broken_framing_is_named() {
        let err = |d: &[u8]| statuses(d, 5).unwrap_err().0;
        assert!(err(b"HTTP/2 200 OK\r\n\r\n").contains("bad status line"));
        assert!(err(b"HTTP/1.1 20 OK\r\n\r\n").contains("bad status line"));
        assert!(err(b"HTTP/1.1 200 OK\r\nServer x\r\n\r\n").contains("without a colon"));
        assert!(err(b"HTTP/1.1 200 OK\r\n\r\n").contains("neither Content-Length"));
        assert!(
            err(b"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n").contains("bad Content-Length")
        );
        assert!(
            err(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\ncontent-length: 2\r\n\r\n")
                .contains("two different")
        );
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert!(err(&[&chunked[..], b"zz\r\n"].concat()).contains("bad chunk size"));
        assert!(err(&[&chunked[..], b"2\r\nabX\n"].concat()).contains("not followed by CRLF"));
        assert!(err(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n").contains("chunked"));
    }
}
