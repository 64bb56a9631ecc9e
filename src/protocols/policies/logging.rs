//! [`TrafficLogging`]: a log of every connection's traffic, one writer per connection
//! (Twisted's `TrafficLoggingFactory` and `TrafficLoggingProtocol`).
//!
//! Tests: `tests/policies_logging.rs`.

use std::cell::{Cell, RefCell};
use std::ffi::OsString;
use std::fmt;
use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;

use super::wrapper::{Policy, Protocols, Wrapped, WrapperTransport, WrappingFactory};
use crate::protocol::{Address, ConnectionLost};
use crate::transport::Transport;

/// A [`WrappingFactory`] under [`TrafficLogging`] (Twisted's `TrafficLoggingFactory`).
pub type TrafficLoggingFactory = WrappingFactory<TrafficLogging>;

/// Opens the log of connection number `n` from `addr`.
type Opener = Box<dyn Fn(u64, &Address) -> io::Result<Box<dyn Write>>>;

/// What elided data ends with.
const ELIDED: &str = "<... elided>";

/// Logs each connection's traffic to a writer of its own (the policy of Twisted's
/// `TrafficLoggingFactory(wrappedFactory, logfilePrefix, lengthLimit)`).
///
/// Connections are numbered from 1 (see [`reset_counter`](TrafficLogging::reset_counter)).
/// For connection `n` a writer is opened when it is built ([`to_files`](TrafficLogging::to_files)
/// creates the file `<prefix>-<n>`; [`to_writers`](TrafficLogging::to_writers) calls your
/// function), and one line is written and flushed per event, as in Twisted:
///
/// | Line | Event |
/// |---|---|
/// | `*` | the connection was made |
/// | `C n: b"..."` | bytes received |
/// | `S n: b"..."` | bytes written |
/// | `SV n: [b"...", b"..."]` | a gathered write |
/// | `S n: *` | the protocol closed its transport |
/// | `C n: <reason>` | the connection was lost, with the [`ConnectionLost`] reason |
///
/// Bytes are shown escaped (`\r`, `\n`, `\x00`...). With a
/// [length limit](TrafficLogging::length_limit), data longer than the limit shows only
/// its first `limit - 12` bytes, then `<... elided>`. If the writer cannot be opened, the
/// connection is refused (Twisted's `buildProtocol` would raise); if writing fails, that
/// connection's log stops.
///
/// # Examples
///
/// ```
/// use std::cell::RefCell;
/// use std::io::{self, Write};
/// use std::rc::Rc;
/// use torsion::protocol::{for_protocol, Address, Protocol};
/// use torsion::protocols::policies::{TrafficLogging, TrafficLoggingFactory};
/// use torsion::testing::Driver;
/// use torsion::transport::Transport;
///
/// struct Echo;
/// impl Protocol for Echo {
///     fn data_received(&mut self, t: &Transport, data: &[u8]) {
///         t.write(data);
///     }
/// }
///
/// /// A writer the test can read back.
/// #[derive(Clone, Default)]
/// struct Shared(Rc<RefCell<Vec<u8>>>);
/// impl Write for Shared {
///     fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
///         self.0.borrow_mut().write(buf)
///     }
///     fn flush(&mut self) -> io::Result<()> {
///         Ok(())
///     }
/// }
///
/// let log = Shared::default();
/// let l = log.clone();
/// let factory = TrafficLoggingFactory::with_policy(
///     for_protocol(|| Echo),
///     TrafficLogging::to_writers(move |_n, _addr| Ok(Box::new(l.clone()) as Box<dyn Write>)),
/// );
/// let d = Driver::new(factory.build_wrapper(&Address::Memory("peer".into())).unwrap());
/// d.data_received(b"hi\r\n");
/// let text = String::from_utf8(log.0.borrow().clone()).unwrap();
/// assert_eq!(text, "*\nC 1: b\"hi\\r\\n\"\nS 1: b\"hi\\r\\n\"\n");
/// ```
pub struct TrafficLogging {
    open: Opener,
    length_limit: Option<usize>,
    counter: Cell<u64>,
}

impl TrafficLogging {
    /// Logs connection `n` to a new file `<prefix>-<n>` (created or truncated).
    pub fn to_files(prefix: impl Into<PathBuf>) -> TrafficLogging {
        let prefix: PathBuf = prefix.into();
        TrafficLogging::to_writers(move |n, _addr| {
            let mut name: OsString = prefix.clone().into_os_string();
            name.push(format!("-{n}"));
            Ok(Box::new(File::create(name)?) as Box<dyn Write>)
        })
    }

