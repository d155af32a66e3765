#!/usr/bin/env bash
# The benchmark: release build, wrk, a local SMTP sink, SQLite then a
# throwaway PostgreSQL; prints one table (also in target/bench/results.md).
# BENCH_SECONDS sets each load phase's length (default 10).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi
for tool in sqlite3 psql; do
    if ! command -v "$tool" >/dev/null; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3 postgresql-client >/dev/null
    fi
done
cargo build --release --locked --bin latchkey --example hashrate --example smtp_sink
PG_DURABLE=1 source scripts/pg.sh
python3 bench/bench.py
