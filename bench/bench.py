#!/usr/bin/env python3
"""Drives the latchkey benchmark: one run, every figure, one table.

Started by bench/run.sh, which builds the release binaries, installs wrk and
starts a throwaway PostgreSQL. Standard library only.
"""

import base64
import hashlib
import http.client
import json
import os
import re
import secrets
import statistics
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RELEASE = ROOT / "target" / "release"
PASSWORD = "violet submarine harvests 42 clouds"
DURATION = os.environ.get("BENCH_SECONDS", "10")
TOKENS = 40_000
OUTBOX_MESSAGES = 2_000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = dict(headers or {})
    if body is not None:
        body = json.dumps(body)
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, response.getheaders(), data


def rss_kib(pid, field="VmRSS"):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def wrk(port, script, connections=16, seconds=DURATION, env=None):
    lua = Path(tempfile.mkstemp(suffix=".lua")[1])
    lua.write_text((ROOT / "bench" / script).read_text() + "\n" + (ROOT / "bench" / "report.lua").read_text())
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(lua), f"http://127.0.0.1:{port}"],
        capture_output=True, text=True, env={**os.environ, **(env or {})}, check=True,
    ).stdout
    lua.unlink()
    line = next(l for l in out.splitlines() if l.startswith("RESULT"))
    return {k: float(v) for k, v in (pair.split("=") for pair in line.split()[1:])}


class LoginProbe:
    """Four clients logging in one request at a time beside the storm: wrk's
    latency mixes the quick 503s with the admitted logins, so the probe times
    the admitted ones (status 200) on their own."""

    def __init__(self, port, email, device, clients=4):
        import threading
        self.port, self.email, self.device = port, email, device
        self.stopped = threading.Event()
        self.samples = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(clients)]

    def start(self):
        for thread in self.threads:
            thread.start()

    def run(self):
        body = {"email": self.email, "password": PASSWORD}
        while not self.stopped.is_set():
            t0 = time.monotonic()
            try:
                status, _, _ = request(self.port, "POST", "/login", body, {"Cookie": self.device})
            except OSError:
                status = 0
            elapsed_ms = (time.monotonic() - t0) * 1000
            with self.lock:
                self.samples.append((status, elapsed_ms))

    def stop(self):
        self.stopped.set()
        for thread in self.threads:
            thread.join(timeout=30)
        admitted = sorted(ms for status, ms in self.samples if status == 200)
        refused = sum(1 for status, _ in self.samples if status == 503)

        def percentile(p):
            return admitted[min(len(admitted) - 1, int(len(admitted) * p / 100))] if admitted else float("nan")

        return {"n": len(admitted), "refused": refused, "p50_ms": percentile(50), "p99_ms": percentile(99), "max_ms": admitted[-1] if admitted else float("nan")}


class Backend:
    def __init__(self, name, url, admin_url=None):
        self.name, self.url, self.admin_url = name, url, admin_url

    def sql(self, statements):
        if self.name == "sqlite":
            path = self.url.removeprefix("sqlite://")
            subprocess.run(["sqlite3", "-cmd", ".timeout 10000", path], input=statements, text=True, check=True, capture_output=True)
        else:
            subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", self.url], input=statements, text=True, check=True, capture_output=True)

    def blob(self, raw: bytes):
        return f"X'{raw.hex()}'" if self.name == "sqlite" else f"'\\x{raw.hex()}'::bytea"

    def uuid(self, value: uuid.UUID):
        return self.blob(value.bytes) if self.name == "sqlite" else f"'{value}'::uuid"


def now_text(delta=timedelta()):
    return (datetime.now(timezone.utc) + delta).isoformat()


