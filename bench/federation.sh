#!/usr/bin/env bash
# Federation delivery and inbox ingest on PostgreSQL (issue 9), beside an
# RSA-2048 sign/verify loop and pgbench select-only in the same run.
#
# Delivery: one public post by a local author with 1,000 remote followers on
# 100 fake hosts (bench/fedsink: 127.0.0.1:4000…4099, a host is compared with
# its port), timed from POST /api/v1/statuses to the last delivery whose
# signature the sink verified with the author's key (fetched once from this
# instance's actor document). Lanes: 1,000 per-account inboxes (no shared
# inbox); the same with one host of the hundred refusing connections; with one
# host accepting connections and never answering; and 100 shared inboxes
# (10 followers each, deduplicated). The followers are inserted with SQL
# (accounts with uri, inbox, shared inbox, key; follows rows) — the sink also
# serves those actors, so they are real documents, but no Follow is sent.
#
# Ingest: N signed Create(Note) from the fake accounts to the shared inbox
# (all signed before the clock starts), CONCURRENCY in flight; the time until
# every POST is answered, and until every status exists (SQL count).
#
# Needs pgbench and a local PostgreSQL at 127.0.0.1:5432 (trust auth).
# Usage: [WORKERS=5] [DB_POOL=10] [QUEUE_REDIS_URL=redis://127.0.0.1:6379/3]
#        bench/federation.sh [ingest-activities=5000] [concurrency=32]
# WORKERS and DB_POOL are the server's FERRODON_WORKER_CONCURRENCY and DB_POOL
# (defaults 5 and 10); QUEUE_REDIS_URL puts the job queues in Redis (the
# database is flushed) instead of the SQL tables.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-5000}"
conc="${2:-32}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ferrodon/release-target}"
cargo build --release -q
cargo build --release -q -p ferrodon-federation --example sign_verify
cargo build --release -q --manifest-path bench/fedsink/Cargo.toml
bin="$CARGO_TARGET_DIR/release/ferrodon"
sink="$CARGO_TARGET_DIR/release/fed-sink"
work="$(mktemp -d)"
db="ferrodon_bench_fed_$$"
port=3905 control=3906 base=4000 hosts=100 per=10
psql_db() { psql -h 127.0.0.1 -U postgres -d "$db" -v ON_ERROR_STOP=1 -qAt "$@"; }
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  wait 2>/dev/null || true
  psql -h 127.0.0.1 -U postgres -d test -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
now_ns() { date +%s%N; }
ms() { python3 -c "print(f'{($2 - $1) / 1e6:,.0f} ms')"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr); $(psql -h 127.0.0.1 -U postgres -d test -Atc 'SHOW server_version')"
echo "everything on loopback on the same cores: ferrodon, PostgreSQL, the sink (100 hosts) and the load generator"
echo "server: worker concurrency ${WORKERS:-5}, DB_POOL ${DB_POOL:-10}, job queues in ${QUEUE_REDIS_URL:-the SQL tables}"
echo

psql -h 127.0.0.1 -U postgres -d test -qc "CREATE DATABASE $db"
env=(FERRODON_LISTEN=127.0.0.1:$port FERRODON_DOMAIN=127.0.0.1:$port FERRODON_HTTPS=false
     FERRODON_DATA_DIR="$work" FERRODON_LOG=warn DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db"
     FERRODON_RATE_LIMIT_API=0 FERRODON_RATE_LIMIT_LOGIN=0 FERRODON_RATE_LIMIT_SIGN_UP=0
     ALLOWED_PRIVATE_ADDRESSES=127.0.0.0/8 FERRODON_FEDERATION_ALLOW_HTTP=true
     FERRODON_WORKER_CONCURRENCY="${WORKERS:-5}" DB_POOL="${DB_POOL:-10}")
# Jobs in Redis (as a large instance runs them) when QUEUE_REDIS_URL is set.
if [ -n "${QUEUE_REDIS_URL:-}" ]; then
  env+=(QUEUE_REDIS_URL="$QUEUE_REDIS_URL")
  redis-cli -u "$QUEUE_REDIS_URL" flushdb >/dev/null
