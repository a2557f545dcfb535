"""Pages under concurrent load: p95 server response time of the main pages, 20 concurrent users, gunicorn.

The dataset is seed_demo's (accounts, deals, its alignment), assigned and rolled up, plus extra leaf
territories so the territory count matches the goal's. The server runs with production settings (DEBUG off,
collectstatic's hashed files; the load sends X-Forwarded-Proto as the TLS proxy would). Load comes from 20
user processes, each logged in through the login form with its own session, requesting a page back to back
on a keep-alive connection (no think time: the strictest reading of "20 concurrent users").
Baseline: the p95 of /health/ (one SELECT 1) under the same load, so the ratio is "cost of a page over a
trivial request" on this machine.
"""

import http.client
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from concurrent.futures import ProcessPoolExecutor

from bench.common import ROOT, bench_database, connect, database_settle, manage, result_row

SIZES = {"full": (100_000, 1_000_000, 5_000), "small": (5_000, 50_000, 500)}
USERS = 20
REQUESTS_PER_USER = {"full": 20, "small": 5}
GOAL_MS = 200.0
PAGES = [
    ("dashboard (manager)", "manager", "/"),
    ("my territories (rep)", "rep", "/"),
    ("accounts list", "manager", "/accounts/"),
    ("deals list", "manager", "/accounts/deals/"),
    ("deals list (rep)", "rep", "/accounts/deals/"),
    ("territories list", "manager", "/territories/"),
    ("targets list", "manager", "/kpis/targets/"),
    ("territory detail", "manager", "/territories/{territory}/"),
    ("territory tree", "manager", "/territories/tree/"),
    ("map data", "manager", "/territories/map/data/"),
]
PASSWORDS = {"manager": ("manager", "manager-demo"), "rep": ("rep1", "rep-demo")}

# Extra leaves under the active model's geographic leaves, so the tree and scans see the goal's count.
EXTRA_TERRITORIES_SQL = """
INSERT INTO territories_territory (territory_model_id, code, name, kind, parent_id, priority, value_tier,
                                   description, created_at, updated_at)
SELECT t.territory_model_id, 'bench-' || g, 'Bench ' || g, 'geographic', t.id, 0, 2, '', now(), now()
FROM generate_series(1, %(n)s) g
JOIN LATERAL (
    SELECT id, territory_model_id FROM territories_territory
    WHERE kind = 'geographic' AND territory_model_id = (SELECT id FROM territories_territorymodel
                                                        WHERE state = 'active')
    ORDER BY id OFFSET (g %% 20) LIMIT 1
) t ON true
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


FORWARDED = {"X-Forwarded-Proto": "https"}  # as the TLS proxy in front of gunicorn would send


def _cookies(response) -> dict:
    jar = {}
    for header, value in response.getheaders():
        if header.lower() == "set-cookie":
            name, _, rest = value.partition("=")
            jar[name.strip()] = rest.split(";", 1)[0]
    return jar


def _session(port: int, username: str, password: str) -> str:
    """Log in through the login form like a browser; returns the Cookie header of the session."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", "/login/", headers=FORWARDED)
    response = connection.getresponse()
    page = response.read().decode()
    jar = _cookies(response)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token})
    headers = {
        **FORWARDED,
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": "; ".join(f"{k}={v}" for k, v in jar.items()),
        "Referer": f"https://127.0.0.1:{port}/login/",
    }
    connection.request("POST", "/login/", body=body, headers=headers)
    response = connection.getresponse()
    response.read()
    jar.update(_cookies(response))
    connection.close()
    if "sessionid" not in jar:
        raise RuntimeError(f"could not log in as {username} (HTTP {response.status})")
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * 0.95 + 0.5) - 1)]


def _user(port: int, cookie: str, path: str, requests: int) -> list[float]:
    """One user (a process of its own, so the load generator is not one GIL): requests in a row on one
    keep-alive connection, each timed until its whole body is read."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {**FORWARDED, "Cookie": cookie}
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{path}: HTTP {response.status}")
        samples.append((time.perf_counter() - started) * 1000)
    connection.close()
    return samples


def _load(pool: ProcessPoolExecutor, port: int, path: str, cookies: list[str], per_user: int) -> list[float]:
    """USERS concurrent users, each requesting path per_user times back to back (no think time)."""
    results = pool.map(_user, [port] * len(cookies), cookies, [path] * len(cookies), [per_user] * len(cookies))
    return [sample for samples in results for sample in samples]


def _gunicorn(url: str, port: int, static_root: str) -> subprocess.Popen:
    """Production settings (DEBUG off, hashed static files from collectstatic), as deployed."""
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("REDIS_URL", None)
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(40),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        STATIC_ROOT=static_root,
        LOG_LEVEL="WARNING",
    )
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "config/gunicorn_conf.py",  # the deployed layout
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/health/", headers=FORWARDED)
            if connection.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise RuntimeError("gunicorn did not start")


def run(scale: str) -> list[dict]:
    accounts, deals, territories = SIZES[scale]
    rows = []
    with bench_database("pages") as url:
        print("[bench pages] seeding, assigning, rolling up …", file=sys.stderr, flush=True)
        manage(url, "seed_demo", "--accounts", str(accounts), "--deals", str(deals))
        connection = connect(url)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM territories_territory")
            missing = max(0, territories - cursor.fetchone()[0])
            cursor.execute(EXTRA_TERRITORIES_SQL, {"n": missing})
            cursor.execute("SELECT count(*) FROM territories_territory")
            territory_count = cursor.fetchone()[0]
        connection.commit()
        manage(url, "assign_territories")
        manage(url, "recompute_kpis")
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT t.id FROM territories_territory t"
                " JOIN territories_territorymodel m ON m.id = t.territory_model_id"
                " WHERE m.state = 'active' AND t.parent_id IS NULL ORDER BY t.code LIMIT 1"
            )
            territory_id = cursor.fetchone()[0]
        connection.commit()
        connection.close()
        # As autovacuum would soon after the bulk load; among others the visibility map lets the rep
        # scoping read the membership index alone (5.7 → 2.1 ms per rep list query here).
        database_settle(url)
        port = _free_port()
        static_root = tempfile.mkdtemp(prefix="tm-bench-static-")
        server = _gunicorn(url, port, static_root)
        dataset = f"{deals:,} deals, {accounts:,} accounts, {territory_count:,} territories, {USERS} users"
        try:
            per_user = REQUESTS_PER_USER[scale]
            # Logged in once per user: password hashing is not what is measured.
            sessions = {role: [_session(port, *PASSWORDS[role]) for _ in range(USERS)] for role in PASSWORDS}
            with ProcessPoolExecutor(USERS) as pool:
                _load(pool, port, "/health/", sessions["manager"], 2)  # warm-up
                baseline = _p95(_load(pool, port, "/health/", sessions["manager"], per_user))
                for name, role, path in PAGES:
                    path = path.format(territory=territory_id)
                    _load(pool, port, path, sessions[role], 1)  # warm-up: caches, connections
                    p95 = _p95(_load(pool, port, path, sessions[role], per_user))
                    print(f"[bench pages] {name}: p95 {p95:.0f} ms", file=sys.stderr, flush=True)
                    rows.append(
                        result_row(
                            name=f"page p95: {name}",
                            dataset=f"{dataset}, load {os.getloadavg()[0]:.1f}",
                            value=p95,
                            unit="ms",
                            goal=f"<= {GOAL_MS:.0f} ms",
                            ok=p95 <= GOAL_MS,
                            baseline=baseline,
                        )
                    )
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
            shutil.rmtree(static_root, ignore_errors=True)
    return rows
