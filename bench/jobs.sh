#!/usr/bin/env bash
# Job-system benchmarks for BENCHMARKS.md: end-to-end no-op job throughput
# (enqueue + run, one worker process at concurrency 20) on Redis, PostgreSQL
# and SQLite, beside redis-benchmark and pgbench in the same run; and the
# fan-out of one post to 10,000 local followers with home feeds in Redis.
# Needs PostgreSQL (127.0.0.1:5432, trust) and Redis (127.0.0.1:6379).
# Usage: bench/jobs.sh [jobs=50000] [followers=10000]
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${1:-50000}"
followers="${2:-10000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ferrodon/release-target}"
cargo build --release -q
bin="$CARGO_TARGET_DIR/release/ferrodon"
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]:-}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
redis_db=9   # a Redis database of its own, flushed before each run

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
echo

echo "## baselines"
redis-benchmark -h 127.0.0.1 -p 6379 -q -t lpush,rpop -n 200000 -c 20 | tr '\r' '\n' | grep -E "^(LPUSH|RPOP)"
psql -h 127.0.0.1 -U postgres -d test -qc "DROP DATABASE IF EXISTS ferrodon_pgbench" -c "CREATE DATABASE ferrodon_pgbench"
pgbench -h 127.0.0.1 -U postgres -i -q -s 10 ferrodon_pgbench >/dev/null 2>&1
echo "pgbench (TPC-B-like, scale 10, 20 clients, 10 s): $(pgbench -h 127.0.0.1 -U postgres -c 20 -j 2 -T 10 ferrodon_pgbench 2>/dev/null | awk '/^tps/ {print $3 " tps"}')"
echo "pgbench (select only, 20 clients, 10 s): $(pgbench -h 127.0.0.1 -U postgres -S -c 20 -j 2 -T 10 ferrodon_pgbench 2>/dev/null | awk '/^tps/ {print $3 " tps"}')"
psql -h 127.0.0.1 -U postgres -d test -qc "DROP DATABASE ferrodon_pgbench WITH (FORCE)"
echo

fresh_pg() { # prints a fresh database URL
  local db="ferrodon_bench_$1_$$"
  psql -h 127.0.0.1 -U postgres -d test -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
  echo "postgres://postgres@127.0.0.1:5432/$db"
}

