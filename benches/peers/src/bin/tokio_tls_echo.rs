//! TLS echo server on tokio's `current_thread` runtime with tokio-rustls: the idiomatic
//! tokio TLS echo (one task per connection, `TlsAcceptor::accept`, read into a buffer,
//! `write_all` it back). The same rustls (ring provider) and certificate as torsion's
//! `tls_echo` example, so both negotiate the same version and cipher suite with the same
//! client.
//!
//! `tokio_tls_echo PORT CERT.pem KEY.pem [ADDR] [--nodelay]` (ADDR defaults to 127.0.0.1;
//! PORT 0 picks a free port). Prints `tokio_tls_echo listening on ADDR:PORT` on stderr.
//! Runs until killed.
//!
//! `--nodelay` sets TCP_NODELAY on accepted sockets. Without it, tokio-rustls's separate
//! writes of one handshake flight meet Nagle's algorithm and the client's delayed ACK
//! (about 40 ms a handshake); the benchmark runs it with `--nodelay`, the usual setting
//! for a TLS server on tokio.

use std::net::SocketAddr;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// Same size as torsion's reactor read buffer.
const BUF_SIZE: usize = 64 * 1024;

fn main() -> std::io::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let nodelay = args.iter().any(|a| a == "--nodelay");
    args.retain(|a| a != "--nodelay");
    if args.len() < 3 {
        eprintln!("usage: tokio_tls_echo PORT CERT.pem KEY.pem [ADDR]");
        std::process::exit(2);
    }
    let port: u16 = args[0].parse().expect("PORT");
    let host = args.get(3).cloned().unwrap_or_else(|| "127.0.0.1".to_string());
    let addr: SocketAddr = format!("{host}:{port}").parse().expect("ADDR");
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&args[1])
        .expect("CERT.pem")
        .collect::<Result<_, _>>()
        .expect("CERT.pem");
    let key = PrivateKeyDer::from_pem_file(&args[2]).expect("KEY.pem");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("certificate and key");
    let acceptor = TlsAcceptor::from(Arc::new(config));

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    rt.block_on(async move {
        let listener = TcpListener::bind(addr).await?;
        eprintln!("tokio_tls_echo listening on {}", listener.local_addr()?);
        loop {
            let (socket, _) = match listener.accept().await {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("accept: {e}");
                    continue;
                }
            };
            if nodelay {
                let _ = socket.set_nodelay(true);
            }
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(socket).await else {
                    return;
                };
                let mut buf = vec![0u8; BUF_SIZE];
                loop {
                    let n = match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    if tls.write_all(&buf[..n]).await.is_err() || tls.flush().await.is_err() {
                        return;
                    }
                }
                let _ = tls.shutdown().await; // close_notify
            });
        }
    })
}
