//! Response cookies, redirects and conditional requests (`Set-Cookie`, `Location`,
//! `ETag` / `Last-Modified` answering 304).

use super::state::State;
use super::{forms, Request};
use crate::web::http::parse_http_date;

/// Options of a `Set-Cookie` field ([`Request::add_cookie`]); all unset by default.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CookieOptions {
    /// `Expires=` (an HTTP date).
    pub expires: Option<String>,
    /// `Domain=`.
    pub domain: Option<String>,
    /// `Path=`.
    pub path: Option<String>,
    /// `Max-Age=` in seconds.
    pub max_age: Option<u64>,
    /// `Secure`.
    pub secure: bool,
    /// `HttpOnly`.
    pub http_only: bool,
    /// `SameSite=` (`Strict`, `Lax` or `None`).
    pub same_site: Option<String>,
}

impl Request {
    /// Adds a `Set-Cookie` field (Twisted's `addCookie`).
    pub fn add_cookie(&self, name: &str, value: &str, options: &CookieOptions) {
        let mut c = format!("{name}={value}");
        if let Some(e) = &options.expires {
            c += &format!("; Expires={e}");
        }
        if let Some(d) = &options.domain {
            c += &format!("; Domain={d}");
        }
        if let Some(p) = &options.path {
            c += &format!("; Path={p}");
        }
        if let Some(m) = options.max_age {
            c += &format!("; Max-Age={m}");
        }
        if options.secure {
            c += "; Secure";
        }
        if options.http_only {
            c += "; HttpOnly";
        }
        if let Some(s) = &options.same_site {
            c += &format!("; SameSite={s}");
        }
        self.add_header("set-cookie", c);
    }

    /// Answers with a redirect to `url` (302, `Location`), Twisted's `redirect`; the
    /// caller still finishes the request.
    pub fn redirect(&self, url: &str) {
        self.set_response_code(302, None);
        self.set_header("location", url);
    }

    /// Sets `Last-Modified` to `secs` since the Unix epoch; if the request's
    /// `If-Modified-Since` is at or after it (and there is no `If-None-Match`), the answer
    /// becomes 304 and true is returned: write nothing more, just finish (Twisted's
    /// `setLastModified` returning `CACHED`).
    pub fn set_last_modified(&self, secs: u64) -> bool {
        self.set_header("last-modified", crate::web::http::format_http_date(secs));
        let mut st = self.st.borrow_mut();
        if st.header(b"if-none-match").is_some() {
            return st.not_modified;
        }
        let since = st.header(b"if-modified-since").and_then(parse_http_date);
        if since.is_some_and(|s| s >= secs) && self_is_cacheable(&st) {
            st.not_modified = true;
        }
        st.not_modified
    }

    /// Sets `ETag` to `etag` (given with its quotes, e.g. `"\"v1\""`); if the request's
    /// `If-None-Match` lists it (or is `*`), the answer becomes 304 and true is returned
    /// (Twisted's `setETag`).
    pub fn set_etag(&self, etag: &str) -> bool {
        self.set_header("etag", etag);
        let mut st = self.st.borrow_mut();
        let matched = st.header(b"if-none-match").is_some_and(|v| {
            v.split(|&c| c == b',').map(forms::trim).any(|t| {
                t == b"*" || t == etag.as_bytes() || t.strip_prefix(b"W/") == Some(etag.as_bytes())
            })
        });
        if matched && self_is_cacheable(&st) {
            st.not_modified = true;
        }
        st.not_modified
    }
}

fn self_is_cacheable(st: &State) -> bool {
    let m = &st.head[st.method.clone()];
    (m == b"GET" || m == b"HEAD") && st.code == 200
}
