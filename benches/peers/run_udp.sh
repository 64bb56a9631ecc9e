#!/usr/bin/env bash
# Whole-server UDP echo benchmark (issue 6): torsion's udp_echo example (recvmmsg /
# sendmmsg batching) against a tokio current_thread UdpSocket echo, both driven by the
# same closed-loop load generator (udp_loadgen: several client sockets sharing a window
# of datagrams in flight).
#
#   benches/peers/run_udp.sh [-n RUNS] [-d SECONDS] [-w SECONDS] [-c SOCKETS] [-f IN_FLIGHT]
#                            [--sizes "64 1400"] [--plain-load] [-o OUTDIR]
#
#   -n RUNS      timing runs per server and size (default 5; the table shows medians)
#   -d SECONDS   measured window of each run (default 5)
#   -w SECONDS   warm-up before it (default 1)
#   -c SOCKETS   client sockets (default 8)
#   -f IN_FLIGHT datagrams in flight over all sockets (default 64)
#   --plain-load the load generator sends and receives each datagram on its own (by
#                default it uses segmentation offload both ways, udp_loadgen --segment:
#                each socket's datagrams leave as one UDP_SEGMENT run and runs may arrive
#                coalesced, so that its core is not the bottleneck)
#
# Servers are pinned to core 0 (taskset -c 0), the load generator to core 1, on
# 127.0.0.1 ports the kernel picks. Runs are interleaved (run 1 of torsion, tokio, then
# run 2 ...) so that noise from other work on a shared machine hits both alike; the idle
# server sits in epoll_wait meanwhile. Each JSON line carries the CPU use of both
# processes and the time each waited for a CPU (contention), from /proc.
# Also runs torsion with segmentation offload off (UDP_NO_GSO=1: sendmmsg of single
# datagrams) as "torsion-nogso" and with batching off (UDP_NO_BATCHING=1: recvmsg / sendto
# per datagram) as "torsion-1by1", to show what each is worth.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
RUNS=5; DURATION=5; WARMUP=1; SOCKETS=8; INFLIGHT=64; SIZES="64 1400"; OUT=""; SEGMENT=--segment
while [ $# -gt 0 ]; do
    case "$1" in
        -n) RUNS=$2; shift 2 ;;
        -d) DURATION=$2; shift 2 ;;
        -w) WARMUP=$2; shift 2 ;;
        -c) SOCKETS=$2; shift 2 ;;
        -f) INFLIGHT=$2; shift 2 ;;
        --sizes) SIZES=$2; shift 2 ;;
        --plain-load) SEGMENT=""; shift ;;
        -o) OUT=$2; shift 2 ;;
        -h|--help) show_help; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done
ROOT=$(cd "$HERE/../.." && pwd)
OUT=$(out_dir "$OUT" torsion-udp-bench)
RESULTS="$OUT/timing.jsonl"; : > "$RESULTS"


log "building torsion's udp_echo example and the peers"
(cd "$ROOT" && cargo build --release --example udp_echo >&2)
cargo build --release --manifest-path "$HERE/Cargo.toml" --bin tokio_udp_echo --bin udp_loadgen >&2
BIN="$HERE/target/release"
TORSION_BIN="$ROOT/target/release/examples/udp_echo"

SERVERS=(torsion tokio torsion-nogso torsion-1by1)
declare -A PID PORT
start_server() {
    local name=$1 logf="$OUT/server-$1.log"
    case "$name" in
        torsion) taskset -c 0 "$TORSION_BIN" 0 127.0.0.1 65535 2>"$logf" & ;;
        torsion-nogso) UDP_NO_GSO=1 taskset -c 0 "$TORSION_BIN" 0 127.0.0.1 65535 2>"$logf" & ;;
        torsion-1by1) UDP_NO_BATCHING=1 taskset -c 0 "$TORSION_BIN" 0 127.0.0.1 65535 2>"$logf" & ;;
        tokio) taskset -c 0 "$BIN/tokio_udp_echo" 0 127.0.0.1 2>"$logf" & ;;
    esac
    local pid=$! port=""
    PIDS+=("$pid"); PID[$name]=$pid
    port=$(port_of "$name" "$logf" "$pid")
    PORT[$name]=$port
    log "$name udp echo server: pid $pid, 127.0.0.1:$port, core 0"
}
{
    echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "host: $(uname -srm), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
    echo "torsion: working tree at $(git -C "$ROOT" rev-parse --short HEAD)"
    echo "runs: $RUNS x (${WARMUP} s warm-up + ${DURATION} s), $SOCKETS sockets, $INFLIGHT in flight, sizes $SIZES, load ${SEGMENT:-without segmentation}"
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$OUT/env.txt"
cat "$OUT/env.txt" >&2
for s in "${SERVERS[@]}"; do start_server "$s"; done

for r in $(seq "$RUNS"); do
    for z in $SIZES; do
        for s in "${SERVERS[@]}"; do
            label="$s/${z}B/run$r"
            line=$(timeout $(( DURATION + WARMUP + 30 )) taskset -c 1 "$BIN/udp_loadgen" -c "$SOCKETS" \
                -w "$INFLIGHT" -s "$z" -d "$DURATION" --warmup "$WARMUP" --label "$label" \
                --server-pid "${PID[$s]}" $SEGMENT "127.0.0.1:${PORT[$s]}" 2>>"$OUT/loadgen.log") || {
                echo "udp_loadgen failed for $label" >&2; tail -3 "$OUT/loadgen.log" >&2; exit 1; }
            echo "{\"server\":\"$s\",\"size\":$z,\"run\":$r,\"result\":$line}" >> "$RESULTS"
            log "$label: $(echo "$line" | grep -oE '"msgs_per_s":[0-9.]+')"
        done
    done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/env.txt"

python3 - "$RESULTS" <<'PY' | tee "$OUT/table.md"
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
sizes = sorted({r["size"] for r in rows})
servers = ["torsion", "tokio", "torsion-nogso", "torsion-1by1"]
med = {}
print("| size | server | median echoes/s | runs (echoes/s) | median server CPU % | median wait for CPU % (server / loadgen) | p50 / p99 us (median) |")
print("|---|---|---|---|---|---|---|")
for z in sizes:
    for s in servers:
        rs = [r["result"] for r in rows if r["server"] == s and r["size"] == z]
        if not rs: continue
        m = lambda k: statistics.median([x[k] for x in rs if x.get(k) is not None] or [0])
        med[(s, z)] = m("msgs_per_s")
        runs = ", ".join(f"{x['msgs_per_s']:.0f}" for x in rs)
        print(f"| {z} B | {s} | {med[(s, z)]:.0f} | {runs} | {m('server_cpu_pct'):.0f} | {m('server_wait_pct'):.1f} / {m('loadgen_wait_pct'):.1f} | {m('p50_us'):.0f} / {m('p99_us'):.0f} |")
print()
for z in sizes:
    if ("torsion", z) in med and med.get(("tokio", z)):
        print(f"- {z} B: torsion / tokio = {med[('torsion', z)] / med[('tokio', z)]:.2f}x"
              + (f"; with / without segmentation = {med[('torsion', z)] / med[('torsion-nogso', z)]:.2f}x" if med.get(("torsion-nogso", z)) else "")
              + (f"; torsion batched / one-by-one = {med[('torsion', z)] / med[('torsion-1by1', z)]:.2f}x" if med.get(("torsion-1by1", z)) else ""))
PY
log "raw results in $OUT"
