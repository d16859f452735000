#!/usr/bin/env bash
# API fuzzing: schemathesis (PyPI) against /api/openapi.json of a running server (fresh SQLite
# database with the demo models and key): examples, coverage, fuzzing and stateful phases with
# every check — no 5xx, every response matching the schema, bad input rejected, valid input
# accepted. Fails on any finding. Usage: scripts/fuzz-api.sh BINARY [MAX_EXAMPLES]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${1:?usage: scripts/fuzz-api.sh BINARY [MAX_EXAMPLES]}"
examples="${2:-60}"
work="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
export DATABASE_URL="sqlite://$work/fuzz.db" LENDSCOPE_LISTEN="127.0.0.1:$port"
export LENDSCOPE_SITE_ROOT="$root/target/site" LENDSCOPE_MONITORING_INTERVAL_SECS=0 RUST_LOG=warn
"$bin" demo >"$work/demo.txt"
key="$(grep -o 'lsk_[A-Za-z0-9_-]*' "$work/demo.txt" | head -n1)"
"$bin" serve >"$work/server.log" 2>&1 &
server=$!
cleanup() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 && break; sleep 0.1; done
cd "$work" # schemathesis keeps its cache in the working folder
export LENDSCOPE_FUZZ_KEY="$key"
if ! PYTHONPATH="$root/scripts" SCHEMATHESIS_HOOKS=schemathesis_hooks \
  schemathesis --config-file "$root/scripts/schemathesis.toml" run "http://127.0.0.1:$port/api/openapi.json" \
    --checks all --max-examples "$examples" \
    --seed 20261129 --no-color; then
  echo "--- server log ---"; grep -E 'ERROR|panicked' "$work/server.log" | tail -n 20 || true
  exit 1
fi
if grep -q 'panicked' "$work/server.log"; then echo "the server panicked"; exit 1; fi
