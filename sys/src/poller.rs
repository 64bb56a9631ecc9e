//! The poller contract ([`Poller`]) and the runtime-selectable [`AnyPoller`].
//!
//! Tests: `sys/tests/conformance.rs` runs one suite against every backend compiled here.

use std::fmt;
use std::io;
use std::os::fd::BorrowedFd;
use std::time::Duration;

use crate::{Events, Interest, Token};

/// What every backend provides: register / reregister / deregister a file descriptor, and wait
/// for readiness with a timeout. Waking a waiting poller from another thread is done by
/// registering a [`Waker`](crate::Waker), which works with every backend.
///
/// # Contract
///
/// - **Level-triggered.** A source that is still ready is reported again on the next wait.
///   Nothing needs to be drained to re-arm it. A source registered with
///   [`Interest::EDGE`] allows the backend to report only changes (epoll does); its owner
///   follows the rules given there, which also work where it stays level-triggered.
/// - One registration per descriptor. Registering a descriptor twice is an error
///   (`AlreadyExists`); reregistering or deregistering one that is not registered is an error
///   (`NotFound`).
/// - `HUP` and `ERROR` are reported whatever the interest; an empty interest keeps the source
///   registered but quiet. "Whatever the interest" covers a full hang-up (both directions
///   closed: the peer of a socketpair closed, a reset TCP connection, a pipe with no writers
///   left) and pending errors. A half-close (the peer shut down only its writing side) is a
///   read-side condition: it is reported, as `READABLE | HUP`, only while `READABLE` is in the
///   interest, so a paused reader is not woken on every wait by something it will not act on.
///   kqueue can report nothing at all for an empty interest (see the `kqueue` module docs).
/// - `wait(Some(Duration::ZERO))` never blocks; `wait(None)` blocks until an event. Timeouts
///   are rounded **up** to the backend's resolution, so a wait never returns early because of
///   rounding (it may return early for an event or a signal).
/// - A wait interrupted by a signal (`EINTR`) returns `Ok` with no events, so the caller can
///   look at what the signal changed.
/// - At most `events.capacity()` events are returned; the rest are reported on later waits.
/// - The caller deregisters a descriptor before closing it. (epoll forgets a closed descriptor
///   by itself; poll(2) and kqueue-with-our-bookkeeping would not.)
pub trait Poller: Sized + fmt::Debug {
    /// The backend's name, as [`Backend::name`] spells it.
    const NAME: &'static str;

    /// A new, empty poller (its own descriptor is close-on-exec).
    fn new() -> io::Result<Self>;

    /// Starts watching `fd` for `interest`, reporting it as `token`.
    fn register(&mut self, fd: BorrowedFd<'_>, token: Token, interest: Interest) -> io::Result<()>;

    /// Changes the token and interest of a registered `fd`.
    fn reregister(
        &mut self,
        fd: BorrowedFd<'_>,
        token: Token,
        interest: Interest,
    ) -> io::Result<()>;

    /// Stops watching `fd`.
    fn deregister(&mut self, fd: BorrowedFd<'_>) -> io::Result<()>;

    /// Waits up to `timeout` (forever if `None`) and fills `events` (cleared first).
    fn wait(&mut self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()>;
}

/// Which backend a poller uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    /// epoll(7): Linux and Android.
    Epoll,
    /// kqueue(2): macOS, iOS, FreeBSD, NetBSD, OpenBSD, DragonFly.
    Kqueue,
    /// poll(2): every Unix; slower with many descriptors, always available.
    Poll,
}

impl Backend {
    /// The environment variable that overrides [`Backend::default_for_platform`]:
    /// `TORSION_POLLER=poll` (or `epoll`, `kqueue`).
    pub const ENV: &'static str = "TORSION_POLLER";

    /// The backends compiled on this platform, best first.
    pub fn available() -> &'static [Backend] {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            &[Backend::Epoll, Backend::Poll]
        }
        #[cfg(any(
            target_os = "macos",
            target_os = "ios",
            target_os = "freebsd",
            target_os = "netbsd",
            target_os = "openbsd",
            target_os = "dragonfly"
        ))]
        {
            &[Backend::Kqueue, Backend::Poll]
        }
        #[cfg(not(any(
            target_os = "linux",
            target_os = "android",
            target_os = "macos",
            target_os = "ios",
            target_os = "freebsd",
            target_os = "netbsd",
            target_os = "openbsd",
            target_os = "dragonfly"
        )))]
        {
            &[Backend::Poll]
        }
    }

    /// The best backend for this platform (poll(2) when built with `--cfg torsion_force_poll`).
    pub fn default_for_platform() -> Backend {
        if cfg!(torsion_force_poll) {
            Backend::Poll
        } else {
            Backend::available()[0]
        }
    }

    /// The backend named by `TORSION_POLLER` if it is set and available here, else
    /// [`default_for_platform`](Backend::default_for_platform).
    ///
    /// # Errors
    ///
    /// An `InvalidInput` error naming the value and the choices if the variable is set to
    /// something this platform does not have.
    pub fn from_env() -> io::Result<Backend> {
        match std::env::var(Self::ENV) {
            Ok(v) if !v.is_empty() => Backend::parse(&v),
            _ => Ok(Backend::default_for_platform()),
        }
    }

    /// Parses `epoll`, `kqueue` or `poll`, accepting only backends available here.
    ///
    /// # Errors
    ///
    /// `InvalidInput` naming the bad value and the choices.
    pub fn parse(name: &str) -> io::Result<Backend> {
        let found = Backend::available()
            .iter()
            .copied()
            .find(|b| b.name().eq_ignore_ascii_case(name.trim()));
        found.ok_or_else(|| {
            let choices: Vec<&str> = Backend::available().iter().map(|b| b.name()).collect();
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "unknown or unavailable poller backend {name:?} (from {}); this platform has: {}",
                    Self::ENV,
                    choices.join(", ")
                ),
            )
        })
    }

    /// The backend's name: `epoll`, `kqueue` or `poll`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Epoll => "epoll",
            Backend::Kqueue => "kqueue",
            Backend::Poll => "poll",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A poller whose backend is chosen at run time.
