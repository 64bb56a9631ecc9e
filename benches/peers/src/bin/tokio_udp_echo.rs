//! UDP echo server on tokio's `current_thread` runtime: the idiomatic tokio UDP echo (one
//! task, `recv_from` into a buffer, `send_to` it back), as in tokio's own examples.
//!
//! `tokio_udp_echo PORT [ADDR]` (ADDR defaults to 127.0.0.1; PORT 0 picks a free port).
//! Prints `tokio_udp_echo listening on ADDR:PORT` on stderr. Runs until killed.

use std::net::SocketAddr;

use tokio::net::UdpSocket;

/// Room for the largest datagram (torsion's udp_echo example uses max_packet_size 65535).
const BUF_SIZE: usize = 65_536;

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
        let socket = UdpSocket::bind(addr).await?;
        eprintln!("tokio_udp_echo listening on {}", socket.local_addr()?);
        let mut buf = vec![0u8; BUF_SIZE];
        loop {
            let (n, from) = match socket.recv_from(&mut buf).await {
                Ok(x) => x,
                Err(e) => {
                    eprintln!("recv_from: {e}");
                    continue;
                }
            };
            if let Err(e) = socket.send_to(&buf[..n], from).await {
                eprintln!("send_to {from}: {e}");
            }
        }
    })
}

fn usage() -> ! {
    eprintln!("usage: tokio_udp_echo PORT [ADDR]");
    std::process::exit(2)
}
