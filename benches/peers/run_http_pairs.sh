#!/usr/bin/env bash
# torsion's web server against hyper in many short, alternating wrk runs (issue 8): on a VM
# that flips between a fast and a slow state every few seconds, two 5-second runs seconds
# apart can land in different states (run_http.sh's per-round ratios spread from 0.85x to
# 1.6x). Short runs taken in alternation (torsion then hyper, hyper then torsion, ...) put
# both servers in the same states; the median of the per-pair ratios and the ratio of the
# sums are the robust figures.
#
#   benches/peers/run_http_pairs.sh [-k ROUNDS] [-d SECONDS] [--modes "plain pipelined"]
#                                   [--server-field] [-o OUTDIR]
#
#   -k ROUNDS       rounds per mode, every server once per round, in rotating order (default 20)
#   -d SECONDS      length of each wrk run (default 1)
#   --server-field  also run torsion_hello with its default `Server: torsion` field (17
#                   bytes per response that hyper does not send; by default torsion_hello
#                   omits it, see its docs) as a third server, "torsion+server", in the
#                   same rotation
#
# Each run also records the CPU time the server and wrk used (from /proc and bash's
# `time`): pipelined by 16, wrk's one thread is the first to saturate (it parses every
# response byte by byte), so requests/s then measures wrk and the server sits below 100 %.
# The table gives requests per second of server CPU as well, the server's own capacity.
#
# Same servers and load as run_http.sh (torsion_hello, hyper_hello; wrk -t1 -c50, plain or
# pipelined by 16 with pipeline16.lua), servers pinned to core 0, wrk to core 1.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
PAIRS=20; DURATION=1; MODES="plain pipelined"; OUT=""; FIELD=0
while [ $# -gt 0 ]; do
    case "$1" in
        -k) PAIRS=$2; shift 2 ;;
        -d) DURATION=$2; shift 2 ;;
        --modes) MODES=$2; shift 2 ;;
        --server-field) FIELD=1; shift ;;
        -o) OUT=$2; shift 2 ;;
        -h|--help) show_help; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
OUT=$(out_dir "$OUT" torsion-http-pairs)
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }


log "building torsion_hello and hyper_hello (release)"
cargo build --release --manifest-path "$HERE/Cargo.toml" --bin torsion_hello --bin hyper_hello >&2
BIN="$HERE/target/release"
SERVERS=(torsion hyper)
[ "$FIELD" = 1 ] && SERVERS+=("torsion+server")
declare -A PORT PID_OF
for s in "${SERVERS[@]}"; do
    bin=${s%+server}; field=0
    [ "$bin" != "$s" ] && field=1
    HELLO_SERVER_FIELD=$field taskset -c 0 "$BIN/${bin}_hello" 0 127.0.0.1 2>"$OUT/server-$s.log" &
    PIDS+=("$!"); PID_OF[$s]=$!
    PORT[$s]=$(port_of "$s" "$OUT/server-$s.log" "${PID_OF[$s]}")
done
echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)" > "$OUT/env.txt"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # utime + stime, in clock ticks
TICK=$(getconf CLK_TCK)

wrk_once() { # server mode -> "requests/s server-CPU-share wrk-CPU-share"
    local script=() t0 t1 w0 w1 times
    [ "$2" = pipelined ] && script=(-s "$HERE/pipeline16.lua")
    t0=$(cpu_ticks "${PID_OF[$1]}"); w0=$(date +%s%N)
    times=$( { TIMEFORMAT='%U %S'; time taskset -c 1 wrk -t1 -c50 -d"${DURATION}s" \
        "${script[@]}" "http://127.0.0.1:${PORT[$1]}/" > "$OUT/wrk.out"; } 2>&1 )
    t1=$(cpu_ticks "${PID_OF[$1]}"); w1=$(date +%s%N)
    awk -v t="$((t1 - t0))" -v tick="$TICK" -v ns="$((w1 - w0))" -v times="$times" '
        /Requests\/sec/ { split(times, c, " "); w = ns / 1e9
                          printf "%s %.3f %.3f\n", $2, t / tick / w, (c[1] + c[2]) / w }' \
        "$OUT/wrk.out"
}
N=${#SERVERS[@]}
for mode in $MODES; do
    : > "$OUT/$mode.tsv"
    for k in $(seq "$PAIRS"); do
        declare -A R=()
        for i in $(seq 0 $((N - 1))); do # the order rotates from one round to the next
            s=${SERVERS[$(( (i + k) % N ))]}
            R[$s]=$(wrk_once "$s" "$mode")
        done
        row=""
        for s in "${SERVERS[@]}"; do row+="${R[$s]} "; done
        echo "$row" >> "$OUT/$mode.tsv"
    done
    log "$mode: $PAIRS rounds done"
done
python3 - "$OUT" "${SERVERS[*]}" $MODES <<'PY' | tee "$OUT/table.md"
import statistics, sys
out, servers, modes = sys.argv[1], sys.argv[2].split(), sys.argv[3:]
# a row: each server's requests/s, server CPU share, wrk CPU share, in the order of `servers`
rows = {m: [list(map(float, l.split())) for l in open(f"{out}/{m}.tsv") if l.strip()] for m in modes}
col = {s: 3 * i for i, s in enumerate(servers)}
h = col["hyper"]
print("| mode | server / hyper | rounds | min | p25 | median | p75 | max | ratio of sums |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
for m in modes:
    rs = rows[m]
    for s in servers:
        if s == "hyper":
            continue
        t = col[s]
        for label, f in (("requests/s", lambda x, c: x[c]),
                         # requests per second of server CPU: the server's own capacity
                         ("requests per server CPU-second", lambda x, c: x[c] / max(x[c + 1], 1e-9))):
            r = [f(x, t) / f(x, h) for x in rs]
            q = statistics.quantiles(r, n=4)
            sums = sum(f(x, t) for x in rs) / sum(f(x, h) for x in rs)
            print(f"| {m} | {s}: {label} | {len(r)} | {min(r):.2f} | {q[0]:.2f} | **{q[1]:.2f}** "
                  f"| {q[2]:.2f} | {max(r):.2f} | {sums:.2f} |")
print()
print("| mode | server | median requests/s | median server CPU | median wrk CPU |")
print("|---|---|---:|---:|---:|")
for m in modes:
    for s in servers:
        med = lambda i: statistics.median(x[col[s] + i] for x in rows[m])
        print(f"| {m} | {s} | {med(0):,.0f} | {med(1):.0%} | {med(2):.0%} |")
PY
log "raw results in $OUT"
