//! [`Resource`]: a node of the URL tree that renders requests (Twisted's
//! `resource.Resource`), [`Rendered`] (what a render answers), and small resources:
//! [`Directory`], [`ErrorPage`], [`Data`].

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::rc::Rc;

use super::Request;
use crate::defer::{Deferred, Failure};

/// What a render answers.
pub enum Rendered {
    /// The whole body: written with its `Content-Length`, and the request is finished.
    Body(Vec<u8>),
    /// The whole body, from a constant (no copy, no allocation).
    Static(&'static [u8]),
    /// The resource answers later, with `Request::write` and `Request::finish` (Twisted's
    /// `NOT_DONE_YET`).
    NotDoneYet,
    /// The body comes from a Deferred (beyond Twisted, whose #3711 is open): written when it
    /// fires; a failure answers 500.
    Deferred(Deferred<Vec<u8>>),
    /// The resource does not handle this method: 405 with `Allow`.
    NotAllowed,
}

/// Twisted's `server.NOT_DONE_YET`.
pub const NOT_DONE_YET: Rendered = Rendered::NotDoneYet;

impl Rendered {
    /// A body computed by an async block (run on this thread, see
    /// [`Deferred::from_future`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use torsion::web::Rendered;
    /// let r = Rendered::from_future(async { Ok(b"later".to_vec()) });
    /// assert!(matches!(r, Rendered::Deferred(_)));
    /// ```
    #[track_caller]
    pub fn from_future<F>(future: F) -> Rendered
    where
        F: Future<Output = Result<Vec<u8>, Failure>> + 'static,
    {
        Rendered::Deferred(Deferred::from_future(future))
    }
}

impl fmt::Debug for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rendered::Body(b) => write!(f, "Body({} bytes)", b.len()),
            Rendered::Static(b) => write!(f, "Static({} bytes)", b.len()),
            Rendered::NotDoneYet => f.write_str("NotDoneYet"),
            Rendered::Deferred(_) => f.write_str("Deferred"),
            Rendered::NotAllowed => f.write_str("NotAllowed"),
        }
    }
}

impl From<Vec<u8>> for Rendered {
    fn from(b: Vec<u8>) -> Rendered {
        Rendered::Body(b)
    }
}

impl From<String> for Rendered {
    fn from(s: String) -> Rendered {
        Rendered::Body(s.into_bytes())
    }
}

impl From<&'static [u8]> for Rendered {
    fn from(b: &'static [u8]) -> Rendered {
        Rendered::Static(b)
    }
}

impl From<&'static str> for Rendered {
    fn from(s: &'static str) -> Rendered {
        Rendered::Static(s.as_bytes())
    }
}

impl From<Deferred<Vec<u8>>> for Rendered {
    fn from(d: Deferred<Vec<u8>>) -> Rendered {
        Rendered::Deferred(d)
    }
}

/// The static children of a resource (what `put_child` fills), for resources that embed it.
#[derive(Default)]
pub struct Children {
    map: RefCell<HashMap<Vec<u8>, Rc<dyn Resource>>>,
}

impl Children {
    /// No children.
    pub fn new() -> Children {
        Children::default()
    }

    /// Adds (or replaces) the child at `name`.
    pub fn put(&self, name: &[u8], child: Rc<dyn Resource>) {
        self.map.borrow_mut().insert(name.to_vec(), child);
    }

    /// The child at `name`.
    pub fn get(&self, name: &[u8]) -> Option<Rc<dyn Resource>> {
        self.map.borrow().get(name).cloned()
    }

    /// The names of the children.
    pub fn names(&self) -> Vec<Vec<u8>> {
        self.map.borrow().keys().cloned().collect()
    }
}

impl fmt::Debug for Children {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.map
                    .borrow()
                    .keys()
                    .map(|k| String::from_utf8_lossy(k).into_owned()),
            )
            .finish()
    }
}

