#!/usr/bin/env bash
# Runs every test of Lendscope: formatting and lints (server, serve-only server without
# XGBoost, and wasm builds), unit tests, integration tests against SQLite and PostgreSQL (the
# page-render soak among them), TreeSHAP's parity with XGBoost 3.4.1's C library (the
# benchmark in --test mode), the run command's own check (`scripts/run.sh --check`: release
# build, migrate, demo, serve, score, pages, SIGTERM), API fuzzing with schemathesis and the
# browser tests in Chromium, both against that release build.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
./scripts/setup.sh --test
source scripts/env.sh
step() { printf '\n\033[1;34m== %s\033[0m\n' "$*"; }

step "PostgreSQL"
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if ! command -v pg_ctlcluster >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  for _ in $(seq 1 50); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done
fi
pg_isready -h 127.0.0.1 -p 5432
# Databases left behind by earlier, interrupted runs.
psql -h 127.0.0.1 -U postgres -d test -Atc \
  "select datname from pg_database where datname like 'lendscope_t_%'" 2>/dev/null |
  while read -r db; do dropdb -h 127.0.0.1 -U postgres --if-exists "$db" || true; done

step "formatting"
cargo fmt --all --check

step "clippy (server build)"
cargo clippy --workspace --exclude lendscope-frontend --all-targets --locked -- -D warnings
step "clippy (serve-only server build: no \`train\` feature, no XGBoost)"
# The code without the trainer (cfg(not(feature = "train"))) in the service and the server,
# with its own dead-code and unused-import checks. Libraries and the binary only: the tests
# train models and need `train`. The service is named for what is checked (clippy lints
# workspace path dependencies anyway). `--no-default-features` applies to every selected
# package; `--features` is qualified because the service has no `ssr` feature, and
# `lendscope-server/ssr` is valid under any resolver from any directory.
cargo clippy -p lendscope-service -p lendscope-server --no-default-features \
  --features lendscope-server/ssr --lib --bins --locked -- -D warnings
# ... and that build really leaves XGBoost (and the trainer crate) out. The tree is captured
# first: `cargo tree | grep -q` under pipefail could end cargo with SIGPIPE and hide a match.
serve_only_tree="$(cargo tree -p lendscope-server --no-default-features --features ssr \
  -e normal --locked)"
if grep -Eq 'xgboost|lendscope-trainer' <<<"$serve_only_tree"; then
  echo "the serve-only build (--no-default-features --features ssr) links the trainer:" >&2
  grep -E 'xgboost|lendscope-trainer' <<<"$serve_only_tree" >&2
  exit 1
fi
step "clippy (browser build, wasm32)"
cargo clippy -p lendscope-frontend -p lendscope-app --target wasm32-unknown-unknown \
  --no-default-features --features hydrate --target-dir "$target_dir/front" --locked -- -D warnings

step "unit and integration tests (SQLite and PostgreSQL)"
LENDSCOPE_NANNYML_PYTHON="${LENDSCOPE_NANNYML_VENV:-$HOME/.cache/lendscope/nannyml-venv}/bin/python" \
  cargo test --workspace --exclude lendscope-frontend --locked

step "TreeSHAP against XGBoost 3.4.1's C library (parity on 10,000 rows, missing values included)"
# Criterion's --test mode: the bench's parity checks (every contribution and the bias within
# 1e-5, batch equal to single rows) and one pass of each timing, without measuring.
./scripts/bench-treeshap.sh --test

step "the run command, end to end (scripts/run.sh --check: release build and the run flow)"
./scripts/run.sh --check
release_bin="$target_dir/release/lendscope"
step "API fuzzing (schemathesis against /api/openapi.json)"
scripts/fuzz-api.sh "$release_bin" 60
step "browser tests (Chromium)"
end2end/run.sh "$release_bin" sqlite
end2end/run.sh "$release_bin" postgres
step "every test passed in $(( (SECONDS - started) / 60 )) min $(( (SECONDS - started) % 60 )) s"
