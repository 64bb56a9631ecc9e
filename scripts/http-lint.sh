#!/usr/bin/env bash
# Lints the web server's HTTP/1.1 with HTTPolice (a linter nobody here wrote): starts
# `torsion web` on a free loopback port over a scratch directory, sends one connection a
# pipelined GET, HEAD, conditional GET, range GET, POST with Content-Length and chunked
# POST (the last with Connection: close), records the raw exchange, and has HTTPolice check
# both streams against RFC 9110/9112. Exits 1 on any error notice (E); comments (C) are
# printed only.
#
#   scripts/http-lint.sh [TORSION_BINARY]      (default: target/debug/torsion, built here)
#
# HTTPolice comes from PyPI into a virtualenv under target/ (pinned: 0.9.0 needs
# bitstring < 3.2). Where it cannot be installed (no python3-venv, no access to PyPI) the
# lint is skipped with a message and exit 0; CI installs python3-venv (scripts/setup).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-}
if [ -z "$BIN" ]; then
    (cd "$ROOT" && cargo build --quiet --bin torsion)
    BIN="$ROOT/target/debug/torsion"
fi
VENV="$ROOT/target/http-lint-venv"
if [ ! -x "$VENV/bin/httpolice" ]; then
    if ! { python3 -m venv "$VENV" && "$VENV/bin/pip" install --quiet 'httpolice==0.9.0' 'bitstring<3.2'; } >&2; then
        echo "http-lint: HTTPolice could not be installed (python3-venv, PyPI); lint skipped" >&2
        rm -rf "$VENV"
        exit 0
    fi
fi

WORK=$(mktemp -d)
SERVER=""
cleanup() {
    if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
    if [ -n "${HTTP_LINT_KEEP:-}" ]; then echo "http-lint: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
mkdir "$WORK/site"
printf 'hello, linter\n' > "$WORK/site/index.txt"
printf '<!doctype html><title>t</title><p>a page\n' > "$WORK/site/index.html"
"$BIN" web --listen tcp:0:interface=127.0.0.1 --path "$WORK/site" > "$WORK/server.out" 2> "$WORK/server.err" &
SERVER=$!
PORT=""
for _ in $(seq 100); do
    PORT=$(grep -m1 'listening on' "$WORK/server.out" 2>/dev/null | grep -oE '[0-9]+$' || true)
    [ -n "$PORT" ] && break
    kill -0 "$SERVER" 2>/dev/null || { cat "$WORK/server.err" >&2; exit 1; }
    sleep 0.05
done
[ -n "$PORT" ] || { echo "http-lint: the server printed no port" >&2; exit 1; }

H='Host: 127.0.0.1\r\nUser-Agent: torsion-http-lint\r\n'
{
    printf "GET /index.txt HTTP/1.1\r\n$H\r\n"
    printf "HEAD /index.html HTTP/1.1\r\n$H\r\n"
    printf "GET /index.txt HTTP/1.1\r\n${H}If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT\r\n\r\n"
    printf "GET /index.txt HTTP/1.1\r\n${H}Range: bytes=0-4\r\n\r\n"
    printf "GET / HTTP/1.1\r\n$H\r\n"
    printf "GET /missing HTTP/1.1\r\n$H\r\n"
    printf "POST /index.txt HTTP/1.1\r\n${H}Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
    printf "POST /index.txt HTTP/1.1\r\n${H}Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
} > "$WORK/requests"
python3 - "$PORT" "$WORK/requests" "$WORK/responses" <<'PY'
import socket, sys, time
port, req, out = int(sys.argv[1]), open(sys.argv[2], "rb").read(), sys.argv[3]
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(req)
got, deadline = b"", time.monotonic() + 10
while time.monotonic() < deadline:
    chunk = s.recv(65536)
    if not chunk:
        break
    got += chunk
open(out, "wb").write(got)
PY
[ -s "$WORK/responses" ] || { echo "http-lint: no response" >&2; exit 1; }
{
    printf 'torsion web on 127.0.0.1:%s\r\n======== BEGIN INBOUND STREAM ========\r\n' "$PORT"
    cat "$WORK/requests"
    printf '======== BEGIN OUTBOUND STREAM ========\r\n'
    cat "$WORK/responses"
} > "$WORK/exchange"
echo "http-lint: $(grep -ao 'HTTP/1.1 [1-5][0-9][0-9] ' "$WORK/responses" | wc -l) responses from torsion web; HTTPolice says:"
(cd / && "$VENV/bin/httpolice" -i combined --fail-on error "$WORK/exchange")
echo "http-lint: no errors"
