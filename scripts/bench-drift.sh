#!/usr/bin/env bash
# Drift speed: 1M reference + 1M current rows × 30 features, Lendscope's engine (release
# build, all cores) against Evidently's DataDriftTable on the same data; prints both times,
# whether they agree, and the ratio. Usage: scripts/bench-drift.sh [ROWS]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/env.sh"
rows="${1:-1000000}"
out="$target_dir/drift-bench"
cd "$root"
cargo build --release -q -p lendscope-model --example drift_bench
rust="$("$target_dir/release/examples/drift_bench" "$rows" "$out" 3 | tee /dev/stderr | sed -n 's/^RUST_SECONDS=//p')"
py="$(python3 scripts/bench_drift_evidently.py "$out" | tee /dev/stderr | sed -n 's/^EVIDENTLY_SECONDS=//p')"
echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
awk -v r="$rust" -v p="$py" -v n="$rows" 'BEGIN {
  printf "drift over %d + %d rows x 30 features: lendscope %.2f s, evidently %.2f s, %.1fx faster\n", n, n, r, p, p / r
  if (r > 5.0) { print "FAIL: more than 5 s"; exit 1 }
  if (p / r < 20) { print "FAIL: less than 20x faster than evidently"; exit 1 }
}'
