#!/usr/bin/env bash
# Whole-server HTTP/1.1 benchmark (issue 8): torsion's web server (src/bin/torsion_hello.rs,
# examples/web_counter.rs's shape answering a constant "Hello, World!") against hyper 1.x on
# tokio's current_thread runtime (src/bin/hyper_hello.rs) and, when python3-twisted is
# installed, Twisted web (the same resource, epoll reactor), all driven by wrk.
#
#   benches/peers/run_http.sh [-n RUNS] [-d SECONDS] [-w SECONDS] [-o OUTDIR] [--max-wait S]
#
#   -n RUNS      timing runs per server and mode (default 5; the table shows medians)
#   -d SECONDS   length of each wrk run (default 5)
#   -w SECONDS   warm-up of each server before the first round (default 1)
#   -o OUTDIR    where logs and results go (default: a new /tmp directory)
#   --max-wait S wait at most S seconds for a quiet machine before each run (default 60)
#
# The table goes to OUTDIR/table.md (run_all.sh appends it to the suite's table).
#
# Modes: plain (wrk -t1 -c50, one request at a time per connection) and pipelined
# (the same with pipeline16.lua: 16 requests per write on each connection; wrk counts
# responses). Servers run pinned to core 0 (taskset -c 0), wrk to core 1. Runs are
# interleaved (run 1 of every server and mode, then run 2 ...), so noise from other work on
# a shared machine hits all servers alike; idle servers sit blocked in epoll_wait. Before
# each run the script waits (up to --max-wait) for both cores to be idle for a second.
# Everything is bounded in time; the servers are stopped by pid on exit (trap).
set -euo pipefail

RUNS=5
DURATION=5
WARMUP=1
OUT=""
MAX_WAIT=60
while [ $# -gt 0 ]; do
    case "$1" in
        -n) RUNS=$2; shift 2 ;;
        -d) DURATION=$2; shift 2 ;;
        -w) WARMUP=$2; shift 2 ;;
        -o) OUT=$2; shift 2 ;;
        --max-wait) MAX_WAIT=$2; shift 2 ;;
        -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
[ -n "$OUT" ] || OUT=$(mktemp -d /tmp/torsion-http-bench.XXXXXX)
mkdir -p "$OUT"
RESULTS="$OUT/results.tsv"
: > "$RESULTS"
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }

source "$HERE/lib.sh"

log "building torsion_hello and hyper_hello (release)"
cargo build --release --manifest-path "$HERE/Cargo.toml" --bin torsion_hello --bin hyper_hello >&2
BIN="$HERE/target/release"

SERVERS=(torsion hyper)
TWISTED_PY=""
for py in /usr/bin/python3 python3; do
    if "$py" -c 'import twisted' 2>/dev/null; then TWISTED_PY=$py; break; fi
done
if [ -n "$TWISTED_PY" ]; then
    SERVERS+=(twisted)
    cat > "$OUT/twisted_hello.py" <<'PY'
import sys
from twisted.internet import epollreactor
epollreactor.install()
from twisted.internet import reactor
from twisted.web import resource, server

class Hello(resource.Resource):
    isLeaf = True
    def render_GET(self, request):
        request.setHeader(b"content-type", b"text/plain")
        return b"Hello, World!"

port = reactor.listenTCP(0, server.Site(Hello()), backlog=1024, interface="127.0.0.1")
sys.stderr.write("twisted_hello listening on 127.0.0.1:%d\n" % port.getHost().port)
sys.stderr.flush()
reactor.run()
PY
else
    log "python3-twisted is not installed: Twisted web left out"
fi

declare -A PID PORT
start_server() {
    local name=$1 logf="$OUT/server-$1.log"
    case "$name" in
        torsion) taskset -c 0 "$BIN/torsion_hello" 0 127.0.0.1 2>"$logf" & ;;
        hyper) taskset -c 0 "$BIN/hyper_hello" 0 127.0.0.1 2>"$logf" & ;;
        twisted) taskset -c 0 "$TWISTED_PY" "$OUT/twisted_hello.py" 2>"$logf" & ;;
    esac
    local pid=$! port=""
    PIDS+=("$pid")
    PID[$name]=$pid
    port=$(port_of "$name" "$logf" "$pid")
    PORT[$name]=$port
    log "$name: pid $pid, 127.0.0.1:$port, core 0"
}

