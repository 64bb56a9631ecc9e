//! SASL authenticators for `AUTHENTICATE` (Twisted's `mail/_cred.py` client side):
//! [`PlainAuthenticator`], [`LoginAuthenticator`], [`CramMd5Authenticator`].

pub(crate) mod base64;
mod md5;

use std::fmt;

/// One SASL mechanism, client side (Twisted's `IClientAuthentication`).
///
/// [`Imap4Client::authenticate`](crate::mail::imap4::Imap4Client::authenticate) sends
/// `AUTHENTICATE <name>`, then answers each continuation's decoded challenge with
/// [`challenge_response`](Authenticator::challenge_response) (base64-encoded on the wire).
pub trait Authenticator: fmt::Debug {
    /// The mechanism's name, as in the `AUTH=` capability (`PLAIN`).
    fn name(&self) -> &str;
    /// The answer to the server's (decoded) challenge.
    fn challenge_response(&mut self, challenge: &[u8]) -> Vec<u8>;
}

/// `PLAIN` (RFC 4616): `\0user\0password` in one step.
///
/// # Examples
///
/// ```
/// use torsion::mail::imap4::{Authenticator, PlainAuthenticator};
///
/// let mut auth = PlainAuthenticator::new("tim", "tanstaaftanstaaf");
/// assert_eq!(auth.challenge_response(b""), b"\0tim\0tanstaaftanstaaf");
/// ```
#[derive(Clone)]
pub struct PlainAuthenticator {
    user: String,
    password: String,
}

impl PlainAuthenticator {
    /// For `user` with `password`.
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> PlainAuthenticator {
        PlainAuthenticator {
            user: user.into(),
            password: password.into(),
        }
    }
}

impl fmt::Debug for PlainAuthenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlainAuthenticator")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Authenticator for PlainAuthenticator {
    fn name(&self) -> &str {
        "PLAIN"
    }
    fn challenge_response(&mut self, _challenge: &[u8]) -> Vec<u8> {
        format!("\0{}\0{}", self.user, self.password).into_bytes()
    }
}

/// `LOGIN` (draft-murchison-sasl-login): the user name, then the password, one per
/// challenge (`Username:` / `Password:`, or whatever the server asks: the first answer is
/// the user, the next ones the password).
#[derive(Clone)]
pub struct LoginAuthenticator {
    user: String,
    password: String,
    step: usize,
}

impl LoginAuthenticator {
    /// For `user` with `password`.
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> LoginAuthenticator {
        LoginAuthenticator {
            user: user.into(),
            password: password.into(),
            step: 0,
        }
    }
}

impl fmt::Debug for LoginAuthenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginAuthenticator")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Authenticator for LoginAuthenticator {
    fn name(&self) -> &str {
        "LOGIN"
    }
    fn challenge_response(&mut self, challenge: &[u8]) -> Vec<u8> {
        self.step += 1;
        let asks_user = challenge.to_ascii_lowercase().starts_with(b"user");
        if asks_user || (self.step == 1 && challenge.is_empty()) {
            self.user.clone().into_bytes()
        } else {
            self.password.clone().into_bytes()
        }
    }
}

/// `CRAM-MD5` (RFC 2195): `user SP hex(HMAC-MD5(secret, challenge))`.
///
/// # Examples
///
/// The RFC's example:
///
/// ```
/// use torsion::mail::imap4::{Authenticator, CramMd5Authenticator};
///
/// let mut auth = CramMd5Authenticator::new("tim", "tanstaaftanstaaf");
/// let answer = auth.challenge_response(b"<1896.697170952@postoffice.reston.mci.net>");
/// assert_eq!(answer, b"tim b913a602c7eda7a495b4e6e7334d3890");
/// ```
#[derive(Clone)]
pub struct CramMd5Authenticator {
    user: String,
    secret: String,
}

impl CramMd5Authenticator {
    /// For `user` with the shared `secret`.
    pub fn new(user: impl Into<String>, secret: impl Into<String>) -> CramMd5Authenticator {
        CramMd5Authenticator {
            user: user.into(),
            secret: secret.into(),
        }
    }
}

impl fmt::Debug for CramMd5Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CramMd5Authenticator")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Authenticator for CramMd5Authenticator {
    fn name(&self) -> &str {
        "CRAM-MD5"
    }
    fn challenge_response(&mut self, challenge: &[u8]) -> Vec<u8> {
        let digest = md5::hmac_md5(self.secret.as_bytes(), challenge);
        format!("{} {}", self.user, md5::hex(&digest)).into_bytes()
    }
}
