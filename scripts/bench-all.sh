#!/usr/bin/env bash
# Every speed figure of the README re-measured in one run on one machine (issue 18): runs each
# benchmark in turn, keeps its whole output in one folder and prints the machine and each
# benchmark's closing lines. About 45 minutes on two cores (the load steps, 100,000 applications
# for the page benchmark, 1M-row drift on both sides, XGBoost through two libraries).
# Needs what `scripts/setup.sh --test` installs (Python's xgboost and evidently) and PostgreSQL.
# Usage: scripts/bench-all.sh [OUT_DIR]   (default: a dated folder under the target folder)
# LENDSCOPE_BENCH_ONLY="treeshap load-300x6 ..." runs only the named benchmarks.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
source scripts/env.sh
out="${1:-$target_dir/bench-all-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$out"
only="${LENDSCOPE_BENCH_ONLY:-}"

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" \
    "(family $(grep -m1 'cpu family' /proc/cpuinfo | cut -d: -f2 | xargs)," \
    "model $(grep -m1 '^model[[:space:]]*:' /proc/cpuinfo | cut -d: -f2 | xargs)), $(nproc) cores" \
    "($(grep -o -w -m1 'avx512f' /proc/cpuinfo || echo 'no AVX-512'))"
  echo "caches: $(lscpu | awk -F: '/L1d|L2|L3/ {gsub(/^ +/, "", $2); printf "%s %s; ", $1, $2}')"
  echo "memory: $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
  echo "rustc: $(rustc --version)"
  echo "postgresql: $(psql -At "${LENDSCOPE_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432}/test" \
    -c 'SHOW server_version' 2>/dev/null || echo unknown)"
} | tee "$out/machine.txt"

failed=()
run() { # run NAME COMMAND...: one benchmark, its output in $out/NAME.log
  local name="$1"; shift
  if [ -n "$only" ] && [[ " $only " != *" $name "* ]]; then return 0; fi
  printf '\033[1;34m[bench-all]\033[0m %s\n' "$name"
  local t0=$SECONDS
  if "$@" >"$out/$name.log" 2>&1; then
    printf '\033[1;34m[bench-all]\033[0m %s: %d s\n' "$name" "$((SECONDS - t0))"
  else
    printf '\033[1;31m[bench-all]\033[0m %s failed after %d s (see %s)\n' \
      "$name" "$((SECONDS - t0))" "$out/$name.log"
    failed+=("$name")
  fi
  tail -n "${LENDSCOPE_BENCH_TAIL:-14}" "$out/$name.log" | sed 's/^/    /'
}

# TreeSHAP against XGBoost 3.4.1 (C API), then against XGBoost 1.6.2 (xgboost-rs) with prediction.
run treeshap scripts/bench-treeshap.sh
run inference cargo bench -p lendscope-trainer --bench inference
# Counteroffer and recourse per declined application at 300 x 6.
run alternatives scripts/bench-alternatives.sh
# Reject inference on generated through-the-door populations.
run reject-inference scripts/bench-reject-inference.sh
# Scoring API: two 300 x 6 models, then the demo's models; the CPU profile by stage.
run load-300x6 env LENDSCOPE_BENCH_MODELS=300x6 scripts/bench-load.sh 20
run profile-300x6 env LENDSCOPE_BENCH_MODELS=300x6 scripts/profile-decision.sh 200 15
run load-demo scripts/bench-load.sh 15
run overload scripts/bench-overload.sh
# Officer pages over 100,000 applications; drift on 1M + 1M rows against Evidently.
run pages scripts/bench-pages.sh
run drift scripts/bench-drift.sh

echo "outputs: $out"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "failed: ${failed[*]}" >&2
  exit 1
fi
