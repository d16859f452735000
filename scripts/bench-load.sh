#!/usr/bin/env bash
# Load benchmark of the scoring API: the release server on a fresh PostgreSQL database with the
# demo champion and challenger (SHAP for both, durable hash-chained writes), driven by
# server/examples/loadgen.rs at fixed rates and at maximum. Prints p50/p95/p99 and throughput,
# then the highest tested rate whose p99 stays within 100 ms, then verifies the audit chain.
# Loopback only; every run is bounded in time.
# Usage: scripts/bench-load.sh [SECONDS_PER_STEP]
# LENDSCOPE_BENCH_MODELS=300x6: instead of the demo's small early-stopped models, two models of
# 300 trees of depth 6 (all rounds kept, trained on 20,000 generated applicants) serve as
# champion and shadow challenger (share 0: every request is scored and explained by both).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
source scripts/lib.sh
step_seconds="${1:-20}"
pg_admin="${LENDSCOPE_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432}"
db="lendscope_bench_$$"

cargo build --release -p lendscope-server --bin lendscope --example loadgen
bin="$target_dir/release/lendscope"
loadgen="$target_dir/release/examples/loadgen"

psql "$pg_admin/test" -qc "CREATE DATABASE $db"
export DATABASE_URL="$pg_admin/$db"
port="$(free_port)"
export LENDSCOPE_LISTEN="127.0.0.1:$port"
export LENDSCOPE_LOG_FORMAT=json RUST_LOG=warn
work="$(mktemp -d)"
key="$(demo_key "$bin" "$work")"
if [ "${LENDSCOPE_BENCH_MODELS:-demo}" = 300x6 ]; then
  echo "training two 300 x 6 models"
  "$bin" generate --rows 20000 --seed 7 --out "$work/big.csv" >/dev/null
  for seed in 1 2; do
    "$bin" train --data "$work/big.csv" --target defaulted --rounds 300 --max-depth 6 \
      --keep-all-rounds --seed "$seed" --out "$work/m$seed" >/dev/null
    "$bin" models register --dir "$work/m$seed" --name bench300x6
  done
  ids="$("$bin" models list | awk '$2 == "bench300x6" {print $1}')"
  champion="$(sed -n 1p <<<"$ids")"; challenger="$(sed -n 2p <<<"$ids")"
  "$bin" models alias champion "$champion" --emergency --reason "load benchmark" --by bench
  "$bin" models alias challenger "$challenger" --emergency --reason "load benchmark" --by bench
  for id in $champion $challenger; do "$bin" models show bench300x6 "$("$bin" models list |
    awk -v id="$id" '$1 == id {print $3}')" | grep -E "^bench300x6|features"; done
fi
cleanup() {
  stop_server
  psql "$pg_admin/test" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
  rm -rf "$work"
}
trap cleanup EXIT
serve_in_background "$bin" "$work" "http://127.0.0.1:$port"

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/Mem:/{print $2}') GiB; PostgreSQL $(psql "$pg_admin/test" -Atc 'show server_version')"
echo "warm-up"; "$loadgen" --url "http://127.0.0.1:$port" --key "$key" --rate 50 --seconds 3 >/dev/null
for rate in 50 100 200; do
  "$loadgen" --url "http://127.0.0.1:$port" --key "$key" --rate "$rate" --seconds "$step_seconds"
done
"$loadgen" --url "http://127.0.0.1:$port" --key "$key" --rate 0 --concurrency 32 --seconds "$step_seconds"
best=0
for rate in 300 400 600 800 1000 1200 1500 1800 2000 2200 2500; do
  line="$("$loadgen" --url "http://127.0.0.1:$port" --key "$key" --rate "$rate" --seconds "$step_seconds" --json)"
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
