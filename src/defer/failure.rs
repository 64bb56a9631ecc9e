//! [`Failure`]: the error half of a Deferred's result (Twisted's `twisted.python.failure`).
//!
//! A `Failure` wraps any `std::error::Error + 'static` in an `Rc`, so cloning one is a
//! reference-count bump and a chain can hand the same failure to several places (a
//! `DeferredList` result and the Deferred it came from, say). It remembers the source
//! location where it was made (`#[track_caller]` on every constructor, including the `From`
//! conversion that `?` uses), which stands in for Twisted's traceback.
//!
//! `Failure` deliberately does not implement `std::error::Error` itself (as `anyhow::Error`
//! does not): that is what lets `impl<E: Error> From<E> for Failure` exist, so `?` turns any
//! error into a `Failure` inside a callback.
//!
//! Tests: unit tests below; `tests/defer_core.rs`.

use std::error::Error;
use std::fmt;
use std::panic::Location;
use std::rc::Rc;

/// An error travelling down a Deferred's errback track.
///
/// Cheap to clone (an `Rc` inside). Check it with [`check`](Failure::check), get the error
/// out by type with [`trap`](Failure::trap) or [`downcast_ref`](Failure::downcast_ref), and
/// see where it was made with [`location`](Failure::location).
///
/// # Examples
///
/// ```
/// use torsion::defer::Failure;
///
/// fn parse(text: &str) -> Result<u16, Failure> {
///     Ok(text.parse::<u16>()?) // `?` converts the ParseIntError into a Failure
/// }
///
/// let failure = parse("port").unwrap_err();
/// assert!(failure.check::<std::num::ParseIntError>());
/// assert!(!failure.check::<std::io::Error>());
/// assert!(failure.to_string().contains("invalid digit"));
/// assert!(failure.location().file().ends_with(".rs"));
/// ```
#[derive(Clone)]
pub struct Failure {
    /// The wrapped error, shared by every clone.
    error: Rc<dyn Error + 'static>,
    /// Where this failure was created.
    location: &'static Location<'static>,
}

/// The error behind [`Failure::msg`]: just a message.
#[derive(Debug)]
struct Message(String);

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for Message {}

impl Failure {
    /// Wraps `error`, recording the caller's location.
    ///
    /// # Examples
    ///
    /// ```
    /// use torsion::defer::{Cancelled, Failure};
    ///
    /// let failure = Failure::new(Cancelled);
    /// assert!(failure.check::<Cancelled>());
    /// ```
    #[track_caller]
    pub fn new<E: Error + 'static>(error: E) -> Failure {
        Failure {
            error: Rc::new(error),
            location: Location::caller(),
        }
    }

    /// A failure that carries only a message (Twisted's `Failure(Exception("text"))`).
    ///
    /// # Examples
    ///
    /// ```
    /// use torsion::defer::Failure;
    ///
    /// let failure = Failure::msg("disk on fire");
    /// assert_eq!(failure.error().to_string(), "disk on fire");
    /// ```
    #[track_caller]
    pub fn msg(message: impl Into<String>) -> Failure {
        Failure::new(Message(message.into()))
    }

    /// Wraps `error`, recording `location` (for failures made by the library on behalf of
    /// a caller it has tracked).
    pub(crate) fn new_at<E: Error + 'static>(
        error: E,
        location: &'static Location<'static>,
    ) -> Failure {
        Failure {
            error: Rc::new(error),
            location,
        }
    }

    /// Wraps an already boxed error (as returned by many APIs that use
    /// `Box<dyn Error>`), recording the caller's location.
    #[track_caller]
    pub fn from_boxed(error: Box<dyn Error + 'static>) -> Failure {
        Failure {
            error: Rc::from(error),
            location: Location::caller(),
        }
    }

    /// Is the wrapped error of type `E`? (Twisted's `Failure.check`.)
    pub fn check<E: Error + 'static>(&self) -> bool {
        self.error.is::<E>()
    }

    /// Gives the wrapped error back if it is of type `E`; otherwise hands back a clone of
    /// this failure, so an errback can re-raise anything else with `?` (Twisted's
    /// `Failure.trap`).
    ///
    /// # Errors
    ///
    /// A clone of `self` when the error is not an `E`.
    ///
    /// # Examples
    ///
    /// ```
    /// use torsion::defer::{fail, Cancelled, Deferred, Failure};
    ///
    /// // Turn a cancellation into a default value; let every other error through.
    /// let d: Deferred<u32> = fail(Failure::new(Cancelled)).add_errback(|failure| {
    ///     failure.trap::<Cancelled>()?;
    ///     Ok(0)
    /// });
    /// assert_eq!(d.take_result().unwrap().unwrap(), 0);
    /// ```
    pub fn trap<E: Error + 'static>(&self) -> Result<&E, Failure> {
        self.error.downcast_ref::<E>().ok_or_else(|| self.clone())
    }

    /// The wrapped error as an `E`, if it is one.
    pub fn downcast_ref<E: Error + 'static>(&self) -> Option<&E> {
        self.error.downcast_ref::<E>()
    }

    /// The wrapped error.
    pub fn error(&self) -> &(dyn Error + 'static) {
        &*self.error
    }

    /// Where this failure was created (the caller of [`Failure::new`], of the `?` that
    /// converted an error, or of the `cancel()` that made a [`Cancelled`](super::Cancelled)).
    pub fn location(&self) -> &'static Location<'static> {
        self.location
    }

    /// Do `a` and `b` share the same wrapped error (one is a clone of the other)?
    pub fn ptr_eq(a: &Failure, b: &Failure) -> bool {
        Rc::ptr_eq(&a.error, &b.error)
    }
}

