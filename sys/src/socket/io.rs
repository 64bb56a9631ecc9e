//! Reading, writing and inspecting connected sockets (and, for `read`/`write`, any
//! descriptor).
//!
//! Tests: unit tests below.

use std::io::{self, IoSlice, IoSliceMut};
use std::net::SocketAddr;
use std::os::fd::AsFd;

use rustix::net::{SendAncillaryBuffer, Shutdown};

use super::{nosignal, retry, to_std};

/// Reads into `buf`. `Ok(0)` is end of file (or an empty `buf`).
///
/// # Errors
///
/// `WouldBlock` when nothing is available; `ConnectionReset` and friends on a broken
/// connection.
pub fn read(fd: impl AsFd, buf: &mut [u8]) -> io::Result<usize> {
    retry(|| rustix::io::read(&fd, &mut *buf))
}

/// Receives into `buf` from a connected socket (`recv` with no flags): what [`read`] does,
/// minus the file layer's work per call (position lock check, access notification), which
/// a socket does not need. `Ok(0)` is the peer's orderly shutdown (or an empty `buf`).
///
/// # Errors
///
/// As [`read`]; `NotASocket` (ENOTSOCK) for a descriptor that is not a socket.
pub fn recv(fd: impl AsFd, buf: &mut [u8]) -> io::Result<usize> {
    // (rustix gives the bytes received and, for MSG_TRUNC, the datagram's full length.)
    retry(|| rustix::net::recv(&fd, &mut *buf, rustix::net::RecvFlags::empty()).map(|(n, _)| n))
}

/// Reads into several buffers in order (`readv`).
///
/// # Errors
///
/// As [`read`].
pub fn readv(fd: impl AsFd, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
    retry(|| rustix::io::readv(&fd, bufs))
}

/// Writes from `buf` (`write`), returning how much was taken. Can raise `SIGPIPE` on a
/// socket whose peer is gone unless the process ignores it; prefer [`send_nosignal`] for
/// sockets.
///
/// # Errors
///
/// `WouldBlock` when the send buffer is full; `BrokenPipe` on a closed connection.
pub fn write(fd: impl AsFd, buf: &[u8]) -> io::Result<usize> {
    retry(|| rustix::io::write(&fd, buf))
}

/// Writes from several buffers in order (`writev`). The `SIGPIPE` caveat of [`write()`]
/// applies; [`sendv_nosignal`] avoids it.
///
/// # Errors
///
/// As [`write()`].
pub fn writev(fd: impl AsFd, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    retry(|| rustix::io::writev(&fd, bufs))
}

/// Sends `buf` on a connected socket without ever raising `SIGPIPE`: `MSG_NOSIGNAL`, or on
/// Apple platforms the `SO_NOSIGPIPE` option that this module's constructors set.
///
/// # Errors
///
/// As [`write()`]; a closed connection gives `BrokenPipe` (or `ConnectionReset`).
///
/// # Portability
///
/// On Apple platforms, a socket not made by this module needs `SO_NOSIGPIPE` set by hand.
pub fn send_nosignal(fd: impl AsFd, buf: &[u8]) -> io::Result<usize> {
    retry(|| rustix::net::send(&fd, buf, nosignal()))
}

/// Sends several buffers in order on a connected socket (`sendmsg`) without raising
/// `SIGPIPE`, as [`send_nosignal`] does.
///
/// # Errors
///
/// As [`send_nosignal`].
pub fn sendv_nosignal(fd: impl AsFd, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    retry(|| {
        let mut control = SendAncillaryBuffer::default();
        rustix::net::sendmsg(&fd, bufs, &mut control, nosignal())
    })
}

/// Shuts down the writing side (`shutdown(SHUT_WR)`): the peer reads end of file once it
/// has read what was sent; this side can still read.
///
/// # Errors
///
/// `NotConnected` if the socket is not connected.
pub fn shutdown_write(fd: impl AsFd) -> io::Result<()> {
    Ok(rustix::net::shutdown(fd, Shutdown::Write)?)
}

