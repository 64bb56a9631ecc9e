//! The `recvmmsg` / `sendmmsg` side of [`RecvBatch`](super::RecvBatch) and
//! [`SendBatch`](super::SendBatch): the kernel-facing header arrays.

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::ptr;

use super::{gso, no_slot, Received};

/// The kernel-facing arrays, one entry per datagram of a batch.
pub(super) struct Headers {
    headers: Vec<libc::mmsghdr>,
    iovecs: Vec<libc::iovec>,
    names: Vec<libc::sockaddr_storage>,
    /// One `UDP_SEGMENT` control message buffer per header (sends).
    controls: Vec<[u64; 4]>,
    /// Destinations of the datagrams of the current send.
    dests: Vec<Option<SocketAddr>>,
    /// Datagrams carried by each header of the current send.
    segments: Vec<usize>,
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
            controls: vec![[0; 4]; capacity],
            dests: Vec::with_capacity(capacity),
            segments: Vec::with_capacity(capacity),
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
        coalesce: bool,
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
                if coalesce {
                    let hdr = &mut self.headers[n].msg_hdr;
                    hdr.msg_control = self.controls[n].as_mut_ptr().cast();
                    hdr.msg_controllen = size_of::<[u64; 4]>() as _;
                }
                results.push(Received {
                    buf: b,
                    offset,
                    len: 0,
                    truncated: false,
                    addr: None,
                    segment_size: 0,
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
            if coalesce {
                r.segment_size = gro_size(&h.msg_hdr);
            }
        }
        Ok(got)
    }

