#!/usr/bin/env bash
# Where a sign-up's (or a sign-in's) CPU goes: starts the release build on
# SQLite or on a throwaway durable PostgreSQL, with the SMTP sink, drives
# unique sign-ups (or one verified account's logins, from its known browser)
# with wrk, and prints each part's CPU and context switches per request
# (bench/cost.py). Ratios to the hashing limit come from bench/run.sh; this
# is for comparing two builds, alternating, on the same minutes.
#
#   bench/cost.sh sqlite|postgres [seconds] [path/to/latchkey] [register|login]
#
# LIMITS=on measures the default configuration: every limit on, the quotas
# of the benchmark's one client and one account raised so that its
# requests are all counted and none refused (default: LATCHKEY_RATE_LIMIT=off).
# STATEMENTS=1 (PostgreSQL) also prints what each statement cost PostgreSQL
# over the measure, from pg_stat_statements: calls, plans, ms planning and
# executing per call.
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:?sqlite or postgres}
seconds=${2:-15}
binary=${3:-target/release/latchkey}
flow=${4:-register}
[ -x "$binary" ] && [ -x target/release/examples/smtp_sink ] \
    || cargo build --release --locked --bin latchkey --example smtp_sink

work=$(mktemp -d)
sink=$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
sink_port=$(free_port)
port=$(free_port)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work" "$sink"; }
trap cleanup EXIT

if [ "$backend" = postgres ]; then
    [ "${STATEMENTS:-0}" = 1 ] && export PG_EXTRA_OPTS="-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track_planning=on"
    PG_DURABLE=1 source scripts/pg.sh
    trap 'cleanup; stop_test_postgres' EXIT
    psql -q "$LATCHKEY_TEST_DATABASE_URL" -c "CREATE DATABASE cost"
    url="${LATCHKEY_TEST_DATABASE_URL%/*}/cost"
else
    url="sqlite://$work/latchkey.db"
fi
if [ "${LIMITS:-off}" = on ]; then
    limits=(LATCHKEY_RATE_LIMIT=on LATCHKEY_LIMIT_REGISTER_PER_IP=10000/1m
        LATCHKEY_LIMIT_LOGIN_PER_IP=10000/1m LATCHKEY_LIMIT_LOGIN_PER_ACCOUNT=10000/1m)
else
    limits=(LATCHKEY_RATE_LIMIT=off)
fi
target/release/examples/smtp_sink "127.0.0.1:$sink_port" "$sink/mail" & pids+=($!)
env "${limits[@]}" LATCHKEY_LISTEN="127.0.0.1:$port" LATCHKEY_PUBLIC_URL="http://127.0.0.1:$port" \
    LATCHKEY_DATABASE_URL="$url" LATCHKEY_SMTP_URL="smtp://127.0.0.1:$sink_port" \
    LATCHKEY_SECRET_KEY="$(head -c 32 /dev/urandom | base64)" LATCHKEY_CONFIG="$work/none.toml" \
    RUST_LOG=warn "$binary" serve >"$work/log" 2>&1 & pids+=($!)
until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do sleep 0.05; done

if [ "$flow" = login ]; then
    # One account, verified through its emailed link; the click's response
    # carries the device cookie, so the logins come from a known browser.
    export BENCH_EMAIL="cost.$RANDOM@example.com"
    curl -sf -o /dev/null -H 'Content-Type: application/json' \
        -d "{\"name\":\"Bench User\",\"email\":\"$BENCH_EMAIL\",\"password\":\"violet submarine harvests 42 clouds\"}" \
        "http://127.0.0.1:$port/register"
    token=""
    for _ in $(seq 200); do
        token=$(cat "$sink"/mail/*.eml 2>/dev/null | sed -e 's/=\r\?$//' | tr -d '\r\n' | sed -e 's/=3D/=/g' \
            | grep -o 'verify?token=[A-Za-z0-9_-]\{43\}' | head -n 1 | cut -d= -f2) || true
        [ -n "$token" ] && break
        sleep 0.05
    done
    [ -n "$token" ] || { echo "no verification email" >&2; exit 1; }
    BENCH_DEVICE=$(curl -sf -o /dev/null -D - -H 'Accept: application/json' "http://127.0.0.1:$port/verify?token=$token" \
        | grep -io 'latchkey_device=[^;]*' | head -n 1)
    export BENCH_DEVICE
fi
cat "bench/$flow.lua" bench/report.lua >"$work/$flow.lua"
# A few seconds of warm-up (connections, the outbox's SMTP pool), then the measure.
BENCH_RUN="warm$RANDOM" wrk -t2 -c16 -d3s -s "$work/$flow.lua" "http://127.0.0.1:$port" >/dev/null
statements() { [ "$backend" = postgres ] && [ "${STATEMENTS:-0}" = 1 ]; }
statements && psql -qAt "$url" -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" -c "SELECT pg_stat_statements_reset()" >/dev/null
BENCH_RUN="cost$RANDOM" python3 bench/cost.py "http://127.0.0.1:$port" "$seconds" "$work/$flow.lua"
statements && psql -q "$url" -c "SELECT calls, plans, round((total_plan_time / calls)::numeric, 3) AS plan_ms,
    round((total_exec_time / calls)::numeric, 3) AS exec_ms, wal_records / calls AS wal, left(regexp_replace(query, '\s+', ' ', 'g'), 70) AS statement
    FROM pg_stat_statements WHERE calls > 10 ORDER BY total_plan_time + total_exec_time DESC LIMIT 12"
