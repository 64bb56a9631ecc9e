//! Batched datagram I/O: [`RecvBatch`] receives up to its capacity of datagrams in one
//! `recvmmsg(2)` and [`SendBatch`] sends up to its capacity in one `sendmmsg(2)` (Linux and
//! Android). Elsewhere both keep the same interface and loop over `recvmsg` / `sendto`,
//! stopping at the first error, so callers need no second code path.
//!
//! Both own their kernel headers (`mmsghdr`, `iovec`, `sockaddr_storage` arrays), allocated
//! once by `new`: a call allocates nothing. The data buffers are the caller's and are only
//! borrowed for the duration of a call.
//!
//! Tests: unit tests below (127.0.0.1, port 0).

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsFd;

/// Where one received datagram landed, and what the kernel said about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Received {
    /// Index of the buffer (in the `bufs` given to [`RecvBatch::recv`]) holding it.
    pub buf: usize,
    /// Offset of its first byte in that buffer.
    pub offset: usize,
    /// Its length (at most the slot size).
    pub len: usize,
    /// True if it was longer than the slot: only `len` bytes were kept, the rest is lost.
    pub truncated: bool,
    /// Who sent it (`None` if the kernel gave no IP address, which does not happen for UDP).
    pub addr: Option<SocketAddr>,
}

/// True where [`RecvBatch`] and [`SendBatch`] make one system call per batch
/// (`recvmmsg` / `sendmmsg`); false where they loop over single-datagram calls.
pub const NATIVE_BATCHING: bool = cfg!(any(target_os = "linux", target_os = "android"));

/// Receives several datagrams in one `recvmmsg(2)` (Linux, Android; elsewhere a `recvmsg`
/// loop with the same interface). The kernel headers are allocated once, by `new`.
pub struct RecvBatch {
    results: Vec<Received>,
    capacity: usize,
    #[cfg(any(target_os = "linux", target_os = "android"))]
    sys: linux::Headers,
}

impl RecvBatch {
    /// A batch of up to `capacity` datagrams per call (at least 1).
    pub fn new(capacity: usize) -> RecvBatch {
        let capacity = capacity.max(1);
        RecvBatch {
            results: Vec::with_capacity(capacity),
            capacity,
            #[cfg(any(target_os = "linux", target_os = "android"))]
            sys: linux::Headers::new(capacity),
        }
    }

    /// The most datagrams one call receives.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Receives up to `capacity` datagrams, each into a `slot`-byte slot: `bufs` are cut
    /// into slots in order (a buffer shorter than `slot` holds none, the tail of a buffer
    /// that is not a multiple of `slot` is unused). Returns how many arrived; see
    /// [`get`](RecvBatch::get). A datagram longer than `slot` is kept truncated and marked.
    ///
    /// # Errors
    ///
    /// `WouldBlock` if none is queued; `ConnectionRefused` on a connected socket after an
    /// ICMP port-unreachable (reported once, by the call that would have returned the
    /// first datagram after it); `InvalidInput` if `slot` is 0 or `bufs` hold no slot.
    pub fn recv<B: AsMut<[u8]>>(
        &mut self,
        fd: impl AsFd,
        bufs: &mut [B],
        slot: usize,
    ) -> io::Result<usize> {
        self.results.clear();
        if slot == 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "slot size 0"));
        }
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            self.sys
                .recv(fd.as_fd(), bufs, slot, self.capacity, &mut self.results)
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            let mut n = 0;
            for (b, buf) in bufs.iter_mut().enumerate() {
                let buf = buf.as_mut();
                for offset in (0..buf.len() / slot).map(|k| k * slot) {
                    if n == self.capacity {
                        return Ok(n);
                    }
                    match super::recv_msg(&fd, &mut buf[offset..offset + slot]) {
                        Ok((len, addr, truncated)) => self.results.push(Received {
                            buf: b,
                            offset,
                            len,
                            truncated,
                            addr: Some(addr),
                        }),
                        Err(e) if n == 0 => return Err(e),
                        Err(_) => return Ok(n),
                    }
                    n += 1;
                }
            }
            if n == 0 {
                return Err(no_slot());
            }
            Ok(n)
        }
    }

    /// The `i`th datagram of the last [`recv`](RecvBatch::recv).
    pub fn get(&self, i: usize) -> Option<Received> {
        self.results.get(i).copied()
    }

    /// How many datagrams the last call received.
    pub fn len(&self) -> usize {
        self.results.len()
    }

    /// True if the last call received nothing.
    pub fn is_empty(&self) -> bool {
        self.results.is_empty()
    }
}

