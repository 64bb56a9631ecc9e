//! Streaming a file (or ranges of it) through the producer API: a pull producer that
//! reads one piece each time the connection's buffer empties, so a large file is never
//! read into memory and a slow reader holds the server back to one piece.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::rc::Rc;

use crate::transport::{Producer, PullProducer};
use crate::web::Request;

/// Bytes read and written per `resume_producing`.
pub const PIECE: usize = 64 * 1024;

/// One part of the body: literal bytes (multipart headers) or a span of the file.
#[derive(Debug)]
pub(crate) enum Piece {
    Bytes(Vec<u8>),
    Span { offset: u64, len: u64 },
}

struct State {
    file: File,
    pieces: VecDeque<Piece>,
    buf: Vec<u8>,
    done: bool,
}

pub(crate) struct FileProducer {
    request: Request,
    st: RefCell<State>,
}

impl FileProducer {
    /// Streams `pieces` of `file` as the body of `request`, then finishes it.
    pub(crate) fn start(request: &Request, file: File, pieces: Vec<Piece>) {
        let producer = Rc::new(FileProducer {
            request: request.clone(),
            st: RefCell::new(State {
                file,
                pieces: pieces.into(),
                buf: Vec::new(),
                done: false,
            }),
        });
        if request
            .register_producer(Producer::Pull(producer.clone()))
            .is_err()
        {
            // Another producer, or the client is gone: write it the simple way.
            while !producer.st.borrow().done {
                producer.resume_producing();
            }
        }
    }
}

impl PullProducer for FileProducer {
    fn resume_producing(&self) {
        let mut st = self.st.borrow_mut();
        if st.done {
            return;
        }
        let next = st.pieces.pop_front();
        let st = &mut *st;
        match next {
            None => {
                st.done = true;
                self.request.unregister_producer();
                self.request.finish();
            }
            Some(Piece::Bytes(b)) => self.request.write(&b),
            Some(Piece::Span { offset, len }) => {
                let n = (len as usize).min(PIECE);
                st.buf.resize(n, 0);
                let read = st
                    .file
                    .seek(SeekFrom::Start(offset))
                    .and_then(|_| st.file.read_exact(&mut st.buf));
                if let Err(e) = read {
                    log::error!("reading a static file failed: {e}");
                    st.done = true;
                    st.pieces.clear();
                    self.request
                        .processing_failed(&crate::defer::Failure::new(e));
                    return;
                }
                self.request.write(&st.buf);
                if len as usize > n {
                    st.pieces.push_front(Piece::Span {
                        offset: offset + n as u64,
                        len: len - n as u64,
                    });
                }
            }
        }
    }

    fn stop_producing(&self) {
        let mut st = self.st.borrow_mut();
        st.done = true;
        st.pieces.clear();
    }
}
