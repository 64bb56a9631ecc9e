#!/usr/bin/env python3
"""The markdown table of run_all.sh: echo throughput and latency per server and load
tool (medians), the servers' ratios to torsion, torsion bench against loadgen, the
contention seen, then the tables of run_http.sh / run_udp.sh if they ran.

    python3 suite_table.py OUTDIR DURATION WARMUP [http] [udp]
"""
import json
import os
import statistics
import sys

SERVERS = ["torsion", "tokio", "mio"]
CONFIGS = [("50x64", "50 conn × 64 B"), ("1x64", "1 conn × 64 B")]
TOOLS = [("bench", "torsion bench"), ("loadgen", "loadgen")]


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(v, d=0):
    return "–" if v is None else (f"{v:,.{d}f}")


def main(out, duration, warmup, extras):
    rows = [json.loads(l) for l in open(os.path.join(out, "suite.jsonl")) if l.strip()]
    # The wait is measured over the whole run: warm-up and measured window.
    window_ns = (float(duration) + float(warmup)) * 1e9

    def pick(tool, server, cfg):
        return [r for r in rows if r["tool"] == tool and r["server"] == server and r["config"] == cfg]

    def m(tool, server, cfg, key):
        return med([r["result"].get(key) for r in pick(tool, server, cfg)])

    print(open(os.path.join(out, "env.txt")).read().strip().replace("\n", "  \n"))
    print()
    print("### Echo: round trips per second (medians), each server loaded by both tools\n")
    print("| configuration | server | torsion bench msgs/s | loadgen msgs/s | bench / loadgen "
          "| p50 µs (bench / loadgen) | p99 µs (bench / loadgen) | server waited for a CPU (% of the run) "
          "| load tool waited (bench / loadgen) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for cfg, cname in CONFIGS:
        for s in SERVERS:
            b = m("bench", s, cfg, "msgs_per_s")
            g = m("loadgen", s, cfg, "msgs_per_s")
            ratio = f"{b / g:.2f}" if b and g else "–"
            wait = med([r["server_wait_ns"] / window_ns * 100 for r in pick("bench", s, cfg) + pick("loadgen", s, cfg)])
            print(f"| {cname} | {s} | {fmt(b)} | {fmt(g)} | {ratio} "
                  f"| {fmt(m('bench', s, cfg, 'p50_us'), 1)} / {fmt(m('loadgen', s, cfg, 'p50_us'), 1)} "
                  f"| {fmt(m('bench', s, cfg, 'p99_us'), 1)} / {fmt(m('loadgen', s, cfg, 'p99_us'), 1)} "
                  f"| {fmt(wait, 1)} % "
                  f"| {fmt(m('bench', s, cfg, 'self_wait_pct'), 1)} / {fmt(m('loadgen', s, cfg, 'loadgen_wait_pct'), 1)} % |")
    print()
    print("### Echo: ratios to torsion (throughput; > 1 means the peer is faster)\n")
    print("| configuration | load tool | tokio / torsion | mio / torsion |")
    print("|---|---|---:|---:|")
    for cfg, cname in CONFIGS:
        for tool, tname in TOOLS:
            t = m(tool, "torsion", cfg, "msgs_per_s")
            cells = []
            for s in ["tokio", "mio"]:
                v = m(tool, s, cfg, "msgs_per_s")
                cells.append(f"{v / t:.2f}×" if v and t else "–")
            print(f"| {cname} | {tname} | {cells[0]} | {cells[1]} |")
    print()
    # Each bench run is followed at once by the loadgen run on the same server: the ratio
    # of such a pair sees (nearly) the same contention.
    pairs = []
    for b in (r for r in rows if r["tool"] == "bench"):
        for g in rows:
            if g["tool"] == "loadgen" and (g["server"], g["config"], g["run"]) == (b["server"], b["config"], b["run"]):
                if g["result"].get("msgs_per_s"):
                    pairs.append(b["result"]["msgs_per_s"] / g["result"]["msgs_per_s"])
    if pairs:
        spread = [r["result"]["msgs_per_s"] / m(r["tool"], r["server"], r["config"], "msgs_per_s")
                  for r in rows if m(r["tool"], r["server"], r["config"], "msgs_per_s")]
        print(f"torsion bench / loadgen, paired runs (same server, back to back): median "
              f"{statistics.median(pairs):.2f} over {len(pairs)} pairs (range {min(pairs):.2f}–{max(pairs):.2f}); "
              f"for scale, a single run differs from its cell's median by "
              f"{min(spread):.2f}–{max(spread):.2f}×.\n")
    contended = [r for r in rows if r["server_wait_ns"] > 0.03 * window_ns]
    loads = [r["load_before"] for r in rows] + [r["load_after"] for r in rows]
    print(f"Contention: {len(contended)} of {len(rows)} runs had the server waiting more than 3 % "
          f"of the window for a CPU; the 1-minute load average ranged "
          f"{min(loads):.2f}–{max(loads):.2f} over the runs (2 cores: the pair alone would be ~2).")
    bad = [r for r in rows if r["result"].get("errors") or r["result"].get("error")]
    if bad:
        print(f"\n**{len(bad)} run(s) reported errors** (see suite.jsonl).")
    udp_path = os.path.join(out, "udp_tools.jsonl")
    udp = [json.loads(l) for l in open(udp_path) if l.strip()] if os.path.exists(udp_path) else []
    if udp:
        print("\n### UDP load tools: torsion bench udp vs udp_loadgen (torsion's udp_echo, 8 sockets × 8 in flight × 64 B)\n")
        print("| load tool | runs | datagrams/s (median) | p50 µs | p99 µs | load tool waited for a CPU |")
        print("|---|---:|---:|---:|---:|---:|")
        for tool, wait_key in [("bench", "self_wait_pct"), ("udp_loadgen", "loadgen_wait_pct")]:
            rs = [r["result"] for r in udp if r["tool"] == tool]
            print(f"| {'torsion bench' if tool == 'bench' else tool} | {len(rs)} "
                  f"| {fmt(med([r.get('msgs_per_s') for r in rs]))} "
                  f"| {fmt(med([r.get('p50_us') for r in rs]), 1)} "
                  f"| {fmt(med([r.get('p99_us') for r in rs]), 1)} "
                  f"| {fmt(med([r.get(wait_key) for r in rs]), 1)} % |")
    for kind in extras:
        path = os.path.join(out, kind, "table.md")
        print(f"\n### {kind.upper()} (run_{kind}.sh)\n")
        print(open(path).read().strip() if os.path.exists(path) else "(run_{kind}.sh wrote no table.md)")
    if not extras:
        print("\nHTTP and UDP rows: not in this run (run_http.sh / run_udp.sh not present).")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], [k for k in sys.argv[4:] if k])
