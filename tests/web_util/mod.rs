//! Shared pieces of the web tests: a site with one resource of each kind, and a strict
//! parser of the responses a test got back.
#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use torsion::defer::Deferred;
use torsion::testing::Driver;
use torsion::time::Clock;
use torsion::web::http::Limits;
use torsion::web::{Directory, HttpChannel, Rendered, Request, Resource, Site, SiteOptions};

/// `I am request #N` (the seed's counter).
#[derive(Default)]
pub(crate) struct Counter {
    pub(crate) n: Cell<u64>,
}

impl Resource for Counter {
    fn is_leaf(&self) -> bool {
        true
    }
    fn render_get(&self, request: &Request) -> Rendered {
        self.n.set(self.n.get() + 1);
        request.set_header("content-type", "text/plain");
        format!("I am request #{}\n", self.n.get()).into()
    }
}

/// POST: the body back; GET: the postpath and args.
pub(crate) struct Echo;

impl Resource for Echo {
    fn is_leaf(&self) -> bool {
        true
    }
    fn allowed_methods(&self) -> &'static [&'static str] {
        &["GET", "HEAD", "POST"]
    }
    fn render_get(&self, request: &Request) -> Rendered {
        let mut out = Vec::new();
        for seg in request.postpath() {
            out.extend_from_slice(b"/");
            out.extend_from_slice(&seg);
        }
        for (k, v) in request.args() {
            out.extend_from_slice(b" ");
            out.extend_from_slice(&k);
            out.extend_from_slice(b"=");
            out.extend_from_slice(&v);
        }
        out.into()
    }
    fn render_post(&self, request: &Request) -> Rendered {
        request.content().into()
    }
}

/// Answers later: keeps its requests for the test to finish.
#[derive(Default)]
pub(crate) struct Later {
    pub(crate) pending: RefCell<Vec<Request>>,
}

impl Resource for Later {
    fn is_leaf(&self) -> bool {
        true
    }
    fn render_get(&self, request: &Request) -> Rendered {
        self.pending.borrow_mut().push(request.clone());
        Rendered::NotDoneYet
    }
}

/// Answers with a Deferred the test fires.
#[derive(Default)]
pub(crate) struct Deferring {
    pub(crate) pending: RefCell<Vec<Deferred<Vec<u8>>>>,
}

impl Resource for Deferring {
    fn is_leaf(&self) -> bool {
        true
    }
    fn render_get(&self, _: &Request) -> Rendered {
        let d = Deferred::new();
        self.pending.borrow_mut().push(d.clone());
        Rendered::Deferred(d)
    }
}

/// Streams `n` pieces with `write` (chunked in HTTP/1.1).
pub(crate) struct Stream;

impl Resource for Stream {
    fn is_leaf(&self) -> bool {
        true
    }
    fn render_get(&self, request: &Request) -> Rendered {
        for i in 0..3 {
            request.write(format!("piece{i};").as_bytes());
        }
        request.finish();
        Rendered::NotDoneYet
    }
}

pub(crate) struct Fixture {
    pub(crate) site: Rc<Site>,
    pub(crate) counter: Rc<Counter>,
    pub(crate) later: Rc<Later>,
    pub(crate) deferring: Rc<Deferring>,
    pub(crate) clock: Clock,
}

/// `/` counter (a leaf at the root? no: `/count`), `/echo`, `/later`, `/deferred`,
/// `/stream`, under a Directory root.
pub(crate) fn fixture(limits: Limits) -> Fixture {
    fixture_with(SiteOptions {
        limits,
        ..SiteOptions::default()
    })
}

/// [`fixture`] with `options` (its clock replaced by the fixture's manual one).
pub(crate) fn fixture_with(options: SiteOptions) -> Fixture {
    let root = Rc::new(Directory::new());
    let counter = Rc::new(Counter::default());
    let later = Rc::new(Later::default());
    let deferring = Rc::new(Deferring::default());
    root.put_child(b"count", counter.clone());
    root.put_child(b"echo", Rc::new(Echo));
    root.put_child(b"later", later.clone());
    root.put_child(b"deferred", deferring.clone());
    root.put_child(b"stream", Rc::new(Stream));
    let clock = Clock::new();
    let options = SiteOptions {
        clock: Some(Rc::new(clock.clone())),
        ..options
    };
    let site = Site::with_options(root, options);
    Fixture {
        site,
        counter,
        later,
        deferring,
        clock,
    }
}

impl Fixture {
    pub(crate) fn driver(&self) -> Driver<HttpChannel> {
        Driver::new(self.site.channel())
    }
}

/// One parsed response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Response {
    pub(crate) code: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Response {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Parses every complete response in `data` (strictly: Content-Length or chunked, or to
/// the end when neither); `head_requests` marks which ones answer HEAD (no body).
pub(crate) fn parse_responses(mut data: &[u8], head_requests: &[bool]) -> Vec<Response> {
    let mut out = Vec::new();
    loop {
        if data.is_empty() {
            return out;
        }
        let mut hs = [httparse::EMPTY_HEADER; 64];
        let mut r = httparse::Response::new(&mut hs);
        let n = match r.parse(data).expect("a well-formed response head") {
            httparse::Status::Complete(n) => n,
            httparse::Status::Partial => return out,
        };
        let code = r.code.unwrap();
        let headers: Vec<(String, String)> = r
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_string(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect();
        data = &data[n..];
        let resp = Response {
            code,
            headers,
            body: Vec::new(),
        };
        if code == 100 {
            continue;
        }
        let is_head = head_requests.get(out.len()).copied().unwrap_or(false);
        let mut resp = resp;
        if is_head || code == 304 || code == 204 {
            out.push(resp);
            continue;
        }
        if let Some(len) = resp.header("content-length") {
            let len: usize = len.parse().unwrap();
            assert!(data.len() >= len, "truncated body");
            resp.body = data[..len].to_vec();
            data = &data[len..];
        } else if resp.header("transfer-encoding") == Some("chunked") {
            loop {
                let line_end = data.windows(2).position(|w| w == b"\r\n").unwrap();
                let size =
                    usize::from_str_radix(std::str::from_utf8(&data[..line_end]).unwrap(), 16)
                        .unwrap();
                data = &data[line_end + 2..];
                if size == 0 {
                    assert!(data.starts_with(b"\r\n"));
                    data = &data[2..];
                    break;
                }
                resp.body.extend_from_slice(&data[..size]);
                assert_eq!(&data[size..size + 2], b"\r\n");
                data = &data[size + 2..];
            }
        } else {
            resp.body = data.to_vec();
            data = &[];
        }
        out.push(resp);
    }
}
