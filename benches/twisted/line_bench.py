#!/usr/bin/env python3
"""Twisted's side of `cargo bench --bench line_receiver`: the same input through
LineReceiver, LineOnlyReceiver and Int32StringReceiver, cut into reads of 1, 64 and 4096
bytes, reported as lines (frames) per second.

Not part of the cargo build or CI: run it by hand with Twisted from PyPI.

    python3 -m venv /tmp/tw && /tmp/tw/bin/pip install twisted
    /tmp/tw/bin/python benches/twisted/line_bench.py

The fixture matches benches/line_receiver.rs: 1,000 payloads "PRIVMSG #torsion :message
number N from a user" padded with dots to 40 + (7 N mod 21) bytes, as CRLF lines or with
a 4-byte big-endian length prefix. The receivers add up the lengths of what they get and
write nothing. One protocol per benchmark is reused (steady state), and the reads are
sliced before timing (the Rust side slices without copying). timeit's autorange picks a
loop count taking at least 0.2 s; the loop is repeated (7 times by default) and the best
and median throughput are printed.
"""

import argparse
import platform
import statistics
import struct
import sys
import timeit

import twisted
from twisted.internet.testing import StringTransport
from twisted.protocols.basic import Int32StringReceiver, LineOnlyReceiver, LineReceiver

ITEMS = 1000
CHUNK_SIZES = (1, 64, 4096)


def payloads():
    out = []
    for i in range(ITEMS):
        p = f"PRIVMSG #torsion :message number {i} from a user".encode()
        size = 40 + (i * 7) % 21
        out.append(p[:size].ljust(size, b"."))
    return out


class CountLines(LineReceiver):
    total = 0

    def lineReceived(self, line):
        self.total += len(line)


class CountLinesOnly(LineOnlyReceiver):
    total = 0

    def lineReceived(self, line):
        self.total += len(line)


class CountStrings(Int32StringReceiver):
    total = 0

    def stringReceived(self, string):
        self.total += len(string)


def run(name, cls, data, repeat):
    for chunk in CHUNK_SIZES:
        proto = cls()
        proto.makeConnection(StringTransport())
        pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)]
        feed = proto.dataReceived

        def once():
            for piece in pieces:
                feed(piece)

        timer = timeit.Timer(once)
        loops, _ = timer.autorange()
        times = [t / loops for t in timer.repeat(repeat=repeat, number=loops)]
        best, median = min(times), statistics.median(times)
        print(
            f"{name}/chunk/{chunk:<5} {ITEMS / best / 1e3:10.1f} K/s (best)"
            f" {ITEMS / median / 1e3:10.1f} K/s (median)   {median * 1e6:10.1f} us per 1000"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print(
        f"Twisted {twisted.__version__}, {platform.python_implementation()} "
        f"{platform.python_version()}, {sys.platform}"
    )
    ps = payloads()
    lines = b"".join(p + b"\r\n" for p in ps)
    frames = b"".join(struct.pack("!I", len(p)) + p for p in ps)
    run("line_receiver", CountLines, lines, args.repeat)
    run("line_only_receiver", CountLinesOnly, lines, args.repeat)
    run("int32_receiver", CountStrings, frames, args.repeat)


if __name__ == "__main__":
    main()
