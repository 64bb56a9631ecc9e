//! `torsion web`: serve a directory over HTTP (Twisted's `twist web --path`).
//!
//! A [`Site`] over a static [`File`] tree rooted at `--path`, on every `--listen` endpoint
//! (`ssl:` ones give https), through [`crate::serve::Server`], which gives the graceful
//! stop and the port-in-use message. `--add-header` wraps the tree so that every response
//! gets the headers; `--access-log` writes Combined Log Format lines; `--no-server-header`
//! drops the `Server` field.

use std::cell::RefCell;
use std::error::Error;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::PathBuf;
use std::rc::Rc;

use torsion::web::static_files::File;
use torsion::web::{AccessLog, Rendered, Request, Resource, Site, SiteOptions};

use crate::args::{usage, Args};
use crate::serve::Server;
use crate::Common;

pub(crate) const HELP: &str = "\
torsion web: serve a directory over HTTP (and HTTPS with ssl: endpoints)

usage: torsion web [--listen ENDPOINT]... [--path DIR] [--add-header 'NAME: VALUE']...
                   [--access-log FILE|-] [--no-server-header] [--log-level LEVEL]
                   [--grace DURATION]

  --listen ENDPOINT     where to listen; repeat for several (default tcp:8080);
                        ssl:8443:certKey=cert.pem:privateKey=key.pem for https
  --path DIR            the directory to serve (default: the current directory)
  --add-header H        a header added to every response, say 'Cache-Control: no-store'
  --access-log FILE     one line per request, to FILE or - for stderr (default: none)
  --no-server-header    send no Server field (by default: Server: torsion)
  --log-level LEVEL     off, error, warn, info (default), debug, trace; logs go to stderr
  --grace DURATION      on SIGINT / SIGTERM, how long responses get to finish (default 10s)
  -h, --help            this text

It prints `web listening on ADDRESS` on stdout for each endpoint. Directories without an
index.html get a listing; files are streamed, with ranges and conditional requests.
Benchmark it with `torsion bench http --connect tcp:127.0.0.1:8080 -c 50 -d 10s`.
";

/// What `torsion web` was asked to do.
#[derive(Debug)]
pub(crate) struct WebConfig {
    pub(crate) listen: Vec<String>,
    pub(crate) path: PathBuf,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) access_log: Option<String>,
    pub(crate) omit_server_header: bool,
    pub(crate) common: Common,
}

pub(crate) fn parse(mut args: Args) -> Result<Option<WebConfig>, Box<dyn Error>> {
    let mut config = WebConfig {
        listen: Vec::new(),
        path: PathBuf::from("."),
        headers: Vec::new(),
        access_log: None,
        omit_server_header: false,
        common: Common::default(),
    };
    while let Some(flag) = args.next_flag()? {
        match flag.as_str() {
            "-h" | "--help" => {
                print!("{HELP}");
                return Ok(None);
            }
            "--listen" | "-l" => config.listen.push(args.value("--listen")?),
            "--path" => config.path = PathBuf::from(args.value("--path")?),
            "--add-header" => {
                let h = args.value("--add-header")?;
                let (name, value) = h.split_once(':').ok_or_else(|| {
                    usage!("web: --add-header {h:?} needs the form 'NAME: VALUE'")
                })?;
                config
                    .headers
                    .push((name.trim().to_string(), value.trim().to_string()));
            }
            "--access-log" => config.access_log = Some(args.value("--access-log")?),
            "--no-server-header" => config.omit_server_header = true,
            _ if config.common.parse(&flag, &mut args)? => {}
            _ => return Err(args.unknown(&flag).into()),
        }
    }
    if config.listen.is_empty() {
        config.listen.push("tcp:8080".to_string());
    }
    if !config.path.is_dir() {
        return Err(usage!(
            "web: --path {}: not a directory (give a directory to serve)",
            config.path.display()
        )
        .into());
    }
    Ok(Some(config))
}

pub(crate) fn main(args: Args) -> Result<(), Box<dyn Error>> {
    match parse(args)? {
        Some(config) => serve(config),
        None => Ok(()),
    }
}

/// Serves `config.path` on every `--listen` endpoint until SIGINT / SIGTERM.
fn serve(config: WebConfig) -> Result<(), Box<dyn Error>> {
    config.common.apply();
    let file = File::new(&config.path)
        .map_err(|e| format!("web: --path {}: {e}", config.path.display()))?;
    let mut root: Rc<dyn Resource> = Rc::new(file);
    if !config.headers.is_empty() {
        root = Rc::new(WithHeaders {
            inner: root,
            headers: Rc::new(config.headers.clone()),
        });
    }
    let access_log = match config.access_log.as_deref() {
        None => None,
        Some("-") => Some(Rc::new(|line: &str| eprintln!("{line}")) as AccessLog),
        Some(path) => {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("web: --access-log {path}: {e}"))?;
            let file = RefCell::new(io::LineWriter::new(file));
            Some(Rc::new(move |line: &str| {
                let _ = writeln!(file.borrow_mut(), "{line}");
            }) as AccessLog)
        }
    };
    let options = SiteOptions {
        access_log,
        omit_server_header: config.omit_server_header,
        ..SiteOptions::default()
    };
    let site = Site::with_options(root, options);
    let server = Server::new()?;
    server.listen_all("web", &config.listen, site)?;
    log::info!("web: serving {}", config.path.display());
    server.stop_gracefully(config.common.grace);
    server.run()
}

/// Adds the `--add-header` headers to every response of the tree under `inner`.
struct WithHeaders {
    inner: Rc<dyn Resource>,
    headers: Rc<Vec<(String, String)>>,
}

impl WithHeaders {
    fn wrap(&self, child: Rc<dyn Resource>) -> Rc<dyn Resource> {
        Rc::new(WithHeaders {
            inner: child,
            headers: self.headers.clone(),
        })
    }
}

impl Resource for WithHeaders {
    fn is_leaf(&self) -> bool {
        self.inner.is_leaf()
    }
    fn get_child(&self, name: &[u8], request: &Request) -> Rc<dyn Resource> {
        self.wrap(self.inner.get_child(name, request))
    }
    fn get_child_with_default(&self, name: &[u8], request: &Request) -> Rc<dyn Resource> {
        self.wrap(self.inner.get_child_with_default(name, request))
    }
    fn allowed_methods(&self) -> &'static [&'static str] {
        self.inner.allowed_methods()
    }
    fn render(&self, request: &Request) -> Rendered {
        for (name, value) in self.headers.iter() {
            request.set_header(name, value);
        }
        self.inner.render(request)
    }
}
