#!/usr/bin/env bash
# TLS benchmark (issue 7): torsion's tls_echo example against a tokio + tokio-rustls echo
# server (tokio_tls_echo --nodelay; also without it, tokio's default), same rustls (ring provider), same certificate (EC
# P-256, from scripts/tls-certs.sh), same client: tls_loadgen (TLS 1.3, so both servers
# negotiate TLS13_AES_256_GCM_SHA384 with X25519).
#
#   benches/peers/run_tls.sh [-n RUNS] [-d SECONDS] [-w SECONDS] [-o OUTDIR]
#
# Workloads: echo of 64-byte and of 16 KiB messages over 50 connections (one message in
# flight each), and full handshakes per second over 20 concurrent connections (connect,
# handshake without resumption, a 1-byte echo, close_notify, close).
# Servers are pinned to core 0, the load generator to core 1 (one core each). Runs are
# interleaved (torsion, tokio, torsion, tokio...) so that noise from other work on the
# machine hits both alike; the table gives medians. Besides the rate, each run records
# the server's CPU time (utime + stime from /proc) per operation, which load on the
# other core does not inflate the way it does the rate.
# Everything is bounded in time; the servers are stopped by pid on exit.
set -euo pipefail

RUNS=5
DURATION=5
WARMUP=1
OUT=""
while [ $# -gt 0 ]; do
    case "$1" in
        -n) RUNS=$2; shift 2 ;;
        -d) DURATION=$2; shift 2 ;;
        -w) WARMUP=$2; shift 2 ;;
        -o) OUT=$2; shift 2 ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
[ -n "$OUT" ] || OUT=$(mktemp -d /tmp/torsion-tls-bench.XXXXXX)
mkdir -p "$OUT"
RESULTS="$OUT/tls.jsonl"
: > "$RESULTS"

source "$HERE/lib.sh"

log "certificates"
CERTS="$OUT/certs"
bash "$ROOT/scripts/tls-certs.sh" "$CERTS" >/dev/null
log "building torsion's tls_echo example and the peers"
(cd "$ROOT" && cargo build --release --example tls_echo >&2)
cargo build --release --manifest-path "$HERE/Cargo.toml" >&2
BIN="$HERE/target/release"

declare -A PID PORT
start_server() {
    local name=$1 logf="$OUT/server-$1.log"
    case "$name" in
        torsion) taskset -c 0 "$ROOT/target/release/examples/tls_echo" \
            "ssl:0:interface=127.0.0.1:privateKey=$CERTS/server.key:certKey=$CERTS/server.pem" 2>"$logf" & ;;
        tokio) taskset -c 0 "$BIN/tokio_tls_echo" 0 "$CERTS/server.pem" "$CERTS/server.key" 127.0.0.1 --nodelay 2>"$logf" & ;;
        tokio_nagle) taskset -c 0 "$BIN/tokio_tls_echo" 0 "$CERTS/server.pem" "$CERTS/server.key" 127.0.0.1 2>"$logf" & ;;
    esac
    local pid=$! port=""
    PIDS+=("$pid"); PID[$name]=$pid
    port=$(port_of "$name" "$logf" "$pid")
    PORT[$name]=$port
    log "$name TLS echo server: pid $pid, 127.0.0.1:$port, core 0"
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run_one() {   # run_one SERVER MODE CONNS SIZE LABEL -> JSON line
    local s=$1 mode=$2 c=$3 z=$4 label=$5 before after line
    before=$(cpu_ticks "${PID[$s]}")
    line=$(timeout $(( DURATION + WARMUP + 30 )) taskset -c 1 "$BIN/tls_loadgen" --mode "$mode" \
        -c "$c" -s "$z" -d "$DURATION" --warmup "$WARMUP" --label "$label" \
        "127.0.0.1:${PORT[$s]}" 2>>"$OUT/loadgen.log")
    after=$(cpu_ticks "${PID[$s]}")
    echo "{\"server\":\"$s\",\"workload\":\"$mode/$c/$z\",\"cpu_ticks\":$((after - before)),\"clk_tck\":$(getconf CLK_TCK),\"window_s\":$((DURATION + WARMUP)),\"result\":$line}"
}

{
    echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "host: $(uname -srm), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
    echo "torsion: $(git -C "$ROOT" rev-parse --short HEAD)"
    echo "rustc: $(rustc --version)"
    echo "runs: $RUNS x (${WARMUP} s warm-up + ${DURATION} s)"
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$OUT/env.txt"
cat "$OUT/env.txt" >&2

SERVERS=(torsion tokio tokio_nagle)
for s in "${SERVERS[@]}"; do start_server "$s"; done
WORKLOADS=("echo 50 64" "echo 50 16384" "handshake 20 1")
for r in $(seq "$RUNS"); do
    for w in "${WORKLOADS[@]}"; do
        set -- $w
        for s in "${SERVERS[@]}"; do
            label="$s/$1/$2/$3/run$r"
            log "$label"
            run_one "$s" "$1" "$2" "$3" "$label" >> "$RESULTS"
        done
    done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/env.txt"

python3 - "$RESULTS" > "$OUT/table.md" <<'PY'
import json, sys, statistics as st
rows = [json.loads(l) for l in open(sys.argv[1])]
def med(server, wl, f):
    return st.median(f(r) for r in rows if r["server"] == server and r["workload"] == wl)
rate = lambda r: r["result"]["ops_per_s"]
# Server CPU per operation: ticks over the whole loadgen run (warm-up included) divided by
# all operations of that run (warm-up ones estimated at the measured rate).
def cpu_us(r):
    ops = r["result"]["ops_per_s"] * r["window_s"]
    return r["cpu_ticks"] / r["clk_tck"] * 1e6 / ops
names = {"echo/50/64": "echo, 64 B messages, 50 connections (msgs/s)",
         "echo/50/16384": "echo, 16 KiB messages, 50 connections (msgs/s)",
         "handshake/20/1": "full TLS 1.3 handshakes/s, 20 concurrent"}
print("| workload | torsion | tokio-rustls, TCP_NODELAY | ratio | server CPU per op, torsion / tokio | tokio-rustls, Nagle on (default) | ratio |")
print("|---|---|---|---|---|---|---|")
for wl, name in names.items():
    t, k, n = (med(s, wl, rate) for s in ("torsion", "tokio", "tokio_nagle"))
    ct, ck = med("torsion", wl, cpu_us), med("tokio", wl, cpu_us)
    extra = f" ({t * 16384 / 2**20:.0f} vs {k * 16384 / 2**20:.0f} MiB/s)" if wl.endswith("16384") else ""
    print(f"| {name} | {t:,.0f} | {k:,.0f} | {t / k:.2f}x{extra} | {ct:.1f} µs / {ck:.1f} µs | {n:,.0f} | {t / n:.2f}x |")
suites = {r["result"]["suite"] for r in rows}
print()
print("negotiated: " + ", ".join(sorted(suites)))
print(f"runs per cell: {len(rows) // 9}; every figure in the table is the median of them")
PY
cat "$OUT/table.md"
log "results in $OUT"
