#!/usr/bin/env bash
# The comparison suite (issue 10): builds everything, then runs each pair in one run.
#
#   benches/peers/run_all.sh [-n RUNS] [-d SECONDS] [-w SECONDS] [-o OUTDIR] [--no-extra]
#
#   -n RUNS      timing runs per server, configuration and load tool (default 3; medians)
#   -d SECONDS   measured window of each run (default 5)
#   -w SECONDS   warm-up before it (default 1)
#   -o OUTDIR    where logs, JSON lines and table.md go (default: a new /tmp directory)
#   --no-extra   skip run_http.sh / run_udp.sh even if present
#
# Echo: `torsion echo` (the command), tokio_echo and mio_echo, each loaded by
# `torsion bench echo` (the load tool the suite is built on) and by loadgen (the
# independent mio load generator of issue 4), so the table shows both the servers'
# ratios and whether the two load tools agree. Configurations: 50 connections x 64 B and
# 1 connection x 64 B. Servers run pinned to core 0 (taskset -c 0), the load tool to
# core 1; runs are interleaved (run 1 of every server and tool, then run 2 ...) so that
# noise from other work hits all alike.
#
# Contention: a shared machine's other work is not stopped. For every run the script
# records the server's time runnable-but-waiting for a CPU (/proc/PID/schedstat) as a %
# of the run (warm-up + window), and the load average before and after; both load tools
# report their own wait over the measured window. The table shows them all, and counts the
# runs whose server waited more than 3 % (their figures are still used).
#
# HTTP and UDP: if run_http.sh / run_udp.sh exist beside this script, they are run as
# `run_X.sh -n RUNS -d SECONDS -w SECONDS -o OUTDIR/X` and their OUTDIR/X/table.md is
# appended to this table (that is the contract for such scripts). After run_udp.sh, the
# UDP load tools are compared too: `torsion bench udp` and udp_loadgen against torsion's
# udp_echo example (8 sockets x 8 in flight x 64 B).
# Everything is bounded in time; servers are stopped by pid on exit.
set -euo pipefail

RUNS=3
DURATION=5
WARMUP=1
OUT=""
EXTRA=1
while [ $# -gt 0 ]; do
    case "$1" in
        -n) RUNS=$2; shift 2 ;;
        -d) DURATION=$2; shift 2 ;;
        -w) WARMUP=$2; shift 2 ;;
        -o) OUT=$2; shift 2 ;;
        --no-extra) EXTRA=0; shift ;;
        -h|--help) sed -n '2,31p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
[ -n "$OUT" ] || OUT=$(mktemp -d /tmp/torsion-suite.XXXXXX)
mkdir -p "$OUT"
RESULTS="$OUT/suite.jsonl"
: > "$RESULTS"

source "$HERE/lib.sh"

# ---------------------------------------------------------------- build
log "building torsion (the command) from $(git -C "$ROOT" rev-parse --short HEAD)"
(cd "$ROOT" && cargo build --release --bin torsion >&2)
TORSION="$ROOT/target/release/torsion"
log "building the peers (tokio_echo, mio_echo, loadgen)"
cargo build --release --manifest-path "$HERE/Cargo.toml" >&2
BIN="$HERE/target/release"

{
    echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "host: $(uname -srm), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
    echo "torsion: $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- src sys Cargo.toml 2>/dev/null || echo ' + uncommitted changes')"
    echo "rustc: $(rustc --version)"
    echo "runs: $RUNS x (${WARMUP} s warm-up + ${DURATION} s) per server, configuration and load tool"
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$OUT/env.txt"
cat "$OUT/env.txt" >&2

# ---------------------------------------------------------------- servers
SERVERS=(torsion tokio mio)
declare -A PID PORT
start_server() {
    local name=$1 logf="$OUT/server-$1.log"
    case "$name" in
        torsion) taskset -c 0 "$TORSION" echo --listen tcp:0:interface=127.0.0.1 --log-level warn >"$logf" 2>&1 & ;;
        tokio) taskset -c 0 "$BIN/tokio_echo" 0 127.0.0.1 >"$logf" 2>&1 & ;;
        mio) taskset -c 0 "$BIN/mio_echo" 0 127.0.0.1 >"$logf" 2>&1 & ;;
    esac
    local pid=$! port=""
    PIDS+=("$pid")
    PID[$name]=$pid
    port=$(port_of "$name" "$logf" "$pid")
    PORT[$name]=$port
    log "$name echo server: pid $pid, 127.0.0.1:$port, core 0"
}
for s in "${SERVERS[@]}"; do start_server "$s"; done

# Time (ns) the process has spent runnable but waiting for a CPU.
waited_ns() { cut -d' ' -f2 "/proc/$1/schedstat" 2>/dev/null || echo 0; }

