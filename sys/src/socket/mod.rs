//! Safe, thin, non-blocking socket calls over `rustix::net`. Every descriptor these
//! functions create is non-blocking and close-on-exec from the start (`SOCK_NONBLOCK |
//! SOCK_CLOEXEC`, `accept4`); on Apple platforms, which lack those flags, they are set with
//! `fcntl` right after creation and `SO_NOSIGPIPE` is set too.
//!
//! | module | functions |
//! |---|---|
//! | TCP | [`tcp_listen`], [`tcp_connect`], [`accept`], [`set_nodelay`], [`set_keepalive`], [`set_linger_zero`], [`set_reuse_port`] |
//! | UDP | [`udp_bind`], [`udp_bind_reuse`], [`udp_connect`], [`recv_from`], [`recv_msg`], [`send_to`], [`send_connected`], [`set_broadcast`], multicast options ([`join_multicast`], [`set_multicast_ttl`], ...) |
//! | batches | [`RecvBatch`] (`recvmmsg`), [`SendBatch`] (`sendmmsg`) |
//! | Unix | [`unix_listen`], [`unix_connect`], [`accept_unix`], [`unix_local_path`], [`unix_peer_path`], [`socketpair`] |
//! | I/O | [`read`], [`readv`], [`write()`], [`writev`], [`send_nosignal`], [`sendv_nosignal`], [`shutdown_write`], [`take_error`], [`local_addr`], [`peer_addr`] |
//!
//! All of them return `io::Result`; a call that would block fails with
//! `ErrorKind::WouldBlock`. `EINTR` is retried internally (it can only happen in the
//! instant before a non-blocking call returns anyway), except by `connect`, where it means
//! the connection goes on in the background, exactly like `EINPROGRESS`.
//!
//! Tests: unit tests in `socket/{tcp,udp,unix,io}.rs`, over 127.0.0.1 and temporary Unix
//! socket paths.

mod io;
mod mmsg;
mod tcp;
mod udp;
mod unix;

pub use self::io::{
    local_addr, peer_addr, read, readv, recv, send_nosignal, sendv_nosignal, shutdown_write,
    take_error, write, writev,
};
pub use self::mmsg::{
    udp_segmentation_supported, Received, RecvBatch, SendBatch, COALESCED_SLOT, NATIVE_BATCHING,
};
pub use self::tcp::{
    accept, set_keepalive, set_linger_zero, set_nodelay, set_reuse_port, tcp_connect,
    tcp_connect_from, tcp_listen,
};
pub use self::udp::{
    broadcast, join_multicast, leave_multicast, max_datagram, multicast_loop, multicast_ttl,
    recv_from, recv_msg, send_connected, send_to, set_broadcast, set_multicast_interface_v4,
    set_multicast_interface_v6, set_multicast_loop, set_multicast_ttl, udp_bind, udp_bind_reuse,
    udp_connect,
};
pub use self::unix::{
    accept_unix, socketpair, unix_connect, unix_listen, unix_local_path, unix_peer_path,
};

use std::io as stdio;

/// True for the errors that mean "no descriptor (or buffer) for another connection right
/// now": `EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`. A server should not retry `accept` in a
/// loop on them.
pub fn is_out_of_descriptors(error: &stdio::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}
use std::net::SocketAddr;
use std::os::fd::{AsFd, OwnedFd};

use rustix::io::Errno;
use rustix::net::{AddressFamily, SocketAddrAny, SocketType};

/// Items only for Apple platforms, which lack `SOCK_NONBLOCK`, `SOCK_CLOEXEC`, `accept4` and
/// `MSG_NOSIGNAL`.
macro_rules! cfg_apple {
    ($($item:item)*) => {$(
        #[cfg(any(
            target_os = "macos",
            target_os = "ios",
            target_os = "tvos",
            target_os = "watchos",
            target_os = "visionos"
        ))]
        $item
    )*};
}
/// Items for every platform but Apple's.
macro_rules! cfg_not_apple {
    ($($item:item)*) => {$(
        #[cfg(not(any(
            target_os = "macos",
            target_os = "ios",
            target_os = "tvos",
            target_os = "watchos",
            target_os = "visionos"
        )))]
        $item
    )*};
}

/// Calls `f` again while it fails with `EINTR`; converts the error.
pub(crate) fn retry<T>(mut f: impl FnMut() -> Result<T, Errno>) -> stdio::Result<T> {
    loop {
        match f() {
            Err(Errno::INTR) => continue,
            other => return other.map_err(stdio::Error::from),
        }
    }
}

