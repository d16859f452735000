#!/usr/bin/env bash
# Reject inference measured on generated through-the-door populations (every outcome known,
# declined applicants included): ROC AUC and the bad rate of the approved for a challenger
# retrained on approved loans only, with fuzzy and with hard cut-off augmentation, over
# LENDSCOPE_RI_REPEATS runs (default 5) of LENDSCOPE_RI_ROWS rows (default 20,000).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
nproc_line="$(lscpu | sed -n 's/^Model name: *//p' | head -n1), $(nproc) vCPU"
echo "machine: $nproc_line"
cargo bench -p lendscope-trainer --bench reject_inference --locked
