//! [`File`]: serving a directory tree from disk (Twisted's `static.File`).
//!
//! * Content types from the extension (a built-in table plus `/etc/mime.types`), with a
//!   default for unknown ones.
//! * Directories: a request without the trailing slash is redirected to it (301); then the
//!   first existing index file (`index.html`, `index.htm`) is served, else an HTML listing
//!   (can be turned off: 403 then).
//! * Conditional requests: `ETag` (size and modification time) and `Last-Modified`,
//!   answering 304 to `If-None-Match` / `If-Modified-Since`.
//! * Ranges: one range is a 206 with `Content-Range`; several are a 206
//!   `multipart/byteranges`; none satisfiable is 416 with `Content-Range: bytes */size`;
//!   more than [`MAX_RANGES`] are ignored (the whole file is served).
//! * **No escape from the root.** Path segments arrive percent-decoded, and a segment that
//!   is `.`, `..`, or contains `/`, `\` or NUL is refused (404), so `%2e%2e` and `%2f` do not
//!   climb; and every path served is canonicalised and must lie under the canonical root,
//!   so a symlink leading out is refused too (404, as if absent).
//! * Large files are streamed by a pull producer, [`PIECE`] bytes at a time, only as fast
//!   as the client reads; files up to one piece are written at once.
//!
//! Tests: `tests/web_static.rs`.

mod listing;
mod mime;
mod producer;
mod range;

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::UNIX_EPOCH;

use super::{ErrorPage, Rendered, Request, Resource};
use producer::{FileProducer, Piece};

pub use producer::PIECE;
pub use range::{parse_range, Ranges, MAX_RANGES};

/// How a [`File`] tree serves.
#[derive(Clone, Debug)]
pub struct FileOptions {
    /// The type of files whose extension is unknown (Twisted's `defaultType`).
    pub default_type: String,
    /// Index files tried in a directory, in order (Twisted's `indexNames`).
    pub index_names: Vec<String>,
    /// Whether a directory without an index file gets an HTML listing (else 403).
    pub listing: bool,
}

impl Default for FileOptions {
    fn default() -> FileOptions {
        FileOptions {
            default_type: "application/octet-stream".to_string(),
            index_names: vec!["index.html".to_string(), "index.htm".to_string()],
            listing: true,
        }
    }
}

struct Shared {
    root: PathBuf,
    options: FileOptions,
    types: HashMap<String, String>,
}

/// A file or directory on disk, served with its children (Twisted's `static.File`).
///
/// # Examples
///
/// ```no_run
/// use std::rc::Rc;
/// use torsion::web::static_files::File;
/// use torsion::web::Site;
/// use torsion::Reactor;
///
/// let reactor = Reactor::new()?;
/// let root = File::new("/srv/www")?;
/// reactor.listen_tcp(8080, Site::new(Rc::new(root)), 50, "")?;
/// reactor.run()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct File {
    path: PathBuf,
    shared: Rc<Shared>,
}

impl std::fmt::Debug for File {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("File").field("path", &self.path).finish()
    }
}

impl File {
    /// Serves `path` (a file or a directory) with the default options.
    ///
    /// # Errors
    ///
    /// If `path` does not exist (it is canonicalised: the root of everything served).
    pub fn new(path: impl AsRef<Path>) -> std::io::Result<File> {
        File::with_options(path, FileOptions::default())
    }

    /// Serves `path` with `options`.
    ///
    /// # Errors
    ///
    /// As [`new`](File::new).
    pub fn with_options(path: impl AsRef<Path>, options: FileOptions) -> std::io::Result<File> {
        let root = fs::canonicalize(path)?;
        Ok(File {
            path: root.clone(),
            shared: Rc::new(Shared {
                root,
                options,
                types: mime::load(),
            }),
        })
    }