impl fmt::Debug for RecvBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvBatch")
            .field("capacity", &self.capacity)
            .field("received", &self.results.len())
            .finish()
    }
}

/// Sends several datagrams in one `sendmmsg(2)` (Linux, Android; elsewhere a `sendto`
/// loop with the same interface). The kernel headers are allocated once, by `new`.
pub struct SendBatch {
    capacity: usize,
    #[cfg(any(target_os = "linux", target_os = "android"))]
    sys: linux::Headers,
}

impl SendBatch {
    /// A batch of up to `capacity` datagrams per call (at least 1).
    pub fn new(capacity: usize) -> SendBatch {
        let capacity = capacity.max(1);
        SendBatch {
            capacity,
            #[cfg(any(target_os = "linux", target_os = "android"))]
            sys: linux::Headers::new(capacity),
        }
    }

    /// The most datagrams one call sends.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Sends the first `capacity` datagrams of `msgs` (payload, destination; `None` for a
    /// connected socket's peer), in order. Returns how many the kernel took: fewer than
    /// offered means the next one failed, and sending it again reports why. `Ok(0)` for no
    /// datagram.
    ///
    /// # Errors
    ///
    /// The first datagram's error: `WouldBlock` when the send buffer is full,
    /// `ConnectionRefused` after an ICMP port-unreachable on a connected socket, `EMSGSIZE`
    /// for one too large, `EACCES` for a broadcast without `SO_BROADCAST`.
    pub fn send<'a, I>(&mut self, fd: impl AsFd, msgs: I) -> io::Result<usize>
    where
        I: IntoIterator<Item = (&'a [u8], Option<SocketAddr>)>,
    {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            self.sys.send(fd.as_fd(), msgs, self.capacity)
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            let mut n = 0;
            for (data, addr) in msgs.into_iter().take(self.capacity) {
                let sent = match addr {
                    Some(addr) => super::send_to(&fd, data, addr),
                    None => super::send_connected(&fd, data),
                };
                match sent {
                    Ok(_) => n += 1,
                    Err(e) if n == 0 => return Err(e),
                    Err(_) => break,
                }
            }
            Ok(n)
        }
    }
}

impl fmt::Debug for SendBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendBatch")
            .field("capacity", &self.capacity)
            .finish()
    }
}

