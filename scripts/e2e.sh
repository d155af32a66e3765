#!/usr/bin/env bash
# The browser tests (e2e/): the pages in Debian's Chromium, driven by
# playwright-core, against the real binary and a real SMTP sink. Installs what
# it needs when missing (Chromium from apt, the npm packages pinned in
# e2e/package-lock.json), builds the binary, runs `node --test`.
# Screenshots land in target/e2e-artifacts/. `e2e.sh --install-only` installs
# and stops (the test script runs it while the Rust code compiles).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*" >&2; }

if [ ! -x /usr/bin/chromium ]; then
    step "installing Debian's chromium"
    sudo=()
    [ "$(id -u)" = 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq chromium >/dev/null
fi

# `npm ci` only when the lock file changed since the last install.
if ! cmp -s e2e/package-lock.json e2e/node_modules/.installed-lock.json 2>/dev/null; then
    step "npm ci (e2e/)"
    (cd e2e && npm ci --no-audit --no-fund --loglevel=error && cp package-lock.json node_modules/.installed-lock.json)
fi
if [ "${1:-}" = --install-only ]; then exit 0; fi

# LATCHKEY_BIN: a binary already built (the test script passes the one the
# integration tests ran); otherwise it is built here.
if [ -z "${LATCHKEY_BIN:-}" ]; then
    step "building the binary"
    cargo build --locked --quiet --bin latchkey
fi

step "node --test (e2e/)"
rm -rf target/e2e-artifacts
cd e2e
exec node --test --test-concurrency=1 --test-timeout=120000 flow.test.mjs login.test.mjs passkey.test.mjs agreement.test.mjs pages.test.mjs invite.test.mjs
