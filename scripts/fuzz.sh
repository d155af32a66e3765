#!/usr/bin/env bash
# Fuzzing from outside: schemathesis (PyPI, pinned) reads GET /openapi.json
# from the real binary on a fresh SQLite database (mail and SMS written to
# files) and sends every operation up to a hundred generated requests a phase:
# signed out, then with a fresh session cookie and access token (and last
# the operations that end that session, and the account). It fails on
# any 5xx and on any answer the document does not describe (status, media
# type, headers, body schema).
#
#   FUZZ_EXAMPLES=N   test cases per operation and phase (default 100: at
#                     200, fuzzing alone took 6.5 minutes of a 23-minute CI run
#                     on a slower 2-core machine; raise it for a deeper run)
#   FUZZ_SEED=N       the seed (printed); default a fixed one, so the test
#                     script gives the same verdict on the same code.
#                     FUZZ_SEED=random explores new cases each run.
#   LATCHKEY_BIN=...  the binary to run (default: builds target/debug/latchkey)
#   fuzz.sh --install-only   installs schemathesis and stops
#
# One worker: schemathesis's threads trip a CPython 3.11 bug ("AST constructor
# recursion depth mismatch") in hypothesis, and the machine has two cores.
#
# The venv lives in target/fuzz-venv and is reused while the pin is the same.
# Reports (JUnit, and the failing cases as pytest) land in target/fuzz-report/.
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
EXAMPLES=${FUZZ_EXAMPLES:-100}
SEED=${FUZZ_SEED:-175882513}
if [ "$SEED" = random ]; then SEED=$RANDOM$RANDOM; fi
VENV=target/fuzz-venv
REPORT=target/fuzz-report

step() { printf '\n==> %s\n' "$*" >&2; }

if [ "$(cat "$VENV/.installed" 2>/dev/null)" != "$SCHEMATHESIS_VERSION" ]; then
    step "installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
    echo "$SCHEMATHESIS_VERSION" >"$VENV/.installed"
fi
if [ "${1:-}" = --install-only ]; then exit 0; fi

binary=${LATCHKEY_BIN:-}
if [ -z "$binary" ]; then
    step "building the binary"
    cargo build --locked --quiet --bin latchkey
    binary=target/debug/latchkey
fi

work=$(mktemp -d)
server=
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"

step "starting latchkey on $base (log: $REPORT/latchkey.log)"
rm -rf "$REPORT" && mkdir -p "$REPORT"
# Cheaper argon2 than production: this run is about answers, not hashing cost.
env -u LATCHKEY_SMTP_URL -u LATCHKEY_SMS_URL \
    LATCHKEY_LISTEN="127.0.0.1:$port" \
    LATCHKEY_PUBLIC_URL="$base" \
    LATCHKEY_DATABASE_URL="sqlite://$work/latchkey.db" \
    LATCHKEY_MAIL_DIR="$work/mail" \
    LATCHKEY_ARGON2_MEMORY_KIB=4096 LATCHKEY_ARGON2_ITERATIONS=1 \
    RUST_LOG="${RUST_LOG:-warn}" \
    "$binary" serve >"$REPORT/latchkey.log" 2>&1 &
server=$!
for _ in $(seq 100); do
    curl -fsS "$base/healthz" >/dev/null 2>&1 && break
    kill -0 "$server" 2>/dev/null || { cat "$REPORT/latchkey.log" >&2; exit 1; }
    sleep 0.1
done
curl -fsS "$base/healthz" >/dev/null

step "an account for the signed-in passes"
email="fuzz-$RANDOM@example.com"
password="violet submarine harvests 42 clouds"
curl -fsS "$base/register" -H 'content-type: application/json' \
    -d "{\"name\":\"Fuzz\",\"email\":\"$email\",\"password\":\"$password\"}" >/dev/null
# The link, out of the text part of the .eml the file transport wrote.
read_link='
import email, email.policy, pathlib, re, sys
for path in pathlib.Path(sys.argv[1]).rglob("*.eml"):
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            found = re.search(r"\S+/verify\?token=[A-Za-z0-9_-]+", part.get_content())
            if found:
                print(found.group(0))
                sys.exit()
'
link=
for _ in $(seq 100); do
    link=$(python3 -c "$read_link" "$work/mail" 2>/dev/null || true)
    [ -n "$link" ] && break
    sleep 0.1
done
[ -n "$link" ] || { echo "no verification email in $work/mail" >&2; exit 1; }
curl -fsS -H 'accept: application/json' "$link" >/dev/null
# A fresh session: the headers that carry its cookie and access token.
signed_in=()
sign_in() {
    local login cookie token
    login=$(curl -fsS -D "$work/login-headers" "$base/login" -H 'content-type: application/json' \
        -d "{\"email\":\"$email\",\"password\":\"$password\"}")
    cookie=$(grep -io 'set-cookie: latchkey_session=[^;]*' "$work/login-headers" | head -n1 | cut -d' ' -f2)
    token=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])' <<<"$login")
    [ -n "$cookie" ] && [ -n "$token" ] || { echo "the login gave no session: $login" >&2; exit 1; }
    signed_in=(-H "Cookie: $cookie" -H "Authorization: Bearer $token")
}

checks=not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance
run() {
    local name=$1
    shift
    step "schemathesis, $name: $EXAMPLES examples per operation, seed $SEED"
    "$VENV/bin/schemathesis" run "$base/openapi.json" \
        --checks "$checks" \
        --phases examples,coverage,fuzzing \
        --max-examples "$EXAMPLES" \
        --seed "$SEED" \
        --workers 1 \
        --request-timeout 10 \
        --max-redirects 0 \
        --suppress-health-check too_slow,filter_too_much \
        --report junit,pytest \
        --report-dir "$REPORT/$name" \
        "$@"
}

started=$(date +%s)
run signed-out
# Signed in, for the operations behind a session; not those that end it
# (schemathesis reads the session's id out of GET /sessions and deletes it):
# they run last, each on a session of its own, and last of all the one that
# deletes the account.
sign_in
run signed-in "${signed_in[@]}" \
    --include-tag sessions --include-tag mfa --include-tag pages \
    --exclude-path /logout --exclude-path '/sessions/{id}' --exclude-operation-id delete_me
sign_in
run revoking "${signed_in[@]}" --include-path /sessions --include-path '/sessions/{id}'
sign_in
run logging-out "${signed_in[@]}" --include-path /logout
sign_in
run deleting "${signed_in[@]}" --include-operation-id delete_me

if grep -E ' (ERROR|panicked)' "$REPORT/latchkey.log" >&2; then
    echo "the server logged errors (above)" >&2
    exit 1
fi
step "fuzzing passed in $(($(date +%s) - started)) s (seed $SEED)"
