#!/usr/bin/env bash
# Load benchmark of the scoring API: the release server on a fresh PostgreSQL database with the
# demo champion and challenger (SHAP for both, durable hash-chained writes), driven by
# server/examples/loadgen.rs at fixed rates and at maximum. Prints p50/p95/p99 and throughput,
# then the highest tested rate whose p99 stays within 100 ms, then verifies the audit chain.
# Loopback only; every run is bounded in time.
# Usage: scripts/bench-load.sh [SECONDS_PER_STEP]
# LENDSCOPE_BENCH_MODELS=300x6: two models of 300 trees of depth 6 as champion and shadow
# challenger instead of the demo's (see scripts/bench-server.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
step_seconds="${1:-20}"
source scripts/bench-server.sh

echo "warm-up"; "$loadgen" --url "$base" --key "$key" --rate 50 --seconds 3 >/dev/null
for rate in 50 100 200; do
  "$loadgen" --url "$base" --key "$key" --rate "$rate" --seconds "$step_seconds"
done
"$loadgen" --url "$base" --key "$key" --rate 0 --concurrency 32 --seconds "$step_seconds"
best=0
for rate in 300 400 600 800 1000 1200 1500 1800 2000 2200 2500; do
  line="$("$loadgen" --url "$base" --key "$key" --rate "$rate" --seconds "$step_seconds" --json)"
  echo "$line"
  p99="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["p99_ms"])' "$line")"
  errors="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["errors"])' "$line")"
  if python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) <= 100 and int(sys.argv[2]) == 0 else 1)' "$p99" "$errors"; then
    best="$rate"
  else
    break
  fi
done
echo "highest tested rate with p99 <= 100 ms: $best requests/s"
"$bin" audit verify
