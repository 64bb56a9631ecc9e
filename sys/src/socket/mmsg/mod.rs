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
    /// With coalescing on (see [`RecvBatch::set_coalescing`]): the size of each of the
    /// datagrams this buffer holds back to back (the last may be shorter); 0 when it
    /// holds one datagram. [`datagrams`](Received::datagrams) cuts it up.
    pub segment_size: usize,
}

impl Received {
    /// The datagrams this receive holds, as (offset in the buffer, length): one, or
    /// several when the kernel coalesced a run (see [`segment_size`](Received::segment_size)).
    pub fn datagrams(&self) -> impl Iterator<Item = (usize, usize)> {
        let (offset, len) = (self.offset, self.len);
        let step = if self.segment_size == 0 || self.segment_size >= len {
            len.max(1)
        } else {
            self.segment_size
        };
        let count = if len == 0 { 1 } else { len.div_ceil(step) };
        (0..count).map(move |k| (offset + k * step, step.min(len - k * step)))
    }
}

/// True where [`RecvBatch`] and [`SendBatch`] make one system call per batch
/// (`recvmmsg` / `sendmmsg`); false where they loop over single-datagram calls.
pub const NATIVE_BATCHING: bool = cfg!(any(target_os = "linux", target_os = "android"));

/// The smallest receive slot that holds any coalesced run (see
/// [`RecvBatch::set_coalescing`]): the largest UDP payload.
pub const COALESCED_SLOT: usize = 65_535;

/// Receives several datagrams in one `recvmmsg(2)` (Linux, Android; elsewhere a `recvmsg`
/// loop with the same interface). The kernel headers are allocated once, by `new`.
pub struct RecvBatch {
    results: Vec<Received>,
    capacity: usize,
    coalesce: bool,
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
            coalesce: false,
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
            self.sys.recv(
                fd.as_fd(),
                bufs,
                slot,
                self.capacity,
                self.coalesce,
                &mut self.results,
            )
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
                            segment_size: 0,
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

    /// Switches receive coalescing (UDP GRO, Linux 5.0 and later) on or off for `fd`, the
    /// socket this batch receives from. When on, the kernel may hand over a run of
    /// same-sized datagrams from one sender (sent as one segmented run, or merged by the
    /// network device) as one buffer; [`Received::datagrams`] cuts it back into the
    /// datagrams. A coalesced run can be up to 64 KiB, so only switch it on when every
    /// slot given to [`recv`](RecvBatch::recv) is at least [`COALESCED_SLOT`] bytes:
    /// with smaller slots the kernel would truncate runs. Returns whether it is on.
    ///
    /// # Errors
    ///
    /// Whatever `setsockopt` fails with (`ENOPROTOOPT` on kernels without it); elsewhere
    /// than Linux, `Unsupported` for `on`.
    pub fn set_coalescing(&mut self, fd: impl AsFd, on: bool) -> io::Result<bool> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            linux::set_coalescing(fd.as_fd(), on)?;
            self.coalesce = on;
            Ok(on)
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            let _ = fd;
            if on {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "UDP GRO is Linux's",
                ));
            }
            Ok(false)
        }
    }

    /// True while coalescing is on.
    pub fn coalescing(&self) -> bool {
        self.coalesce
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
    /// Send runs with `UDP_SEGMENT` (see [`set_segmentation`](SendBatch::set_segmentation)).
    segment: bool,
    #[cfg(any(target_os = "linux", target_os = "android"))]
    sys: linux::Headers,
}

impl SendBatch {
    /// A batch of up to `capacity` datagrams per call (at least 1).
    pub fn new(capacity: usize) -> SendBatch {
        let capacity = capacity.max(1);
        SendBatch {
            capacity,
            segment: false,
            #[cfg(any(target_os = "linux", target_os = "android"))]
            sys: linux::Headers::new(capacity),
        }
    }

    /// The most datagrams one call sends.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Switches UDP generic segmentation offload on or off (off by default; only Linux and
    /// Android have it, elsewhere this does nothing). When on, consecutive datagrams to
    /// one destination, all of one size but a shorter last one, leave as one header with
    /// a `UDP_SEGMENT` control message: the kernel's per-datagram send work is paid once
    /// per run of up to 64. Receivers see the same datagrams either way. Only switch it
    /// on for a socket where [`udp_segmentation_supported`](super::udp_segmentation_supported)
    /// said yes: a kernel without it would send a run as one big datagram. If the kernel
    /// refuses a segmented send (a path MTU below the segment size, a device that cannot
    /// checksum for it) the run is sent again datagram by datagram, and for a refusal
    /// that cannot change (`EIO`) segmentation switches itself off.
    pub fn set_segmentation(&mut self, on: bool) {
        self.segment = on && NATIVE_BATCHING;
    }

    /// True while segmentation is on (it may have switched itself off; see
    /// [`set_segmentation`](SendBatch::set_segmentation)).
    pub fn segmentation(&self) -> bool {
        self.segment
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
            self.sys
                .send(fd.as_fd(), msgs, self.capacity, &mut self.segment)
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
            .field("segmentation", &self.segment)
            .finish()
    }
}

