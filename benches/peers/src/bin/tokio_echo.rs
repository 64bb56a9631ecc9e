//! TCP echo server on tokio's `current_thread` runtime: the idiomatic tokio echo
//! (one task per connection, read into a buffer, `write_all` it back).
//!
//! `tokio_echo PORT [ADDR]` (ADDR defaults to 127.0.0.1; PORT 0 picks a free port).
//! Prints `tokio_echo listening on ADDR:PORT` on stderr. Runs until killed (SIGINT/SIGTERM
//! keep their default action: the process ends).
//!
//! Like torsion's echo example it leaves Nagle on (no TCP_NODELAY): neither tokio nor
//! Twisted sets it by default.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Same size as torsion's reactor read buffer.
const BUF_SIZE: usize = 64 * 1024;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| usage());
    let host = args.next().unwrap_or_else(|| "127.0.0.1".to_string());
    let addr: SocketAddr = format!("{host}:{port}").parse().unwrap_or_else(|_| usage());

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    rt.block_on(async move {
        let listener = TcpListener::bind(addr).await?;
        eprintln!("tokio_echo listening on {}", listener.local_addr()?);
        loop {
            let (mut socket, _) = match listener.accept().await {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("accept: {e}");
                    continue;
                }
            };
            tokio::spawn(async move {
                let mut buf = vec![0u8; BUF_SIZE];
                loop {
                    let n = match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    if socket.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            });
        }
    })
}

fn usage() -> ! {
    eprintln!("usage: tokio_echo PORT [ADDR]");
    std::process::exit(2)
}
