#!/usr/bin/env bash
# API fuzzing: schemathesis (PyPI) against /api/openapi.json of a running server (fresh SQLite
# database with the demo models and key): examples, coverage, fuzzing and stateful phases with
# every check — no 5xx, every response matching the schema, bad input rejected, valid input
# accepted. Fails on any finding. Usage: scripts/fuzz-api.sh BINARY [MAX_EXAMPLES]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/lib.sh"
bin="${1:?usage: scripts/fuzz-api.sh BINARY [MAX_EXAMPLES]}"
examples="${2:-60}"
work="$(mktemp -d)"
port="$(free_port)"
export DATABASE_URL="sqlite://$work/fuzz.db" LENDSCOPE_LISTEN="127.0.0.1:$port"
export LENDSCOPE_SITE_ROOT="$root/target/site" LENDSCOPE_MONITORING_INTERVAL_SECS=0 RUST_LOG=warn
key="$(demo_key "$bin" "$work")"
cleanup() { stop_server; rm -rf "$work"; }
trap cleanup EXIT
serve_in_background "$bin" "$work" "http://127.0.0.1:$port"
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