def insert_tokens(backend, count):
    """Pending accounts with known verification tokens, written straight to
    the database: the benchmark measures the click, not the sign-up."""
    tokens, rows_users, rows_tokens = [], [], []
    created, expires = now_text(), now_text(timedelta(hours=24))
    for i in range(count):
        raw = secrets.token_bytes(32)
        tokens.append(base64.urlsafe_b64encode(raw).rstrip(b"=").decode())
        user, token = uuid.uuid4(), uuid.uuid4()
        email = f"v{i}.{secrets.token_hex(4)}@example.com"
        rows_users.append(f"({backend.uuid(user)}, 'Bench', '{email}', '{email}', 'x', 'pending', '{created}', '{created}')")
        rows_tokens.append(f"({backend.uuid(token)}, {backend.uuid(user)}, {backend.blob(hashlib.sha256(raw).digest())}, '{created}', '{expires}')")
    # A transaction per thousand: one for all would hold SQLite's write lock
    # for seconds, past the running server's busy timeout (5 s).
    sql = []
    for start in range(0, count, 1000):
        sql.append("BEGIN;")
        sql.append("INSERT INTO users (id, name, email, email_key, password_hash, status, created_at, updated_at) VALUES " + ",".join(rows_users[start:start + 1000]) + ";")
        sql.append("INSERT INTO verification_tokens (id, user_id, digest, created_at, expires_at) VALUES " + ",".join(rows_tokens[start:start + 1000]) + ";")
        sql.append("COMMIT;")
    backend.sql("\n".join(sql))
    return tokens


def insert_messages(backend, count):
    created = now_text()
    rows = []
    for i in range(count):
        mid = uuid.uuid4()
        rows.append(
            f"({backend.uuid(mid)}, '<{mid}@bench>', 'bench', 'r{i}@example.com', 'bench {i}', 'body {i}', '<p>body {i}</p>', 'pending', 0, '{created}', '{created}', 'email')"
        )
    # One transaction: the delivery is timed from its commit, so none of the
    # messages may be out before it.
    sql = ["BEGIN;"]
    for start in range(0, count, 1000):
        sql.append("INSERT INTO outbox (id, message_id, kind, recipient, subject, text_body, html_body, status, attempts, created_at, next_attempt_at, channel) VALUES " + ",".join(rows[start:start + 1000]) + ";")
    sql.append("COMMIT;")
    backend.sql("\n".join(sql))


def wait_for_files(folder, count, timeout=600):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = len(os.listdir(folder))
        if n >= count:
            return n
        time.sleep(0.02)
    raise RuntimeError(f"only {len(os.listdir(folder))} of {count} emails arrived")


