#!/usr/bin/env bash
# Speed of the officer's pages with 100k applications in PostgreSQL: the release server on a
# fresh database, the demo models, N applications scored through the real API (loadgen), then
# server/examples/pagebench.rs renders the queue (first, deep and filtered pages) and sampled
# application pages and prints p50/p95/p99. Target: p95 < 50 ms for both pages.
# Usage: scripts/bench-pages.sh [APPLICATIONS] (default 100000)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
source scripts/lib.sh
want="${1:-100000}"
pg_admin="${LENDSCOPE_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432}"
db="lendscope_bench_pages_$$"

cargo build --release -p lendscope-server --bin lendscope --example loadgen --example pagebench
bin="$target_dir/release/lendscope"

psql "$pg_admin/test" -qc "CREATE DATABASE $db"
export DATABASE_URL="$pg_admin/$db"
port="$(free_port)"
base="http://127.0.0.1:$port"
export LENDSCOPE_LISTEN="127.0.0.1:$port"
export LENDSCOPE_LOG_FORMAT=json RUST_LOG=warn
export LENDSCOPE_SITE_ROOT="$root/target/site"
work="$(mktemp -d)"
password="bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s\n' "$password" | "$bin" user add benchofficer --role officer >/dev/null
key="$(demo_key "$bin" "$work")"
cleanup() {
  stop_server
  psql "$pg_admin/test" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
  rm -rf "$work"
}
trap cleanup EXIT
serve_in_background "$bin" "$work" "$base"

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/Mem:/{print $2}') GiB; PostgreSQL $(psql "$pg_admin/test" -Atc 'show server_version')"
count() { psql "$DATABASE_URL" -Atc "select count(*) from decisions"; }
started=$(date +%s)
while [ "$(count)" -lt "$want" ]; do
  "$target_dir/release/examples/loadgen" --url "$base" --key "$key" --rate 0 --concurrency 16 \
    --seconds 15 --bodies 5000 --json >/dev/null
done
echo "seeded $(count) scored applications through the API in $(( $(date +%s) - started )) s"
psql "$DATABASE_URL" -qc "VACUUM ANALYZE"

# Sign in as the officer (the login server function, as the browser's form would).
curl -fsS -o /dev/null -c "$work/jar" -H "Origin: $base" -H 'Accept: application/json' \
  --data-urlencode username=benchofficer --data-urlencode "password=$password" "$base/rpc/login"
cookie="$(awk '$6 ~ /lendscope_session/ {print $6"="$7}' "$work/jar")"
[ -n "$cookie" ] || { echo "login failed"; exit 1; }
"$target_dir/release/examples/pagebench" --url "$base" --cookie "$cookie" --requests 400 --walk 40
