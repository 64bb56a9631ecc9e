#!/usr/bin/env python3
"""Twisted's side of `cargo bench --bench deferred`: the same five workloads, timed
with `timeit`, reported per operation.

Not part of the cargo build or CI: run it by hand with Twisted from PyPI.

    python3 -m venv /tmp/tw && /tmp/tw/bin/pip install twisted
    /tmp/tw/bin/python benches/twisted/deferred_bench.py

Each workload mirrors a function of benches/deferred.rs (the names match), which in turn
are the workloads of Twisted's own benchmarks/test_deferred.py:

* callback_chain_10_fires_at_end: a Deferred, 10 callbacks `x + i`, then callback(2), then
  read the result;
* callback_chain_10_fires_at_start: succeed(2), then the same 10 callbacks;
* errback_chain_10: 5 pairs of (callback that fails, errback that recovers with 1);
* await_1000_fired: one coroutine (ensureDeferred of an `async def`) awaiting 1,000
  succeed(x), summing them;
* await_20_unfired: a coroutine awaiting 20 unfired Deferreds, fired one by one
  afterwards.

For each, timeit's autorange picks a loop count that takes at least 0.2 s, then the loop
is repeated (7 times by default) and the best and median times per operation are printed.
The best is the usual timeit figure (least disturbed by other work on the machine);
criterion's figure, on the Rust side, is closer to the median.
"""

import argparse
import platform
import statistics
import sys
import timeit

import twisted
from twisted.internet.defer import Deferred, ensureDeferred, succeed


def add(x, i):
    return x + i


def callback_chain_10_fires_at_end():
    d = Deferred()
    for i in range(10):
        d.addCallback(add, i)
    d.callback(2)
    return d.result


def callback_chain_10_fires_at_start():
    d = succeed(2)
    for i in range(10):
        d.addCallback(add, i)
    return d.result


def fails(x):
    raise ValueError("e")


def recovers(failure):
    return 1


def errback_chain_10():
    d = Deferred()
    for _ in range(5):
        d.addCallback(fails)
        d.addErrback(recovers)
    d.callback(2)
    return d.result


async def _await_fired():
    total = 0
    for x in range(1000):
        total += await succeed(x)
    return total


def await_1000_fired():
    return ensureDeferred(_await_fired()).result


async def _await_unfired(deferreds):
    total = 0
    for d in deferreds:
        total += await d
    return total


def await_20_unfired():
    deferreds = [Deferred() for _ in range(20)]
    result = ensureDeferred(_await_unfired(deferreds))
    for i, d in enumerate(deferreds):
        d.callback(i)
    return result.result


WORKLOADS = [
    (callback_chain_10_fires_at_end, sum(range(10)) + 2),
    (callback_chain_10_fires_at_start, sum(range(10)) + 2),
    (errback_chain_10, 1),
    (await_1000_fired, sum(range(1000))),
    (await_20_unfired, sum(range(20))),
]


def human(seconds):
    """A time per operation, in the unit criterion would use."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.2f} {unit}"
    return f"{seconds / 1e-9:.1f} ns"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7, help="timeit repeats (default 7)")
    parser.add_argument("filter", nargs="?", default="", help="run workloads containing this")
    args = parser.parse_args()

    print(
        f"Twisted {twisted.__version__}, {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.machine()}"
    )
    print(f"{'benchmark':<34} {'best':>10} {'median':>10}   loops x repeats")
    for fn, expected in WORKLOADS:
        if args.filter not in fn.__name__:
            continue
        got = fn()
        if got != expected:
            sys.exit(f"{fn.__name__} returned {got!r}, expected {expected!r}")
        timer = timeit.Timer(fn)
        loops, _ = timer.autorange()
        loops = max(loops, 1)
        per_op = [t / loops for t in timer.repeat(repeat=args.repeat, number=loops)]
        print(
            f"{fn.__name__:<34} {human(min(per_op)):>10} "
            f"{human(statistics.median(per_op)):>10}   {loops} x {args.repeat}"
        )


if __name__ == "__main__":
    main()
