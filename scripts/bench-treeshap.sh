#!/usr/bin/env bash
# TreeSHAP speed: the pure-Rust explainer against XGBoost 3.4.1's own pred_contribs through its
# C API, same JSON models, same process, one thread (model/benches/treeshap_vs_xgboost.rs).
# Fetches libxgboost.so once (scripts/xgboost-capi.sh), trains 100 x 4 and 300 x 6 models and
# 10,000 probe rows with Python's xgboost (scripts/bench-models.py; `scripts/setup.sh --test`
# installs it) into a temporary folder, checks parity on every probe, then runs criterion and
# prints µs per row and the speed-ups. Takes a few minutes (10,000 rows x 300 trees, 10 times
# on each side). Arguments go to criterion, e.g. scripts/bench-treeshap.sh --quick
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/env.sh"
cd "$root"
python3 -c 'import xgboost' 2>/dev/null ||
  { echo "bench-treeshap: Python's xgboost is missing; run scripts/setup.sh --test" >&2; exit 1; }
lib="$(scripts/xgboost-capi.sh)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
models="$(python3 scripts/bench-models.py "$work" | tail -n1)"
echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
LENDSCOPE_LIBXGBOOST="$lib" LENDSCOPE_BENCH_MODELS="$models" \
  LENDSCOPE_BENCH_PROBES="$work/probes.csv" OMP_NUM_THREADS=1 \
  cargo bench -p lendscope-model --bench treeshap_vs_xgboost -- "$@"