///
/// The reactor holds an `AnyPoller` rather than being generic over [`Poller`]: that keeps
/// `Reactor` one concrete type that transports and protocols can name without a type
/// parameter, lets one test binary exercise every backend, and lets `TORSION_POLLER=poll`
/// force the fallback without rebuilding. The price is one well-predicted branch per poller
/// call, which is nothing beside the system call behind it.
///
/// Every backend, and so `AnyPoller`, is `Send + Sync`: a reactor can be built on one thread
/// and run on another.
#[derive(Debug)]
pub enum AnyPoller {
    /// epoll backend.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    Epoll(crate::epoll::EpollPoller),
    /// kqueue backend.
    #[cfg(any(
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly"
    ))]
    Kqueue(crate::kqueue::KqueuePoller),
    /// poll(2) backend.
    Poll(crate::poll::PollPoller),
}

macro_rules! dispatch {
    ($self:ident, $p:ident => $e:expr) => {
        match $self {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            AnyPoller::Epoll($p) => $e,
            #[cfg(any(
                target_os = "macos",
                target_os = "ios",
                target_os = "freebsd",
                target_os = "netbsd",
                target_os = "openbsd",
                target_os = "dragonfly"
            ))]
            AnyPoller::Kqueue($p) => $e,
            AnyPoller::Poll($p) => $e,
        }
    };
}

impl AnyPoller {
    /// A poller using `backend`.
    ///
    /// # Errors
    ///
    /// `Unsupported` if the backend is not compiled on this platform; otherwise whatever
    /// creating the kernel object fails with.
    pub fn with_backend(backend: Backend) -> io::Result<AnyPoller> {
        match backend {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Backend::Epoll => Ok(AnyPoller::Epoll(Poller::new()?)),
            #[cfg(any(
                target_os = "macos",
                target_os = "ios",
                target_os = "freebsd",
                target_os = "netbsd",
                target_os = "openbsd",
                target_os = "dragonfly"
            ))]
            Backend::Kqueue => Ok(AnyPoller::Kqueue(Poller::new()?)),
            Backend::Poll => Ok(AnyPoller::Poll(Poller::new()?)),
            #[allow(unreachable_patterns)]
            other => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("the {other} poller backend is not available on this platform"),
            )),
        }
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        match self {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            AnyPoller::Epoll(_) => Backend::Epoll,
            #[cfg(any(
                target_os = "macos",
                target_os = "ios",
                target_os = "freebsd",
                target_os = "netbsd",
                target_os = "openbsd",
                target_os = "dragonfly"
            ))]
            AnyPoller::Kqueue(_) => Backend::Kqueue,
            AnyPoller::Poll(_) => Backend::Poll,
        }
    }

    /// See [`Poller::register`].
    #[inline]
    pub fn register(
        &mut self,
        fd: BorrowedFd<'_>,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        dispatch!(self, p => p.register(fd, token, interest))
    }

    /// See [`Poller::reregister`].
    #[inline]
    pub fn reregister(
        &mut self,
        fd: BorrowedFd<'_>,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        dispatch!(self, p => p.reregister(fd, token, interest))
    }

    /// See [`Poller::deregister`].
    #[inline]
    pub fn deregister(&mut self, fd: BorrowedFd<'_>) -> io::Result<()> {
        dispatch!(self, p => p.deregister(fd))
    }

    /// See [`Poller::wait`].
    #[inline]
    pub fn wait(&mut self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        dispatch!(self, p => p.wait(events, timeout))
    }
}

