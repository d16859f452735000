#!/usr/bin/env bash
# The CPU cost of one decision by stage, from a profile: the release server of the load
# benchmark (scripts/bench-server.sh; LENDSCOPE_BENCH_MODELS=300x6 for two 300 x 6 models),
# driven at a fixed rate below saturation while `perf record` samples every process of the
# machine with DWARF call stacks. scripts/profile_stages.py then gives each sample of the server
# to the innermost stage on its stack (parse, encode, predict + SHAP, reasons, JSON, hashing,
# database client, HTTP and runtime), the PostgreSQL server processes' samples to "database
# (PostgreSQL server)", leaves out the load generator, and divides by the decisions made.
# Usage: scripts/profile-decision.sh [RATE] [SECONDS]   (defaults: 200 requests/s for 15 s)
set -euo pipefail
cd "$(dirname "$0")/.."
rate="${1:-200}"
seconds="${2:-15}"
command -v perf >/dev/null || { echo "profile-decision: perf is missing (apt-get install linux-perf)" >&2; exit 1; }
source scripts/bench-server.sh

echo "warm-up"; "$loadgen" --url "$base" --key "$key" --rate 100 --seconds 3 >/dev/null
frequency=499
perf record -a -F "$frequency" --call-graph dwarf,16384 -o "$work/perf.data" -- \
  "$loadgen" --url "$base" --key "$key" --rate "$rate" --seconds "$seconds" --json \
  >"$work/load.json" 2>"$work/perf.log"
cat "$work/load.json"
decisions="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ok"])' "$work/load.json")"
perf script --no-inline -i "$work/perf.data" -F comm,pid,tid,ip,sym 2>/dev/null |
  python3 scripts/profile_stages.py --server-pid "$server" --frequency "$frequency" \
    --decisions "$decisions" --seconds "$seconds"
