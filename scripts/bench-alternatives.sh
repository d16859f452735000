#!/usr/bin/env bash
# Counteroffer and recourse search per declined application (issue 20: under 2 ms, at most 500
# predictions, at 300 x 6): trains one model of 300 trees of depth 6 (all rounds kept) on 20,000
# generated applicants with the release binary, then runs service/benches/alternatives.rs on
# 5,000 other generated applicants (LENDSCOPE_BENCH_APPLICANTS to change), one thread, and
# prints the time per declined application and the predictions it took.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/env.sh"
cd "$root"
cargo build --release -p lendscope-server --bin lendscope
bin="$target_dir/release/lendscope"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# LENDSCOPE_BENCH_MODEL_DIR: a model folder to use instead of training one.
model="${LENDSCOPE_BENCH_MODEL_DIR:-}"
if [ -z "$model" ]; then
  "$bin" generate --rows 20000 --seed 7 --out "$work/big.csv" >/dev/null
  "$bin" train --data "$work/big.csv" --target defaulted --rounds 300 --max-depth 6 \
    --keep-all-rounds --seed 1 --out "$work/m" >/dev/null
  model="$work/m"
fi
echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
LENDSCOPE_BENCH_MODEL_DIR="$model" cargo bench -p lendscope-service --bench alternatives
