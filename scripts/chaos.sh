#!/usr/bin/env bash
# Crash safety and graceful shutdown, measured on a private PostgreSQL cluster:
#  1. six client threads score applications with idempotency keys (retrying each key until a
#     2xx, logging every 2xx) while the server and PostgreSQL are each killed with SIGKILL
#     ROUNDS times (PostgreSQL with all its processes, then restarted with crash recovery);
#     afterwards: every acknowledged decision is stored, no idempotency key has two decisions,
#     and `lendscope audit verify` passes;
#  2. the server gets SIGTERM under the same load ROUNDS times and is restarted; a request on
#     a connection the server had accepted must never be reset.
# Prints the figures; exits 1 when a check fails. Usage: scripts/chaos.sh [BINARY] [ROUNDS]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/env.sh"
source "$root/scripts/lib.sh"
bin="${1:-$target_dir/debug/lendscope}"
rounds="${2:-10}"
[ -x "$bin" ] || { echo "no binary at $bin (scripts/build.sh)" >&2; exit 2; }
pgbin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)"
work="$(mktemp -d)"; chmod 755 "$work"
pgport="$(free_port)"; port="$(free_port)"
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
mkdir -p "$work/pg"; [ "$(id -u)" -eq 0 ] && chown postgres "$work/pg"
as_pg "$pgbin/initdb" -D "$work/pg" -A trust -U postgres >/dev/null
pg_start() { as_pg "$pgbin/pg_ctl" -D "$work/pg" -o "-p $pgport -k /tmp -c listen_addresses=127.0.0.1" -l "$work/pg/log" -w start >/dev/null; }
pg_kill() {
  local pid; pid="$(head -n1 "$work/pg/postmaster.pid")"
  pkill -9 -P "$pid" 2>/dev/null || true; kill -9 "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  sleep 0.2
}
pg_start
"$pgbin/createdb" -h 127.0.0.1 -p "$pgport" -U postgres lendscope
export DATABASE_URL="postgres://postgres@127.0.0.1:$pgport/lendscope"
export LENDSCOPE_LISTEN="127.0.0.1:$port" LENDSCOPE_SITE_ROOT="$root/target/site"
export LENDSCOPE_MONITORING_INTERVAL_SECS=0
key="$(demo_key "$bin" "$work")"
server=""
start_server() {
  "$bin" serve >>"$work/server.log" 2>&1 & server=$!
  for _ in $(seq 1 200); do curl -fsS "http://127.0.0.1:$port/health/live" >/dev/null 2>&1 && return; sleep 0.05; done
}
cleanup() {
  [ -n "$server" ] && kill -9 "$server" 2>/dev/null || true
  as_pg "$pgbin/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
start_server
before="$(psql -h 127.0.0.1 -p "$pgport" -U postgres -d lendscope -Atc 'select count(*) from decisions')"

echo "== phase 1: SIGKILL of the server and of PostgreSQL, $rounds times each, under load"
python3 "$root/scripts/chaos_client.py" --port "$port" --key "$key" --log "$work/acks.csv" \
  --stop "$work/stop1" --prefix chaos >"$work/client1.txt" &
client=$!
for r in $(seq 1 "$rounds"); do
  sleep 1.5; kill -9 "$server"; wait "$server" 2>/dev/null || true; start_server
  sleep 1.5; pg_kill; sleep 0.5; pg_start
done
sleep 3; touch "$work/stop1"; wait "$client"
acks="$(wc -l <"$work/acks.csv")"
psql -h 127.0.0.1 -p "$pgport" -U postgres -d lendscope -Atc \
  "select application_id from decisions where idempotency_key like 'chaos-%'" | sort >"$work/stored.txt"
cut -d, -f2 "$work/acks.csv" | sort -u >"$work/acked.txt"
missing="$(comm -23 "$work/acked.txt" "$work/stored.txt" | wc -l)"
dups="$(psql -h 127.0.0.1 -p "$pgport" -U postgres -d lendscope -Atc \
  "select count(*) from (select idempotency_key from decisions where idempotency_key like 'chaos-%' group by api_client, idempotency_key having count(*) > 1) d")"
keys="$(cut -d, -f1 "$work/acks.csv" | sort | uniq -d | wc -l)"
echo "client: $(cat "$work/client1.txt")"
echo "acknowledged: $acks (distinct applications $(wc -l <"$work/acked.txt")); stored for the run: $(wc -l <"$work/stored.txt")"
echo "missing acknowledged decisions: $missing; keys with two decisions: $dups; keys acknowledged twice with different ids: $(awk -F, '{print $1","$2}' "$work/acks.csv" | sort -u | cut -d, -f1 | uniq -d | wc -l)"
kill "$server"; wait "$server" 2>/dev/null || true
verify="$("$bin" audit verify 2>&1)" && verify_ok=1 || verify_ok=0
echo "$verify"
start_server

echo "== phase 2: SIGTERM of the server, $rounds times, under load"
python3 "$root/scripts/chaos_client.py" --port "$port" --key "$key" --log "$work/acks2.csv" \
  --stop "$work/stop2" --prefix drain >"$work/client2.txt" &
client=$!
for r in $(seq 1 "$rounds"); do
  sleep 1.5; kill -TERM "$server"; wait "$server" 2>/dev/null || true; start_server
done
sleep 2; touch "$work/stop2"; wait "$client"
echo "client: $(cat "$work/client2.txt")"
resets="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["reset"])' "$work/client2.txt")"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}')"
fail=0
[ "$missing" -eq 0 ] || { echo "FAIL: $missing acknowledged decisions missing"; fail=1; }
[ "$dups" -eq 0 ] || { echo "FAIL: $dups idempotency keys with two decisions"; fail=1; }
[ "$verify_ok" -eq 1 ] || { echo "FAIL: audit verify"; fail=1; }
[ "$resets" -eq 0 ] || { echo "FAIL: $resets accepted requests reset during graceful shutdown"; fail=1; }
[ "$acks" -gt 0 ] || { echo "FAIL: nothing was acknowledged"; fail=1; }
[ "$fail" -eq 0 ] && echo "chaos: all checks passed ($rounds server kills, $rounds PostgreSQL kills, $rounds graceful restarts)"
exit "$fail"
