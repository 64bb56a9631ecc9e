#!/usr/bin/env bash
# torsion's echo example against the tokio current_thread echo server in many short,
# alternating loadgen runs (issue 4): the same reason as run_http_pairs.sh. This VM flips
# between a fast and a slow state every few seconds, so two 5-second runs seconds apart
# can land in different states; short runs taken in alternation (torsion then tokio,
# tokio then torsion, ...) put both servers in the same states, and the median of the
# per-pair ratios and the ratio of the sums are the robust figures.
#
#   benches/peers/run_echo_pairs.sh [-k PAIRS] [-d SECONDS] [-w SECONDS] [-c CONNS]
#                                   [-s SIZE] [-o OUTDIR]
#
#   -k PAIRS    alternating pairs (default 30)
#   -d SECONDS  measured window of each run (default 1)
#   -w SECONDS  warm-up of each run, on connections opened for it (default 0.3)
#   -c CONNS    connections (default 50)      -s SIZE   message bytes (default 64)
#
# Same servers and load tool as run_echo.sh (examples/echo built from the working tree,
# tokio_echo, loadgen), servers pinned to core 0, loadgen to core 1. The table gives
# torsion / tokio for messages per second (higher is better for torsion) and for p50 and
# p99 round-trip latency (lower is better), plus both servers' and loadgen's CPU use.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
PAIRS=30; DURATION=1; WARMUP=0.3; CONNS=50; SIZE=64; OUT=""
while [ $# -gt 0 ]; do
    case "$1" in
        -k) PAIRS=$2; shift 2 ;;
        -d) DURATION=$2; shift 2 ;;
        -w) WARMUP=$2; shift 2 ;;
        -c) CONNS=$2; shift 2 ;;
        -s) SIZE=$2; shift 2 ;;
        -o) OUT=$2; shift 2 ;;
        -h|--help) show_help; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
ROOT=$(cd "$HERE/../.." && pwd)
OUT=$(out_dir "$OUT" torsion-echo-pairs)


log "building torsion's echo example, tokio_echo and loadgen (release)"
(cd "$ROOT" && cargo build --release --example echo >&2)
cargo build --release --manifest-path "$HERE/Cargo.toml" --bin tokio_echo --bin loadgen >&2
BIN="$HERE/target/release"
declare -A PORT PID_OF
taskset -c 0 "$ROOT/target/release/examples/echo" tcp:0:interface=127.0.0.1 \
    2>"$OUT/server-torsion.log" &
PIDS+=("$!"); PID_OF[torsion]=$!
PORT[torsion]=$(port_of torsion "$OUT/server-torsion.log" "${PID_OF[torsion]}")
taskset -c 0 "$BIN/tokio_echo" 0 127.0.0.1 2>"$OUT/server-tokio.log" &
PIDS+=("$!"); PID_OF[tokio]=$!
PORT[tokio]=$(port_of tokio "$OUT/server-tokio.log" "${PID_OF[tokio]}")
echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)" > "$OUT/env.txt"

run_once() { # server -> loadgen's JSON line
    local line
    line=$(timeout 30 taskset -c 1 "$BIN/loadgen" -c "$CONNS" -s "$SIZE" -d "$DURATION" \
        --warmup "$WARMUP" --label "$1" --server-pid "${PID_OF[$1]}" \
        "127.0.0.1:${PORT[$1]}" 2>>"$OUT/loadgen.log") || { echo "loadgen failed for $1" >&2; exit 1; }
    echo "$line"
}
: > "$OUT/runs.jsonl"
for k in $(seq "$PAIRS"); do
    if [ $((k % 2)) = 1 ]; then order="torsion tokio"; else order="tokio torsion"; fi
    for s in $order; do echo "{\"pair\":$k,\"run\":$(run_once "$s")}" >> "$OUT/runs.jsonl"; done
done
log "$PAIRS pairs done"
python3 - "$OUT" <<'PY' | tee "$OUT/table.md"
import json, statistics, sys
out = sys.argv[1]
pairs = {}
for l in open(f"{out}/runs.jsonl"):
    j = json.loads(l)
    pairs.setdefault(j["pair"], {})[j["run"]["label"]] = j["run"]
pairs = [p for p in pairs.values() if "torsion" in p and "tokio" in p]
print("| torsion / tokio | pairs | min | p25 | median | p75 | max | ratio of sums (means) |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for key, label in (("msgs_per_s", "msgs/s (higher: torsion faster)"),
                   ("p50_us", "p50 latency (lower: torsion better)"),
                   ("p99_us", "p99 latency (lower: torsion better)")):
    r = [p["torsion"][key] / p["tokio"][key] for p in pairs]
    q = statistics.quantiles(r, n=4)
    s = sum(p["torsion"][key] for p in pairs) / sum(p["tokio"][key] for p in pairs)
    print(f"| {label} | {len(r)} | {min(r):.3f} | {q[0]:.3f} | **{q[1]:.3f}** | {q[2]:.3f} | {max(r):.3f} | {s:.3f} |")
print()
print("| server | median msgs/s | median p50 µs | median p99 µs | median CPU % server / loadgen |")
print("|---|---:|---:|---:|---:|")
for name in ("torsion", "tokio"):
    m = lambda k: statistics.median(p[name][k] for p in pairs)
    print(f"| {name} | {m('msgs_per_s'):,.0f} | {m('p50_us'):.1f} | {m('p99_us'):.1f} | "
          f"{m('server_cpu_pct'):.0f} / {m('loadgen_cpu_pct'):.0f} |")
PY
log "raw results in $OUT"