fi
env "${env[@]}" "$bin" serve >"$work/log" 2>&1 &
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
app="$(curl -sf -d client_name=bench -d redirect_uris=urn:ietf:wg:oauth:2.0:oob -d 'scopes=read write' "http://127.0.0.1:$port/api/v1/apps")"
cid="$(echo "$app" | json 'd["client_id"]')"
secret="$(echo "$app" | json 'd["client_secret"]')"
declare -A token
for a in author0 author1 author2; do
  env "${env[@]}" "$bin" admin accounts create "$a" --email "$a@example.com" --password 'benchmark password' >/dev/null
  token[$a]="$(curl -sf -d grant_type=password -d client_id="$cid" -d client_secret="$secret" \
    -d username="$a@example.com" -d 'password=benchmark password' -d 'scope=read write' \
    "http://127.0.0.1:$port/oauth/token" | json 'd["access_token"]')"
done

# The fake network: u0 … u999 on the 100 live hosts (10 each), u1000 … u1009
# on 127.0.0.1:4100 (nothing listens: refused), u1010 … u1019 on
# 127.0.0.1:4101 (accepts, never answers). One key pair for all of them.
"$sink" keygen "$work"
"$sink" serve "$work" $base $hosts $per $control \
  "http://127.0.0.1:$port/users/author0" "http://127.0.0.1:$port/users/author1" \
  "http://127.0.0.1:$port/users/author2" >"$work/sink.log" 2>&1 &
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$control/stats" >/dev/null && break; sleep 0.1; done
pem="$(cat "$work/public.pem")"
psql_db -v pem="$pem" <<SQL
INSERT INTO accounts (id, username, domain, uri, url, inbox_url, shared_inbox_url, outbox_url,
                      followers_url, public_key_pem, public_key_id, created_at, updated_at)
SELECT ((extract(epoch FROM now()) * 1000)::bigint << 16) + k, 'u' || k, '127.0.0.1:' || p,
       h || '/users/u' || k, h || '/users/u' || k, h || '/users/u' || k || '/inbox', NULL,
       h || '/users/u' || k || '/outbox', h || '/users/u' || k || '/followers', :'pem',
       h || '/users/u' || k || '#main-key', now(), now()
FROM (SELECT k, $base + k / $per AS p, 'http://127.0.0.1:' || ($base + k / $per) AS h
      FROM generate_series(0, $hosts * $per + 2 * $per - 1) k) s;
INSERT INTO follows (id, account_id, target_account_id, show_reblogs, notify, created_at)
SELECT ((extract(epoch FROM now()) * 1000)::bigint << 16) + 100000 * t.n + row_number() OVER (),
       f.id, t.id, TRUE, FALSE, now()
FROM (SELECT id, substr(username, 7)::int AS n FROM accounts WHERE username LIKE 'author_') t,
     (SELECT id, substr(username, 2)::int AS k FROM accounts WHERE domain IS NOT NULL) f
WHERE (t.n = 0 AND f.k < $hosts * $per)
   OR (t.n = 1 AND (f.k < ($hosts - 1) * $per OR f.k BETWEEN $hosts * $per AND $hosts * $per + $per - 1))
   OR (t.n = 2 AND (f.k < ($hosts - 1) * $per OR f.k >= $hosts * $per + $per));
UPDATE accounts a SET followers_count = c.n FROM
  (SELECT target_account_id, COUNT(*) AS n FROM follows GROUP BY target_account_id) c
  WHERE c.target_account_id = a.id;
UPDATE accounts a SET following_count = 3 WHERE domain IS NOT NULL;
SQL
echo "seeded: $(psql_db -c "SELECT COUNT(*) FROM accounts WHERE domain IS NOT NULL") remote accounts, $(psql_db -c "SELECT COUNT(*) FROM follows") follows"

echo
echo "Baselines"
echo
"$CARGO_TARGET_DIR/release/examples/sign_verify" 1000 | sed 's/^/    /'
pgbench -h 127.0.0.1 -U postgres -i -q -s 10 "$db" >/dev/null 2>&1
pgb="$(pgbench -h 127.0.0.1 -U postgres -n -S -c 32 -j 2 -T 10 "$db" 2>/dev/null | awk '/^tps/ {print $3}')" || pgb="n/a"
echo "    pgbench -S (select-only, scale 10, 32 clients, 10 s): $pgb tps"
psql_db -c "DROP TABLE pgbench_accounts, pgbench_branches, pgbench_history, pgbench_tellers"

