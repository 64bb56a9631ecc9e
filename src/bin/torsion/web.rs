//! `torsion web`: serve a directory over HTTP (Twisted's `twist web --path`).
//!
//! The HTTP server and static `File` resource come with the Web issue (issue 8), which is
//! not in this build yet. This module already parses the command line the issue specifies,
//! so that once `torsion::web` lands only [`serve`] has to be filled in: listen on each
//! endpoint (through [`crate::serve::Server`], which gives the graceful stop and the
//! port-in-use message) with a site serving `path`, adding `headers` to each response and
//! writing the access log to `access_log`.

use std::error::Error;
use std::path::PathBuf;

use crate::args::{usage, Args};
use crate::Common;

pub(crate) const HELP: &str = "\
torsion web: serve a directory over HTTP (and HTTPS with ssl: endpoints)

usage: torsion web [--listen ENDPOINT]... [--path DIR] [--add-header 'NAME: VALUE']...
                   [--access-log FILE|-] [--log-level LEVEL] [--grace DURATION]

  --listen ENDPOINT     where to listen; repeat for several (default tcp:8080);
                        ssl:8443:certKey=cert.pem:privateKey=key.pem for https
  --path DIR            the directory to serve (default: the current directory)
  --add-header H        a header added to every response, say 'Cache-Control: no-store'
  --access-log FILE     one line per request, to FILE or - for stderr (default: none)
  --log-level LEVEL     off, error, warn, info (default), debug, trace; logs go to stderr
  --grace DURATION      on SIGINT / SIGTERM, how long responses get to finish (default 10s)
  -h, --help            this text

Status: needs the web module (issue 8: HTTP server, static File), which is not in this
build yet; the options are checked, then the command stops with an error.
";

/// What `torsion web` was asked to do.
#[derive(Debug)]
pub(crate) struct WebConfig {
    pub(crate) listen: Vec<String>,
    pub(crate) path: PathBuf,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) access_log: Option<String>,
    pub(crate) common: Common,
}

pub(crate) fn parse(mut args: Args) -> Result<Option<WebConfig>, Box<dyn Error>> {
    let mut config = WebConfig {
        listen: Vec::new(),
        path: PathBuf::from("."),
        headers: Vec::new(),
        access_log: None,
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

/// Serves `config.path`. Needs `torsion::web` (issue 8). With the API on the `web`
/// branch this becomes, in outline:
///
/// ```text
/// let root = Rc::new(File::new(&config.path)?);           // web::static_files::File
/// let options = SiteOptions { access_log, ..Default::default() };
/// let site = Site::with_options(root, options);            // + the --add-header wrapper
/// let server = Server::new()?;
/// server.listen_all("web", &config.listen, site)?;         // errors, port in use
/// server.stop_gracefully(config.common.grace);             // in-flight responses finish
/// server.run()
/// ```
fn serve(config: WebConfig) -> Result<(), Box<dyn Error>> {
    config.common.apply();
    log::debug!("web: asked for {config:?}");
    Err(format!(
        "web: needs the web module (issue 8: HTTP server, static File), which is not in \
         this build yet; meanwhile try `torsion echo --listen {}` or see `torsion --help`",
        config.listen[0]
    )
    .into())
}
