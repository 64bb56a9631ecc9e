#!/usr/bin/env bash
# Whole-server TCP echo benchmark (issue 4): torsion's echo example against a tokio
# current_thread echo server and a raw mio echo server, all driven by the same
# single-threaded closed-loop ping-pong load generator (loadgen).
#
#   benches/peers/run_echo.sh [-n RUNS] [-d SECONDS] [-w SECONDS] [-S SECONDS]
#                             [--rev GITREV] [--no-breakdown] [-o OUTDIR]
#
#   -n RUNS        timing runs per server and configuration (default 3; the table shows medians)
#   -d SECONDS     measured window of each timing run (default 10)
#   -w SECONDS     warm-up before each measured window (default 2)
#   -S SECONDS     load window of each syscall-count run (default 5)
#   --rev GITREV   build torsion's echo example from that commit (git archive into a
#                  temporary tree) instead of the working tree, e.g. --rev HEAD
#   --no-breakdown skip the per-syscall-type runs
#   -o OUTDIR      where logs, JSON lines and the table go (default: a new /tmp directory)
#   --retries K    re-run a contended timing run up to K times (default 4; see below)
#   --max-wait S   wait at most S seconds for a quiet machine before each timing run (default 120)
#   --budget MIN   after MIN minutes of timing runs, stop waiting and retrying (default 45)
#
# Servers run pinned to core 0 (taskset -c 0), the load generator to core 1, on
# 127.0.0.1 ports the kernel picks (each server listens on port 0 and prints its port).
# Configurations: (a) 50 connections x 64 bytes, (b) 1 connection x 64 bytes.
# Timing runs are interleaved (run 1 of torsion, tokio, mio, then run 2 ...), so that
# noise from other work on a shared machine hits all three servers alike; the two idle
# servers sit blocked in epoll_wait meanwhile.
# Shared machine: before each timing run the script waits (up to --max-wait) until both
# cores are idle for a second (/proc/stat); after it, a run in which the server or the
# load generator spent more than 3 % of the window runnable but waiting for a CPU
# (/proc/PID/schedstat, reported by loadgen) is marked contended and run again (up to
# --retries times). Every attempt is kept; the table takes medians over the clean runs.
# Syscalls per message are counted in separate runs (perf slows the server):
#   perf stat -e raw_syscalls:sys_enter -p SERVER -- loadgen ... --warmup 0 -d S
# counts the server's syscalls for exactly the load generator's lifetime, divided by the
# round trips the load generator completed in that lifetime (connection set-up included:
# about 5 syscalls per connection, noise next to the messages). Without a working perf
# it falls back to strace -c -f -p SERVER (and says so).
# Everything is bounded in time; the servers are stopped by pid on exit (trap).
set -euo pipefail

RUNS=3
DURATION=10
WARMUP=2
SYS_SECONDS=5
REV=""
BREAKDOWN=1
OUT=""
RETRIES=4
MAX_WAIT=120
BUDGET_MIN=45
WAIT_LIMIT=3    # % of the window spent waiting for a CPU that makes a run contended
while [ $# -gt 0 ]; do
    case "$1" in
        -n) RUNS=$2; shift 2 ;;
        -d) DURATION=$2; shift 2 ;;
        -w) WARMUP=$2; shift 2 ;;
        -S) SYS_SECONDS=$2; shift 2 ;;
        --rev) REV=$2; shift 2 ;;
        --no-breakdown) BREAKDOWN=0; shift ;;
        -o) OUT=$2; shift 2 ;;
        --retries) RETRIES=$2; shift 2 ;;
        --max-wait) MAX_WAIT=$2; shift 2 ;;
        --budget) BUDGET_MIN=$2; shift 2 ;;
        -h|--help) sed -n '2,45p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
[ -n "$OUT" ] || OUT=$(mktemp -d /tmp/torsion-echo-bench.XXXXXX)
mkdir -p "$OUT"
RESULTS="$OUT/timing.jsonl"
SYSCALLS="$OUT/syscalls.jsonl"
: > "$RESULTS"
: > "$SYSCALLS"

# ---------------------------------------------------------------- cleanup
source "$HERE/lib.sh"

# ---------------------------------------------------------------- build
TORSION_REV_DESC=""
if [ -n "$REV" ]; then
    SRC="$OUT/torsion-src"
    rm -rf "$SRC"; mkdir -p "$SRC"
    git -C "$ROOT" archive "$REV" | tar -x -C "$SRC"
    TORSION_REV_DESC="$(git -C "$ROOT" rev-parse --short "$REV") (git archive of $REV)"
    log "building torsion's echo example from $TORSION_REV_DESC"
    cargo build --release --example echo --manifest-path "$SRC/Cargo.toml" \
        --target-dir "$HERE/target/torsion-rev" >&2
    TORSION_BIN="$HERE/target/torsion-rev/release/examples/echo"
