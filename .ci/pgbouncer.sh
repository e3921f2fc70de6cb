#!/usr/bin/env bash
# Starts PgBouncer (Debian's 1.18) on 127.0.0.1:${PGBOUNCER_PORT:-6432} in
# transaction mode in front of the local PostgreSQL, for the test lanes.
# Every database name is routed through (`*`), so per-test databases work.
set -euo pipefail
port="${PGBOUNCER_PORT:-6432}"
dir="${PGBOUNCER_DIR:-/tmp/ferrodon-pgbouncer}"
mkdir -p "$dir"
if [ -f "$dir/pgbouncer.pid" ] && kill -0 "$(cat "$dir/pgbouncer.pid")" 2>/dev/null; then
  echo "pgbouncer already running on $port"
  exit 0
fi
cat > "$dir/pgbouncer.ini" <<INI
[databases]
* = host=127.0.0.1 port=5432 user=postgres

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = any
pool_mode = transaction
default_pool_size = 4
max_client_conn = 1000
server_reset_query =
ignore_startup_parameters = extra_float_digits,options
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
# PgBouncer refuses to run as root; use the postgres system user when we are root.
if [ "$(id -u)" = "0" ]; then
  chown -R postgres "$dir"
  su -s /bin/sh postgres -c "pgbouncer -d '$dir/pgbouncer.ini'"
else
  pgbouncer -d "$dir/pgbouncer.ini"
fi
for _ in $(seq 1 50); do
  if (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then
    echo "pgbouncer listening on $port"
    exit 0
  fi
  sleep 0.1
done
echo "pgbouncer did not start; log:" >&2
cat "$dir/pgbouncer.log" >&2 || true
exit 1