def run_backend(backend, results):
    work = Path(tempfile.mkdtemp(prefix=f"latchkey-bench-{backend.name}-"))
    # The sink stands in for a mail server on another machine: its files go
    # to memory (/dev/shm) when there is one, so creating 1,300 files a
    # second on disk (0.5 ms of kernel time each, measured) is not charged
    # to the two cores latchkey is measured on. The database stays on disk.
    shm = Path("/dev/shm")
    sink_dir = Path(tempfile.mkdtemp(prefix="latchkey-sink-", dir=shm if shm.is_dir() else None)) / "sink"
    sink_port, port = free_port(), free_port()
    sink = subprocess.Popen([str(RELEASE / "examples" / "smtp_sink"), f"127.0.0.1:{sink_port}", str(sink_dir)])
    env = {
        **os.environ,
        "LATCHKEY_LISTEN": f"127.0.0.1:{port}",
        "LATCHKEY_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "LATCHKEY_DATABASE_URL": backend.url,
        "LATCHKEY_SMTP_URL": f"smtp://127.0.0.1:{sink_port}",
        "LATCHKEY_SECRET_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "LATCHKEY_CONFIG": str(work / "none.toml"),
        "LATCHKEY_RATE_LIMIT": "off",
        "RUST_LOG": "warn",
    }
    time.sleep(0.3)
    started = time.monotonic()
    app = start_app(env, port, work)
    r = results.setdefault(backend.name, {})
    r["ready_ms"] = (time.monotonic() - started) * 1000
    time.sleep(1)
    r["rss_idle_kib"] = rss_kib(app.pid)

    r["healthz"] = wrk(port, "get.lua", env={"BENCH_PATH": "/healthz"})
    part_seconds = max(2, int(DURATION) // 2 + 1)
    # Sustained throughput: the first seconds of sign-ups open the database
    # pool's connections (on PostgreSQL each is a new backend process that
    # loads its catalog caches and plans the statements) and the outbox's
    # SMTP pool. Through run 29 they fell in the first measured part: on
    # PostgreSQL it read 1.6 points under the mean of the other two over runs
    # 16-29 (lower in 11 of 14; SQLite's 0.5). Now they are spent before it.
    wrk(port, "register.lua", seconds=3, env={"BENCH_RUN": f"{backend.name}warm"})
    r["register"] = bracketed(lambda i: wrk(port, "register.lua", seconds=part_seconds, env={"BENCH_RUN": f"{backend.name}{i}"}))

    # One verified account, signed in: for login and /me.
    email = f"bench.{secrets.token_hex(4)}@example.com"
    before = len(os.listdir(sink_dir))
    status, _, _ = request(port, "POST", "/register", {"name": "Bench User", "email": email, "password": PASSWORD})
    assert status == 201, status
    deadline = time.monotonic() + 30
    link = None
    while link is None and time.monotonic() < deadline:
        for f in sorted(sink_dir.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)[:50]:
            text = f.read_text(errors="replace")
            if email in text:
                text = re.sub(r"=\r?\n", "", text).replace("=3D", "=")
                link = re.search(r"/verify\?token=([A-Za-z0-9_-]{43})", text)
                break
        time.sleep(0.05)
    assert link, "no verification email"
    status, headers, _ = request(port, "GET", f"/verify?token={link.group(1)}", headers={"Accept": "application/json"})
    cookie = next(v.split(";")[0] for k, v in headers if k.lower() == "set-cookie" and "latchkey_session=" in v)
    # Logins come from the browser that signed up, as a returning person's do:
    # a known device (no "new sign-in" email each time).
    device = next(v.split(";")[0] for k, v in headers if k.lower() == "set-cookie" and "latchkey_device=" in v)

    r["login"] = bracketed(lambda i: wrk(port, "login.lua", seconds=part_seconds, env={"BENCH_EMAIL": email, "BENCH_DEVICE": device}))

    # /me against /healthz measured just before and just after it: this VM's
    # trivial-endpoint speed jumps between two levels (24,000 and 39,000 req/s
    # in one run), so a /healthz from a minute earlier can be the other one.
    around = [wrk(port, "get.lua", env={"BENCH_PATH": "/healthz"})["rps"]]
    r["me_cookie"] = wrk(port, "get.lua", env={"BENCH_PATH": "/me", "BENCH_COOKIE": cookie})
    around.append(wrk(port, "get.lua", env={"BENCH_PATH": "/healthz"})["rps"])
    r["me_cookie"]["healthz_around"] = around
    status, _, body = request(port, "POST", "/login", {"email": email, "password": PASSWORD})
    access_token = json.loads(body).get("access_token")
    if access_token:
        r["me_bearer"] = wrk(port, "get.lua", env={"BENCH_PATH": "/me", "BENCH_BEARER": access_token})

    tokens = insert_tokens(backend, TOKENS)
    token_file = work / "tokens.txt"
    token_file.write_text("\n".join(tokens) + "\n")
    r["verify"] = wrk(port, "verify.lua", env={"BENCH_TOKENS": str(token_file)})
    r["verify"]["fresh_tokens"] = TOKENS

    before = len(os.listdir(sink_dir))
    insert_messages(backend, OUTBOX_MESSAGES)
    t0 = time.monotonic()
    wait_for_files(sink_dir, before + OUTBOX_MESSAGES)
    r["outbox_per_s"] = OUTBOX_MESSAGES / (time.monotonic() - t0)

    # Graceful overload: 500 concurrent logins, with /me checked alongside.
    overload_env = {"BENCH_EMAIL": email, "BENCH_DEVICE": device}
    side = subprocess.Popen(
        ["wrk", "-t1", "-c4", f"-d{DURATION}s", "-s", str(write_side_script(cookie)), f"http://127.0.0.1:{port}"],
        stdout=subprocess.PIPE, text=True,
    )
    probe = LoginProbe(port, email, device)
    probe.start()
    r["overload_login"] = wrk(port, "login.lua", connections=500, env=overload_env)
    r["overload_admitted"] = probe.stop()
    side_out = side.communicate()[0]
    line = next(l for l in side_out.splitlines() if l.startswith("RESULT"))
    r["overload_me"] = {k: float(v) for k, v in (pair.split("=") for pair in line.split()[1:])}
    peak = rss_kib(app.pid, "VmHWM")

    # The default configuration, on the same database, last (a restart in the
    # middle left the phases after it on a cold server; run 34): every limit
    # on, the quotas of the benchmark's one client and one account raised so
    # that each request is counted and none refused. Since session 9.
    app = restart(app, {**env, **LIMITS_ON}, port, work)
    wrk(port, "register.lua", seconds=3, env={"BENCH_RUN": f"{backend.name}limitswarm"})
    r["register_limits_on"] = bracketed(lambda i: counted(wrk(port, "register.lua", seconds=part_seconds, env={"BENCH_RUN": f"{backend.name}limits{i}"})))
    r["login_limits_on"] = bracketed(lambda i: counted(wrk(port, "login.lua", seconds=part_seconds, env={"BENCH_EMAIL": email, "BENCH_DEVICE": device})))
    r["rss_peak_kib"] = max(peak, rss_kib(app.pid, "VmHWM"))
    app.terminate()
    app.wait(timeout=30)
    sink.terminate()
    sink.wait()
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(sink_dir.parent, ignore_errors=True)


LIMITS_ON = {
    "LATCHKEY_RATE_LIMIT": "on",
    "LATCHKEY_LIMIT_REGISTER_PER_IP": "10000/1m",
    "LATCHKEY_LIMIT_LOGIN_PER_IP": "10000/1m",
    "LATCHKEY_LIMIT_LOGIN_PER_ACCOUNT": "10000/1m",
}


def start_app(env, port, work):
    """Starts `latchkey serve` and waits for its first 200 from /healthz."""
    started = time.monotonic()
    app = subprocess.Popen([str(RELEASE / "latchkey"), "serve"], env=env, cwd=work)
    while True:
        try:
            if request(port, "GET", "/healthz")[0] == 200:
                return app
        except OSError:
            pass
        if time.monotonic() - started > 30:
            raise RuntimeError("latchkey did not start")
        time.sleep(0.002)


def restart(app, env, port, work):
    app.terminate()
    app.wait(timeout=30)
    return start_app(env, port, work)


def counted(part):
    """A part measured with the limits on must have had nothing refused."""
    if part["non2xx"]:
        raise RuntimeError(f"{part['non2xx']:.0f} requests refused with the limits on")
    return part


def write_side_script(cookie):
    path = Path(tempfile.mkstemp(suffix=".lua")[1])
    path.write_text(
        f'request = function() return wrk.format("GET", "/me", {{ ["Cookie"] = "{cookie}", ["Accept"] = "application/json" }}) end\n'
        + (ROOT / "bench" / "report.lua").read_text()
    )
    return path


def hashrate(seconds=DURATION):
    out = subprocess.run([str(RELEASE / "examples" / "hashrate"), str(seconds)], capture_output=True, text=True, check=True).stdout
    return float(out.split()[0])


def bracketed(phase):
    """A hashing phase measured as three shorter ones between four measures of
    the limit (L P L P L P L): the speed of this shared VM drifts by up to 9%
    within a 30 s window, and each part is compared with the limit of its own
    seconds. `phase(i)` runs part i and returns wrk's figures; the result is
    the parts' mean req/s, their ratios, and the limits."""
    seconds = max(2, int(DURATION) // 2)
    limits, parts = [hashrate(seconds)], []
    for i in range(3):
        parts.append(phase(i))
        limits.append(hashrate(seconds))
    ratios = [part["rps"] / ((limits[i] + limits[i + 1]) / 2) for i, part in enumerate(parts)]
    return {
        "rps": sum(part["rps"] for part in parts) / len(parts),
        "ratio": sum(ratios) / len(ratios),
        "ratios": ratios,
        "limits": limits,
        "parts": parts,
    }


def table(results):
    lines = [
        "Hashing limit: argon2id m=19456 KiB t=2 p=1 hashes/s on all cores, in-process, each thread",
        "reusing its memory as latchkey's pool does. Sign-up and login each run as three parts",
        "between four measures of the limit; each part's ratio is to the mean of the two around it.",
        "3 s of sign-ups before the first part open the connections and are not counted.",
        "With the default limits on: the same, last, on the server restarted with every limit on and",
        "the quotas of the one client and account raised so that every request counts, none refused.",
        "",
        "| figure | " + " | ".join(results) + " |",
        "|---|" + "---|" * len(results),
    ]

    def row(label, fn):
        cells = []
        for r in results.values():
            try:
                cells.append(fn(r))
            except (KeyError, ZeroDivisionError):
                cells.append("-")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    def limits(phase):
        return lambda r: " / ".join(f"{limit:.1f}" for limit in r[phase]["limits"])

    def ratio(phase):
        return lambda r: f"{r[phase]['rps']:.1f} ({r[phase]['ratio']:.1%}; parts " + ", ".join(f"{x:.0%}" for x in r[phase]["ratios"]) + ")"

    row("hashing limit between the sign-up parts, hashes/s", limits("register"))
    row("POST /register req/s (ratio to hashing limit)", ratio("register"))
    row("hashing limit between the login parts, hashes/s", limits("login"))
    row("POST /login req/s (ratio to hashing limit)", ratio("login"))
    row("POST /register with the default limits on, req/s (ratio)", ratio("register_limits_on"))
    row("POST /login with the default limits on, req/s (ratio)", ratio("login_limits_on"))
    row("GET /healthz req/s, p50 / p99 ms", lambda r: f"{r['healthz']['rps']:.0f}, {r['healthz']['p50_ms']:.2f} / {r['healthz']['p99_ms']:.2f}")
    row("GET /me (cookie) req/s, p50 / p99 ms", lambda r: f"{r['me_cookie']['rps']:.0f}, {r['me_cookie']['p50_ms']:.2f} / {r['me_cookie']['p99_ms']:.2f}")
    row("GET /me (cookie) / GET /healthz just before and after it (their req/s)", lambda r: (
        f"{r['me_cookie']['rps'] / statistics.mean(r['me_cookie']['healthz_around']):.0%} ("
        + " / ".join(f"{x:.0f}" for x in r['me_cookie']['healthz_around']) + ")"))
    row("GET /me (Bearer JWT) req/s, p50 / p99 ms", lambda r: f"{r['me_bearer']['rps']:.0f}, {r['me_bearer']['p50_ms']:.2f} / {r['me_bearer']['p99_ms']:.2f}")
    row("GET /verify (fresh tokens) req/s, p50 / p99 ms", lambda r: f"{r['verify']['rps']:.0f}, {r['verify']['p50_ms']:.2f} / {r['verify']['p99_ms']:.2f}")
    row("outbox delivery to SMTP sink, emails/s", lambda r: f"{r['outbox_per_s']:.0f}")
    row("500 concurrent logins: answered req/s, p99 ms, 503s", lambda r: f"{r['overload_login']['rps']:.0f}, {r['overload_login']['p99_ms']:.0f}, {r['overload_login']['non2xx']:.0f}")
    row("admitted logins in that storm (4-client probe): n, p50, p99, max ms", lambda r: f"{r['overload_admitted']['n']}, {r['overload_admitted']['p50_ms']:.0f}, {r['overload_admitted']['p99_ms']:.0f}, {r['overload_admitted']['max_ms']:.0f}")
    row("GET /me during that overload: p99 ms", lambda r: f"{r['overload_me']['p99_ms']:.1f}")
    row("resident memory idle / peak, MB", lambda r: f"{r['rss_idle_kib'] / 1024:.1f} / {r['rss_peak_kib'] / 1024:.1f}")
    row("start to first 200 from /healthz, ms", lambda r: f"{r['ready_ms']:.0f}")
    return "\n".join(lines)


def main():
    results = {}
    run_backend(Backend("sqlite", f"sqlite://{tempfile.mkdtemp(prefix='latchkey-bench-db-')}/bench.db"), results)
    admin = os.environ.get("LATCHKEY_TEST_DATABASE_URL")
    if admin:
        name = f"latchkey_bench_{secrets.token_hex(4)}"
        subprocess.run(["psql", "-q", admin, "-c", f"CREATE DATABASE {name}"], check=True)
        run_backend(Backend("postgres", admin.rsplit("/", 1)[0] + "/" + name), results)
    out = table(results)
    print(out)
    target = ROOT / "target" / "bench"
    target.mkdir(parents=True, exist_ok=True)
    (target / "results.md").write_text(out + "\n")
    (target / "results.json").write_text(json.dumps({"results": results}, indent=2))


if __name__ == "__main__":
    main()
