#!/usr/bin/env bash
# Stops the Dovecot that scripts/dovecot-start.sh DIR started: TERM to its master (the
# children follow), KILL after 5 s. Running it twice is harmless.
# Usage: scripts/dovecot-stop.sh DIR
set -uo pipefail
D=${1:?usage: dovecot-stop.sh DIR}
F=$D/dovecot.pid
[ -s "$F" ] || { echo "dovecot: not running in $D"; exit 0; }
p=$(cat "$F")
if kill -0 "$p" 2>/dev/null; then
    kill "$p"
    for ((i = 0; i < 50; i++)); do
        kill -0 "$p" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$p" 2>/dev/null && kill -9 "$p"
fi
rm -f "$F"
echo "dovecot: stopped (pid $p)"
