#!/usr/bin/env bash
# Benchmarks for BENCHMARKS.md: HTTP throughput of a release `ferrodon serve`
# on SQLite and on PostgreSQL, beside an axum hello-world in the same run.
# Needs wrk (apt-get install wrk) and, for the PostgreSQL run, a local
# PostgreSQL at 127.0.0.1:5432 (trust auth).
# Usage: bench/run.sh [duration-seconds] [seed-statuses]
set -euo pipefail
cd "$(dirname "$0")/.."
dur="${1:-10}"
seed="${2:-1000}"   # statuses posted before the reads
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ferrodon/release-target}"
cargo build --release -q
cargo build --release -q --manifest-path bench/hello/Cargo.toml
bin="$CARGO_TARGET_DIR/release/ferrodon"
hello="$CARGO_TARGET_DIR/release/hello-baseline"
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

wrk_line() { # name, then wrk arguments
  local name="$1"; shift
  local out
  out="$(wrk -t2 -c32 -d"${dur}s" --latency "$@")"
  local rps p50 p99
  rps="$(echo "$out" | awk '/Requests\/sec/ {print $2}')"
  p50="$(echo "$out" | awk '$1=="50%" {print $2}')"
  p99="$(echo "$out" | awk '$1=="99%" {print $2}')"
  printf '| %s | %s | %s | %s |\n' "$name" "$rps" "$p50" "$p99"
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
echo "wrk -t2 -c32 -d${dur}s (wrk shares the cores with the server)"
echo
echo "| scenario | requests/s | p50 | p99 |"
echo "|---|---|---|---|"

"$hello" 127.0.0.1:3901 & sleep 0.5
wrk_line "baseline: axum hello-world JSON" http://127.0.0.1:3901/
kill %1; wait %1 2>/dev/null || true

run_lane() { # label, database url ('' = SQLite in the work dir)
  local label="$1" url="$2" port=3902 dir="$work/$1"
  mkdir -p "$dir"
  local env=(FERRODON_LISTEN=127.0.0.1:$port FERRODON_DATA_DIR="$dir" FERRODON_LOG=warn
             FERRODON_RATE_LIMIT_API=0 FERRODON_RATE_LIMIT_LOGIN=0 FERRODON_RATE_LIMIT_SIGN_UP=0)
  [ -n "$url" ] && env+=(DATABASE_URL="$url")
  env "${env[@]}" "$bin" serve >"$dir/log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
  env "${env[@]}" "$bin" admin accounts create bench --email bench@example.com --password 'benchmark password' >/dev/null
  local app id secret token
  app="$(curl -sf -d client_name=bench -d redirect_uris=urn:ietf:wg:oauth:2.0:oob -d 'scopes=read write' "http://127.0.0.1:$port/api/v1/apps")"
  id="$(echo "$app" | python3 -c 'import json,sys; print(json.load(sys.stdin)["client_id"])')"
  secret="$(echo "$app" | python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])')"
  token="$(curl -sf -d grant_type=password -d client_id="$id" -d client_secret="$secret" \
    -d username=bench@example.com -d 'password=benchmark password' -d 'scope=read write' \
    "http://127.0.0.1:$port/oauth/token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
  export TOKEN="$token"
  # Seed statuses, then wait until their fan-out jobs are done, so the reads
  # below do not compete with a job backlog.
  local last=""
  for i in $(seq 1 "$seed"); do
    last="$(curl -sf -H "Authorization: Bearer $token" -d "status=seed+$i+%23bench" \
      "http://127.0.0.1:$port/api/v1/statuses" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
  done
  for _ in $(seq 1 600); do
    curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/timelines/home?limit=1" \
      | grep -q "\"id\":\"$last\"" && break
    sleep 0.1
  done
  wrk_line "$label: GET /api/v1/timelines/home?limit=20" -s bench/auth.lua "http://127.0.0.1:$port/api/v1/timelines/home?limit=20"
  wrk_line "$label: GET /api/v1/timelines/public?limit=20" "http://127.0.0.1:$port/api/v1/timelines/public?limit=20"
  wrk_line "$label: GET /api/v1/statuses/:id" -s bench/auth.lua \
    "http://127.0.0.1:$port/api/v1/statuses/$(curl -sf "http://127.0.0.1:$port/api/v1/timelines/public?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')"
  wrk_line "$label: GET /api/v1/instance" "http://127.0.0.1:$port/api/v1/instance"
  # Writes last: each post also enqueues a fan-out job that runs meanwhile.
  wrk_line "$label: POST /api/v1/statuses (+ fan-out job)" -s bench/post.lua "http://127.0.0.1:$port"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

run_lane sqlite ""
if pg_isready -q -h 127.0.0.1 -p 5432; then
  db="ferrodon_bench_$$"
  psql -h 127.0.0.1 -U postgres -d test -qc "CREATE DATABASE $db"
  run_lane postgres "postgres://postgres@127.0.0.1:5432/$db"
  psql -h 127.0.0.1 -U postgres -d test -qc "DROP DATABASE $db WITH (FORCE)"
fi