busiest_cpu_pct() {
    local a b
    a=$(grep -E '^cpu[0-9]' /proc/stat); sleep 1; b=$(grep -E '^cpu[0-9]' /proc/stat)
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
wait_quiet() {
    local waited=0 busy
    while [ "$waited" -lt "$MAX_WAIT" ]; do
        busy=$(busiest_cpu_pct)
        [ "$busy" -le 10 ] && return 0
        sleep 1; waited=$(( waited + 2 ))
    done
    log "starting although the machine is busy (a core at ${busy} %)"
}

{
    echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "host: $(uname -srm), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
    echo "torsion: $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- src 2>/dev/null || echo ' + uncommitted changes')"
    echo "wrk: $(wrk -v 2>&1 | head -1)"
    [ -n "$TWISTED_PY" ] && echo "twisted: $("$TWISTED_PY" -c 'import twisted; print(twisted.__version__)')"
    echo "runs: $RUNS x ${DURATION} s per server and mode; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$OUT/env.txt"
cat "$OUT/env.txt" >&2

for s in "${SERVERS[@]}"; do start_server "$s"; done
for s in "${SERVERS[@]}"; do   # warm-up
    timeout 30 taskset -c 1 wrk -t1 -c50 -d"${WARMUP}s" "http://127.0.0.1:${PORT[$s]}/" >/dev/null
done

for r in $(seq "$RUNS"); do
    for mode in plain pipelined; do
        for s in "${SERVERS[@]}"; do
            script=()
            [ "$mode" = pipelined ] && script=(-s "$HERE/pipeline16.lua")
            wait_quiet
            out=$(timeout $(( DURATION + 30 )) taskset -c 1 wrk -t1 -c50 -d"${DURATION}s" "${script[@]}" \
                "http://127.0.0.1:${PORT[$s]}/")
            echo "$out" > "$OUT/wrk-$s-$mode-$r.txt"
            rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
            errs=$(echo "$out" | grep -cE 'Socket errors|Non-2xx' || true)
            log "run $r $mode $s: $rps req/s (error lines: $errs)"
            printf '%s\t%s\t%s\t%s\t%s\n' "$s" "$mode" "$r" "$rps" "$errs" >> "$RESULTS"
        done
    done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/env.txt"

python3 - "$RESULTS" <<'PY' | tee "$OUT/table.md"
import statistics, sys
rows = [l.split("\t") for l in open(sys.argv[1]).read().split("\n") if l]
med = {}
for mode in ("plain", "pipelined"):
    for s in sorted({r[0] for r in rows}):
        v = [float(r[3]) for r in rows if r[0] == s and r[1] == mode and r[3]]
        if v:
            med[(s, mode)] = (statistics.median(v), min(v), max(v), len(v))
print("| mode | server | median req/s | min | max | runs | vs hyper |")
print("|---|---|---:|---:|---:|---:|---:|")
for (s, mode), (m, lo, hi, n) in med.items():
    h = med.get(("hyper", mode), (0,))[0]
    ratio = f"{m / h:.2f}x" if h else "-"
    print(f"| {mode} | {s} | {m:,.0f} | {lo:,.0f} | {hi:,.0f} | {n} | {ratio} |")
# Paired ratios: torsion / hyper within the same round (runs adjacent in time, so they
# share the machine's load at that moment); the median of those is the robust figure.
print("\n| mode | torsion / hyper per round | median |")
print("|---|---|---:|")
for mode in ("plain", "pipelined"):
    by = {(r[0], r[2]): float(r[3]) for r in rows if r[1] == mode and r[3]}
    ratios = [by[("torsion", n)] / by[("hyper", n)] for (s, n) in by if s == "torsion" and ("hyper", n) in by]
    if ratios:
        print(f"| {mode} | {', '.join(f'{x:.2f}' for x in ratios)} | {statistics.median(ratios):.2f}x |")
errs = sum(int(r[4]) for r in rows)
print(f"\nwrk error lines (socket errors / non-2xx) over all runs: {errs}")
PY
log "raw results in $OUT"
