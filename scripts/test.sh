#!/usr/bin/env bash
# Every check and every test, on a fresh machine: formatting, lints, unit and
# property tests, and the integration suite on SQLite and on a throwaway
# PostgreSQL, with real SMTP on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*" >&2; }

step "formatting"
cargo fmt --all -- --check

step "lints"
cargo clippy --all-targets --locked -- -D warnings

step "PostgreSQL"
source scripts/pg.sh

step "tests"
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --locked --no-fail-fast
else
    cargo test --locked --no-fail-fast
fi

step "browser tests"
./scripts/e2e.sh

step "fuzzing the API from outside (schemathesis)"
./scripts/fuzz.sh