/// A node of the URL tree (Twisted's `IResource`).
///
/// Traversal ([`get_child_for_request`]) starts at the site's root and, while the
/// resource is not a leaf and path segments remain, moves one segment from the request's
/// postpath to its prepath and asks [`get_child_with_default`](Resource::get_child_with_default)
/// for the next resource. The last one renders: [`render`](Resource::render) dispatches on
/// the method to `render_get`, `render_post`, ...; `HEAD` is served by `render_get` with
/// the body left out; a method the resource does not handle gets 405 with `Allow`
/// listing [`allowed_methods`](Resource::allowed_methods).
///
/// # Examples
///
/// The seed's counter (`examples/web_counter.rs`):
///
/// ```
/// use std::cell::Cell;
/// use torsion::web::{Rendered, Request, Resource};
///
/// #[derive(Default)]
/// struct Counter {
///     n: Cell<u64>,
/// }
///
/// impl Resource for Counter {
///     fn is_leaf(&self) -> bool {
///         true
///     }
///     fn render_get(&self, request: &Request) -> Rendered {
///         self.n.set(self.n.get() + 1);
///         request.set_header("content-type", "text/plain");
///         format!("I am request #{}\n", self.n.get()).into()
///     }
/// }
/// ```
pub trait Resource: 'static {
    /// True if traversal stops here, leaving the rest of the path in `postpath`.
    fn is_leaf(&self) -> bool {
        false
    }

    /// The static children, if this resource has any (what `put_child` fills).
    fn children(&self) -> Option<&Children> {
        None
    }

    /// Adds a static child (Twisted's `putChild`).
    ///
    /// # Panics
    ///
    /// If the resource has no [`children`](Resource::children) table.
    fn put_child(&self, name: &[u8], child: Rc<dyn Resource>) {
        self.children()
            .expect("put_child on a resource without a Children table")
            .put(name, child)
    }

    /// A dynamic child (Twisted's `getChild`); the default is a 404 page.
    fn get_child(&self, name: &[u8], request: &Request) -> Rc<dyn Resource> {
        let _ = (name, request);
        Rc::new(ErrorPage::not_found())
    }

    /// A static child if there is one, else [`get_child`](Resource::get_child) (Twisted's
    /// `getChildWithDefault`).
    fn get_child_with_default(&self, name: &[u8], request: &Request) -> Rc<dyn Resource> {
        match self.children().and_then(|c| c.get(name)) {
            Some(child) => child,
            None => self.get_child(name, request),
        }
    }

    /// The methods this resource answers, for `Allow` (Twisted's `allowedMethods`).
    fn allowed_methods(&self) -> &'static [&'static str] {
        &["GET", "HEAD"]
    }

    /// Renders by method (Twisted's `render`); override to handle every method yourself.
    fn render(&self, request: &Request) -> Rendered {
        let which = request.with_method(|m| {
            [
                b"GET" as &[u8],
                b"HEAD",
                b"POST",
                b"PUT",
                b"DELETE",
                b"PATCH",
                b"OPTIONS",
            ]
            .iter()
            .position(|k| *k == m)
        });
        match which {
            Some(0) => self.render_get(request),
            Some(1) => self.render_head(request),
            Some(2) => self.render_post(request),
            Some(3) => self.render_put(request),
            Some(4) => self.render_delete(request),
            Some(5) => self.render_patch(request),
            Some(6) => self.render_options(request),
            _ => self.render_other(&request.method(), request),
        }
    }

    /// `GET`.
    fn render_get(&self, request: &Request) -> Rendered {
        let _ = request;
        Rendered::NotAllowed
    }

    /// `HEAD`: `GET` without the body.
    fn render_head(&self, request: &Request) -> Rendered {
        self.render_get(request)
    }

    /// `POST`.
    fn render_post(&self, request: &Request) -> Rendered {
        let _ = request;
        Rendered::NotAllowed
    }

    /// `PUT`.
    fn render_put(&self, request: &Request) -> Rendered {
        let _ = request;
        Rendered::NotAllowed
    }

    /// `DELETE`.
    fn render_delete(&self, request: &Request) -> Rendered {
        let _ = request;
        Rendered::NotAllowed
    }

    /// `PATCH`.
    fn render_patch(&self, request: &Request) -> Rendered {
        let _ = request;
        Rendered::NotAllowed
    }

    /// `OPTIONS`: 204 with `Allow` by default.
    fn render_options(&self, request: &Request) -> Rendered {
        request.set_response_code(204, None);
        request.set_header("allow", self.allowed_methods().join(", "));
        Rendered::Static(b"")
    }

    /// Any other method.
    fn render_other(&self, method: &str, request: &Request) -> Rendered {
        let _ = (method, request);
        Rendered::NotAllowed
    }
}