cfg_not_apple! {
    /// A new non-blocking, close-on-exec socket.
    pub(crate) fn new_socket(family: AddressFamily, kind: SocketType) -> stdio::Result<OwnedFd> {
        use rustix::net::SocketFlags;
        let flags = SocketFlags::NONBLOCK | SocketFlags::CLOEXEC;
        Ok(rustix::net::socket_with(family, kind, flags, None)?)
    }

    /// Accepts one connection as a non-blocking, close-on-exec socket (`accept4`).
    pub(crate) fn accept_raw(
        listener: impl AsFd,
    ) -> stdio::Result<(OwnedFd, Option<SocketAddrAny>)> {
        use rustix::net::SocketFlags;
        let flags = SocketFlags::NONBLOCK | SocketFlags::CLOEXEC;
        retry(|| rustix::net::acceptfrom_with(&listener, flags))
    }

    /// Flags for `send` that keep a write to a closed connection from raising SIGPIPE.
    pub(crate) fn nosignal() -> rustix::net::SendFlags {
        rustix::net::SendFlags::NOSIGNAL
    }
}

cfg_apple! {
    /// Makes `fd` non-blocking and close-on-exec, and stops writes on it raising SIGPIPE.
    fn finish(fd: OwnedFd) -> stdio::Result<OwnedFd> {
        use rustix::fs::{fcntl_getfl, fcntl_setfl, OFlags};
        use rustix::io::{fcntl_setfd, FdFlags};
        fcntl_setfd(&fd, FdFlags::CLOEXEC)?;
        fcntl_setfl(&fd, fcntl_getfl(&fd)? | OFlags::NONBLOCK)?;
        rustix::net::sockopt::set_socket_nosigpipe(&fd, true)?;
        Ok(fd)
    }

    /// A new non-blocking, close-on-exec socket (`socket` + `fcntl`: a fork in between
    /// could leak it into a child that execs; Apple offers nothing better).
    pub(crate) fn new_socket(family: AddressFamily, kind: SocketType) -> stdio::Result<OwnedFd> {
        finish(rustix::net::socket(family, kind, None)?)
    }

    /// Accepts one connection, then makes it non-blocking and close-on-exec.
    pub(crate) fn accept_raw(
        listener: impl AsFd,
    ) -> stdio::Result<(OwnedFd, Option<SocketAddrAny>)> {
        let (fd, addr) = retry(|| rustix::net::acceptfrom(&listener))?;
        Ok((finish(fd)?, addr))
    }

    /// Apple has no `MSG_NOSIGNAL`; our sockets carry `SO_NOSIGPIPE` instead.
    pub(crate) fn nosignal() -> rustix::net::SendFlags {
        rustix::net::SendFlags::empty()
    }
}

/// The address family of `addr`.
pub(crate) fn family_of(addr: &SocketAddr) -> AddressFamily {
    match addr {
        SocketAddr::V4(_) => AddressFamily::INET,
        SocketAddr::V6(_) => AddressFamily::INET6,
    }
}

/// An IP socket address from the kernel's form.
pub(crate) fn to_std(addr: Option<SocketAddrAny>) -> stdio::Result<SocketAddr> {
    addr.and_then(|a| SocketAddr::try_from(a).ok())
        .ok_or_else(|| stdio::Error::new(stdio::ErrorKind::InvalidData, "not an IP socket address"))
}

#[cfg(test)]
pub(crate) mod test_util {
    use std::os::fd::AsFd;

    use rustix::event::{poll, PollFd, PollFlags, Timespec};
    use rustix::fs::{fcntl_getfl, OFlags};
    use rustix::io::{fcntl_getfd, FdFlags};

    /// Waits up to 5 s for `fd` to report any of `flags`; true if it did.
    pub(crate) fn ready(fd: impl AsFd, flags: PollFlags) -> bool {
        let mut fds = [PollFd::new(&fd, flags)];
        let t = Timespec {
            tv_sec: 5,
            tv_nsec: 0,
        };
        poll(&mut fds, Some(&t)).unwrap() == 1
    }

    /// Asserts `fd` is non-blocking and close-on-exec.
    #[track_caller]
    pub(crate) fn assert_nonblocking_cloexec(fd: impl AsFd) {
        assert!(
            fcntl_getfd(&fd).unwrap().contains(FdFlags::CLOEXEC),
            "cloexec"
        );
        assert!(
            fcntl_getfl(&fd).unwrap().contains(OFlags::NONBLOCK),
            "nonblock"
        );
    }
}
