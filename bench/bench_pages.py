"""Pages under concurrent load: p95 server response time of the main pages, 20 concurrent users, gunicorn.

The dataset is seed_demo's (accounts, deals, its alignment), assigned and rolled up, plus extra leaf
territories so the territory count matches the goal's. Load comes from a thread pool of 20 users, each
with its own logged-in session, requesting the pages in turn (urllib; locust and wrk are not installed).
Baseline: the p95 of /health/ (one SELECT 1) under the same load, so the ratio is "cost of a page over a
trivial request" on this machine.
"""

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from bench.common import ROOT, bench_database, connect, manage, result_row

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


def _session(base: str, username: str, password: str) -> urllib.request.OpenerDirector:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token})
    request = urllib.request.Request(  # noqa: S310 (base is our own http://127.0.0.1 server)
        f"{base}/login/", data=data.encode(), headers={"Referer": f"{base}/login/"}
    )
    opener.open(request).read()
    if not any(cookie.name == "sessionid" for cookie in jar):
        raise RuntimeError(f"could not log in as {username}")
    return opener


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * 0.95 + 0.5) - 1)]


def _load(base: str, paths: list[str], sessions: list, per_user: int) -> list[float]:
    """One thread per session (USERS), each requesting every path per_user times."""
    samples: list[float] = []
    lock = threading.Lock()

    def user(opener):
        mine = []
        for _ in range(per_user):
            for path in paths:
                started = time.perf_counter()
                with opener.open(f"{base}{path}") as response:
                    response.read()
                    if response.status != 200:
                        raise RuntimeError(f"{path}: HTTP {response.status}")
                mine.append((time.perf_counter() - started) * 1000)
        with lock:
            samples.extend(mine)

    with ThreadPoolExecutor(USERS) as pool:
        list(pool.map(user, sessions))
    return samples


def _gunicorn(url: str, port: int) -> subprocess.Popen:
    # DEBUG=1: production settings force HTTPS and secure cookies, which a plain-HTTP load generator cannot
    # carry. DEBUG's own cost here is the per-request query log (a handful of queries per page).
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "1"}
    env.pop("REDIS_URL", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "4",
            "--threads",
            "4",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health/").read()
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
            cursor.execute("ANALYZE")
        connection.close()
        port = _free_port()
        server = _gunicorn(url, port)
        base = f"http://127.0.0.1:{port}"
        dataset = f"{deals:,} deals, {accounts:,} accounts, {territory_count:,} territories, {USERS} users"
        try:
            per_user = REQUESTS_PER_USER[scale]
            # Logged in once per user: password hashing is not what is measured.
            sessions = {role: [_session(base, *PASSWORDS[role]) for _ in range(USERS)] for role in PASSWORDS}
            _load(base, ["/health/"], sessions["manager"], 2)  # warm-up
            baseline = _p95(_load(base, ["/health/"], sessions["manager"], per_user))
            for name, role, path in PAGES:
                path = path.format(territory=territory_id)
                _load(base, [path], sessions[role], 1)  # warm-up: caches, connections
                p95 = _p95(_load(base, [path], sessions[role], per_user))
                print(f"[bench pages] {name}: p95 {p95:.0f} ms", file=sys.stderr, flush=True)
                rows.append(
                    result_row(
                        name=f"page p95: {name}",
                        dataset=dataset,
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
    return rows
