//! `torsion echo`: the echo server (Twisted's `Echo` protocol) on one or more endpoints.

use std::error::Error;

use torsion::protocol::{for_protocol, Protocol};
use torsion::transport::Transport;

use crate::args::Args;
use crate::serve::serve_factory;

pub(crate) const HELP: &str = "\
torsion echo: an echo server (sends back every byte it receives)

usage: torsion echo [--listen ENDPOINT]... [--log-level LEVEL] [--grace DURATION]

  --listen ENDPOINT   where to listen; repeat for several (default tcp:8000).
                      tcp:PORT[:interface=ADDR], tcp6:PORT, unix:PATH, ssl:PORT:certKey=..:privateKey=..
  --log-level LEVEL   off, error, warn, info (default), debug, trace; logs go to stderr
  --grace DURATION    on SIGINT / SIGTERM, how long connections get to finish sending (default 10s)
  -h, --help          this text

It prints `echo listening on ADDRESS` on stdout for each endpoint. Benchmark it with
`torsion bench echo --connect tcp:127.0.0.1:8000 -c 50 -d 10s`.
";

/// Twisted's `Echo`.
struct Echo;

impl Protocol for Echo {
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        transport.write(data);
    }
}

pub(crate) fn main(args: Args) -> Result<(), Box<dyn Error>> {
    serve_factory(args, HELP, "echo", "tcp:8000", for_protocol(|| Echo))
}

#[cfg(test)]
mod tests {
    use torsion::testing::Driver;

    use super::*;

    #[test]
    fn echoes_what_it_receives() {
        let d = Driver::new(Echo);
        d.data_received(b"hello");
        d.data_received(b" world");
        assert_eq!(d.written(), b"hello world");
    }
}
