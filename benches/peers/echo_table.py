#!/usr/bin/env python3
"""Markdown tables from a run_echo.sh output directory: medians, ratios, the issue's
targets, per-run figures and syscalls per message by type.

    python3 echo_table.py OUTDIR
"""
import glob
import json
import os
import statistics
import sys

SERVERS = ["torsion", "tokio", "mio"]
CONFIGS = [("50x64", "50 connections × 64 B"), ("1x64", "1 connection × 64 B")]


def load(path):
    rows = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    rows.append(json.loads(line))
    return rows


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, digits=1):
    if v is None:
        return "–"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "–"
    return f"{a / b:.2f}×"


def main(out):
    timing = load(os.path.join(out, "timing.jsonl"))
    syscalls = load(os.path.join(out, "syscalls.jsonl"))
    runs = max((t["run"] for t in timing), default=0)

    def cell(server, cfg):
        """The clean runs of a cell, or every run if none was clean (flagged)."""
        rows = [t for t in timing if t["server"] == server and t["config"] == cfg]
        clean = [t for t in rows if t.get("clean", True)]
        return (clean, True) if clean else (rows, False)

    def m(server, cfg, key):
        rows, _ = cell(server, cfg)
        return med([t["result"].get(key) for t in rows])

    def spm(server, cfg):
        for s in syscalls:
            if s["server"] == server and s["config"] == cfg and s["syscalls"] is not None:
                total = s["result"]["total_msgs"]
                return s["syscalls"] / total if total else None
        return None

    tools = sorted({s["tool"] for s in syscalls})
    env = open(os.path.join(out, "env.txt")).read().strip() if os.path.exists(
        os.path.join(out, "env.txt")) else ""
    print("```")
    print(env)
    print("```")
    print()
    counts = {(s, c): cell(s, c) for s in SERVERS for c, _ in CONFIGS}
    used = sorted({len(rows) for rows, _ in counts.values()})
    attempts = len(timing)
    contended = sum(1 for t in timing if not t.get("clean", True))
    print(f"Medians over the clean timing runs of each cell ({'/'.join(map(str, used))} per cell; "
          f"{runs} wanted; {attempts} runs in all, {contended} of them contended and set aside: "
          f"the server or loadgen spent > 3 % of the window waiting for a CPU). "
          f"msgs/s and latencies from loadgen; CPU = % of one core in the measured window "
          f"(/proc). Syscalls per message: one separate run per cell, counted with "
          f"{' / '.join(tools) or '–'}.")
    if any(not ok for _, ok in counts.values()):
        print()
        print("**Some cells had no clean run; their medians include contended runs:** "
              + ", ".join(f"{s} {c}" for (s, c), (_, ok) in counts.items() if not ok))
    print()
    print("| config | metric | torsion | tokio | mio | torsion/tokio | torsion/mio |")
    print("|---|---|---|---|---|---|---|")
    figures = {}
    for cfg, title in CONFIGS:
        rows = [
            ("msgs/s", "msgs_per_s", 0),
            ("p50 µs", "p50_us", 1),
            ("p99 µs", "p99_us", 1),
        ]
        first = True
        for name, key, digits in rows:
            vals = [m(s, cfg, key) for s in SERVERS]
            figures[(cfg, key)] = vals
            print(f"| {title if first else ''} | {name} | "
                  + " | ".join(fmt(v, digits) for v in vals)
                  + f" | {ratio(vals[0], vals[1])} | {ratio(vals[0], vals[2])} |")
            first = False
        vals = [spm(s, cfg) for s in SERVERS]
        figures[(cfg, "spm")] = vals
        print("|  | server syscalls/msg | " + " | ".join(fmt(v, 2) for v in vals)
              + f" | {ratio(vals[0], vals[1])} | {ratio(vals[0], vals[2])} |")
        cpu = [(m(s, cfg, "server_cpu_pct"), m(s, cfg, "loadgen_cpu_pct")) for s in SERVERS]
        print("|  | CPU % server / loadgen | "
              + " | ".join(f"{fmt(a, 0)} / {fmt(b, 0)}" for a, b in cpu) + " |  |  |")
    print()

    # The targets.
    def verdict(ok):
        return "**met**" if ok else "**NOT met**"

    def paired(cfg, key, a, b):
        """Median over runs of a's figure / b's figure in the same run (clean runs only)."""
        def by_run(server):
            return {t["run"]: t["result"][key] for t in timing
                    if t["server"] == server and t["config"] == cfg and t.get("clean", True)}
        ra, rb = by_run(a), by_run(b)
        ratios = [ra[r] / rb[r] for r in ra if r in rb and rb[r]]
        return (statistics.median(ratios), len(ratios)) if ratios else (None, 0)

    def paired_note(cfg, key, a, b):
        v, n = paired(cfg, key, a, b)
        return f" (paired: median of the per-run ratios {v:.3f}× over {n} runs)" if v else ""

    print("Targets (issue 4):")
    print()
    t, k, _ = figures[("50x64", "msgs_per_s")]
    if t and k:
        print(f"* 50×64 throughput ≥ 1.0× tokio: {t / k:.2f}× → {verdict(t >= k)}"
              + paired_note("50x64", "msgs_per_s", "torsion", "tokio"))
    t, k, _ = figures[("50x64", "p99_us")]
    if t and k:
        print(f"* 50×64 p99 no worse than tokio: {fmt(t)} µs vs {fmt(k)} µs → {verdict(t <= k)}"
              + paired_note("50x64", "p99_us", "torsion", "tokio"))
    t = figures[("50x64", "spm")][0]
    if t is not None:
        print(f"* 50×64 at most 2.1 server syscalls per message: {t:.2f} → {verdict(t <= 2.1)}")
    t, _, mi = figures[("1x64", "p50_us")]
    if t and mi:
        print(f"* 1×64 p50 within 5% of mio: {fmt(t, 2)} µs vs {fmt(mi, 2)} µs "
              f"({(t / mi - 1) * 100:+.1f}%) → {verdict(t <= mi * 1.05)}"
              + paired_note("1x64", "p50_us", "torsion", "mio"))
    print()

    print("<details><summary>Every timing run</summary>")
    print()
    print("| server | config | run | msgs/s | p50 µs | p90 µs | p99 µs | p99.9 µs | max µs "
          "| CPU % server / loadgen | waiting for CPU % server / loadgen | steal % | clean |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for cfg, _ in CONFIGS:
        for s in SERVERS:
            for t in sorted((t for t in timing if t["server"] == s and t["config"] == cfg),
                            key=lambda t: (t["run"], t.get("attempt", 0))):
                r = t["result"]
                run = f"{t['run']}" + (f" (retry {t['attempt']})" if t.get("attempt") else "")
                print(f"| {s} | {cfg} | {run} | {fmt(r['msgs_per_s'], 0)} | {r['p50_us']:.1f} | "
                      f"{r['p90_us']:.1f} | {r['p99_us']:.1f} | {r['p999_us']:.1f} | {r['max_us']:.1f} | "
                      f"{fmt(r.get('server_cpu_pct'), 0)} / {fmt(r.get('loadgen_cpu_pct'), 0)} | "
                      f"{fmt(r.get('server_wait_pct'), 1)} / {fmt(r.get('loadgen_wait_pct'), 1)} | "
                      f"{fmt(r.get('steal_pct'), 1)} | {'yes' if t.get('clean', True) else 'no'} |")
    print()
    print("</details>")
    print()

    # Per-type breakdown, if run_echo.sh made one.
    types = {}
    for cfg, _ in CONFIGS:
        for s in SERVERS:
            csv = os.path.join(out, f"perf-types-{s}-{cfg}.csv")
            js = os.path.join(out, f"perf-types-{s}-{cfg}.json")
            if not (os.path.exists(csv) and os.path.exists(js)):
                continue
            total = json.load(open(js))["total_msgs"]
            counts = {}
            for line in open(csv):
                f = line.strip().split(",")
                if len(f) > 2 and f[2].startswith("syscalls:sys_enter_"):
                    try:
                        n = int(f[0])
                    except ValueError:
                        continue
                    if n:
                        counts[f[2][len("syscalls:sys_enter_"):]] = n
            types[(s, cfg)] = (total, counts)
    if types:
        print("Server syscalls per message by type (perf stat -e 'syscalls:sys_enter_*', one 3 s "
              "run per cell; types under 0.005/msg left out):")
        print()
        for cfg, title in CONFIGS:
            names = sorted({n for (s, c), (tot, cnt) in types.items() if c == cfg
                            for n, v in cnt.items() if tot and v / tot >= 0.005})
            if not names:
                continue
            print(f"| {title} | " + " | ".join(SERVERS) + " |")
            print("|---|" + "---|" * len(SERVERS))
            for n in names:
                cells = []
                for s in SERVERS:
                    tot, cnt = types.get((s, cfg), (0, {}))
                    cells.append(f"{cnt.get(n, 0) / tot:.3f}" if tot else "–")
                print(f"| {n} | " + " | ".join(cells) + " |")
            print()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: echo_table.py OUTDIR")
    main(sys.argv[1])
