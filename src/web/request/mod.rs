//! [`Request`]: one HTTP request and its response (Twisted's `server.Request`).

mod cookies;
mod forms;
mod response;
pub(crate) mod state;

use std::cell::{RefCell, RefMut};
use std::fmt;
use std::rc::Rc;

use crate::web::channel::ChannelShared;

use crate::defer::{fail, succeed, Deferred, Failure};
use crate::protocol::Address;
use crate::transport::{Producer, ProducerError, Transport};

pub use cookies::CookieOptions;
pub(crate) use forms::trim as forms_trim;
pub use forms::{
    header_param, parse_cookies_into, parse_multipart_into, parse_qs_into, percent_decode,
    percent_decode_into, Args,
};
use state::State;

/// The error a [`Request::notify_finish`] Deferred fails with when the client went away
/// before the response was finished.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientGone;

impl fmt::Display for ClientGone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the client went away before the response was finished")
    }
}

impl std::error::Error for ClientGone {}

/// One request on a connection and its response: what arrived (method, target, headers,
/// body, arguments, cookies) and the calls that answer it. A cheap handle (an `Rc`): keep
/// a clone to answer later (after returning [`Rendered::NotDoneYet`](super::Rendered)).
///
/// Getters copy what they return (a `String` or `Vec<u8>`), so no borrow is ever held
/// across calls. Once the client has gone, writes and `finish` do nothing (Twisted raises
/// on `finish`; here it is never an error to answer a client that left).
///
/// # Examples
///
/// ```
/// use torsion::web::{Rendered, Request, Resource};
///
/// struct Hello;
/// impl Resource for Hello {
///     fn is_leaf(&self) -> bool { true }
///     fn render_get(&self, request: &Request) -> Rendered {
///         request.set_header("content-type", "text/plain");
///         let name = request.arg("name").unwrap_or_else(|| b"world".to_vec());
///         format!("hello {}\n", String::from_utf8_lossy(&name)).into()
///     }
/// }
/// ```
#[derive(Clone)]
pub struct Request {
    pub(crate) st: Rc<RefCell<State>>,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.st.try_borrow() {
            Ok(st) => f
                .debug_struct("Request")
                .field(
                    "method",
                    &String::from_utf8_lossy(&st.head[st.method.clone()]),
                )
                .field("uri", &String::from_utf8_lossy(&st.head[st.target.clone()]))
                .field("code", &st.code)
                .field("finished", &st.finished)
                .finish(),
            Err(_) => f.write_str("Request { <in use> }"),
        }
    }
}

impl Request {
    pub(crate) fn from_state(st: Rc<RefCell<State>>) -> Request {
        Request { st }
    }

    /// The method (`GET`, `POST`, ...).
    pub fn method(&self) -> String {
        let st = self.st.borrow();
        String::from_utf8_lossy(&st.head[st.method.clone()]).into_owned()
    }

    /// True if the method is `method` (no copy).
    pub fn method_is(&self, method: &str) -> bool {
        let st = self.st.borrow();
        &st.head[st.method.clone()] == method.as_bytes()
    }

