# Sourced by the scripts that run a Lendscope server of their own (benchmarks, fuzzing, chaos,
# browser tests): a free port, the demo data and its API key, the server in the background.

# A free TCP port on the loopback interface.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# demo_key BIN WORK: fills the database of DATABASE_URL with the demo data (its output kept in
# WORK/demo.txt) and prints the demo's API key.
demo_key() {
  "$1" demo >"$2/demo.txt"
  grep -o 'lsk_[A-Za-z0-9_-]*' "$2/demo.txt" | head -n1
}

# wait_ready URL: waits up to 10 s for URL/health/ready to answer 200; fails otherwise.
wait_ready() {
  for _ in $(seq 1 100); do
    curl -fsS "$1/health/ready" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "the server at $1 did not become ready" >&2
  return 1
}

# serve_in_background BIN WORK URL: starts `BIN serve` (log appended to WORK/server.log), sets
# `server` to its process id and waits until it is ready at URL.
serve_in_background() {
  "$1" serve >>"$2/server.log" 2>&1 &
  server=$!
  wait_ready "$3"
}

# stop_server: stops the server started by serve_in_background, if any.
stop_server() {
  [ -n "${server:-}" ] || return 0
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
}
