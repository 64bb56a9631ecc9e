# What the run_*.sh benchmark scripts share; each sources it after `set -euo pipefail`.
#
# PIDS           the processes a script started (append with PIDS+=("$!")); they are
#                stopped when the script exits, however it exits.
# show_help     prints the calling script's header comment (its lines 2 up to `set -euo`).
# out_dir DIR PREFIX
#                prints DIR after creating it, or a new /tmp/PREFIX.XXXXXX directory if DIR
#                is empty; assign it on its own line (`OUT=$(out_dir "$OUT" torsion-x)`).
# log MESSAGE    prints "[SCRIPT TIME] MESSAGE" on stderr.
# port_of NAME LOG PID
#                prints the port a server announced in LOG ("... listening on ADDR:PORT",
#                waiting up to 10 s); ends the script if PID dies first or prints none.
#                Assign it on its own line (`port=$(port_of ...)`, not `local port=$(...)`)
#                so that its failure stops the script.

PIDS=()

show_help() { sed -n "2,$(( $(grep -n '^set -euo' "$0" | cut -d: -f1) - 1 ))p" "$0"; }

out_dir() {
    local dir=$1
    [ -n "$dir" ] || dir=$(mktemp -d "/tmp/$2.XXXXXX")
    mkdir -p "$dir"
    echo "$dir"
}

log() { echo "[$(basename "$0" .sh) $(date +%T)] $*" >&2; }

# TERM to every started process, then KILL to any still there after 3 s.
stop_started() {
    local p
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]:-}"; do
        [ -n "$p" ] || continue
        for _ in $(seq 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
    done
}
trap stop_started EXIT
trap 'exit 130' INT TERM

port_of() {
    local name=$1 logf=$2 pid=$3 port
    for _ in $(seq 200); do
        port=$(grep -m1 'listening on' "$logf" 2>/dev/null | grep -oE '[0-9]+$' || true)
        if [ -n "$port" ]; then echo "$port"; return 0; fi
        kill -0 "$pid" 2>/dev/null || { cat "$logf" >&2; echo "$name server died" >&2; exit 1; }
        sleep 0.05
    done
    echo "$name server printed no port" >&2
    exit 1
}
