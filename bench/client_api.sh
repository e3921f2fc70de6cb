#!/usr/bin/env bash
# Client API read throughput on PostgreSQL with 100,000 statuses seeded:
# home timeline, notifications (v1 and grouped v2), the public timeline read
# without filters and with filters at the per-account limits, and full-text
# status search, beside an axum hello-world and pgbench (select-only) in the same run.
# Needs wrk (apt-get install wrk), pgbench (postgresql-contrib / the server
# package) and a local PostgreSQL at 127.0.0.1:5432 (trust auth).
# Usage: bench/client_api.sh [duration-seconds=10] [statuses=100000]
set -euo pipefail
cd "$(dirname "$0")/.."
dur="${1:-10}"
total="${2:-100000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ferrodon/release-target}"
cargo build --release -q
cargo build --release -q --manifest-path bench/hello/Cargo.toml
bin="$CARGO_TARGET_DIR/release/ferrodon"
hello="$CARGO_TARGET_DIR/release/hello-baseline"
work="$(mktemp -d)"
db="ferrodon_bench_api_$$"
psql_db() { psql -h 127.0.0.1 -U postgres -d "$db" -v ON_ERROR_STOP=1 -qAt "$@"; }
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  wait 2>/dev/null || true
  psql -h 127.0.0.1 -U postgres -d test -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

wrk_line() { # name, then wrk arguments
  local name="$1"; shift
  local out rps p50 p99
  out="$(wrk -t2 -c32 -d"${dur}s" --latency "$@")"
  rps="$(echo "$out" | awk '/Requests\/sec/ {print $2}')"
  p50="$(echo "$out" | awk '$1=="50%" {print $2}')"
  p99="$(echo "$out" | awk '$1=="99%" {print $2}')"
  if echo "$out" | grep -q "Non-2xx"; then name="$name (NON-2xx answers!)"; fi
  printf '| %s | %s | %s | %s |\n' "$name" "$rps" "$p50" "$p99"
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr); $(psql -h 127.0.0.1 -U postgres -d test -Atc 'SHOW server_version')"
echo "wrk -t2 -c32 -d${dur}s (wrk shares the cores with the server and PostgreSQL)"
echo

psql -h 127.0.0.1 -U postgres -d test -qc "CREATE DATABASE $db"
port=3903
env=(FERRODON_LISTEN=127.0.0.1:$port FERRODON_DATA_DIR="$work" FERRODON_LOG=warn
     DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db"
     FERRODON_RATE_LIMIT_API=0 FERRODON_RATE_LIMIT_LOGIN=0 FERRODON_RATE_LIMIT_SIGN_UP=0)
env "${env[@]}" "$bin" serve >"$work/log" 2>&1 &
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
env "${env[@]}" "$bin" admin accounts create bench --email bench@example.com --password 'benchmark password' >/dev/null
for i in $(seq 1 20); do
  env "${env[@]}" "$bin" admin accounts create "author$i" --email "author$i@example.com" --password 'benchmark password' >/dev/null
done
app="$(curl -sf -d client_name=bench -d redirect_uris=urn:ietf:wg:oauth:2.0:oob -d 'scopes=read write' "http://127.0.0.1:$port/api/v1/apps")"
cid="$(echo "$app" | python3 -c 'import json,sys; print(json.load(sys.stdin)["client_id"])')"
secret="$(echo "$app" | python3 -c 'import json,sys; print(json.load(sys.stdin)["client_secret"])')"
TOKEN="$(curl -sf -d grant_type=password -d client_id="$cid" -d client_secret="$secret" \
  -d username=bench@example.com -d 'password=benchmark password' -d 'scope=read write' \
  "http://127.0.0.1:$port/oauth/token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
export TOKEN
# A second reader with filters at the per-account limits: 100 v2 filters of
# 10 whole-word keywords each (w1 … w1000: about six hits in every status).
env "${env[@]}" "$bin" admin accounts create filtered --email filtered@example.com --password 'benchmark password' >/dev/null
FTOKEN="$(curl -sf -d grant_type=password -d client_id="$cid" -d client_secret="$secret" \
  -d username=filtered@example.com -d 'password=benchmark password' -d 'scope=read write' \
  "http://127.0.0.1:$port/oauth/token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"
