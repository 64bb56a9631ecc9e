//! TCP echo server on raw mio, one thread: the care a good mio user would take.
//!
//! * mio is edge-triggered: each socket is registered once for READABLE | WRITABLE and
//!   never re-registered (no `epoll_ctl` per message).
//! * On readable: read until `WouldBlock` into one shared 64 KiB buffer (torsion's read
//!   buffer size); each chunk read is written straight back.
//! * A short write keeps the rest in the connection's output buffer; reading stops while
//!   that buffer is not empty (backpressure), and the writable event flushes it and then
//!   resumes reading (the readable edge may have gone by meanwhile).
//!
//! `mio_echo PORT [ADDR]` (ADDR defaults to 127.0.0.1; PORT 0 picks a free port).
//! Prints `mio_echo listening on ADDR:PORT` on stderr. Runs until killed. No TCP_NODELAY,
//! like torsion's and tokio's defaults.

use std::io::{self, ErrorKind, Read, Write};
use std::net::SocketAddr;

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

const LISTENER: Token = Token(usize::MAX);
const BUF_SIZE: usize = 64 * 1024;

struct Conn {
    stream: TcpStream,
    /// Bytes read but not yet written back; `out[pos..]` is pending.
    out: Vec<u8>,
    pos: usize,
    /// Reading stopped because `out` was not empty.
    read_paused: bool,
}

enum Next {
    Keep,
    Close,
}

impl Conn {
    fn pending(&self) -> bool {
        self.pos < self.out.len()
    }

    /// Writes what is pending; `Ok(true)` once nothing is left.
    fn flush(&mut self) -> io::Result<bool> {
        while self.pending() {
            match self.stream.write(&self.out[self.pos..]) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(n) => self.pos += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.out.clear();
        self.pos = 0;
        Ok(true)
    }

    /// Writes `data` back at once if nothing is queued, queueing what the socket refuses.
    fn echo(&mut self, data: &[u8]) -> io::Result<()> {
        let mut done = 0;
        while done < data.len() {
            match self.stream.write(&data[done..]) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(n) => done += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.out.extend_from_slice(&data[done..]);
        Ok(())
    }

    /// Reads until `WouldBlock` (or until a write is refused), echoing each chunk.
    fn read_loop(&mut self, buf: &mut [u8]) -> io::Result<Next> {
        loop {
            if self.pending() {
                self.read_paused = true;
                return Ok(Next::Keep);
            }
            match self.stream.read(buf) {
                Ok(0) => return Ok(Next::Close),
                Ok(n) => self.echo(&buf[..n])?,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(Next::Keep),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn on_event(&mut self, event: &mio::event::Event, buf: &mut [u8]) -> io::Result<Next> {
        let mut resume = false;
        if self.pending() && event.is_writable() {
            if !self.flush()? {
                return Ok(Next::Keep);
            }
            resume = std::mem::take(&mut self.read_paused);
        }
        if resume || event.is_readable() || event.is_read_closed() || event.is_error() {
            return self.read_loop(buf);
        }
        Ok(Next::Keep)
    }
}

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| usage());
    let host = args.next().unwrap_or_else(|| "127.0.0.1".to_string());
    let addr: SocketAddr = format!("{host}:{port}").parse().unwrap_or_else(|_| usage());

    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(1024);
    let mut listener = TcpListener::bind(addr)?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    eprintln!("mio_echo listening on {}", listener.local_addr()?);

    let mut conns: Vec<Option<Conn>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut buf = vec![0u8; BUF_SIZE];

    loop {
        if let Err(e) = poll.poll(&mut events, None) {
            if e.kind() == ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        for event in events.iter() {
            if event.token() == LISTENER {
                loop {
                    match listener.accept() {
                        Ok((mut stream, _)) => {
                            let i = free.pop().unwrap_or_else(|| {
                                conns.push(None);
                                conns.len() - 1
                            });
                            poll.registry().register(
                                &mut stream,
                                Token(i),
                                Interest::READABLE | Interest::WRITABLE,
                            )?;
                            conns[i] = Some(Conn {
                                stream,
                                out: Vec::new(),
                                pos: 0,
                                read_paused: false,
                            });
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == ErrorKind::Interrupted => {}
                        Err(e) => {
                            // EMFILE and friends: drop this round; level of a benchmark peer.
                            eprintln!("accept: {e}");
                            break;
                        }
                    }
                }
                continue;
            }
            let i = event.token().0;
            let Some(conn) = conns.get_mut(i).and_then(Option::as_mut) else {
                continue;
            };
            match conn.on_event(event, &mut buf) {
                Ok(Next::Keep) => {}
                Ok(Next::Close) | Err(_) => {
                    // Closing the fd removes it from the epoll set.
                    conns[i] = None;
                    free.push(i);
                }
            }
        }
    }
}

fn usage() -> ! {
    eprintln!("usage: mio_echo PORT [ADDR]");
    std::process::exit(2)
}
