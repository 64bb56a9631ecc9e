//! [`Site`]: the factory of HTTP connections serving a resource tree (Twisted's
//! `server.Site`), its [`SiteOptions`], dispatch of a request to its resource, and the
//! Combined Log Format access log.

use std::fmt;
use std::rc::Rc;

use super::channel::HttpChannel;
use super::http::{unix_now, Limits};
use super::resource::{get_child_for_request, Rendered, Resource};
use super::Request;
use crate::protocol::{Address, Factory, Protocol};
use crate::time::ReactorTime;

/// Where access-log lines go (one line per finished request, no newline).
pub type AccessLog = Rc<dyn Fn(&str)>;

/// How a [`Site`] serves.
#[derive(Clone, Default)]
pub struct SiteOptions {
    /// Sizes and timeouts ([`Limits::default`] has the named defaults).
    pub limits: Limits,
    /// The time source of the timeouts: `None` uses the connection's reactor (a connection
    /// without one, in a test, then has no timeouts); tests pass a manual
    /// [`Clock`](crate::time::Clock).
    pub clock: Option<Rc<dyn ReactorTime>>,
    /// An access log in Combined Log Format, if wanted.
    pub access_log: Option<AccessLog>,
    /// Send no `Server` field. By default every response says `Server: torsion` (Twisted
    /// sends `Server: TwistedWeb/<version>`) unless the resource set its own; a deployment
    /// that does not name its software, or wants every response byte to count, turns it
    /// off here.
    pub omit_server_header: bool,
}

impl fmt::Debug for SiteOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SiteOptions")
            .field("limits", &self.limits)
            .field("clock", &self.clock.is_some())
            .field("access_log", &self.access_log.is_some())
            .field("omit_server_header", &self.omit_server_header)
            .finish()
    }
}

pub(crate) struct SiteInner {
    pub(crate) root: Rc<dyn Resource>,
    pub(crate) options: SiteOptions,
}

/// Serves a resource tree over HTTP/1.1: a [`Factory`] whose protocols are
/// [`HttpChannel`]s (Twisted's `Site`).
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
/// use torsion::web::{Data, Directory, Resource, Site};
/// use torsion::Reactor;
///
/// let root = Rc::new(Directory::new());
/// root.put_child(b"hello", Rc::new(Data::new(b"hi\n".to_vec(), "text/plain")));
/// let reactor = Reactor::new()?;
/// let port = reactor.listen_tcp(0, Site::new(root), 50, "127.0.0.1")?;
/// # let _ = port;
/// # reactor.close();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Site {
    inner: Rc<SiteInner>,
}

impl Site {
    /// Serves `root` with the default options.
    pub fn new(root: Rc<dyn Resource>) -> Rc<Site> {
        Site::with_options(root, SiteOptions::default())
    }

    /// Serves `root` with `options`.
    pub fn with_options(root: Rc<dyn Resource>, options: SiteOptions) -> Rc<Site> {
        Rc::new(Site {
            inner: Rc::new(SiteInner { root, options }),
        })
    }

    /// The root resource.
    pub fn root(&self) -> &Rc<dyn Resource> {
        &self.inner.root
    }

    /// The options.
    pub fn options(&self) -> &SiteOptions {
        &self.inner.options
    }

    /// A protocol for one connection (what `build_protocol` returns), typed.
    pub fn channel(&self) -> HttpChannel {
        HttpChannel::new(self.inner.clone())
    }
}

impl fmt::Debug for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Site")
            .field("options", &self.inner.options)
            .finish()
    }
}

impl Factory for Site {
    fn build_protocol(&self, _addr: &Address) -> Option<Box<dyn Protocol>> {
        Some(Box::new(self.channel()))
    }
}

/// Renders `request` with the resource traversal finds from `root`.
pub(crate) fn dispatch(root: &Rc<dyn Resource>, request: &Request) {
    let resource = get_child_for_request(root, request);
    match resource.render(request) {
        Rendered::Body(body) => request.write_whole(&body),
        Rendered::Static(body) => request.write_whole(body),
        Rendered::NotDoneYet => {}
        Rendered::Deferred(d) => {
            let (ok, failed) = (request.clone(), request.clone());
            drop(d.add_callbacks(
                move |body: Vec<u8>| {
                    ok.write_whole(&body);
                    Ok(())
                },
                move |failure| {
                    failed.processing_failed(&failure);
                    Ok(())
                },
            ));
        }
        Rendered::NotAllowed => {
            request.set_response_code(405, None);
            request.set_header("allow", resource.allowed_methods().join(", "));
            request.set_header("content-type", "text/html; charset=utf-8");
            request.write_whole(
                b"<html><head><title>405 - Method Not Allowed</title></head><body><h1>Method Not Allowed</h1></body></html>\n",
            );
        }
    }
}

fn clf_date(secs: u64) -> String {
    // 10/Oct/2000:13:55:36 +0000, from the IMF-fixdate pieces.
    let d = super::http::format_http_date(secs);
    let s = |r: std::ops::Range<usize>| String::from_utf8_lossy(&d[r]).into_owned();
    format!("{}/{}/{}:{} +0000", s(5..7), s(8..11), s(12..16), s(17..25))
}

fn quoted(v: Option<Vec<u8>>) -> String {
    match v {
        Some(v) => format!(
            "\"{}\"",
            String::from_utf8_lossy(&v)
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
        ),
        None => "\"-\"".to_string(),
    }
}

/// The Combined Log Format line of a finished request (Twisted's `combinedLogFormatter`):
/// `host - - [date] "request line" status bytes "referer" "user-agent"`.
pub fn combined_log_line(request: &Request) -> String {
    let host = match request.get_client_address() {
        Some(Address::Tcp(a)) => a.ip().to_string(),
        _ => "-".to_string(),
    };
    let (code, sent) = {
        let st = request.st.borrow();
        (if st.not_modified { 304 } else { st.code }, st.sent)
    };
    format!(
        "{host} - - [{}] \"{} {} {}\" {code} {} {} {}",
        clf_date(unix_now()),
        request.method(),
        request.uri().replace('"', "%22"),
        request.client_proto(),
        if sent == 0 {
            "-".to_string()
        } else {
            sent.to_string()
        },
        quoted(request.get_header("referer")),
        quoted(request.get_header("user-agent")),
    )
}