for f in $(seq 0 99); do
  args=(-d "title=f$f" -d "context[]=public" -d "context[]=home" -d "filter_action=warn")
  for k in $(seq 1 10); do
    args+=(-d "keywords_attributes[][keyword]=w$((f * 10 + k))" -d "keywords_attributes[][whole_word]=true")
  done
  curl -sf -H "Authorization: Bearer $FTOKEN" "${args[@]}" "http://127.0.0.1:$port/api/v2/filters" >/dev/null
done

# The seed, in SQL: the reader follows 20 authors (who opted in to search);
# $total statuses over the last 30 days, 95 % by the authors and 5 % by the
# reader, each 12 words from a vocabulary of 2,000 (w1 … w2000); 20,000
# notifications for the reader (15,000 favourites on its statuses, grouped
# as Mastodon does, and 5,000 mentions). The reader's home feed is then
# rebuilt from the database on its first read, as after a Redis flush.
seed_start=$(date +%s.%N)
psql_db <<SQL
UPDATE accounts SET indexable = TRUE, discoverable = TRUE;
INSERT INTO follows (id, account_id, target_account_id, show_reblogs, notify, created_at)
SELECT ((extract(epoch FROM now()) * 1000)::bigint << 16) + row_number() OVER (),
       r.id, a.id, TRUE, FALSE, now()
FROM accounts r, accounts a WHERE r.username = 'bench' AND a.username LIKE 'author%';
CREATE TEMP TABLE seed_authors AS
  SELECT array_agg(id ORDER BY id) AS authors,
         (SELECT id FROM accounts WHERE username = 'bench') AS reader
  FROM accounts WHERE username LIKE 'author%';
INSERT INTO statuses (id, uri, url, account_id, text, content, spoiler_text, sensitive,
                      visibility, language, local, created_at, updated_at, conversation_id)
SELECT id, 'https://bench.example/statuses/' || id, NULL, author, txt, '<p>' || txt || '</p>', '',
       FALSE, 0, 'en', TRUE, ts, ts, id
FROM (
  SELECT s.n, s.ts, ((extract(epoch FROM s.ts) * 1000)::bigint << 16) + (s.n % 65536) AS id,
         CASE WHEN s.n % 20 = 0 THEN sa.reader ELSE sa.authors[1 + s.n % 20] END AS author,
         (SELECT string_agg('w' || (1 + floor(random() * 2000))::int, ' ')
            FROM generate_series(1, 12) g WHERE s.n > 0) AS txt
  FROM (SELECT n, now() - interval '30 days' * (1 - n::float8 / $total) AS ts
        FROM generate_series(1, $total) n) s, seed_authors sa
) seeded;
UPDATE accounts a SET statuses_count = c.n FROM
  (SELECT account_id, COUNT(*) AS n FROM statuses GROUP BY account_id) c WHERE c.account_id = a.id;
CREATE TEMP TABLE reader_statuses AS
  SELECT row_number() OVER (ORDER BY id DESC) AS k, id FROM statuses
  WHERE account_id = (SELECT reader FROM seed_authors) ORDER BY id DESC LIMIT 1000;
CREATE TEMP TABLE other_statuses AS
  SELECT row_number() OVER (ORDER BY id DESC) AS k, id, account_id FROM statuses
  WHERE account_id <> (SELECT reader FROM seed_authors) ORDER BY id DESC LIMIT 5000;
INSERT INTO notifications (id, account_id, from_account_id, type, activity_id, status_id,
                           group_key, filtered, created_at)
SELECT ((extract(epoch FROM t) * 1000)::bigint << 16) + (n % 65536), sa.reader,
       sa.authors[1 + n % 20], 'favourite', n, rs.id,
       'favourite-' || rs.id || '-' || (extract(epoch FROM t)::bigint / 3600), FALSE, t
FROM (SELECT n, now() - interval '1 second' * (15000 - n) * 60 AS t
      FROM generate_series(1, 15000) n) f, seed_authors sa, reader_statuses rs
WHERE rs.k = 1 + (n / 15) % 1000;
INSERT INTO notifications (id, account_id, from_account_id, type, activity_id, status_id,
                           group_key, filtered, created_at)
