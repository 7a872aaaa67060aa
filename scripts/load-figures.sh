#!/usr/bin/env bash
# Takes the figures of docs/performance.md: `epermit load` against one
# server on SQLite, one on PostgreSQL, and two replicas sharing one
# PostgreSQL database, each on a fresh database, ROUNDS times, with the load
# average before each run. Extra arguments go to `epermit load`, e.g.
#   scripts/load-figures.sh --clients 32 --duration 10s
# PROFILE=DIR also writes a CPU profile of one SQLite server per path
# (verify, issue) to DIR, with `go tool pprof -top` beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
PG=${EPERMIT_LOAD_POSTGRES:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
ROUNDS=${ROUNDS:-2}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
go build -o "$work/epermit" ./cmd/epermit
ep="$work/epermit"

# fresh_db ENGINE: prints the address of a new, empty database.
fresh_db() {
  if [ "$1" = sqlite ]; then return; fi # run_config puts it in the data directory
  local schema="epermit_load_$RANDOM$RANDOM"
  psql "$PG" -qc "CREATE SCHEMA $schema" >/dev/null
  echo "$PG&search_path=$schema"
}

# run_config NAME ENGINE REPLICAS [extra load args]: one measurement.
run_config() {
  local name=$1 engine=$2 replicas=$3; shift 3
  local data; data=$(mktemp -d -p "$work")
  local db; db=$(fresh_db "$engine")
  [ "$engine" = sqlite ] && db="$data/epermit.db"
  "$ep" migrate --data "$data" --db "$db" --log-level warn >/dev/null
  "$ep" init --data "$data" --db "$db" --public-url http://127.0.0.1:18301 --admin Admin --log-level warn >/dev/null 2>&1
  local urls=() started=()
  for i in $(seq 1 "$replicas"); do
    local port=$((18300 + i))
    "$ep" serve --data "$data" --db "$db" --addr "127.0.0.1:$port" --no-migrate \
      --rate-limit 1000000 --log-level error ${SERVE_ARGS:-} &
    started+=($!); pids+=($!)
    urls+=(--url "http://127.0.0.1:$port")
  done
  for i in $(seq 1 "$replicas"); do
    for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$((18300 + i))/healthz" >/dev/null && break; sleep 0.1; done
  done
  echo "== $name ($(date -u +%H:%M:%S); $(uptime | sed 's/.*load average/load average/'))"
  "$ep" load --data "$data" --db "$db" "${urls[@]}" --log-level warn "$@" || echo "(load reported failures)"
  for p in "${started[@]}"; do kill -TERM "$p"; wait "$p" 2>/dev/null || true; done
  if [ "$engine" = postgres ]; then PGOPTIONS='-c client_min_messages=warning' psql "$PG" -qc "DROP SCHEMA ${db##*search_path=} CASCADE" >/dev/null; fi
  echo
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(go version)"
echo "PostgreSQL: $(psql "$PG" -Atc 'show server_version')"
for round in $(seq 1 "$ROUNDS"); do
  echo "#### round $round"
  run_config "SQLite, one server" sqlite 1 "$@"
  run_config "PostgreSQL, one server" postgres 1 "$@"
  run_config "PostgreSQL, two replicas" postgres 2 "$@"
done

if [ -n "${PROFILE:-}" ]; then
  mkdir -p "$PROFILE"
  for path in verify issue; do
    SERVE_ARGS="--cpu-profile $PROFILE/$path.pprof" run_config "profile: $path (SQLite)" sqlite 1 --paths "$path" "$@"
    go tool pprof -top -nodecount=40 "$work/epermit" "$PROFILE/$path.pprof" > "$PROFILE/$path.top.txt" 2>/dev/null
    go tool pprof -top -cum -nodecount=60 "$work/epermit" "$PROFILE/$path.pprof" > "$PROFILE/$path.cum.txt" 2>/dev/null
  done
fi