    /// Sends up to `capacity` datagrams from `msgs` in one `sendmmsg`, returning how many
    /// datagrams (not headers) the kernel took. With `*segment` on, runs that
    /// [`gso::run_len`] allows leave as one header each carrying `UDP_SEGMENT`; a send
    /// the kernel refuses because of the segmentation is made again without it, and for
    /// errors that will not go away (`EIO`: the device cannot checksum for it) `*segment`
    /// is switched off for good.
    pub(super) fn send<'a, I>(
        &mut self,
        fd: BorrowedFd<'_>,
        msgs: I,
        capacity: usize,
        segment: &mut bool,
    ) -> io::Result<usize>
    where
        I: IntoIterator<Item = (&'a [u8], Option<SocketAddr>)>,
    {
        self.dests.clear();
        for (data, addr) in msgs.into_iter().take(capacity) {
            self.iovecs[self.dests.len()] = libc::iovec {
                // sendmmsg only reads through it.
                iov_base: data.as_ptr().cast_mut().cast(),
                iov_len: data.len(),
            };
            self.dests.push(addr);
        }
        if self.dests.is_empty() {
            return Ok(0);
        }
        let mut grouped = *segment;
        loop {
            let headers = self.build_send_headers(grouped);
            match self.sendmmsg(fd, headers) {
                Ok(sent) => return Ok(self.segments[..sent].iter().sum()),
                Err(e) if self.segments[0] > 1 => {
                    match e.raw_os_error() {
                        Some(libc::EIO | libc::ENOPROTOOPT | libc::EOPNOTSUPP) => *segment = false,
                        Some(libc::EINVAL | libc::EMSGSIZE) => {}
                        _ => return Err(e),
                    }
                    // The first header was a segmented run: send it as single datagrams.
                    grouped = false;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Points the headers at the iovecs filled by `send` (one datagram per header, or
    /// runs of them with `grouped`); returns the number of headers.
    fn build_send_headers(&mut self, grouped: bool) -> usize {
        let n = self.dests.len();
        self.segments.clear();
        let mut start = 0;
        while start < n {
            let k = if grouped {
                let lens = |i: usize| self.iovecs[start + i].iov_len;
                gso::run_len(n - start, lens, |i| {
                    self.dests[start + i] == self.dests[start]
                })
            } else {
                1
            };
            let h = self.segments.len();
            let name_len = match self.dests[start] {
                Some(addr) => to_storage(&addr, &mut self.names[h]),
                None => 0,
            };
            self.link(h, name_len);
            let hdr = &mut self.headers[h].msg_hdr;
            hdr.msg_iov = &mut self.iovecs[start];
            hdr.msg_iovlen = k as _;
            if k > 1 {
                let size = self.iovecs[start].iov_len as u16;
                let control = &mut self.controls[h];
                hdr.msg_control = control.as_mut_ptr().cast();
                hdr.msg_controllen = gso::control_len() as _;
                // SAFETY: `msg_control` points at `control`, 32 bytes aligned for
                // `cmsghdr`, and `msg_controllen` is CMSG_SPACE(2) <= 32, so the first
                // header and its two data bytes lie inside it.
                unsafe {
                    let cmsg = libc::CMSG_FIRSTHDR(hdr);
                    (*cmsg).cmsg_level = libc::SOL_UDP;
                    (*cmsg).cmsg_type = libc::UDP_SEGMENT;
                    (*cmsg).cmsg_len = libc::CMSG_LEN(2) as _;
                    ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<u16>(), size);
                }
            }
            self.segments.push(k);
            start += k;
        }
        self.segments.len()
    }

    /// One `sendmmsg` of the first `headers` headers; the number the kernel took.
    fn sendmmsg(&mut self, fd: BorrowedFd<'_>, headers: usize) -> io::Result<usize> {
        loop {
            // SAFETY: the first `headers` headers point at live iovecs, address storages
            // and control buffers owned by `self`; each iovec points at the bytes of a
            // `&[u8]` given to `send`, borrowed for the whole of that call. The kernel
            // only reads them.
            let r = unsafe {
                libc::sendmmsg(
                    fd.as_raw_fd(),
                    self.headers.as_mut_ptr(),
                    headers as _,
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

/// The segment size of a coalesced receive (the `UDP_GRO` control message), or 0.
#[allow(clippy::unnecessary_cast)] // msg_controllen is a socklen_t on musl
fn gro_size(hdr: &libc::msghdr) -> usize {
    if hdr.msg_control.is_null() || (hdr.msg_controllen as usize) < size_of::<libc::cmsghdr>() {
        return 0;
    }
    // SAFETY: the kernel wrote `msg_controllen` bytes of control messages into the
    // buffer `msg_control` points at (one of `controls`, alive and not otherwise
    // borrowed); CMSG_FIRSTHDR / CMSG_NXTHDR stay within that length, and a UDP_GRO
    // message carries an int, read unaligned.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(hdr);
        while !cmsg.is_null() {
            let want = libc::CMSG_LEN(size_of::<libc::c_int>() as _) as usize;
            if (*cmsg).cmsg_level == libc::SOL_UDP
                && (*cmsg).cmsg_type == libc::UDP_GRO
                && (*cmsg).cmsg_len as usize >= want
            {
                let size = ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<libc::c_int>());
                return usize::try_from(size).unwrap_or(0);
            }
            cmsg = libc::CMSG_NXTHDR(hdr, cmsg);
        }
    }
    0
}

/// Asks the kernel to hand over runs of same-sized datagrams from one sender as one
/// buffer with a `UDP_GRO` control message (Linux 5.0 and later).
pub(super) fn set_coalescing(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    let value: libc::c_int = on.into();
    // SAFETY: `value` is a live int of the size given; the kernel only reads it.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_UDP,
            libc::UDP_GRO,
            (&value as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Whether the kernel segments UDP sends for this socket (`getsockopt(UDP_SEGMENT)`
/// succeeds from Linux 4.18 on).
pub(super) fn segmentation_supported(fd: BorrowedFd<'_>) -> bool {
    let mut value: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `value` and `len` are live locals of the sizes given; the kernel writes at
    // most `len` bytes into `value`.
    let r = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_UDP,
            libc::UDP_SEGMENT,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    r == 0
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
            let sin =
                unsafe { &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
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