    /// The path this resource serves.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn content_type(&self, path: &Path) -> &str {
        path.extension()
            .and_then(|e| e.to_str())
            .and_then(|e| self.shared.types.get(&e.to_ascii_lowercase()))
            .map_or(&self.shared.options.default_type, String::as_str)
    }

    /// The canonical path, if it exists and lies under the root.
    fn inside_root(&self, path: &Path) -> Option<PathBuf> {
        let real = fs::canonicalize(path).ok()?;
        real.starts_with(&self.shared.root).then_some(real)
    }

    fn serve_directory(&self, dir: &Path, request: &Request) -> Rendered {
        let path = request.path();
        if !path.ends_with('/') {
            let query = request.uri();
            let query = query.find('?').map_or("", |i| &query[i..]);
            request.set_response_code(301, None);
            request.set_header("location", format!("{path}/{query}"));
            return Rendered::Static(b"");
        }
        for name in &self.shared.options.index_names {
            let candidate = dir.join(name);
            if let Some(real) = self.inside_root(&candidate).filter(|p| p.is_file()) {
                return self.serve_file(&real, request);
            }
        }
        if !self.shared.options.listing {
            return ErrorPage::forbidden().render(request);
        }
        match listing::render(
            dir,
            &String::from_utf8_lossy(&super::percent_decode(path.as_bytes())),
        ) {
            Ok(page) => {
                request.set_header("content-type", "text/html; charset=utf-8");
                page.into()
            }
            Err(_) => ErrorPage::not_found().render(request),
        }
    }

    fn serve_file(&self, path: &Path, request: &Request) -> Rendered {
        let Ok(mut file) = fs::File::open(path) else {
            return ErrorPage::not_found().render(request);
        };
        let Ok(md) = file.metadata() else {
            return ErrorPage::not_found().render(request);
        };
        let size = md.len();
        let mtime = md
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs());
        let ty = self.content_type(path).to_string();
        request.set_header("accept-ranges", "bytes");
        let etag = format!("\"{size:x}-{mtime:x}\"");
        let cached = request.set_etag(&etag) | request.set_last_modified(mtime);
        if cached {
            return Rendered::Static(b"");
        }
        let ranges = match request.get_header("range") {
            Some(h) if request.method_is("GET") || request.method_is("HEAD") => {
                parse_range(&h, size)
            }
            _ => Ranges::Whole,
        };
        let mut pieces = Vec::new();
        let total = match ranges {
            Ranges::Unsatisfiable => {
                request.set_response_code(416, None);
                request.set_header("content-range", format!("bytes */{size}"));
                return Rendered::Static(b"");
            }
            Ranges::Whole => {
                request.set_header("content-type", &ty);
                pieces.push(Piece::Span {
                    offset: 0,
                    len: size,
                });
                size
            }
            Ranges::Parts(parts) if parts.len() == 1 => {
                let (a, b) = parts[0];
                request.set_response_code(206, None);
                request.set_header("content-type", &ty);
                request.set_header("content-range", format!("bytes {a}-{b}/{size}"));
                pieces.push(Piece::Span {
                    offset: a,
                    len: b - a + 1,
                });
                b - a + 1
            }
            Ranges::Parts(parts) => {
                let boundary = format!("torsion{:016x}", mtime ^ size.rotate_left(17) ^ 0x5eed);
                request.set_response_code(206, None);
                request.set_header(
                    "content-type",
                    format!("multipart/byteranges; boundary={boundary}"),
                );
                let mut total = 0;
                for (a, b) in parts {
                    let head = format!(
                        "\r\n--{boundary}\r\nContent-Type: {ty}\r\nContent-Range: bytes {a}-{b}/{size}\r\n\r\n"
                    );
                    total += head.len() as u64 + (b - a + 1);
                    pieces.push(Piece::Bytes(head.into_bytes()));
                    pieces.push(Piece::Span {
                        offset: a,
                        len: b - a + 1,
                    });
                }
                let end = format!("\r\n--{boundary}--\r\n");
                total += end.len() as u64;
                pieces.push(Piece::Bytes(end.into_bytes()));
                total
            }
        };
        request.set_header("content-length", total.to_string());
        if request.method_is("HEAD") {
            request.finish();
            return Rendered::NotDoneYet;
        }
        if pieces.len() == 1 && total <= PIECE as u64 {
            if let Some(Piece::Span { offset, len }) = pieces.first() {
                let mut body = vec![0; *len as usize];
                use std::io::Seek;
                let ok = file
                    .seek(std::io::SeekFrom::Start(*offset))
                    .and_then(|_| file.read_exact(&mut body));
                return match ok {
                    Ok(()) => Rendered::Body(body),
                    Err(_) => ErrorPage::not_found().render(request),
                };
            }
        }
        FileProducer::start(request, file, pieces);
        Rendered::NotDoneYet
    }
}

/// Is `name` a segment that may be looked up under a directory?
fn safe_segment(name: &[u8]) -> bool {
    !(name == b"." || name == b".." || name.iter().any(|&c| c == b'/' || c == b'\\' || c == 0))
}

impl Resource for File {
    fn get_child(&self, name: &[u8], _request: &Request) -> Rc<dyn Resource> {
        if name.is_empty() {
            return Rc::new(self.clone()); // the trailing slash: the directory itself
        }
        if !safe_segment(name) || !self.path.is_dir() {
            return Rc::new(ErrorPage::not_found());
        }
        let child = self.path.join(std::ffi::OsStr::from_bytes(name));
        match self.inside_root(&child) {
            Some(_) => Rc::new(File {
                path: child,
                shared: self.shared.clone(),
            }),
            None => Rc::new(ErrorPage::not_found()),
        }
    }

    fn render_get(&self, request: &Request) -> Rendered {
        let Some(real) = self.inside_root(&self.path) else {
            return ErrorPage::not_found().render(request);
        };
        if real.is_dir() {
            self.serve_directory(&real, request)
        } else {
            self.serve_file(&real, request)
        }
    }
}
