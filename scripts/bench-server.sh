# Sourced by the benchmarks that drive a release server of their own (bench-load.sh,
# profile-decision.sh): builds the release server and the load generator, creates a fresh
# PostgreSQL database, fills it with the demo, optionally swaps in two 300 x 6 models, and
# serves in the background. Sets: bin, loadgen, key, port, base, work, server (its pid), and
# a cleanup trap that stops the server and drops the database.
# LENDSCOPE_BENCH_MODELS=300x6: instead of the demo's small early-stopped models, two models of
# 300 trees of depth 6 (all rounds kept, trained on 20,000 generated applicants) serve as
# champion and shadow challenger (share 0: every request is scored and explained by both).
source scripts/env.sh
source scripts/lib.sh
pg_admin="${LENDSCOPE_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432}"
db="lendscope_bench_$$"

cargo build --release -p lendscope-server --bin lendscope --example loadgen
bin="$target_dir/release/lendscope"
loadgen="$target_dir/release/examples/loadgen"

psql "$pg_admin/test" -qc "CREATE DATABASE $db"
# PostgreSQL on the loopback interface without TLS, as on one host (with sqlx's default
# sslmode=prefer, the profile of 2026-12-02 found a third of the database server's samples under
# OpenSSL's reads and writes); LENDSCOPE_BENCH_PG_OPTIONS=sslmode=prefer measures with TLS.
pg_options="${LENDSCOPE_BENCH_PG_OPTIONS:-sslmode=disable}"
export DATABASE_URL="$pg_admin/$db?$pg_options"
port="$(free_port)"
export LENDSCOPE_LISTEN="127.0.0.1:$port"
export LENDSCOPE_LOG_FORMAT=json RUST_LOG=warn
base="http://127.0.0.1:$port"
work="$(mktemp -d)"
cleanup() {
  stop_server
  psql "$pg_admin/test" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
  rm -rf "$work"
}
trap cleanup EXIT
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
serve_in_background "$bin" "$work" "$base"
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), $(free -g | awk '/Mem:/{print $2}') GiB; PostgreSQL $(psql "$pg_admin/test" -Atc 'show server_version') ($pg_options)"