impl<E: Error + 'static> From<E> for Failure {
    #[track_caller]
    fn from(error: E) -> Failure {
        Failure::new(error)
    }
}

impl fmt::Display for Failure {
    /// The error's message, then `(at file:line:column)`; with `{:#}`, also the chain of
    /// `source()` errors.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at {})", self.error, self.location)?;
        if f.alternate() {
            let mut source = self.error.source();
            while let Some(cause) = source {
                write!(f, "\n  caused by: {cause}")?;
                source = cause.source();
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Failure")
            .field("error", &self.error)
            .field("location", &format_args!("{}", self.location))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    #[test]
    fn clone_shares_the_error() {
        let a = Failure::new(io::Error::other("boom"));
        let b = a.clone();
        assert!(Failure::ptr_eq(&a, &b));
        assert!(!Failure::ptr_eq(&a, &Failure::msg("boom")));
    }

    #[test]
    fn trap_gives_error_or_failure_back() {
        let failure = Failure::new(io::Error::new(io::ErrorKind::NotFound, "gone"));
        assert_eq!(
            failure.trap::<io::Error>().unwrap().kind(),
            io::ErrorKind::NotFound
        );
        let back = failure.trap::<fmt::Error>().unwrap_err();
        assert!(Failure::ptr_eq(&back, &failure));
    }

    #[test]
    fn location_is_the_caller() {
        let line = line!() + 1;
        let failure = Failure::msg("here");
        assert_eq!(failure.location().line(), line);
        assert_eq!(failure.location().file(), file!());
    }

    #[test]
    fn question_mark_records_its_own_line() {
        fn parse() -> Result<u8, Failure> {
            Ok("x".parse::<u8>()?)
        }
        let line = line!() - 2;
        assert_eq!(parse().unwrap_err().location().line(), line);
    }

    #[test]
    fn display_and_debug_show_error_and_location() {
        let failure = Failure::msg("bad thing");
        let shown = failure.to_string();
        assert!(shown.starts_with("bad thing (at "), "{shown}");
        assert!(shown.contains(file!()));
        let debug = format!("{failure:?}");
        assert!(
            debug.contains("bad thing") && debug.contains(file!()),
            "{debug}"
        );
    }

    #[test]
    fn alternate_display_shows_sources() {
        #[derive(Debug)]
        struct Outer(io::Error);
        impl fmt::Display for Outer {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("outer")
            }
        }
        impl Error for Outer {
            fn source(&self) -> Option<&(dyn Error + 'static)> {
                Some(&self.0)
            }
        }
        let failure = Failure::new(Outer(io::Error::other("inner")));
        assert!(format!("{failure:#}").contains("caused by: inner"));
    }
}