fn no_slot() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "the buffers hold no slot of that size",
    )
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod linux {
    use std::io;
    use std::mem::{size_of, zeroed};
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
    use std::os::fd::{AsRawFd, BorrowedFd};
    use std::ptr;

    use super::{no_slot, Received};

    /// The kernel-facing arrays, one entry per datagram of a batch.
    pub(super) struct Headers {
        headers: Vec<libc::mmsghdr>,
        iovecs: Vec<libc::iovec>,
        names: Vec<libc::sockaddr_storage>,
    }

    impl Headers {
        pub(super) fn new(capacity: usize) -> Headers {
            // SAFETY: mmsghdr, iovec and sockaddr_storage are plain C structs for which all
            // zero bytes is a valid value (null pointers, zero lengths, AF_UNSPEC).
            let zero = || unsafe { zeroed::<libc::mmsghdr>() };
            Headers {
                headers: (0..capacity).map(|_| zero()).collect(),
                iovecs: (0..capacity)
                    .map(|_| libc::iovec {
                        iov_base: ptr::null_mut(),
                        iov_len: 0,
                    })
                    .collect(),
                // SAFETY: as above.
                names: (0..capacity).map(|_| unsafe { zeroed() }).collect(),
            }
        }

        /// Points header `i` at iovec `i` and (if `name`) at address storage `i`.
        fn link(&mut self, i: usize, name_len: usize) {
            let h = &mut self.headers[i].msg_hdr;
            h.msg_iov = &mut self.iovecs[i];
            h.msg_iovlen = 1;
            h.msg_control = ptr::null_mut();
            h.msg_controllen = 0;
            h.msg_flags = 0;
            if name_len == 0 {
                h.msg_name = ptr::null_mut();
            } else {
                h.msg_name = (&mut self.names[i] as *mut libc::sockaddr_storage).cast();
            }
            h.msg_namelen = name_len as libc::socklen_t;
            self.headers[i].msg_len = 0;
        }

        pub(super) fn recv<B: AsMut<[u8]>>(
            &mut self,
            fd: BorrowedFd<'_>,
            bufs: &mut [B],
            slot: usize,
            capacity: usize,
            results: &mut Vec<Received>,
        ) -> io::Result<usize> {
            let mut n = 0;
            'fill: for (b, buf) in bufs.iter_mut().enumerate() {
                let buf = buf.as_mut();
                for offset in (0..buf.len() / slot).map(|k| k * slot) {
                    if n == capacity {
                        break 'fill;
                    }
                    self.iovecs[n] = libc::iovec {
                        iov_base: buf[offset..].as_mut_ptr().cast(),
                        iov_len: slot,
                    };
                    self.link(n, size_of::<libc::sockaddr_storage>());
                    results.push(Received {
                        buf: b,
                        offset,
                        len: 0,
                        truncated: false,
                        addr: None,
                    });
                    n += 1;
                }
            }
            if n == 0 {
                return Err(no_slot());
            }
            let got = loop {
                // SAFETY: the first `n` headers point at live iovecs and address storages
                // owned by `self`, and each iovec at `slot` writable bytes inside one of
                // `bufs`, which stay mutably borrowed for this whole call. The kernel writes
                // at most `iov_len` bytes per iovec and `msg_namelen` bytes per address.
                let r = unsafe {
                    libc::recvmmsg(
                        fd.as_raw_fd(),
                        self.headers.as_mut_ptr(),
                        n as _,
                        libc::MSG_DONTWAIT as _,
                        ptr::null_mut(),
                    )
                };
                if r >= 0 {
                    break r as usize;
                }
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    results.clear();
                    return Err(e);
                }
            };
            results.truncate(got);
            for (i, r) in results.iter_mut().enumerate() {
                let h = &self.headers[i];
                r.len = (h.msg_len as usize).min(slot);
                r.truncated = h.msg_hdr.msg_flags & libc::MSG_TRUNC != 0;
                r.addr = from_storage(&self.names[i], h.msg_hdr.msg_namelen);
            }
            Ok(got)
        }

        pub(super) fn send<'a, I>(
            &mut self,
            fd: BorrowedFd<'_>,
            msgs: I,
            capacity: usize,
        ) -> io::Result<usize>
        where
            I: IntoIterator<Item = (&'a [u8], Option<SocketAddr>)>,
        {
            let mut n = 0;
            for (data, addr) in msgs.into_iter().take(capacity) {
                self.iovecs[n] = libc::iovec {
                    // sendmmsg only reads through it.
                    iov_base: data.as_ptr().cast_mut().cast(),
                    iov_len: data.len(),
                };
                let name_len = match addr {
                    Some(addr) => to_storage(&addr, &mut self.names[n]),
                    None => 0,
                };
                self.link(n, name_len);
                n += 1;
            }
            if n == 0 {
                return Ok(0);
            }
            loop {
                // SAFETY: the first `n` headers point at live iovecs and address storages
                // owned by `self`; each iovec points at the bytes of a `&[u8]` from `msgs`,
                // borrowed for 'a, which outlives this call. The kernel only reads them.
                let r = unsafe {
                    libc::sendmmsg(
                        fd.as_raw_fd(),
                        self.headers.as_mut_ptr(),
                        n as _,
                        (libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL) as _,
                    )
                };
                if r >= 0 {
                    return Ok(r as usize);
                }
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }

    /// Writes `addr` into `storage` in the kernel's form; returns its length.
    fn to_storage(addr: &SocketAddr, storage: &mut libc::sockaddr_storage) -> usize {
        match addr {
            SocketAddr::V4(a) => {
                let sin = libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: a.port().to_be(),
                    sin_addr: libc::in_addr {
                        s_addr: u32::from(*a.ip()).to_be(),
                    },
                    sin_zero: [0; 8],
                };
                // SAFETY: sockaddr_storage is larger than and aligned for every sockaddr
                // type, sockaddr_in included; we write one whole value into it.
                unsafe { ptr::write((storage as *mut libc::sockaddr_storage).cast(), sin) };
                size_of::<libc::sockaddr_in>()
            }
            SocketAddr::V6(a) => {
                let sin6 = libc::sockaddr_in6 {
                    sin6_family: libc::AF_INET6 as libc::sa_family_t,
                    sin6_port: a.port().to_be(),
                    sin6_flowinfo: a.flowinfo().to_be(),
                    sin6_addr: libc::in6_addr {
                        s6_addr: a.ip().octets(),
                    },
                    sin6_scope_id: a.scope_id(),
                };
                // SAFETY: as for IPv4, with sockaddr_in6.
                unsafe { ptr::write((storage as *mut libc::sockaddr_storage).cast(), sin6) };
                size_of::<libc::sockaddr_in6>()
            }
        }
    }

    /// Reads an IP address the kernel wrote into `storage` (`len` bytes).
    fn from_storage(storage: &libc::sockaddr_storage, len: libc::socklen_t) -> Option<SocketAddr> {
        let len = len as usize;
        match storage.ss_family as libc::c_int {
            libc::AF_INET if len >= size_of::<libc::sockaddr_in>() => {
                // SAFETY: the family says the kernel wrote a sockaddr_in there (and `len`
                // confirms its size); the storage is aligned for it.
                let sin = unsafe {
                    &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>()
                };
                let ip = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
                Some(SocketAddr::V4(SocketAddrV4::new(
                    ip,
                    u16::from_be(sin.sin_port),
                )))
            }
            libc::AF_INET6 if len >= size_of::<libc::sockaddr_in6>() => {
                // SAFETY: as for IPv4, with sockaddr_in6.
                let sin6 = unsafe {
                    &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
                };
                Some(SocketAddr::V6(SocketAddrV6::new(
                    Ipv6Addr::from(sin6.sin6_addr.s6_addr),
                    u16::from_be(sin6.sin6_port),
                    u32::from_be(sin6.sin6_flowinfo),
                    sin6.sin6_scope_id,
                )))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::socket::test_util::ready;
    use crate::socket::{local_addr, udp_bind, udp_connect};
    use rustix::event::PollFlags;

    #[test]
    fn a_burst_arrives_in_one_batch_with_truncation_and_empty_datagrams() {
        for any in ["127.0.0.1:0", "[::1]:0"] {
            let any: SocketAddr = any.parse().unwrap();
            let Ok(a) = udp_bind(any) else { continue }; // no IPv6 here
            let b = udp_bind(any).unwrap();
            let (at, bt) = (local_addr(&a).unwrap(), local_addr(&b).unwrap());
            let mut tx = SendBatch::new(8);
            let big = [7u8; 100];
            let msgs: [&[u8]; 4] = [b"one", b"", &big, b"four"];
            let sent = tx.send(&a, msgs.iter().map(|m| (*m, Some(bt)))).unwrap();
            assert_eq!(sent, 4);
            assert!(ready(&b, PollFlags::IN));
            let mut rx = RecvBatch::new(16);
            let mut bufs = [vec![0u8; 100], vec![0u8; 64]];
            let n = rx.recv(&b, &mut bufs, 32).unwrap();
            assert!((1..=4).contains(&n));
            let mut got = Vec::new();
            for i in 0..n {
                let r = rx.get(i).unwrap();
                assert_eq!(r.addr, Some(at));
                got.push((
                    bufs[r.buf][r.offset..r.offset + r.len].to_vec(),
                    r.truncated,
                ));
            }
            while got.len() < 4 {
                assert!(ready(&b, PollFlags::IN));
                let n = rx.recv(&b, &mut bufs, 32).unwrap();
                for i in 0..n {
                    let r = rx.get(i).unwrap();
                    got.push((
                        bufs[r.buf][r.offset..r.offset + r.len].to_vec(),
                        r.truncated,
                    ));
                }
            }
            assert_eq!(got[0], (b"one".to_vec(), false));
            assert_eq!(got[1], (Vec::new(), false));
            assert_eq!(got[2], (vec![7u8; 32], true));
            assert_eq!(got[3], (b"four".to_vec(), false));
            let e = rx.recv(&b, &mut bufs, 32).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
        }
    }

    #[test]
    fn connected_sends_and_refusals() {
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let a = udp_bind(any).unwrap();
        let gone = udp_bind(any).unwrap();
        let gone_at = local_addr(&gone).unwrap();
        drop(gone);
        udp_connect(&a, gone_at).unwrap();
        let mut tx = SendBatch::new(4);
        assert_eq!(tx.send(&a, [(&b"x"[..], None)]).unwrap(), 1);
        assert!(ready(&a, PollFlags::IN));
        let mut rx = RecvBatch::new(4);
        let mut bufs = [vec![0u8; 64]];
        let e = rx.recv(&a, &mut bufs, 64).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
        assert_eq!(tx.send(&a, std::iter::empty()).unwrap(), 0);
        assert_eq!(
            rx.recv(&a, &mut bufs, 0).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }
}