    pub(crate) fn with_method<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        let st = self.st.borrow();
        f(&st.head[st.method.clone()])
    }

    /// The request target as sent (path and query), Twisted's `uri`.
    pub fn uri(&self) -> String {
        let st = self.st.borrow();
        String::from_utf8_lossy(&st.head[st.target.clone()]).into_owned()
    }

    /// The path part of the target (before `?`), not decoded.
    pub fn path(&self) -> String {
        let st = self.st.borrow();
        String::from_utf8_lossy(&st.head[st.target.start..st.path_end]).into_owned()
    }

    /// The protocol version: `"HTTP/1.1"` or `"HTTP/1.0"` (Twisted's `clientproto`).
    pub fn client_proto(&self) -> &'static str {
        if self.st.borrow().minor == 1 {
            "HTTP/1.1"
        } else {
            "HTTP/1.0"
        }
    }

    /// The decoded path segments traversal has used (Twisted's `prepath`).
    pub fn prepath(&self) -> Vec<Vec<u8>> {
        let st = self.st.borrow();
        st.segs[..st.consumed]
            .iter()
            .map(|r| st.seg_bytes[r.clone()].to_vec())
            .collect()
    }

    /// The decoded path segments left after traversal (Twisted's `postpath`): what a leaf
    /// resource serves.
    pub fn postpath(&self) -> Vec<Vec<u8>> {
        let st = self.st.borrow();
        st.segs[st.consumed..]
            .iter()
            .map(|r| st.seg_bytes[r.clone()].to_vec())
            .collect()
    }

    /// Moves the next postpath segment to the prepath and gives it to `f` (traversal).
    pub(crate) fn next_segment<R>(&self, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        let seg = {
            let mut st = self.st.borrow_mut();
            let r = st.segs.get(st.consumed)?.clone();
            st.consumed += 1;
            r
        };
        let st = self.st.borrow();
        Some(f(&st.seg_bytes[seg]))
    }

    pub(crate) fn has_postpath(&self) -> bool {
        let st = self.st.borrow();
        st.consumed < st.segs.len()
    }

    /// The first value of request header `name` (case-insensitive), Twisted's `getHeader`.
    pub fn get_header(&self, name: &str) -> Option<Vec<u8>> {
        self.st.borrow().header(name.as_bytes()).map(<[u8]>::to_vec)
    }

    /// Whether request header `name` is present and equals `value`, ignoring ASCII case.
    pub fn header_is(&self, name: &str, value: &str) -> bool {
        self.st
            .borrow()
            .header(name.as_bytes())
            .is_some_and(|v| v.eq_ignore_ascii_case(value.as_bytes()))
    }

    /// Every request header, in order (Twisted's `requestHeaders`).
    pub fn get_all_headers(&self) -> Vec<(String, Vec<u8>)> {
        let st = self.st.borrow();
        st.headers
            .iter()
            .map(|(n, v)| {
                (
                    String::from_utf8_lossy(&st.head[n.clone()]).into_owned(),
                    st.head[v.clone()].to_vec(),
                )
            })
            .collect()
    }

    /// The request body (Twisted's `content.read()`).
    pub fn content(&self) -> Vec<u8> {
        self.st.borrow().content.clone()
    }

    /// Runs `f` on the request body, without a copy.
    pub fn with_content<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        f(&self.st.borrow().content)
    }

    /// The arguments: from the query string, then from an `application/x-www-form-urlencoded`
    /// or `multipart/form-data` body (Twisted's `args`).
    pub fn args(&self) -> Args {
        let st = self.st.borrow();
        let mut args = Args::new();
        let target = &st.head[st.target.clone()];
        if let Some(q) = target.iter().position(|&c| c == b'?') {
            parse_qs_into(&target[q + 1..], &mut args);
        }
        if let Some(ct) = st.header(b"content-type") {
            let essence = forms::trim(ct.split(|&c| c == b';').next().unwrap_or(b""));
            if essence.eq_ignore_ascii_case(b"application/x-www-form-urlencoded") {
                parse_qs_into(&st.content, &mut args);
            } else if essence.eq_ignore_ascii_case(b"multipart/form-data") {
                if let Some(boundary) = header_param(ct, b"boundary") {
                    parse_multipart_into(&st.content, boundary, &mut args);
                }
            }
        }
        args
    }

    /// The first value of argument `name`, if any.
    pub fn arg(&self, name: &str) -> Option<Vec<u8>> {
        self.args()
            .into_iter()
            .find(|(n, _)| n == name.as_bytes())
            .map(|(_, v)| v)
    }

    /// The cookies the client sent (Twisted's `received_cookies`).
    pub fn received_cookies(&self) -> Args {
        let st = self.st.borrow();
        let mut out = Args::new();
        for (n, v) in &st.headers {
            if st.head[n.clone()].eq_ignore_ascii_case(b"cookie") {
                parse_cookies_into(&st.head[v.clone()], &mut out);
            }
        }
        out
    }

    /// The value of cookie `name` (Twisted's `getCookie`).
    pub fn get_cookie(&self, name: &str) -> Option<Vec<u8>> {
        self.received_cookies()
            .into_iter()
            .find(|(n, _)| n == name.as_bytes())
            .map(|(_, v)| v)
    }

    /// The client's address (Twisted's `getClientAddress`).
    pub fn get_client_address(&self) -> Option<Address> {
        self.st.borrow().transport.as_ref().map(|t| t.get_peer())
    }

    /// Our own address on the connection (Twisted's `getHost`).
    pub fn get_host(&self) -> Option<Address> {
        self.st.borrow().transport.as_ref().map(|t| t.get_host())
    }

    /// The host the client asked for: the `Host` header without its port (Twisted's
    /// `getRequestHostname`).
    pub fn get_request_hostname(&self) -> Option<String> {
        let host = self.get_header("host")?;
        let host = String::from_utf8_lossy(&host).into_owned();
        Some(if host.starts_with('[') {
            host.split_inclusive(']').next().unwrap_or("").to_string()
        } else {
            host.split(':').next().unwrap_or("").to_string()
        })
    }

    /// True if the request came over TLS.
    pub fn is_secure(&self) -> bool {
        self.st.borrow().secure
    }

    /// The status code to answer with (200 unless set).
    pub fn code(&self) -> u16 {
        self.st.borrow().code
    }

    /// Sets the status code, and optionally a reason phrase (Twisted's `setResponseCode`).
    /// Ignored once the head is written.
    pub fn set_response_code(&self, code: u16, reason: Option<&str>) {
        let mut st = self.st.borrow_mut();
        if !st.started {
            st.code = code;
            st.reason = reason.map(str::to_string);
        }
    }

    /// Sets response header `name` to `value`, replacing any earlier value (Twisted's
    /// `setHeader`). `Content-Length` set here is used as the body's length;
    /// `Connection: close` closes the connection after the response; `Date` and `Server`
    /// replace the server's own; CR and LF in a value are replaced by spaces.
    pub fn set_header(&self, name: &str, value: impl AsRef<[u8]>) {
        let mut st = self.st.borrow_mut();
        if st.started {
            return;
        }
        let value = value.as_ref();
        if name.eq_ignore_ascii_case("content-length") {
            st.declared_length = crate::web::http::parse_content_length(value);
        } else if name.eq_ignore_ascii_case("connection") && value.eq_ignore_ascii_case(b"close") {
            st.keep_alive = false; // the connection closes after this response
        }
        st.remove_out_header(name.as_bytes());
        st.add_out_header(name.as_bytes(), value);
    }

    /// Adds a response header without replacing earlier ones (for `Set-Cookie`, say).
    pub fn add_header(&self, name: &str, value: impl AsRef<[u8]>) {
        let mut st = self.st.borrow_mut();
        if !st.started {
            st.add_out_header(name.as_bytes(), value.as_ref());
        }
    }

    /// The response header `name` as set so far.
    pub fn response_header(&self, name: &str) -> Option<Vec<u8>> {
        self.st
            .borrow()
            .out_header(name.as_bytes())
            .map(<[u8]>::to_vec)
    }

    /// True once [`finish`](Request::finish) was called.
    pub fn finished(&self) -> bool {
        self.st.borrow().finished
    }

    /// True once the client has gone (the connection was lost before `finish`).
    pub fn client_gone(&self) -> bool {
        self.st.borrow().gone
    }

    /// True once the head of the response was written.
    pub fn started(&self) -> bool {
        self.st.borrow().started
    }

    /// A Deferred that fires when the response is finished, or fails with [`ClientGone`]
    /// if the client goes away first (Twisted's `notifyFinish`).
    pub fn notify_finish(&self) -> Deferred<()> {
        let mut st = self.st.borrow_mut();
        if st.finished {
            return succeed(());
        }
        if st.gone {
            return fail(Failure::new(ClientGone));
        }
        let d = Deferred::new();
        st.notify.push(d.clone());
        d
    }

    /// The connection is closing (or gone): the response says `Connection: close`.
    fn closing(channel: Option<&Rc<ChannelShared>>) -> bool {
        channel.is_none_or(|c| c.closing())
    }

    /// Writes body bytes (the head first, the first time): chunked in HTTP/1.1 unless a
    /// `Content-Length` was set. Nothing happens after `finish` or once the client is gone.
    pub fn write(&self, data: &[u8]) {
        let mut st = self.st.borrow_mut();
        if st.finished || st.gone {
            return;
        }
        let channel = st.channel.upgrade();
        if !st.started {
            st.begin(None, Self::closing(channel.as_ref()));
        } else {
            st.wbuf.clear();
        }
        let Some(t) = st.transport.clone() else {
            return;
        };
        emit(channel.as_ref(), &t, st.frame(data));
        st.wbuf.clear();
    }

    /// Writes `body` as the whole response with its `Content-Length`, then finishes: what
    /// a render returning bytes does.
    pub fn write_whole(&self, body: &[u8]) {
        let mut st = self.st.borrow_mut();
        if st.finished || st.gone {
            return;
        }
        if st.started {
            drop(st);
            self.write(body);
            return self.finish();
        }
        // The common case, in one pass: head and body written, finished, the channel told.
        let Some(t) = st.transport.clone() else {
            return;
        };
        let channel = st.channel.upgrade();
        st.begin(Some(body.len() as u64), Self::closing(channel.as_ref()));
        emit(channel.as_ref(), &t, st.frame(body));
        self.end(st, &t, channel);
    }

    /// Ends the response (Twisted's `finish`): writes the head if nothing was written
    /// (with `Content-Length: 0`), the last chunk if chunked, fires the `notify_finish`
    /// Deferreds, and lets the connection go on to the next request (or close). A second
    /// call, or a call after the client went away, does nothing.
    pub fn finish(&self) {
        let mut st = self.st.borrow_mut();
        if st.finished || st.gone {
            return;
        }
        let Some(t) = st.transport.clone() else {
            return;
        };
        let channel = st.channel.upgrade();
        if !st.started {
            st.begin(Some(0), Self::closing(channel.as_ref()));
            emit(channel.as_ref(), &t, [&st.wbuf, b""]);
        } else if st.chunked {
            emit(channel.as_ref(), &t, [b"0\r\n\r\n", b""]);
        }
        self.end(st, &t, channel);
    }

    /// What every way of finishing shares once the last bytes are written: marks the
    /// request finished, drops its producer, fires `notify_finish` and tells the channel
    /// (with no borrow of the state held while those run).
    fn end(&self, mut st: RefMut<'_, State>, t: &Transport, channel: Option<Rc<ChannelShared>>) {
        st.wbuf.clear();
        st.finished = true;
        if st.producer.take().is_some() {
            t.unregister_producer();
        }
        let notify = (!st.notify.is_empty()).then(|| std::mem::take(&mut st.notify));
        let keep_alive = st.keep_alive;
        drop(st);
        for d in notify.into_iter().flatten() {
            let _ = d.callback(());
        }
        if let Some(channel) = channel {
            channel.request_finished(self, keep_alive);
        }
    }

    /// Streams the body from `producer` (Twisted's `registerProducer`): registered on the
    /// connection, so it is paused while the client does not read. The producer writes
    /// with [`write`](Request::write) and calls [`finish`](Request::finish) at the end.
    ///
    /// # Errors
    ///
    /// As [`Transport::register_producer`](crate::transport::Transport::register_producer).
    pub fn register_producer(&self, producer: Producer) -> Result<(), ProducerError> {
        let t = self.st.borrow().transport.clone();
        let t = t.ok_or(ProducerError::Closed)?;
        if self.client_gone() {
            return Err(ProducerError::Closed);
        }
        t.register_producer(producer.clone())?;
        self.st.borrow_mut().producer = Some(producer);
        Ok(())
    }

    /// Forgets the producer registered with [`register_producer`](Request::register_producer).
    pub fn unregister_producer(&self) {
        let (p, t) = {
            let mut st = self.st.borrow_mut();
            (st.producer.take(), st.transport.clone())
        };
        if let (Some(_), Some(t)) = (p, t) {
            t.unregister_producer();
        }
    }

    /// Answers 500 (if nothing was written yet) after a render failed, and logs `failure`
    /// (Twisted's `processingFailed`, without the traceback page).
    pub fn processing_failed(&self, failure: &Failure) {
        log::error!("request {} failed: {failure}", self.uri());
        if self.started() {
            let t = self.st.borrow().transport.clone();
            self.st.borrow_mut().keep_alive = false;
            if let Some(t) = t {
                t.lose_connection();
            }
            self.finish();
            return;
        }
        self.set_response_code(500, None);
        self.set_header("content-type", "text/html; charset=utf-8");
        self.st.borrow_mut().keep_alive = false;
        self.write_whole(b"<html><head><title>500 - Internal Server Error</title></head><body><h1>Internal Server Error</h1></body></html>\n");
    }

    /// The client went away: writes become no-ops, `notify_finish` Deferreds fail.
    pub(crate) fn connection_lost(&self) {
        let notify = {
            let mut st = self.st.borrow_mut();
            if st.finished || st.gone {
                return;
            }
            st.gone = true;
            st.producer = None;
            std::mem::take(&mut st.notify)
        };
        for d in notify {
            let _ = d.errback(Failure::new(ClientGone));
        }
    }
}

/// Writes through the channel (which batches the responses of one read) if it is there.
fn emit(channel: Option<&Rc<ChannelShared>>, t: &Transport, pieces: [&[u8]; 2]) {
    match channel {
        Some(c) => c.emit(t, &pieces),
        None => match pieces {
            [a, b""] => t.write(a),
            pieces => t.write_sequence(&pieces),
        },
    }
}
