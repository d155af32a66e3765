#!/usr/bin/env bash
# Every check and every test, on a fresh machine: formatting, lints, unit and
# property tests, and the integration suite on SQLite and on a throwaway
# PostgreSQL, with real SMTP on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s (at %d s)\n' "$*" "$SECONDS" >&2; }

# Chromium, the browser tests' npm packages and schemathesis download and
# install while clippy compiles (the network, not the cores, is what they
# wait on).
mkdir -p target
step "installing the browser and fuzzing tools, in the background (target/tools.log)"
(./scripts/e2e.sh --install-only && ./scripts/fuzz.sh --install-only) >target/tools.log 2>&1 &
tools=$!

step "formatting"
cargo fmt --all -- --check

step "lints"
cargo clippy --all-targets --locked -- -D warnings

# Before anything else installs (apt allows one at a time) and before the
# tests, some of which time answers.
step "waiting for the tools"
tools_ok=0
wait "$tools" || tools_ok=$?
cat target/tools.log >&2
[ "$tools_ok" = 0 ] || { echo "installing the tools failed" >&2; exit 1; }

step "PostgreSQL"
source scripts/pg.sh

step "tests"
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --locked --no-fail-fast
else
    cargo test --locked --no-fail-fast
fi

# The binary the integration tests ran: `cargo build` alone would build
# another, its dependencies without the dev-dependencies' features (tokio's
# among them), and spend two minutes on it.
export LATCHKEY_BIN="$PWD/target/debug/latchkey"

step "browser tests"
./scripts/e2e.sh

step "fuzzing the API from outside (schemathesis)"
./scripts/fuzz.sh
