#!/usr/bin/env bash
# Overload: the release server with its default scoring capacity (LENDSCOPE_MAX_CONCURRENT_SCORING,
# 64 at a time) on a fresh PostgreSQL database, driven at capacity and at 5x capacity by
# closed-loop clients (server/examples/loadgen.rs). Prints for each step the accepted
# throughput and p50/p99 of accepted requests, how many were shed with 503 + Retry-After, and
# the server's resident memory (peak and at the end). Usage: scripts/bench-overload.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
source scripts/lib.sh
seconds="${1:-15}"
pg_admin="${LENDSCOPE_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432}"
db="lendscope_overload_$$"
cargo build --release -q -p lendscope-server --bin lendscope --example loadgen
bin="$target_dir/release/lendscope"
loadgen="$target_dir/release/examples/loadgen"
psql "$pg_admin/test" -qc "CREATE DATABASE $db"
export DATABASE_URL="$pg_admin/$db"
port="$(free_port)"
export LENDSCOPE_LISTEN="127.0.0.1:$port" LENDSCOPE_LOG_FORMAT=json RUST_LOG=warn
export LENDSCOPE_MONITORING_INTERVAL_SECS=0
capacity="${LENDSCOPE_MAX_CONCURRENT_SCORING:-64}"
export LENDSCOPE_MAX_CONCURRENT_SCORING="$capacity"
work="$(mktemp -d)"
key="$(demo_key "$bin" "$work")"
cleanup() {
  stop_server
  psql "$pg_admin/test" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
  rm -rf "$work"
}
trap cleanup EXIT
serve_in_background "$bin" "$work" "http://127.0.0.1:$port"
rss() { awk '/^VmRSS/{print $2}' "/proc/$server/status"; }
hwm() { awk '/^VmHWM/{print $2}' "/proc/$server/status"; }
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'); capacity $capacity applications at a time"
"$loadgen" --url "http://127.0.0.1:$port" --key "$key" --rate 50 --seconds 2 >/dev/null
echo "idle RSS $(( $(rss) / 1024 )) MiB"
for clients in "$capacity" $(( capacity * 5 )) $(( capacity * 10 )); do
  line="$("$loadgen" --url "http://127.0.0.1:$port" --key "$key" --rate 0 --concurrency "$clients" --seconds "$seconds" 2>"$work/statuses.txt")"
  echo "$clients clients: $line | $(cat "$work/statuses.txt") | RSS $(( $(rss) / 1024 )) MiB, peak $(( $(hwm) / 1024 )) MiB"
done
curl -fsS "http://127.0.0.1:$port/metrics" | grep '^lendscope_http_shed_total' || true
"$bin" audit verify
