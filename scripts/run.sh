#!/usr/bin/env bash
# Runs Lendscope: installs what is missing, builds in release, migrates the embedded SQLite
# database (./data/lendscope.db), creates demo users (passwords printed once) and serves at
# http://127.0.0.1:3000 (override with LENDSCOPE_LISTEN, DATABASE_URL, ...; see README).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
source scripts/env.sh
cargo leptos build --release
bin="$target_dir/release/lendscope"
export LENDSCOPE_SITE_ROOT="${LENDSCOPE_SITE_ROOT:-$root/target/site}"
"$bin" migrate
"$bin" demo
exec "$bin" serve