throughput() { # label, then environment assignments
  local label="$1"; shift
  local dir="$work/$label"; mkdir -p "$dir"
  local env=(FERRODON_DATA_DIR="$dir" FERRODON_LOG=warn FERRODON_LISTEN=127.0.0.1:0 "$@")
  env "${env[@]}" "$bin" migrate >/dev/null
  env "${env[@]}" "$bin" worker --concurrency 20 >"$dir/worker.log" 2>&1 &
  local pid=$!; pids+=("$pid")
  sleep 1
  echo "$label: $(env "${env[@]}" "$bin" jobs bench --count "$jobs")"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

echo "## end-to-end no-op job throughput (enqueue + run), one worker, concurrency 20"
redis-cli -n $redis_db flushdb >/dev/null
throughput redis DATABASE_URL="$(fresh_pg redis)" REDIS_URL="redis://127.0.0.1:6379/$redis_db"
throughput postgres DATABASE_URL="$(fresh_pg pg)"
throughput sqlite
echo

echo "## fan-out of one post to $followers local followers, home feeds in Redis"
redis-cli -n $redis_db flushdb >/dev/null
url="$(fresh_pg fanout)"
dir="$work/fanout"; mkdir -p "$dir"
env=(FERRODON_DATA_DIR="$dir" FERRODON_LOG=warn DATABASE_URL="$url" REDIS_URL="redis://127.0.0.1:6379/$redis_db"
     FERRODON_RATE_LIMIT_API=0 FERRODON_RATE_LIMIT_LOGIN=0 FERRODON_DOMAIN=bench.test)
env "${env[@]}" "$bin" migrate >/dev/null
author="$(env "${env[@]}" "$bin" admin accounts create author --email author@example.com --password 'benchmark password')"
# Followers straight into the database: the benchmark is about delivery, not sign-up.
psql "$url" -q <<SQL
INSERT INTO accounts (id, username, uri, created_at, updated_at)
  SELECT 1000000 + g, 'f' || g, 'https://bench.test/users/f' || g, now(), now() FROM generate_series(1, $followers) g;
INSERT INTO follows (id, account_id, target_account_id, created_at)
  SELECT 2000000 + g, 1000000 + g, $author, now() FROM generate_series(1, $followers) g;
SQL
env "${env[@]}" FERRODON_LISTEN=127.0.0.1:3903 "$bin" web >"$dir/web.log" 2>&1 &
pids+=("$!")
env "${env[@]}" FERRODON_LISTEN=127.0.0.1:0 "$bin" worker --concurrency 20 >"$dir/worker.log" 2>&1 &
pids+=("$!")
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:3903/health >/dev/null && break; sleep 0.1; done
app="$(curl -sf -d client_name=bench -d redirect_uris=urn:ietf:wg:oauth:2.0:oob -d 'scopes=read write' http://127.0.0.1:3903/api/v1/apps)"
cid="$(echo "$app" | python3 -c 'import json,sys; print(json.load(sys.stdin)["client_id"])')"
csec="$(echo "$app" | python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])')"
token="$(curl -sf -d grant_type=password -d client_id="$cid" -d client_secret="$csec" -d username=author@example.com \
  -d 'password=benchmark password' -d 'scope=read write' http://127.0.0.1:3903/oauth/token \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
sleep 1
python3 - "$token" "$followers" "$redis_db" <<'PY'
import json, socket, sys, time, urllib.request
token, followers, db = sys.argv[1], int(sys.argv[2]), sys.argv[3]
count_script = ("local n = 0 for i = 1, tonumber(ARGV[2]) do "
                "if redis.call('ZSCORE', 'feed:home:' .. (1000000 + i), ARGV[1]) then n = n + 1 end end return n")
def redis(*args):
    s = socket.create_connection(("127.0.0.1", 6379))
    def cmd(*a):
        s.sendall(("*%d\r\n" % len(a) + "".join("$%d\r\n%s\r\n" % (len(str(x).encode()), x) for x in a)).encode())
        line = b""
        while not line.endswith(b"\r\n"):
            line += s.recv(1)
        return line
    cmd("SELECT", db)
    out = cmd(*args)
    s.close()
    return int(out[1:].strip())
start = time.time()
req = urllib.request.Request("http://127.0.0.1:3903/api/v1/statuses", data=b"status=hello+followers",
                             headers={"Authorization": "Bearer " + token})
status_id = json.load(urllib.request.urlopen(req))["id"]
member = "%020d" % int(status_id)
# Cheap checks on three feeds first, so polling does not load Redis while
# the batches run; then the full count of feeds holding the post.
probe = ("local n = 0 for _, i in ipairs({1, math.floor(tonumber(ARGV[2]) / 2), tonumber(ARGV[2])}) do "
         "if redis.call('ZSCORE', 'feed:home:' .. (1000000 + i), ARGV[1]) then n = n + 1 end end return n")
while redis("EVAL", probe, 0, member, followers) < 3:
    if time.time() - start > 120:
        sys.exit("the post never reached the sampled feeds")
    time.sleep(0.002)
while True:
    n = redis("EVAL", count_script, 0, member, followers)
    if n >= followers:
        break
    if time.time() - start > 120:
        sys.exit("only %d of %d feeds got the post" % (n, followers))
    time.sleep(0.005)
print("fan-out to %d followers: every feed had the post %.0f ms after the POST started" % (followers, (time.time() - start) * 1000))
PY
psql -h 127.0.0.1 -U postgres -d test -qc "SELECT 1" >/dev/null
for db in $(psql -h 127.0.0.1 -U postgres -d test -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'ferrodon_bench_%_$$'"); do
  psql -h 127.0.0.1 -U postgres -d test -qc "DROP DATABASE $db WITH (FORCE)" || true
done