    /// Logs connection `n` from (or to) `addr` to the writer `open(n, addr)` returns
    /// (Twisted's overridable `open`).
    pub fn to_writers<F>(open: F) -> TrafficLogging
    where
        F: Fn(u64, &Address) -> io::Result<Box<dyn Write>> + 'static,
    {
        TrafficLogging {
            open: Box::new(open),
            length_limit: None,
            counter: Cell::new(0),
        }
    }

    /// Elides data longer than `limit` bytes (Twisted's `lengthLimit`).
    pub fn length_limit(mut self, limit: Option<usize>) -> TrafficLogging {
        self.length_limit = limit;
        self
    }

    /// The number of the last connection built (Twisted's `_counter`).
    pub fn counter(&self) -> u64 {
        self.counter.get()
    }

    /// Numbers connections from 1 again (Twisted's `resetCounter`).
    pub fn reset_counter(&self) {
        self.counter.set(0);
    }

    fn render(&self, data: &[u8]) -> String {
        match self.length_limit {
            Some(limit) if data.len() > limit => {
                let shown = &data[..limit.saturating_sub(ELIDED.len())];
                format!("b\"{}\"{ELIDED}", shown.escape_ascii())
            }
            _ => format!("b\"{}\"", data.escape_ascii()),
        }
    }
}

/// One connection's log under [`TrafficLogging`].
pub struct TrafficLog {
    number: u64,
    out: RefCell<Option<Box<dyn Write>>>,
}

impl TrafficLog {
    /// The connection's number (Twisted's `_number`).
    pub fn number(&self) -> u64 {
        self.number
    }

    fn line(&self, line: fmt::Arguments<'_>) {
        let mut out = self.out.borrow_mut();
        let Some(w) = out.as_mut() else {
            return;
        };
        let result = w
            .write_fmt(format_args!("{line}\n"))
            .and_then(|()| w.flush());
        if let Err(e) = result {
            log::warn!(
                "traffic log of connection {} failed: {e}; it stops",
                self.number
            );
            *out = None;
        }
    }
}

impl Policy for TrafficLogging {
    type Conn = TrafficLog;

    fn admit(&self, addr: &Address, _protocols: &Protocols<Self>) -> Option<TrafficLog> {
        let number = self.counter.get() + 1;
        self.counter.set(number);
        match (self.open)(number, addr) {
            Ok(out) => Some(TrafficLog {
                number,
                out: RefCell::new(Some(out)),
            }),
            Err(e) => {
                log::error!("cannot open the traffic log of connection {number} ({addr}): {e}");
                None
            }
        }
    }

    fn connection_made(&self, mut wrapped: Wrapped<'_, Self>) {
        wrapped.wrapper().state().line(format_args!("*"));
        wrapped.connection_made();
    }

    fn data_received(&self, mut wrapped: Wrapped<'_, Self>, data: &[u8]) {
        let log = wrapped.wrapper().state();
        log.line(format_args!("C {}: {}", log.number, self.render(data)));
        wrapped.data_received(data);
    }

    fn connection_lost(&self, mut wrapped: Wrapped<'_, Self>, reason: ConnectionLost) {
        let log = wrapped.wrapper().state();
        log.line(format_args!("C {}: {reason}", log.number));
        wrapped.connection_lost(reason);
    }

    fn write(&self, wrapper: &WrapperTransport<Self>, lower: &Transport, data: &[u8]) {
        let log = wrapper.state();
        log.line(format_args!("S {}: {}", log.number, self.render(data)));
        lower.write(data);
    }

    fn write_sequence(&self, wrapper: &WrapperTransport<Self>, lower: &Transport, data: &[&[u8]]) {
        let log = wrapper.state();
        let parts: Vec<String> = data.iter().map(|d| self.render(d)).collect();
        log.line(format_args!("SV {}: [{}]", log.number, parts.join(", ")));
        lower.write_sequence(data);
    }

    fn lose_connection(&self, wrapper: &WrapperTransport<Self>, lower: &Transport) {
        let log = wrapper.state();
        log.line(format_args!("S {}: *", log.number));
        lower.lose_connection();
    }
}

impl fmt::Debug for TrafficLogging {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrafficLogging")
            .field("length_limit", &self.length_limit)
            .field("counter", &self.counter.get())
            .finish()
    }
}

impl fmt::Debug for TrafficLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrafficLog")
            .field("number", &self.number)
            .field("open", &self.out.borrow().is_some())
            .finish()
    }
}
