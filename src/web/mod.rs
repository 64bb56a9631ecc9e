//! twisted.web in Rust: an HTTP/1.1 server with a [`Resource`] tree, a [`Site`] factory,
//! [`Request`]s, static files ([`static_files::File`]), on strict RFC 9112 framing
//! ([`http`]).
//!
//! ```text
//!  bytes ─► HttpChannel ─► http::Framer (httparse + framing rules + chunked decoder)
//!                │                 │ head, body, complete
//!                │                 ▼
//!                │        Request ─► get_child_for_request(root) ─► Resource::render
//!                │                                                    │ Rendered
//!                ◄──── write / finish (Content-Length or chunked) ◄───┘
//! ```
//!
//! # Twisted names
//!
//! | Twisted | torsion |
//! |---|---|
//! | `resource.Resource`, `putChild`, `getChild`, `getChildWithDefault`, `isLeaf`, `render_GET` | [`Resource`], [`Resource::put_child`], [`Resource::get_child`], [`Resource::get_child_with_default`], [`Resource::is_leaf`], [`Resource::render_get`] |
//! | `server.Site(root)` | [`Site::new`] |
//! | `server.NOT_DONE_YET` | [`NOT_DONE_YET`] / [`Rendered::NotDoneYet`] |
//! | `request.setHeader`, `setResponseCode`, `addCookie`, `write`, `finish`, `notifyFinish` | [`Request::set_header`], [`Request::set_response_code`], [`Request::add_cookie`], [`Request::write`], [`Request::finish`], [`Request::notify_finish`] |
//! | `http.HTTPChannel` | [`HttpChannel`] |
//! | `static.File`, `static.Data` | [`static_files::File`], [`Data`] |
//! | `resource.NoResource`, `ErrorPage` | [`ErrorPage`] |
//!
//! Beyond Twisted: a render may return a Deferred or an async body ([`Rendered::Deferred`],
//! [`Rendered::from_future`]); a header timeout closes slowloris connections; framing is
//! strict (see [`http`]).
//!
//! Tests: `tests/web_*.rs`; example: `examples/web_counter.rs`.

mod channel;
pub mod fuzzing;
pub mod http;
mod request;
mod resource;
mod site;
pub mod static_files;

pub use channel::HttpChannel;
pub use request::{
    header_param, parse_cookies_into, parse_multipart_into, parse_qs_into, percent_decode,
    percent_decode_into, Args, ClientGone, CookieOptions, Request,
};
pub use resource::{
    get_child_for_request, Children, Data, Directory, ErrorPage, Rendered, Resource, NOT_DONE_YET,
};
pub use site::{combined_log_line, AccessLog, Site, SiteOptions};