/// Walks from `root` to the resource that renders `request` (Twisted's
/// `getChildForRequest`).
pub fn get_child_for_request(root: &Rc<dyn Resource>, request: &Request) -> Rc<dyn Resource> {
    let mut resource = root.clone();
    while !resource.is_leaf() && request.has_postpath() {
        let next = request.next_segment(|seg| resource.get_child_with_default(seg, request));
        match next {
            Some(next) => resource = next,
            None => break,
        }
    }
    resource
}

/// A plain node with children and no page of its own (Twisted's bare `Resource()` used as
/// a directory).
///
/// # Examples
///
/// ```
/// use std::rc::Rc;
/// use torsion::web::{Data, Directory, Resource};
///
/// let root = Directory::new();
/// root.put_child(b"hello", Rc::new(Data::new(b"hi\n".to_vec(), "text/plain")));
/// ```
#[derive(Debug, Default)]
pub struct Directory {
    children: Children,
}

impl Directory {
    /// An empty directory.
    pub fn new() -> Directory {
        Directory::default()
    }
}

impl Resource for Directory {
    fn children(&self) -> Option<&Children> {
        Some(&self.children)
    }
    fn render_get(&self, request: &Request) -> Rendered {
        ErrorPage::not_found().render(request)
    }
}

/// A fixed error page (Twisted's `ErrorPage`, `NoResource`, `ForbiddenResource`).
#[derive(Clone, Debug)]
pub struct ErrorPage {
    code: u16,
    brief: &'static str,
    detail: &'static str,
}

impl ErrorPage {
    /// A page answering `code`.
    pub fn new(code: u16, brief: &'static str, detail: &'static str) -> ErrorPage {
        ErrorPage {
            code,
            brief,
            detail,
        }
    }

    /// 404 (Twisted's `NoResource`).
    pub fn not_found() -> ErrorPage {
        ErrorPage::new(404, "No Such Resource", "No such child resource.")
    }

    /// 403 (Twisted's `ForbiddenResource`).
    pub fn forbidden() -> ErrorPage {
        ErrorPage::new(403, "Forbidden", "Sorry, resource is forbidden.")
    }
}

impl Resource for ErrorPage {
    fn is_leaf(&self) -> bool {
        true
    }
    fn render(&self, request: &Request) -> Rendered {
        request.set_response_code(self.code, None);
        request.set_header("content-type", "text/html; charset=utf-8");
        format!(
            "<html>\n  <head><title>{} - {}</title></head>\n  <body>\n    <h1>{}</h1>\n    <p>{}</p>\n  </body>\n</html>\n",
            self.code, self.brief, self.brief, self.detail
        )
        .into()
    }
}

/// A constant body with a content type (Twisted's `static.Data`).
#[derive(Clone, Debug)]
pub struct Data {
    body: Rc<[u8]>,
    content_type: String,
}

impl Data {
    /// Serves `body` as `content_type`.
    pub fn new(body: Vec<u8>, content_type: &str) -> Data {
        Data {
            body: body.into(),
            content_type: content_type.to_string(),
        }
    }
}

impl Resource for Data {
    fn is_leaf(&self) -> bool {
        true
    }
    fn render_get(&self, request: &Request) -> Rendered {
        request.set_header("content-type", &self.content_type);
        request.write_whole(&self.body);
        Rendered::NotDoneYet
    }
}