/// True if the kernel can segment UDP sends on this socket (Linux 4.18 and later; false
/// on other platforms). See [`SendBatch::set_segmentation`].
pub fn udp_segmentation_supported(fd: impl AsFd) -> bool {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        linux::segmentation_supported(fd.as_fd())
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = fd;
        false
    }
}

fn no_slot() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "the buffers hold no slot of that size",
    )
}

mod gso;
#[cfg(any(target_os = "linux", target_os = "android"))]
mod linux;

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
    fn segmented_runs_arrive_as_the_same_datagrams() {
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let a = udp_bind(any).unwrap();
        let (b, c) = (udp_bind(any).unwrap(), udp_bind(any).unwrap());
        let (bt, ct) = (local_addr(&b).unwrap(), local_addr(&c).unwrap());
        let mut tx = SendBatch::new(64);
        tx.set_segmentation(udp_segmentation_supported(&a));
        if !tx.segmentation() {
            if cfg!(target_os = "linux") {
                panic!("Linux has had UDP_SEGMENT since 4.18");
            }
            return;
        }
        // To b: ten of 100 bytes, a shorter one (a run of 11), an empty one, then to c
        // two of 100 bytes, then to b again.
        let mut msgs: Vec<(Vec<u8>, SocketAddr)> = (0..10u8).map(|i| (vec![i; 100], bt)).collect();
        msgs.push((vec![10; 37], bt));
        msgs.push((Vec::new(), bt));
        msgs.push((vec![20; 100], ct));
        msgs.push((vec![21; 100], ct));
        msgs.push((vec![30; 100], bt));
        let sent = tx
            .send(&a, msgs.iter().map(|(d, to)| (&d[..], Some(*to))))
            .unwrap();
        assert_eq!(sent, msgs.len(), "counted in datagrams, not headers");
        assert!(tx.segmentation());
        let mut rx = RecvBatch::new(64);
        for (sock, to) in [(&b, bt), (&c, ct)] {
            let want: Vec<&Vec<u8>> = msgs.iter().filter(|m| m.1 == to).map(|m| &m.0).collect();
            let mut got = Vec::new();
            let mut bufs = [vec![0u8; 64 * 200]];
            for _ in 0..want.len() {
                if got.len() == want.len() {
                    break;
                }
                assert!(ready(sock, PollFlags::IN));
                let n = rx.recv(sock, &mut bufs, 200).unwrap();
                for i in 0..n {
                    let r = rx.get(i).unwrap();
                    assert!(!r.truncated);
                    got.push(bufs[r.buf][r.offset..r.offset + r.len].to_vec());
                }
            }
            assert_eq!(got.iter().collect::<Vec<_>>(), want);
        }
    }

    #[test]
    fn a_coalesced_receive_is_cut_back_into_its_datagrams() {
        let r = |len, segment_size| Received {
            buf: 0,
            offset: 10,
            len,
            truncated: false,
            addr: None,
            segment_size,
        };
        let cut = |r: Received| r.datagrams().collect::<Vec<_>>();
        assert_eq!(cut(r(64, 0)), [(10, 64)]);
        assert_eq!(cut(r(0, 0)), [(10, 0)], "an empty datagram is one");
        assert_eq!(cut(r(64, 64)), [(10, 64)]);
        assert_eq!(cut(r(64, 100)), [(10, 64)]);
        assert_eq!(cut(r(192, 64)), [(10, 64), (74, 64), (138, 64)]);
        assert_eq!(cut(r(150, 64)), [(10, 64), (74, 64), (138, 22)]);
    }

    #[test]
    fn coalescing_receives_a_segmented_run_as_one_buffer() {
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let (a, b) = (udp_bind(any).unwrap(), udp_bind(any).unwrap());
        let bt = local_addr(&b).unwrap();
        let mut tx = SendBatch::new(64);
        tx.set_segmentation(udp_segmentation_supported(&a));
        let mut rx = RecvBatch::new(4);
        let coalescing = rx.set_coalescing(&b, true).unwrap_or(false);
        if !tx.segmentation() || !coalescing {
            if cfg!(target_os = "linux") {
                panic!("Linux has had both since 5.0");
            }
            return;
        }
        let msgs: Vec<Vec<u8>> = (0..8u8).map(|i| vec![i; 64]).chain([vec![8; 5]]).collect();
        assert_eq!(
            tx.send(&a, msgs.iter().map(|m| (&m[..], Some(bt))))
                .unwrap(),
            9
        );
        let mut bufs = [vec![0u8; COALESCED_SLOT]];
        let (mut got, mut coalesced) = (Vec::new(), false);
        for _ in 0..9 {
            if got.len() == msgs.len() {
                break;
            }
            assert!(ready(&b, PollFlags::IN));
            let n = rx.recv(&b, &mut bufs, COALESCED_SLOT).unwrap();
            for i in 0..n {
                let r = rx.get(i).unwrap();
                coalesced |= r.segment_size == 64;
                got.extend(r.datagrams().map(|(o, l)| bufs[r.buf][o..o + l].to_vec()));
            }
        }
        assert_eq!(got, msgs);
        assert!(coalesced, "loopback carries a segmented run whole");
        assert!(rx.coalescing());
        assert!(!rx.set_coalescing(&b, false).unwrap());
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
