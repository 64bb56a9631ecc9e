#!/usr/bin/env bash
# torsion's web server against hyper in many short, alternating wrk runs (issue 8): on a VM
# that flips between a fast and a slow state every few seconds, two 5-second runs seconds
# apart can land in different states (run_http.sh's per-round ratios spread from 0.85x to
# 1.6x). Short runs taken in alternation (torsion then hyper, hyper then torsion, ...) put
# both servers in the same states; the median of the per-pair ratios and the ratio of the
# sums are the robust figures.
#
#   benches/peers/run_http_pairs.sh [-k PAIRS] [-d SECONDS] [--modes "plain pipelined"] [-o OUTDIR]
#
#   -k PAIRS    alternating pairs per mode (default 20)
#   -d SECONDS  length of each wrk run (default 1)
#
# Same servers and load as run_http.sh (torsion_hello, hyper_hello; wrk -t1 -c50, plain or
# pipelined by 16 with pipeline16.lua), servers pinned to core 0, wrk to core 1.
set -euo pipefail
PAIRS=20; DURATION=1; MODES="plain pipelined"; OUT=""
while [ $# -gt 0 ]; do
    case "$1" in
        -k) PAIRS=$2; shift 2 ;;
        -d) DURATION=$2; shift 2 ;;
        --modes) MODES=$2; shift 2 ;;
        -o) OUT=$2; shift 2 ;;
        -h|--help) sed -n "2,$(( $(grep -n '^set -euo' "$0" | cut -d: -f1) - 1 ))p" "$0"; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
HERE=$(cd "$(dirname "$0")" && pwd)
[ -n "$OUT" ] || OUT=$(mktemp -d /tmp/torsion-http-pairs.XXXXXX)
mkdir -p "$OUT"
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
log() { echo "[run_http_pairs $(date +%T)] $*" >&2; }

source "$HERE/lib.sh"

log "building torsion_hello and hyper_hello (release)"
cargo build --release --manifest-path "$HERE/Cargo.toml" --bin torsion_hello --bin hyper_hello >&2
BIN="$HERE/target/release"
declare -A PORT
for s in torsion hyper; do
    taskset -c 0 "$BIN/${s}_hello" 0 127.0.0.1 2>"$OUT/server-$s.log" &
    PIDS+=("$!")
    PORT[$s]=$(port_of "$s" "$OUT/server-$s.log" "${PIDS[-1]}")
done
echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)" > "$OUT/env.txt"

wrk_once() { # server mode -> requests/s
    local script=()
    [ "$2" = pipelined ] && script=(-s "$HERE/pipeline16.lua")
    taskset -c 1 wrk -t1 -c50 -d"${DURATION}s" "${script[@]}" "http://127.0.0.1:${PORT[$1]}/" \
        | awk '/Requests\/sec/ {print $2}'
}
for mode in $MODES; do
    : > "$OUT/$mode.tsv"
    for k in $(seq "$PAIRS"); do
        if [ $((k % 2)) = 1 ]; then t=$(wrk_once torsion "$mode"); h=$(wrk_once hyper "$mode")
        else h=$(wrk_once hyper "$mode"); t=$(wrk_once torsion "$mode"); fi
        printf '%s\t%s\n' "$t" "$h" >> "$OUT/$mode.tsv"
    done
    log "$mode: $PAIRS pairs done"
done
python3 - "$OUT" $MODES <<'PY' | tee "$OUT/table.md"
import statistics, sys
out, modes = sys.argv[1], sys.argv[2:]
print("| mode | pairs | torsion / hyper: min | p25 | median | p75 | max | ratio of sums |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for m in modes:
    rows = [tuple(map(float, l.split())) for l in open(f"{out}/{m}.tsv") if l.strip()]
    r = [t / h for t, h in rows]
    q = statistics.quantiles(r, n=4)
    s = sum(t for t, _ in rows) / sum(h for _, h in rows)
    print(f"| {m} | {len(r)} | {min(r):.2f} | {q[0]:.2f} | **{q[1]:.2f}** | {q[2]:.2f} | {max(r):.2f} | {s:.2f} |")
PY
log "raw results in $OUT"
