//! [`Token`]: the name a registered source goes by in the poller.
//!
//! Tests: unit tests below; `sys/tests/conformance.rs`.

use std::fmt;

/// Identifies a registered source: a slot index plus a generation.
///
/// The reactor keeps its sources in a slab. When a slot is freed and reused its generation
/// changes, so an event that was already in the kernel's ready list for the old occupant
/// carries a token whose generation no longer matches and is dropped instead of being
/// delivered to the new one (what libuv does with `uv__platform_invalidate_fd`, and what mio
/// leaves to its users).
///
/// A token packs into one `u64` (index in the low half, generation in the high half), which is
/// what epoll's `data` and kqueue's `udata` carry.
///
/// # Examples
///
/// ```
/// use torsion_sys::Token;
///
/// let t = Token::new(7, 3);
/// assert_eq!((t.index(), t.generation()), (7, 3));
/// assert_eq!(Token::from_u64(t.as_u64()), t);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Token(u64);

impl Token {
    /// The token the reactor reserves for its [`Waker`](crate::Waker).
    pub const WAKER: Token = Token(u64::MAX);

    /// A token for slot `index` in its `generation`.
    #[inline]
    pub const fn new(index: u32, generation: u32) -> Token {
        Token(((generation as u64) << 32) | index as u64)
    }

    /// The slot index.
    #[inline]
    pub const fn index(self) -> u32 {
        self.0 as u32
    }

    /// The slot's generation when the token was made.
    #[inline]
    pub const fn generation(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// The packed form.
    #[inline]
    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// Unpacks a token made by [`as_u64`](Token::as_u64).
    #[inline]
    pub const fn from_u64(raw: u64) -> Token {
        Token(raw)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Token::WAKER {
            return f.write_str("Token(WAKER)");
        }
        write!(f, "Token({}#{})", self.index(), self.generation())
    }
}

#[cfg(test)]
mod tests {
    use super::Token;

    #[test]
    fn packs_and_unpacks_extremes() {
        for (i, g) in [(0, 0), (u32::MAX, 0), (0, u32::MAX), (12345, 678)] {
            let t = Token::new(i, g);
            assert_eq!(t.index(), i);
            assert_eq!(t.generation(), g);
            assert_eq!(Token::from_u64(t.as_u64()), t);
        }
    }

    #[test]
    fn waker_token_is_distinct_from_ordinary_slots() {
        assert_ne!(Token::new(0, 0), Token::WAKER);
        assert_eq!(format!("{:?}", Token::WAKER), "Token(WAKER)");
        assert_eq!(format!("{:?}", Token::new(4, 2)), "Token(4#2)");
    }
}
