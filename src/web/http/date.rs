//! HTTP dates (IMF-fixdate, RFC 9110 §5.6.7): formatting, parsing, and the `Date` header
//! value cached per second.

use std::cell::{Cell, RefCell};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const DAYS: [&[u8; 3]; 7] = [b"Thu", b"Fri", b"Sat", b"Sun", b"Mon", b"Tue", b"Wed"];
const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// Length of an IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
pub const HTTP_DATE_LEN: usize = 29;

/// Days since 1970-01-01 to (year, month 1..=12, day 1..=31) (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Formats `secs` since the Unix epoch as an IMF-fixdate.
///
/// # Examples
///
/// ```
/// use torsion::web::http::format_http_date;
/// assert_eq!(&format_http_date(784111777), b"Sun, 06 Nov 1994 08:49:37 GMT");
/// ```
pub fn format_http_date(secs: u64) -> [u8; HTTP_DATE_LEN] {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    let mut out = *b"Thu, 01 Jan 1970 00:00:00 GMT";
    out[..3].copy_from_slice(DAYS[(days % 7) as usize]);
    let two = |out: &mut [u8], v: u64| {
        out[0] = b'0' + (v / 10 % 10) as u8;
        out[1] = b'0' + (v % 10) as u8;
    };
    two(&mut out[5..7], u64::from(d));
    out[8..11].copy_from_slice(MONTHS[m as usize - 1]);
    let y = y.clamp(0, 9999) as u64;
    two(&mut out[12..14], y / 100);
    two(&mut out[14..16], y % 100);
    two(&mut out[17..19], rem / 3600);
    two(&mut out[20..22], rem / 60 % 60);
    two(&mut out[23..25], rem % 60);
    out
}

/// Parses an IMF-fixdate (the only form servers must send; the obsolete forms are not
/// accepted) into seconds since the Unix epoch.
///
/// # Examples
///
/// ```
/// use torsion::web::http::parse_http_date;
/// assert_eq!(parse_http_date(b"Sun, 06 Nov 1994 08:49:37 GMT"), Some(784111777));
/// assert_eq!(parse_http_date(b"yesterday"), None);
/// ```
pub fn parse_http_date(s: &[u8]) -> Option<u64> {
    if s.len() != HTTP_DATE_LEN || &s[3..5] != b", " || &s[25..] != b" GMT" {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u64> {
        s[r].iter().try_fold(0u64, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u64::from(c - b'0'))
        })
    };
    let d = num(5..7)? as u32;
    let m = MONTHS.iter().position(|mm| &s[8..11] == *mm)? as u32 + 1;
    let y = num(12..16)? as i64;
    let (hh, mm, ss) = (num(17..19)?, num(20..22)?, num(23..25)?);
    if d == 0 || d > 31 || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let days = days_from_civil(y, m, d);
    u64::try_from(days)
        .ok()
        .map(|days| days * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}

/// `Date: <IMF-fixdate>\r\nServer: torsion\r\n`, the two fields every response carries.
const DATE_LINE: &[u8; 54] = b"Date: Thu, 01 Jan 1970 00:00:00 GMT\r\nServer: torsion\r\n";

/// Where the date sits in [`DATE_LINE`].
const DATE_AT: std::ops::Range<usize> = 6..6 + HTTP_DATE_LEN;

/// The length of `Date: <IMF-fixdate>\r\n`, the first field of [`DATE_LINE`].
pub(crate) const DATE_FIELD_LEN: usize = DATE_AT.end + 2;

/// `Server: torsion\r\n`, the second field of [`DATE_LINE`].
pub(crate) const SERVER_FIELD: &[u8] = DATE_LINE.split_at(DATE_FIELD_LEN).1;

thread_local! {
    /// The second the cached date is for (`u64::MAX`: none yet).
    static CACHED_SECS: Cell<u64> = const { Cell::new(u64::MAX) };
    /// [`DATE_LINE`] with the cached date in it: the one copy of the date.
    static LINE: RefCell<[u8; DATE_LINE.len()]> = const { RefCell::new(*DATE_LINE) };
    /// Inside a [`DateBatch`]: the cached value is fresh enough.
    static BATCH: Cell<u32> = const { Cell::new(0) };
}

/// Brings the cached date up to now (formatting only when the second changed).
fn refresh() {
    let now = unix_now();
    if CACHED_SECS.with(Cell::get) != now {
        let text = format_http_date(now);
        LINE.with_borrow_mut(|line| line[DATE_AT].copy_from_slice(&text));
        CACHED_SECS.with(|c| c.set(now));
    }
}

/// [`refresh`], unless a [`DateBatch`] holds the cached date (and there is one).
fn refresh_unless_batched() {
    if BATCH.with(Cell::get) == 0 || CACHED_SECS.with(Cell::get) == u64::MAX {
        refresh();
    }
}

/// The `Date` header value for now, formatted at most once per second per thread. Inside
/// a [`DateBatch`] the clock is not even read: the value read when the batch began is used.
pub fn date_now() -> [u8; HTTP_DATE_LEN] {
    with_date_line(|line| {
        let mut text = [0; HTTP_DATE_LEN];
        text.copy_from_slice(&line[DATE_AT]);
        text
    })
}

/// Calls `f` with `Date: <now>\r\nServer: torsion\r\n` (the date as [`date_now`] gives it),
/// copied from a per-thread buffer rather than assembled per response.
pub(crate) fn with_date_line<R>(f: impl FnOnce(&[u8]) -> R) -> R {
    refresh_unless_batched();
    LINE.with_borrow(|line| f(line))
}

/// While alive, [`date_now`] answers from the value read when it was made: a connection
/// answering the pipelined requests of one read reads the clock once, not per response.
#[derive(Debug)]
pub struct DateBatch(());

impl DateBatch {
    /// Reads the clock and starts a batch.
    pub fn begin() -> DateBatch {
        refresh();
        BATCH.with(|b| b.set(b.get() + 1));
        DateBatch(())
    }
}

impl Drop for DateBatch {
    fn drop(&mut self) {
        BATCH.with(|b| b.set(b.get().saturating_sub(1)));
    }
}