else
    TORSION_REV_DESC="working tree at $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- src sys examples Cargo.toml 2>/dev/null || echo ' + uncommitted changes')"
    log "building torsion's echo example from the $TORSION_REV_DESC"
    (cd "$ROOT" && cargo build --release --example echo >&2)
    TORSION_BIN="$ROOT/target/release/examples/echo"
fi
log "building the peers (tokio_echo, mio_echo, loadgen)"
cargo build --release --manifest-path "$HERE/Cargo.toml" >&2
BIN="$HERE/target/release"

# ---------------------------------------------------------------- servers
SERVERS=(torsion tokio mio)
declare -A PID PORT
start_server() {
    local name=$1 logf="$OUT/server-$1.log"
    case "$name" in
        torsion) taskset -c 0 "$TORSION_BIN" tcp:0:interface=127.0.0.1 2>"$logf" & ;;
        tokio) taskset -c 0 "$BIN/tokio_echo" 0 127.0.0.1 2>"$logf" & ;;
        mio) taskset -c 0 "$BIN/mio_echo" 0 127.0.0.1 2>"$logf" & ;;
    esac
    local pid=$!
    PIDS+=("$pid")
    PID[$name]=$pid
    local port=""
    port=$(port_of "$name" "$logf" "$pid")
    # The port accepts (bash's /dev/tcp; the probe connection closes at once).
    local ok=0
    for _ in $(seq 50); do
        if timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null; then ok=1; break; fi
        sleep 0.1
    done
    [ $ok = 1 ] || { echo "$name server does not accept on $port" >&2; exit 1; }
    PORT[$name]=$port
    log "$name echo server: pid $pid, 127.0.0.1:$port, core 0"
}

