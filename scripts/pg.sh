#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests: `source scripts/pg.sh` starts
# one on a free loopback port in a temporary folder, exports
# LATCHKEY_TEST_DATABASE_URL, and stops it (and deletes its files) on exit.
# PostgreSQL refuses to run as root, so as root it runs as `postgres`.

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$pg_bin" ]; then
    echo "PostgreSQL is not installed; installing postgresql (Debian)" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi

pg_dir=$(mktemp -d /tmp/latchkey-pg.XXXXXX)
pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg=()
if [ "$(id -u)" = 0 ]; then
    chown postgres: "$pg_dir"
    as_pg=(runuser -u postgres --)
fi

"${as_pg[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -U postgres -A trust --no-sync >"$pg_dir/initdb.log" 2>&1 \
    || { cat "$pg_dir/initdb.log" >&2; exit 1; }
# For the tests, fsync off: this server's data is thrown away at exit anyway.
# The benchmark sets PG_DURABLE=1 and keeps PostgreSQL's durable defaults, so
# its figures include a flushed commit, as SQLite's (synchronous=FULL) do.
pg_opts="-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c max_connections=400"
if [ "${PG_DURABLE:-}" != 1 ]; then
    pg_opts="$pg_opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
fi
# PG_EXTRA_OPTS adds server settings, e.g. bench/cost.sh's pg_stat_statements.
pg_opts="$pg_opts ${PG_EXTRA_OPTS:-}"
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w \
    -o "$pg_opts" \
    start >/dev/null || { cat "$pg_dir/server.log" >&2; exit 1; }

stop_test_postgres() {
    "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$pg_dir"
}
trap stop_test_postgres EXIT

export LATCHKEY_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/postgres"
echo "test PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$pg_port" >&2