SELECT ((extract(epoch FROM t) * 1000)::bigint << 16) + (n % 65536) + 32768, sa.reader,
       os.account_id, 'mention', 1000000 + n, os.id, NULL, FALSE, t
FROM (SELECT n, now() - interval '1 second' * (5000 - n) * 180 AS t
      FROM generate_series(1, 5000) n) m, seed_authors sa, other_statuses os
WHERE os.k = n;
DELETE FROM home_feeds; DELETE FROM home_feed_entries;
SQL
# A settled database, as autovacuum leaves it (the GIN index's pending list merged).
psql_db -c "VACUUM ANALYZE"
seed_end=$(date +%s.%N)
counts="$(psql_db -c "SELECT (SELECT COUNT(*) FROM statuses) || ' statuses, ' || (SELECT COUNT(*) FROM notifications) || ' notifications'")"
echo "seeded: $counts in $(python3 -c "print(round($seed_end - $seed_start, 1))") s"
# First reads: the home feed rebuild, and warm caches.
curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$port/api/v1/timelines/home?limit=20" >/dev/null
curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$port/api/v2/notifications?limit=40" >/dev/null
hits() { curl -sf -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$port/api/v2/search?type=statuses&limit=40&q=$1" \
  | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["statuses"]))'; }
matching() { psql_db -c "SELECT COUNT(*) FROM statuses WHERE to_tsvector('simple'::regconfig, spoiler_text || ' ' || text) @@ plainto_tsquery('simple'::regconfig, '$1')"; }
echo "search 'w42': $(matching w42) statuses match, first page $(hits w42); 'w42 w77': $(matching 'w42 w77') match; 'w1999 w7 w300': $(matching 'w1999 w7 w300') match"
echo
echo "| scenario | requests/s | p50 | p99 |"
echo "|---|---|---|---|"
"$hello" 127.0.0.1:3904 & hello_pid=$!; sleep 0.5
wrk_line "baseline: axum hello-world JSON" http://127.0.0.1:3904/
kill "$hello_pid"; wait "$hello_pid" 2>/dev/null || true
pgb="$(pgbench -h 127.0.0.1 -U postgres -n -c 32 -j 2 -T "$dur" -f <(echo "SELECT id, account_id, text FROM statuses WHERE id = (SELECT id FROM statuses ORDER BY id DESC LIMIT 1);") "$db" 2>/dev/null \
  | awk '/^tps/ {print $3}')" || pgb="n/a"
printf '| %s | %s | %s | %s |\n' "baseline: pgbench, one status by primary key (32 clients)" "$pgb" "—" "—"
base="http://127.0.0.1:$port"
wrk_line "GET /api/v1/timelines/home?limit=20" -s bench/auth.lua "$base/api/v1/timelines/home?limit=20"
wrk_line "GET /api/v1/timelines/home?limit=40&max_id=(page 50)" -s bench/auth.lua \
  "$base/api/v1/timelines/home?limit=40&max_id=$(psql_db -c "SELECT id FROM statuses WHERE account_id <> (SELECT id FROM accounts WHERE username='bench') ORDER BY id DESC OFFSET 2000 LIMIT 1")"
wrk_line "GET /api/v2/notifications?limit=40 (grouped)" -s bench/auth.lua "$base/api/v2/notifications?limit=40"
wrk_line "GET /api/v1/notifications?limit=40" -s bench/auth.lua "$base/api/v1/notifications?limit=40"
wrk_line "GET /api/v1/timelines/public?limit=40 (no filters)" -s bench/auth.lua "$base/api/v1/timelines/public?limit=40"
TOKEN="$FTOKEN" wrk_line "GET /api/v1/timelines/public?limit=40 (100 filters, 1,000 keywords)" -s bench/auth.lua "$base/api/v1/timelines/public?limit=40"
wrk_line "GET /api/v2/search?q=w42&type=statuses (one word)" -s bench/auth.lua "$base/api/v2/search?q=w42&type=statuses"
wrk_line "GET /api/v2/search?q=w42+w77&type=statuses (two words)" -s bench/auth.lua "$base/api/v2/search?q=w42+w77&type=statuses"
wrk_line "GET /api/v2/search?q=w1999+w7+w300&type=statuses (three words)" -s bench/auth.lua "$base/api/v2/search?q=w1999+w7+w300&type=statuses"