/// `AnyPoller` is itself a [`Poller`], so code generic over `P: Poller` (the conformance
/// suite, say) runs on it too. [`Poller::new`] picks the backend with
/// [`Backend::from_env`]; use [`AnyPoller::with_backend`] to choose.
impl Poller for AnyPoller {
    const NAME: &'static str = "any";

    fn new() -> io::Result<AnyPoller> {
        AnyPoller::with_backend(Backend::from_env()?)
    }

    fn register(&mut self, fd: BorrowedFd<'_>, token: Token, interest: Interest) -> io::Result<()> {
        AnyPoller::register(self, fd, token, interest)
    }

    fn reregister(
        &mut self,
        fd: BorrowedFd<'_>,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        AnyPoller::reregister(self, fd, token, interest)
    }

    fn deregister(&mut self, fd: BorrowedFd<'_>) -> io::Result<()> {
        AnyPoller::deregister(self, fd)
    }

    fn wait(&mut self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        AnyPoller::wait(self, events, timeout)
    }
}

/// The longest single kernel wait, in milliseconds: `poll(2)` and `epoll_wait(2)` take a C
/// `int` (about 24.8 days).
const MAX_WAIT_MS: u64 = i32::MAX as u64;

/// Splits `timeout` into the part one kernel wait can take, in whole milliseconds rounded
/// **up** (so the wait never ends before `timeout`), and what is left over for further
/// waits when `timeout` is longer than [`MAX_WAIT_MS`]. `None` (forever) is `-1`.
pub(crate) fn timeout_ms(timeout: Option<Duration>) -> (i32, Duration) {
    let Some(t) = timeout else {
        return (-1, Duration::ZERO);
    };
    // Whole milliseconds, plus one for any partial millisecond.
    let whole = t.as_millis();
    let ms = if t > Duration::from_millis(whole as u64) {
        whole + 1
    } else {
        whole
    };
    if ms <= u128::from(MAX_WAIT_MS) {
        (ms as i32, Duration::ZERO)
    } else {
        (
            MAX_WAIT_MS as i32,
            t.saturating_sub(Duration::from_millis(MAX_WAIT_MS)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_round_up_to_whole_milliseconds() {
        assert_eq!(timeout_ms(None), (-1, Duration::ZERO));
        assert_eq!(timeout_ms(Some(Duration::ZERO)), (0, Duration::ZERO));
        assert_eq!(
            timeout_ms(Some(Duration::from_nanos(1))),
            (1, Duration::ZERO)
        );
        assert_eq!(
            timeout_ms(Some(Duration::from_micros(999))),
            (1, Duration::ZERO)
        );
        assert_eq!(
            timeout_ms(Some(Duration::from_millis(1))),
            (1, Duration::ZERO)
        );
        assert_eq!(
            timeout_ms(Some(Duration::from_nanos(1_000_001))),
            (2, Duration::ZERO)
        );
        assert_eq!(
            timeout_ms(Some(Duration::from_secs(3))),
            (3000, Duration::ZERO)
        );
    }

    #[test]
    fn long_timeouts_are_split_not_truncated() {
        let max = Duration::from_millis(MAX_WAIT_MS);
        assert_eq!(timeout_ms(Some(max)), (i32::MAX, Duration::ZERO));
        let over = max + Duration::from_nanos(1);
        assert_eq!(timeout_ms(Some(over)), (i32::MAX, Duration::from_nanos(1)));
        let (ms, rest) = timeout_ms(Some(Duration::MAX));
        assert_eq!(ms, i32::MAX);
        assert_eq!(rest, Duration::MAX - max);
    }

    #[test]
    fn pollers_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        #[cfg(any(target_os = "linux", target_os = "android"))]
        check::<crate::epoll::EpollPoller>();
        check::<crate::poll::PollPoller>();
        check::<AnyPoller>();
    }

    #[test]
    fn backend_names_parse_back() {
        for &b in Backend::available() {
            assert_eq!(Backend::parse(b.name()).unwrap(), b);
            assert_eq!(Backend::parse(&b.name().to_uppercase()).unwrap(), b);
        }
        let err = Backend::parse("select").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}
