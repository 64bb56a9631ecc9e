//! HTTP/1.1 hello-world on hyper 1.x and tokio's `current_thread` runtime: the idiomatic
//! hyper server (one task per connection, `http1::Builder`, a `service_fn` answering
//! `Hello, World!` as `text/plain`), with `pipeline_flush(true)` so pipelined responses
//! are written together (hyper's best setting for the pipelined benchmark).
//!
//! `hyper_hello PORT [ADDR]` (ADDR defaults to 127.0.0.1; PORT 0 picks a free port).
//! Prints `hyper_hello listening on ADDR:PORT` on stderr. Runs until killed.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

async fn hello(_: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut response = Response::new(Full::new(Bytes::from_static(b"Hello, World!")));
    response
        .headers_mut()
        .insert("content-type", hyper::header::HeaderValue::from_static("text/plain"));
    Ok(response)
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let host = args.next().unwrap_or_else(|| "127.0.0.1".to_string());
    let addr: SocketAddr = format!("{host}:{port}").parse().expect("ADDR:PORT");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async move {
        let listener = TcpListener::bind(addr).await?;
        eprintln!("hyper_hello listening on {}", listener.local_addr()?);
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("accept: {e}");
                    continue;
                }
            };
            tokio::task::spawn(async move {
                let _ = http1::Builder::new()
                    .pipeline_flush(true)
                    .serve_connection(TokioIo::new(stream), service_fn(hello))
                    .await;
            });
        }
    })
}