stop_server() {
    local pid=${PID[$1]}
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

CONFIGS=("50 64" "1 64")    # connections size
cfg_name() { echo "$1x$2"; }

loadgen() {   # loadgen SERVER CONNS SIZE DURATION WARMUP LABEL -> JSON line on stdout
    local s=$1 c=$2 z=$3 d=$4 w=$5 label=$6
    timeout $(( ${d%.*} + ${w%.*} + 30 )) taskset -c 1 "$BIN/loadgen" -c "$c" -s "$z" -d "$d" \
        --warmup "$w" --label "$label" --server-pid "${PID[$s]}" "127.0.0.1:${PORT[$s]}" \
        2>>"$OUT/loadgen.log"
}

{
    echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "host: $(uname -srm), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
    echo "torsion: $TORSION_REV_DESC"
    echo "rustc: $(rustc --version)"
    echo "runs: $RUNS x (${WARMUP} s warm-up + ${DURATION} s), syscall window ${SYS_SECONDS} s"
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$OUT/env.txt"
cat "$OUT/env.txt" >&2

for s in "${SERVERS[@]}"; do start_server "$s"; done

# ---------------------------------------------------------------- timing runs
# Busy % of the busier CPU over one second (everything but idle and iowait; steal counts
# as busy). The idle servers add nothing.
busiest_cpu_pct() {
    local a b
    a=$(grep -E '^cpu[0-9]' /proc/stat)
    sleep 1
    b=$(grep -E '^cpu[0-9]' /proc/stat)
    # Fields after the name: user nice system idle iowait irq softirq steal (guest time
    # is already inside user, so the rest is left out).
    printf '%s\n%s\n' "$a" "$b" | awk '{
        t = 0; for (i = 2; i <= 9; i++) t += $i
        idle = $5 + $6
        if ($1 in tot) {
            dt = t - tot[$1]; di = idle - idl[$1]
            busy = dt > 0 ? 100 * (dt - di) / dt : 0
            if (busy > max) max = busy
        } else { tot[$1] = t; idl[$1] = idle }
    } END { printf "%d\n", max }'
}
T_START=$(date +%s)
in_budget() { [ $(( $(date +%s) - T_START )) -lt $(( BUDGET_MIN * 60 )) ]; }
wait_quiet() {
    local waited=0 busy
    while in_budget && [ "$waited" -lt "$MAX_WAIT" ]; do
        busy=$(busiest_cpu_pct)
        [ "$busy" -le 10 ] && return 0
        [ "$waited" = 0 ] && log "machine busy (a core at ${busy} %), waiting up to ${MAX_WAIT} s"
        sleep 2; waited=$(( waited + 3 ))
    done
    log "starting although the machine is busy"
}
contended() {   # contended JSON -> exit 0 if a process waited > WAIT_LIMIT % for a CPU
    python3 -c 'import json,sys
r = json.loads(sys.argv[1]); lim = float(sys.argv[2])
w = [r.get("server_wait_pct"), r.get("loadgen_wait_pct")]
sys.exit(0 if any(x is not None and x > lim for x in w) else 1)' "$1" "$WAIT_LIMIT"
}

for r in $(seq "$RUNS"); do
    for cfg in "${CONFIGS[@]}"; do
        set -- $cfg
        for s in "${SERVERS[@]}"; do
            for attempt in $(seq 0 "$RETRIES"); do
                label="$s/$(cfg_name "$1" "$2")/run$r"
                [ "$attempt" = 0 ] || label="$label/retry$attempt"
                wait_quiet
                log "timing $label"
                line=$(loadgen "$s" "$1" "$2" "$DURATION" "$WARMUP" "$label") || {
                    echo "loadgen failed for $label: $line" >&2; exit 1; }
                clean=true
                if contended "$line"; then clean=false; fi
                echo "{\"server\":\"$s\",\"config\":\"$(cfg_name "$1" "$2")\",\"run\":$r,\"attempt\":$attempt,\"clean\":$clean,\"result\":$line}" >> "$RESULTS"
                [ "$clean" = true ] && break
                log "contended (server or loadgen waited > ${WAIT_LIMIT} % for a CPU)"
                in_budget || break
            done
        done
    done
done

# ---------------------------------------------------------------- syscall counts
PERF_OK=0
if command -v perf >/dev/null && perf stat -e raw_syscalls:sys_enter -- true >/dev/null 2>&1; then
    PERF_OK=1
else
    log "perf with raw_syscalls:sys_enter is unavailable: falling back to strace -c -f -p (much slower server under strace; the counts stay counts)"
fi
for cfg in "${CONFIGS[@]}"; do
    set -- $cfg
    cn=$(cfg_name "$1" "$2")
    for s in "${SERVERS[@]}"; do
        label="$s/$cn/syscalls"
        if [ $PERF_OK = 1 ]; then
            log "counting syscalls (perf stat -e raw_syscalls:sys_enter) $label"
            csv="$OUT/perf-$s-$cn.csv"
            line=$(timeout $(( ${SYS_SECONDS%.*} + 60 )) perf stat -x, -o "$csv" -e raw_syscalls:sys_enter \
                -p "${PID[$s]}" -- taskset -c 1 "$BIN/loadgen" -c "$1" -s "$2" -d "$SYS_SECONDS" \
                --warmup 0 --label "$label" "127.0.0.1:${PORT[$s]}" 2>>"$OUT/loadgen.log")
            count=$(awk -F, '$3 ~ /raw_syscalls:sys_enter/ {print $1}' "$csv")
            tool="perf"
        else
            log "counting syscalls (strace -c -f -p) $label"
            sfile="$OUT/strace-$s-$cn.txt"
            timeout $(( ${SYS_SECONDS%.*} + 60 )) strace -c -f -p "${PID[$s]}" -o "$sfile" &
            spid=$!
            PIDS+=("$spid")
            sleep 1
            line=$(loadgen "$s" "$1" "$2" "$SYS_SECONDS" 0 "$label")
            kill -INT "$spid" 2>/dev/null || true
            wait "$spid" 2>/dev/null || true
            count=$(awk '$NF == "total" {print $(NF-2)}' "$sfile")
            tool="strace"
        fi
        echo "{\"server\":\"$s\",\"config\":\"$cn\",\"tool\":\"$tool\",\"syscalls\":${count:-null},\"result\":$line}" >> "$SYSCALLS"
    done
done

# Per syscall type (one more run each; perf only). Attaching ~360 tracepoints takes
# perf several seconds before the load generator starts; the server idles meanwhile.
if [ $PERF_OK = 1 ] && [ $BREAKDOWN = 1 ]; then
    for cfg in "${CONFIGS[@]}"; do
        set -- $cfg
        cn=$(cfg_name "$1" "$2")
        for s in "${SERVERS[@]}"; do
            label="$s/$cn/breakdown"
            log "per-type syscall counts (perf stat -e 'syscalls:sys_enter_*') $label"
            csv="$OUT/perf-types-$s-$cn.csv"
            line=$(timeout 180 perf stat -x, -o "$csv" -e 'syscalls:sys_enter_*' \
                -p "${PID[$s]}" -- taskset -c 1 "$BIN/loadgen" -c "$1" -s "$2" -d 3 \
                --warmup 0 --label "$label" "127.0.0.1:${PORT[$s]}" 2>>"$OUT/loadgen.log")
            echo "$line" > "$OUT/perf-types-$s-$cn.json"
        done
    done
fi

for s in "${SERVERS[@]}"; do stop_server "$s"; done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/env.txt"

# ---------------------------------------------------------------- table
python3 "$HERE/echo_table.py" "$OUT" | tee "$OUT/table.md"
log "raw results in $OUT"
