//! `static_files::File`: content types, index files, the listing, ranges (206 / 416,
//! multipart), 304s, no escape from the root (`..`, encoded dots and slashes, symlinks),
//! and a large file streamed through the producer without being read whole.

mod web_util;

use std::path::PathBuf;
use std::rc::Rc;

use torsion::testing::Driver;
use torsion::web::static_files::File;
use torsion::web::{HttpChannel, Site};
use web_util::{parse_responses, Response};

struct Tree {
    dir: PathBuf,
    outside: PathBuf,
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = std::fs::remove_dir_all(&self.outside);
    }
}

fn tree(name: &str) -> Tree {
    let base =
        std::env::temp_dir().join(format!("torsion-web-static-{name}-{}", std::process::id()));
    let dir = base.join("root");
    let outside = base.join("outside");
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(dir.join("sub/deeper")).unwrap();
    std::fs::create_dir_all(dir.join("withindex")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(dir.join("hello.txt"), b"hello, world\n").unwrap();
    std::fs::write(dir.join("page.html"), b"<p>hi</p>").unwrap();
    std::fs::write(dir.join("data.unknownext"), b"??").unwrap();
    std::fs::write(dir.join("digits"), b"0123456789").unwrap();
    std::fs::write(dir.join("sub/a <b>.txt"), b"a").unwrap();
    std::fs::write(dir.join("withindex/index.html"), b"<h1>index</h1>").unwrap();
    std::fs::write(outside.join("secret"), b"secret").unwrap();
    std::os::unix::fs::symlink(outside.join("secret"), dir.join("link-out")).unwrap();
    std::os::unix::fs::symlink(dir.join("hello.txt"), dir.join("link-in")).unwrap();
    Tree {
        dir: base.clone(),
        outside: base.join("outside"),
    }
}

fn driver(t: &Tree) -> Driver<HttpChannel> {
    let site = Site::new(Rc::new(File::new(t.dir.join("root")).unwrap()));
    Driver::new(site.channel())
}

fn get(d: &Driver<HttpChannel>, target: &str, extra: &str) -> Response {
    d.data_received(format!("GET {target} HTTP/1.1\r\nHost: x\r\n{extra}\r\n").as_bytes());
    let mut out = d.take_written();
    for _ in 0..10_000 {
        if !d.run_pending() {
            break;
        }
        out.extend(d.take_written());
    }
    let mut r = parse_responses(&out, &[]);
    assert_eq!(r.len(), 1, "{target}: {}", String::from_utf8_lossy(&out));
    r.remove(0)
}

#[test]
fn files_with_their_content_types() {
    let t = tree("types");
    let d = driver(&t);
    let r = get(&d, "/hello.txt", "");
    assert_eq!((r.code, r.body.as_slice()), (200, &b"hello, world\n"[..]));
    assert_eq!(r.header("content-type"), Some("text/plain"));
    assert_eq!(
        get(&d, "/page.html", "").header("content-type"),
        Some("text/html")
    );
    assert_eq!(
        get(&d, "/data.unknownext", "").header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(get(&d, "/nothere", "").code, 404);
    assert_eq!(get(&d, "/link-in", "").body, b"hello, world\n");
}

#[test]
fn directories_redirect_then_index_or_list() {
    let t = tree("dirs");
    let d = driver(&t);
    let r = get(&d, "/withindex?x=1", "");
    assert_eq!(
        (r.code, r.header("location")),
        (301, Some("/withindex/?x=1"))
    );
    assert_eq!(get(&d, "/withindex/", "").body, b"<h1>index</h1>");
    let r = get(&d, "/sub/", "");
    let page = String::from_utf8(r.body).unwrap();
    assert!(
        page.contains("<a href=\"a%20%3Cb%3E.txt\">a &lt;b&gt;.txt</a>"),
        "{page}"
    );
    assert!(page.contains("<a href=\"deeper/\">deeper/</a>"));
    assert_eq!(get(&d, "/sub/a%20%3Cb%3E.txt", "").body, b"a");
}

#[test]
fn nothing_outside_the_root_is_served() {
    let t = tree("escape");
    let d = driver(&t);
    for target in [
        "/../outside/secret",
        "/sub/../../outside/secret",
        "/%2e%2e/outside/secret",
        "/%2E%2E/outside/secret",
        "/sub/%2e%2e/%2e%2e/outside/secret",
        "/..%2foutside%2fsecret",
        "/%2e%2e%2foutside%2fsecret",
        "/link-out",
        "/sub/..%5c..%5coutside%5csecret",
    ] {
        let r = get(&d, target, "");
        assert_eq!(r.code, 404, "{target}");
        assert_ne!(r.body, b"secret", "{target}");
    }
}

#[test]
fn conditional_requests_are_304() {
    let t = tree("cond");
    let d = driver(&t);
    let r = get(&d, "/hello.txt", "");
    let etag = r.header("etag").unwrap().to_string();
    let lm = r.header("last-modified").unwrap().to_string();
    assert_eq!(
        get(&d, "/hello.txt", &format!("If-None-Match: {etag}\r\n")).code,
        304
    );
    assert_eq!(
        get(&d, "/hello.txt", &format!("If-Modified-Since: {lm}\r\n")).code,
        304
    );
    assert_eq!(
        get(&d, "/hello.txt", "If-None-Match: \"other\"\r\n").code,
        200
    );
}

#[test]
fn byte_ranges() {
    let t = tree("ranges");
    let d = driver(&t);
    let r = get(&d, "/digits", "Range: bytes=2-4\r\n");
    assert_eq!((r.code, r.body.as_slice()), (206, &b"234"[..]));
    assert_eq!(r.header("content-range"), Some("bytes 2-4/10"));
    let r = get(&d, "/digits", "Range: bytes=-3\r\n");
    assert_eq!(r.body, b"789");
    let r = get(&d, "/digits", "Range: bytes=20-\r\n");
    assert_eq!(
        (r.code, r.header("content-range")),
        (416, Some("bytes */10"))
    );
    let r = get(&d, "/digits", "Range: bytes=0-0,8-\r\n");
    assert_eq!(r.code, 206);
    let ct = r.header("content-type").unwrap();
    let boundary = ct.strip_prefix("multipart/byteranges; boundary=").unwrap();
    let body = String::from_utf8(r.body.clone()).unwrap();
    assert_eq!(
        body,
        format!(
            "\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 0-0/10\r\n\r\n0\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 8-9/10\r\n\r\n89\r\n--{boundary}--\r\n"
        )
    );
    // Malformed ranges are ignored.
    assert_eq!(get(&d, "/digits", "Range: bytes=5-2\r\n").code, 200);
}

#[test]
fn a_large_file_is_streamed_piece_by_piece() {
    let t = tree("large");
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(t.dir.join("root/big.bin"), &data).unwrap();
    let d = driver(&t);
    d.data_received(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
    // Nothing beyond one piece is written until the client takes what is there.
    let mut out = d.take_written();
    let mut max_step = out.len();
    for _ in 0..1000 {
        if !d.run_pending() {
            break;
        }
        let step = d.take_written();
        max_step = max_step.max(step.len());
        out.extend(step);
    }
    assert!(
        max_step <= 2 * torsion::web::static_files::PIECE,
        "at most a piece at a time: {max_step}"
    );
    let r = parse_responses(&out, &[]);
    assert_eq!(r[0].header("content-length"), Some("3000000"));
    assert!(r[0].body == data, "the whole file, intact");
    // And the connection goes on.
    assert_eq!(get(&d, "/hello.txt", "").code, 200);
}