deliver() { # label, author, expected verified deliveries, seconds to wait for the dead host
  local label="$1" author="$2" expected="$3" linger="$4" start id st ok=0 bad=0
  curl -sf -X POST "http://127.0.0.1:$control/reset" >/dev/null
  start="$(now_ns)"
  id="$(curl -sf -H "Authorization: Bearer ${token[$author]}" -d "status=delivery+benchmark+$label" \
    "http://127.0.0.1:$port/api/v1/statuses" | json 'd["id"]')"
  for _ in $(seq 1 3000); do
    st="$(curl -sf "http://127.0.0.1:$control/stats")"
    ok="$(echo "$st" | json 'd["ok"]')"
    [ "$ok" -ge "$expected" ] && break
    sleep 0.02
  done
  sleep "$linger"
  st="$(curl -sf "http://127.0.0.1:$control/stats")"
  local first last distinct states
  first="$(echo "$st" | json 'd["first_ns"]')"; last="$(echo "$st" | json 'd["last_ns"]')"
  ok="$(echo "$st" | json 'd["ok"]')"; bad="$(echo "$st" | json 'd["bad"]')"
  distinct="$(echo "$st" | json 'd["distinct_inboxes"]')"
  env "${env[@]}" "$bin" admin federation deliveries "$id" >"$work/deliveries-$label" 2>&1 || true
  states="$(awk '{print $2}' "$work/deliveries-$label" | sort | uniq -c | awk '{printf "%s%s %s", sep, $1, $2; sep=", "}')"
  printf '| %s | %s | %s verified (%s distinct inboxes), %s refused | %s | %s |\n' \
    "$label" "$states" "$ok" "$distinct" "$bad" "$(ms "$start" "$first")" "$(ms "$start" "$last")"
  if [ "$bad" != 0 ]; then echo "$st" | json 'd["errors"]'; fi
}

echo
echo "Delivery: one public post, end to end (POST /api/v1/statuses → the sink verified the last signature)"
echo
echo "| lane | deliveries rows (admin federation deliveries) | at the sink | first delivery | last delivery |"
echo "|---|---|---|---|---|"
deliver "1000-inboxes" author0 $((hosts * per)) 0
deliver "1000-inboxes-one-host-refusing" author1 $(((hosts - 1) * per)) 1
deliver "1000-inboxes-one-host-hanging" author2 $(((hosts - 1) * per)) 12
psql_db -c "UPDATE accounts SET shared_inbox_url = 'http://' || domain || '/inbox' WHERE domain IS NOT NULL"
deliver "100-shared-inboxes" author0 $hosts 0
psql_db -c "UPDATE accounts SET shared_inbox_url = NULL WHERE domain IS NOT NULL"

echo
echo "Ingest: $n signed Create(Note) to POST /inbox, $conc in flight"
before="$(psql_db -c "SELECT COUNT(*) FROM statuses WHERE NOT local")"
# PERF_OUT=FILE: a system-wide CPU profile (perf, cpu-clock) of the ingest phase.
if [ -n "${PERF_OUT:-}" ]; then
  perf record -q -e cpu-clock -F 499 -a -g -o "$PERF_OUT" >/dev/null 2>&1 &
  perf_pid=$!
fi
out="$("$sink" ingest "$work" "http://127.0.0.1:$port/inbox" $base $hosts $per "$n" "$conc" 2>"$work/ingest.err")"
cat "$work/ingest.err"
started="$(echo "$out" | json 'd["started_ns"]')"
echo "    answered: $(echo "$out" | json 'd["codes"]') in $(echo "$out" | json 'round(d["elapsed_s"], 2)') s, $(echo "$out" | json 'round(d["per_s"])') accepted/s"
done_ns=""
for _ in $(seq 1 6000); do
  c="$(psql_db -c "SELECT COUNT(*) FROM statuses WHERE NOT local")"
  if [ $((c - before)) -ge "$n" ]; then done_ns="$(now_ns)"; break; fi
  sleep 0.05
done
if [ -n "$done_ns" ]; then
  echo "    processed: $n statuses stored $(ms "$started" "$done_ns") after the first POST, $(python3 -c "print(round($n / (($done_ns - $started) / 1e9)))") activities/s"
else
  echo "    processed: only $((c - before)) of $n statuses stored after 5 minutes"
fi
if [ -n "${perf_pid:-}" ]; then kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true; fi
echo
echo "server log: $(grep -c . "$work/log" || true) lines (warn and above); the last 5:"
tail -5 "$work/log" | cut -c1-300 | sed 's/^/    /'
