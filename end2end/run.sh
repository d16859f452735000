#!/usr/bin/env bash
# Runs the browser tests against a freshly built Lendscope on a fresh database: SQLite (the
# default) or PostgreSQL (a new database on 127.0.0.1:5432, dropped afterwards).
# Expects `scripts/build.sh` (or `cargo leptos build`) to have run: the binary and target/site.
# Usage: end2end/run.sh BINARY [sqlite|postgres]
# Screenshots are kept in end2end/artifacts/ (per backend).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
source "$root/scripts/lib.sh"
bin="${1:?usage: end2end/run.sh PATH_TO_LENDSCOPE_BINARY [sqlite|postgres]}"
backend="${2:-sqlite}"
work="$(mktemp -d)"
port="$(free_port)"
case "$backend" in
  sqlite) export DATABASE_URL="sqlite://$work/e2e.db" ;;
  postgres)
    pgdb="lendscope_t_e2e_$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    createdb -h 127.0.0.1 -U postgres "$pgdb"
    export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$pgdb" ;;
  *) echo "unknown backend '$backend' (sqlite or postgres)" >&2; exit 2 ;;
esac
echo "browser tests on $backend"
export LENDSCOPE_LISTEN="127.0.0.1:$port"
export LENDSCOPE_SITE_ROOT="$root/target/site"
export E2E_PASSWORD="e2e-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export LENDSCOPE_BASE_URL="http://127.0.0.1:$port"

"$bin" migrate >/dev/null
for role in officer admin compliance; do
  printf '%s\n' "$E2E_PASSWORD" | "$bin" user add "$role" --role "$role" >/dev/null
done
printf '%s\n' "$E2E_PASSWORD" | "$bin" user add officer2 --role officer >/dev/null
printf '%s\n' "$E2E_PASSWORD" | "$bin" user add admin2 --role admin >/dev/null
printf '%s\n' "$E2E_PASSWORD" | "$bin" user add officer3 --role officer >/dev/null
# Models, an API key and sample decisions (the users above are kept).
E2E_API_KEY="$(demo_key "$bin" "$work")"
export E2E_API_KEY
cleanup() {
  stop_server; rm -rf "$work"
  if [ -n "${pgdb:-}" ]; then dropdb -h 127.0.0.1 -U postgres --if-exists "$pgdb" || true; fi
}
trap cleanup EXIT
serve_in_background "$bin" "$work" "$LENDSCOPE_BASE_URL"
cd "$here"
export E2E_ARTIFACTS="$here/artifacts/$backend"
if ! node --test --test-concurrency=1 ${E2E_TESTS:-tests/}; then
  echo "--- server log ---"; tail -n 50 "$work/server.log"
  exit 1
fi