one_run() {   # one_run TOOL SERVER CONNS SIZE RUN
    local tool=$1 s=$2 c=$3 z=$4 r=$5 line w0 w1 l0 l1 limit
    limit=$(( ${DURATION%.*} + ${WARMUP%.*} + 30 ))
    l0=$(cut -d' ' -f1 /proc/loadavg)
    w0=$(waited_ns "${PID[$s]}")
    case "$tool" in
        bench) line=$(timeout "$limit" taskset -c 1 "$TORSION" bench echo --connect "tcp:127.0.0.1:${PORT[$s]}" \
                   -c "$c" --size "$z" -d "${DURATION}s" --warmup "${WARMUP}s" --server-pid "${PID[$s]}" \
                   --json --quiet 2>>"$OUT/load.log") ;;
        loadgen) line=$(timeout "$limit" taskset -c 1 "$BIN/loadgen" -c "$c" -s "$z" -d "$DURATION" \
                   --warmup "$WARMUP" --label "$s/${c}x$z/run$r" --server-pid "${PID[$s]}" \
                   "127.0.0.1:${PORT[$s]}" 2>>"$OUT/load.log") ;;
    esac || { echo "$tool failed against $s: $line" >&2; exit 1; }
    w1=$(waited_ns "${PID[$s]}")
    l1=$(cut -d' ' -f1 /proc/loadavg)
    echo "{\"tool\":\"$tool\",\"server\":\"$s\",\"config\":\"${c}x$z\",\"run\":$r,\"server_wait_ns\":$(( w1 - w0 )),\"load_before\":$l0,\"load_after\":$l1,\"result\":$line}" >> "$RESULTS"
}

CONFIGS=("50 64" "1 64")
for r in $(seq "$RUNS"); do
    for cfg in "${CONFIGS[@]}"; do
        set -- $cfg
        for s in "${SERVERS[@]}"; do
            for tool in bench loadgen; do
                log "run $r: $tool -> $s, $1 x $2 B"
                one_run "$tool" "$s" "$1" "$2" "$r"
            done
        done
    done
done
for s in "${SERVERS[@]}"; do kill -TERM "${PID[$s]}" 2>/dev/null || true; done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/env.txt"

# ---------------------------------------------------------------- HTTP, UDP
EXTRAS=()
if [ $EXTRA = 1 ]; then
    for kind in http udp; do
        script="$HERE/run_$kind.sh"
        if [ -x "$script" ]; then
            log "running run_$kind.sh"
            if "$script" -n "$RUNS" -d "$DURATION" -w "$WARMUP" -o "$OUT/$kind" >&2; then
                EXTRAS+=("$kind")
            else
                log "run_$kind.sh failed (see above); its rows are left out"
            fi
        else
            log "no run_$kind.sh yet: no $kind rows"
        fi
    done
fi

# ---------------------------------------------------------------- torsion bench udp vs udp_loadgen
# Once run_udp.sh has built torsion's udp_echo example and udp_loadgen: both load tools
# against the same udp_echo, 8 sockets x 8 datagrams in flight x 64 B, interleaved.
UDP_ECHO="$ROOT/target/release/examples/udp_echo"
: > "$OUT/udp_tools.jsonl"
if [ $EXTRA = 1 ] && [ -x "$UDP_ECHO" ] && [ -x "$BIN/udp_loadgen" ]; then
    logf="$OUT/server-udp_echo.log"
    taskset -c 0 "$UDP_ECHO" 0 127.0.0.1 65535 2>"$logf" &
    upid=$!
    PIDS+=("$upid")
    uport=""
    for _ in $(seq 100); do
        uport=$(grep -m1 'listening on' "$logf" 2>/dev/null | grep -oE '[0-9]+$' || true)
        [ -n "$uport" ] && break
        sleep 0.05
    done
    if [ -n "$uport" ]; then
        limit=$(( ${DURATION%.*} + ${WARMUP%.*} + 30 ))
        for r in $(seq "$RUNS"); do
            log "run $r: bench udp / udp_loadgen -> udp_echo"
            line=$(timeout "$limit" taskset -c 1 "$TORSION" bench udp --connect "udp:127.0.0.1:$uport" \
                -c 8 --pipeline 8 --size 64 -d "${DURATION}s" --warmup "${WARMUP}s" \
                --server-pid "$upid" --json --quiet 2>>"$OUT/load.log") || line=""
            [ -n "$line" ] && echo "{\"tool\":\"bench\",\"run\":$r,\"result\":$line}" >> "$OUT/udp_tools.jsonl"
            line=$(timeout "$limit" taskset -c 1 "$BIN/udp_loadgen" -c 8 -w 64 -s 64 -d "$DURATION" \
                --warmup "$WARMUP" --server-pid "$upid" "127.0.0.1:$uport" 2>>"$OUT/load.log") || line=""
            [ -n "$line" ] && echo "{\"tool\":\"udp_loadgen\",\"run\":$r,\"result\":$line}" >> "$OUT/udp_tools.jsonl"
        done
    else
        log "udp_echo printed no port: no bench udp comparison"
    fi
    kill -TERM "$upid" 2>/dev/null || true
fi

python3 "$HERE/suite_table.py" "$OUT" "$DURATION" "$WARMUP" "${EXTRAS[@]:-}" | tee "$OUT/table.md"
log "raw results in $OUT"