/// Takes the socket's pending error (`SO_ERROR`), clearing it: `Ok(None)` if there was
/// none. After a non-blocking connect becomes writable, `None` means it connected.
///
/// # Errors
///
/// Only if `getsockopt` itself fails (not a socket).
pub fn take_error(fd: impl AsFd) -> io::Result<Option<io::Error>> {
    Ok(rustix::net::sockopt::socket_error(fd)?
        .err()
        .map(io::Error::from))
}

/// The IP address the socket is bound to (`getsockname`).
///
/// # Errors
///
/// `InvalidData` for a socket that is not IPv4 or IPv6; whatever `getsockname` fails with.
pub fn local_addr(fd: impl AsFd) -> io::Result<SocketAddr> {
    to_std(Some(rustix::net::getsockname(fd)?))
}

/// The IP address of the peer (`getpeername`).
///
/// # Errors
///
/// `NotConnected` if there is no peer; `InvalidData` for a socket that is not IPv4 or
/// IPv6.
pub fn peer_addr(fd: impl AsFd) -> io::Result<SocketAddr> {
    to_std(rustix::net::getpeername(fd)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::socket::socketpair;
    use crate::socket::test_util::ready;
    use rustix::event::PollFlags;

    #[test]
    fn vectored_round_trip() {
        let (a, b) = socketpair().unwrap();
        let n = writev(&a, &[IoSlice::new(b"hello, "), IoSlice::new(b"world")]).unwrap();
        assert_eq!(n, 12);
        let n = sendv_nosignal(&a, &[IoSlice::new(b"!"), IoSlice::new(b"?")]).unwrap();
        assert_eq!(n, 2);
        assert!(ready(&b, PollFlags::IN));
        let (mut x, mut y) = ([0u8; 5], [0u8; 16]);
        let n = readv(&b, &mut [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)]).unwrap();
        assert_eq!(n, 14);
        assert_eq!(&x, b"hello");
        assert_eq!(&y[..9], b", world!?");
    }

    #[test]
    fn would_block_when_empty_and_eof_after_close() {
        let (a, b) = socketpair().unwrap();
        let e = read(&b, &mut [0u8; 4]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
        write(&a, b"z").unwrap();
        drop(a);
        assert!(ready(&b, PollFlags::IN));
        let mut buf = [0u8; 4];
        assert_eq!(read(&b, &mut buf).unwrap(), 1);
        assert_eq!(read(&b, &mut buf).unwrap(), 0);
    }

    #[test]
    fn recv_reads_like_read_on_sockets_only() {
        let (a, b) = socketpair().unwrap();
        let e = recv(&b, &mut [0u8; 4]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
        send_nosignal(&a, b"abcdef").unwrap();
        assert!(ready(&b, PollFlags::IN));
        let mut buf = [0u8; 4];
        assert_eq!(recv(&b, &mut buf).unwrap(), 4);
        assert_eq!(&buf, b"abcd");
        assert_eq!(recv(&b, &mut buf).unwrap(), 2);
        assert_eq!(&buf[..2], b"ef");
        drop(a);
        assert_eq!(recv(&b, &mut buf).unwrap(), 0);
        let (r, _w) = rustix::pipe::pipe().unwrap();
        assert!(recv(&r, &mut buf).is_err(), "a pipe is not a socket");
    }

    #[test]
    fn a_full_send_buffer_would_block() {
        let (a, _b) = socketpair().unwrap();
        let chunk = [0u8; 65536];
        let mut total = 0usize;
        let err = loop {
            match send_nosignal(&a, &chunk) {
                Ok(n) => total += n,
                Err(e) => break e,
            }
            assert!(total < 1 << 30, "never filled");
        };
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        assert!(total > 0);
    }

    #[test]
    fn unix_sockets_have_no_ip_address() {
        let (a, _b) = socketpair().unwrap();
        assert_eq!(
            local_addr(&a).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        assert!(take_error(&a).unwrap().is_none());
    }
}
