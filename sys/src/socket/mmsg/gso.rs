//! Grouping for UDP generic segmentation offload (Linux's `UDP_SEGMENT`, since 4.18):
//! consecutive datagrams to one destination, all of one size except a shorter last one,
//! can leave in one `sendmsg` as one buffer that the kernel cuts into those datagrams
//! (in the device when it can, in software otherwise). On loopback the run even stays
//! one packet until the receiving socket. The kernel's work per datagram on the send
//! side, which dominates a small-datagram server, is then paid once per run.
//!
//! Plain logic, compiled and tested on every platform.

/// The most datagrams one segmented send carries (the kernel's `UDP_MAX_SEGMENTS`,
/// 64 until it was raised in newer kernels).
pub(crate) const MAX_SEGMENTS: usize = 64;

/// The most payload bytes one segmented send carries (what one IPv4 UDP datagram may).
pub(crate) const MAX_BYTES: usize = 65_507;

/// How many of the `n` datagrams at the head of a batch one segmented send can carry:
/// `len(i)` is the length of datagram `i`, `same_dest(i)` says whether it goes where
/// datagram 0 goes. A run takes datagrams of datagram 0's length, then at most one
/// shorter (non-empty) one that ends it, within [`MAX_SEGMENTS`] and [`MAX_BYTES`].
/// An empty first datagram is a run of one (a segment size cannot be 0).
pub(crate) fn run_len(
    n: usize,
    len: impl Fn(usize) -> usize,
    same_dest: impl Fn(usize) -> bool,
) -> usize {
    if n == 0 {
        return 0;
    }
    let size = len(0);
    if size == 0 {
        return 1;
    }
    let mut total = size;
    let mut k = 1;
    while k < n && k < MAX_SEGMENTS {
        let l = len(k);
        if l == 0 || l > size || total + l > MAX_BYTES || !same_dest(k) {
            break;
        }
        total += l;
        k += 1;
        if l < size {
            break;
        }
    }
    k
}

/// `CMSG_SPACE` of a `UDP_SEGMENT` message (a `u16`) on this platform's layout: a
/// `cmsghdr` and two bytes, each rounded up to the alignment of `size_t`.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn control_len() -> usize {
    // SAFETY: CMSG_SPACE only computes a size from its argument.
    unsafe { libc::CMSG_SPACE(2) as usize }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::size_of;

    fn run(lens: &[usize], dests: &[u8]) -> usize {
        run_len(lens.len(), |i| lens[i], |i| dests[i] == dests[0])
    }

    #[test]
    fn runs_of_one_size_to_one_place() {
        assert_eq!(run(&[], &[]), 0);
        assert_eq!(run(&[64], &[0]), 1);
        assert_eq!(run(&[64, 64, 64], &[0, 0, 0]), 3);
        assert_eq!(
            run(&[64, 64, 64], &[0, 0, 1]),
            2,
            "another destination ends it"
        );
        assert_eq!(
            run(&[64, 64, 10, 64], &[0; 4]),
            3,
            "a shorter one is the last"
        );
        assert_eq!(run(&[64, 65, 64], &[0; 3]), 1, "a longer one cannot follow");
        assert_eq!(run(&[0, 0], &[0, 0]), 1, "empty datagrams go alone");
        assert_eq!(
            run(&[64, 0, 64], &[0; 3]),
            1,
            "an empty one is not a segment"
        );
    }

    #[test]
    fn runs_stop_at_the_kernel_limits() {
        let lens = [10usize; 100];
        assert_eq!(run(&lens, &[0; 100]), MAX_SEGMENTS);
        let lens = [1400usize; 60];
        assert_eq!(run(&lens, &[0; 60]), MAX_BYTES / 1400);
        let big = [40_000usize, 40_000];
        assert_eq!(run(&big, &[0, 0]), 1);
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn control_space_holds_the_header_and_a_u16() {
        let n = control_len();
        assert!(n >= size_of::<libc::cmsghdr>() + 2);
        assert!(n <= 32, "fits the per-header buffer");
    }
}
