#!/usr/bin/env bash
# Runs Lendscope: installs what is missing, builds in release, migrates the embedded SQLite
# database (./data/lendscope.db), fills it with the demo (users with their passwords printed
# once, two models, an API key, scored applications) and serves at http://127.0.0.1:3000
# (override with LENDSCOPE_LISTEN, DATABASE_URL, ...; see README).
#
# --check runs the same flow end to end and stops: the same release build, then on a fresh
# database in a temporary folder: migrate, demo, serve on a free port, wait for /health/ready,
# score examples/application.json through the API, render /login and an officer page signed
# in, stop with SIGTERM. It exits 0 when every step passed and non-zero naming the step that
# failed. The test command runs it, so a release build that breaks fails CI.
set -euo pipefail
cd "$(dirname "$0")/.."
check=false
case "$*" in
  --check) check=true ;;
  "") ;;
  *) echo "usage: scripts/run.sh [--check]" >&2; exit 2 ;;
esac

step_name="set-up"
cleanup() { :; }
rc=0
finish() {
  rc=$?
  cleanup
  if [ "$rc" -ne 0 ]; then
    printf '\033[1;31m[run]\033[0m step "%s" failed (exit code %d)\n' "$step_name" "$rc" >&2
  fi
  exit "$rc"
}
trap finish EXIT
step() { step_name="$1"; printf '\033[1;34m[run]\033[0m %s\n' "$1"; }
timed() { # timed NAME COMMAND...: runs a step and prints how long it took
  local name="$1"; shift
  step "$name"
  local t0=$SECONDS
  "$@"
  printf '\033[1;34m[run]\033[0m %s: %d s\n' "$name" "$((SECONDS - t0))"
}

timed "install what is missing (scripts/setup.sh)" ./scripts/setup.sh
source scripts/env.sh
timed "release build (scripts/build.sh --release)" ./scripts/build.sh --release
bin="$target_dir/release/lendscope"
export LENDSCOPE_SITE_ROOT="${LENDSCOPE_SITE_ROOT:-$root/target/site}"

if ! $check; then
  step "migrate"; "$bin" migrate
  step "demo data"; "$bin" demo
  step "serve"
  trap - EXIT
  exec "$bin" serve
fi

# --- the check: the run flow on a fresh database, on a free port ---
step "prepare a fresh database and a free port"
source scripts/lib.sh
work="$(mktemp -d)"
cleanup() {
  if [ "$rc" -ne 0 ] && [ -s "$work/server.log" ]; then
    echo "--- server log (last 50 lines) ---" >&2; tail -n 50 "$work/server.log" >&2
  fi
  stop_server; rm -rf "$work"
}
export DATABASE_URL="sqlite://$work/check.db"
port="$(free_port)"
export LENDSCOPE_LISTEN="127.0.0.1:$port"
base="http://127.0.0.1:$port"
export LENDSCOPE_MONITORING_INTERVAL_SECS=0

timed "migrate" "$bin" migrate
demo_and_key() { key="$(demo_key "$bin" "$work")"; } # output kept in $work/demo.txt
timed "demo data" demo_and_key
officer_password="$(sed -n 's/.* user officer *password \([^ ]*\)$/\1/p' "$work/demo.txt")"
[ -n "$key" ] && [ -n "$officer_password" ] || {
  echo "the demo printed no API key or officer password" >&2; cat "$work/demo.txt" >&2; false; }

step "serve and wait for /health/ready"
serve_in_background "$bin" "$work" "$base"

step "score examples/application.json through the API"
curl -fsS -o "$work/decision.json" -H "authorization: Bearer $key" \
  -H 'content-type: application/json' --data-binary @examples/application.json \
  "$base/api/v1/applications"
python3 - "$work/decision.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d.get("decision") in ("approve", "reject", "manual_review"), d
assert 0.0 <= d["probability_of_default"] <= 1.0, d
assert len(d["reasons"]) <= 4 and d["notice_url"].startswith("/notice/"), d
print(f"  {d['application_id']}: {d['decision']}, PD {d['probability_of_default']:.3f}, "
      f"model {d['model']['name']} v{d['model']['version']}")
PY

step "render /login"
curl -fsS -o "$work/login.html" "$base/login"
grep -q '<form' "$work/login.html"
grep -q '/pkg/lendscope.js' "$work/login.html"
grep -q '/pkg/lendscope.wasm' "$work/login.html"
for asset in /pkg/lendscope.js /pkg/lendscope.wasm /pkg/lendscope.css; do
  curl -fsS -o /dev/null "$base$asset"
done

step "sign in as the demo officer and render /queue"
jar="$work/cookies.txt"
# As a browser without JavaScript posts the form: a redirect to the page asked for.
answer="$(curl -sS -o /dev/null -c "$jar" -w '%{http_code} %{redirect_url}' \
  -H "origin: $base" -H 'sec-fetch-site: same-origin' -H 'accept: text/html' \
  --data-urlencode "username=officer" --data-urlencode "password=$officer_password" \
  --data-urlencode "next=/queue" "$base/rpc/login")"
[ "$answer" = "302 $base/queue" ] || { echo "sign-in answered '$answer'" >&2; false; }
curl -fsS -o "$work/queue.html" -b "$jar" "$base/queue"
grep -q 'Review queue' "$work/queue.html"
grep -q 'href="/queue/' "$work/queue.html"

step "stop with SIGTERM"
kill -TERM "$server"
for _ in $(seq 1 100); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$server" 2>/dev/null; then echo "the server did not stop within 10 s" >&2; false; fi
status=0
wait "$server" || status=$?
server=""
[ "$status" -eq 0 ] || { echo "the server exited with status $status" >&2; false; }
printf '\033[1;32m[run]\033[0m check passed: release build, migrate, demo, serve, score, pages, SIGTERM\n'
