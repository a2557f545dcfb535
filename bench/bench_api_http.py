"""The REST API over HTTP: gunicorn (DEBUG off, config/gunicorn_conf.py) on the seeded demo dataset, 20 clients.

- list pages of 100 (deals, accounts; deals also as a rep, whose scoping is an EXISTS per row; first
  pages are served from the list cache, so the deal list's later pages, read through their cursor links
  and never cached, are measured too) and a deal detail: p95 latency and requests/s over a fixed
  duration, 20 concurrent clients in a closed loop (wrk's connections, bench/http_load.py, or 20 Python
  processes each on one connection when wrk is missing). Baseline: the same clients against /health/ (one
  SELECT 1): what the stack itself costs here.
- export of every account (100,000 rows at full scale) as CSV. Baseline: a bare COPY of the same table.
- bulk upsert of 10,000 deals (of 1,000 accounts) in one request (new, then all amounts changed), as in
  production: the request queues the moved accounts and dirty rollups in its transaction and a real Celery
  worker (Redis database 15) does the reassignment and the recompute after it; the time until the queues
  are empty again is reported beside the request ("settled"). Without Redis, tasks run eagerly inside the
  request and the figure says so. Baseline: a bare multi-row INSERT of the same rows into a scratch copy
  of the deals table.

The machine is shared: the load average before and after is printed and put into the dataset column.
"""

import http.client
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from io import BytesIO

from bench.common import ROOT, bench_database, connect, database_settle, manage, result_row
from bench.http_load import wrk_available, wrk_load
from config.gunicorn_conf import layout as gunicorn_layout

SIZES = {"full": (100_000, 1_000_000), "small": (5_000, 50_000)}
DURATION_SECONDS = {"full": 15.0, "small": 5.0}
BULK_ROWS = {"full": 10_000, "small": 2_000}
# Distinct accounts the bulk deals belong to: the engine hook reassigns each of them inside the request.
BULK_ACCOUNTS = {"full": 1_000, "small": 200}
CLIENTS = 20
# The load generator: wrk when installed (`make bench` installs Debian's package when it can), else 20
# Python client processes; BENCH_CLIENT=python picks those. The dataset column names the one used.
CLIENT = os.environ.get("BENCH_CLIENT") or ("wrk" if wrk_available() else "python")
# The deployed layout (config/gunicorn_conf.py); BENCH_WORKERS / BENCH_THREADS try others.
GUNICORN_LAYOUT = {
    "WEB_CONCURRENCY": os.environ.get("BENCH_WORKERS", ""),
    "GUNICORN_THREADS": os.environ.get("BENCH_THREADS", ""),
}
WORKERS, THREADS = gunicorn_layout(GUNICORN_LAYOUT)
LIST_P95_GOAL_MS = 100.0
LIST_RPS_GOAL = 200.0
DETAIL_P95_GOAL_MS = 50.0
BULK_GOAL_SECONDS = 3.0
EXPORT_GOAL_SECONDS = 2.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


BENCH_REDIS_URL = "redis://127.0.0.1:6379/15"


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def _server_env(url: str, redis_url: str | None) -> dict:
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(40),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        API_THROTTLE_RATE="100000000/min",  # measure the API, not the throttle
        LOG_LEVEL="WARNING",
    )
    return env


def _worker_start(url: str, redis_url: str) -> subprocess.Popen:
    import redis

    redis.Redis.from_url(redis_url).flushdb()  # no messages left from an earlier run
    celery = os.path.join(os.path.dirname(sys.executable), "celery")
    command = [celery, "-A", "config", "worker", "--concurrency", "1", "--loglevel", "WARNING", "--pool", "solo"]
    return subprocess.Popen(command, cwd=ROOT, env=_server_env(url, redis_url))


def _settled_seconds(url: str, began: float, timeout: float = 900) -> float:
    """Seconds from began until the reassignment queue and the dirty rollups are both empty."""
    with connect(url) as connection:
        connection.autocommit = True
        with connection.cursor() as cursor:
            while time.perf_counter() - began < timeout:
                cursor.execute(
                    "SELECT EXISTS (SELECT 1 FROM territories_reassignpending)"
                    " OR EXISTS (SELECT 1 FROM kpis_rollupdirty)"
                )
                if not cursor.fetchone()[0]:
                    return time.perf_counter() - began
                time.sleep(0.05)
    raise RuntimeError("the worker did not empty the queues in time")


def _gunicorn_start(url: str, port: int, redis_url: str | None) -> subprocess.Popen:
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    command = [
        gunicorn,
        "-c",
        "config/gunicorn_conf.py",
        "--bind",
        f"127.0.0.1:{port}",
        "--timeout",
        "1800",
        "--log-level",
        "warning",
    ]
    env = {**_server_env(url, redis_url), **{k: v for k, v in GUNICORN_LAYOUT.items() if v}}
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/health/")
            if connection.getresponse().status == 200:
                connection.close()
                return server
        except OSError:
            time.sleep(0.3)
    server.terminate()
    raise RuntimeError("gunicorn did not answer /health/ within 60 s")


def _token(url: str, username: str, scope: str = "read") -> str:
    return manage(url, "create_api_token", username, "--scope", scope).stdout.strip().splitlines()[-1]


def _client_loop(port: int, token: str, paths: list[str], seconds: float, seed: int) -> tuple[list[float], int]:
    """One client: sequential requests on one keep-alive connection until the time is up."""
    chooser = random.Random(seed)
    headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    latencies, errors = [], 0
    stop = time.perf_counter() + seconds
    while time.perf_counter() < stop:
        begin = time.perf_counter()
        connection.request("GET", chooser.choice(paths), headers=headers)
        response = connection.getresponse()
        response.read()
        latencies.append(time.perf_counter() - begin)
        if response.status != 200:
            errors += 1
    connection.close()
    return latencies, errors


def _load(port: int, token: str, paths: list[str], seconds: float) -> dict:
    if CLIENT == "wrk":
        headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
        wrk_load(port, headers, paths, 1, CLIENTS)  # warm every worker's code path first (not measured)
        return wrk_load(port, headers, paths, seconds, CLIENTS)
    return _python_load(port, token, paths, seconds)


def _python_load(port: int, token: str, paths: list[str], seconds: float) -> dict:
    with ProcessPoolExecutor(max_workers=CLIENTS) as pool:
        # Warm every worker's connection and code path first (not measured).
        list(pool.map(_client_loop, *zip(*[(port, token, paths, 0.3, n) for n in range(CLIENTS)], strict=True)))
        began = time.perf_counter()
        results = list(
            pool.map(_client_loop, *zip(*[(port, token, paths, seconds, n) for n in range(CLIENTS)], strict=True))
        )
        elapsed = time.perf_counter() - began
    latencies = sorted(latency for result, _ in results for latency in result)
    errors = sum(errors for _, errors in results)
    if errors:
        raise RuntimeError(f"{errors} of {len(latencies)} requests to {paths[0]} did not answer 200")
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p95_ms": statistics.quantiles(latencies, n=20)[-1] * 1000,
        "median_ms": statistics.median(latencies) * 1000,
    }


def _later_pages(port: int, token: str, pages: int = 20) -> list[str]:
    """Paths of the deal list's pages 2 … pages+1 (cursor links), found by walking the list once."""
    paths, path = [], "/api/v1/deals/?page_size=100"
    for _ in range(pages):
        _, status, content = _request(port, token, "GET", path)
        if status != 200:
            raise RuntimeError(f"{path}: {status} {content[:300]!r}")
        link = json.loads(content)["next"]
        path = link[link.index("/api/") :]
        paths.append(path)
    return paths


def _request(port: int, token: str, method: str, path: str, body: bytes | None = None) -> tuple[float, int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1800)
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    begin = time.perf_counter()
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    content = response.read()
    seconds = time.perf_counter() - begin
    connection.close()
    return seconds, response.status, content


def _copy_seconds(url: str) -> float:
    with connect(url) as connection, connection.cursor() as cursor:
        begin = time.perf_counter()
        cursor.copy_expert(
            "COPY (SELECT * FROM accounts_account ORDER BY id DESC) TO STDOUT WITH (FORMAT csv)", BytesIO()
        )
        return time.perf_counter() - begin


def _insert_baseline_seconds(url: str, rows: list[tuple]) -> float:
    from psycopg2.extras import execute_values

    with connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE bench_deal_copy (LIKE accounts_deal INCLUDING ALL)")
        begin = time.perf_counter()
        execute_values(
            cursor,
            "INSERT INTO bench_deal_copy (external_id, name, account_id, amount, stage, probability, created_on,"
            " created_at, updated_at) VALUES %s",
            rows,
            template="(%s, %s, %s, %s, %s, %s, %s, now(), now())",
            page_size=len(rows),
        )
        seconds = time.perf_counter() - begin
        connection.rollback()
    return seconds


def _sample(url: str, bulk_rows: int) -> dict:
    with connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT id FROM accounts_deal TABLESAMPLE SYSTEM (1) LIMIT 2000")
        deal_ids = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT id, external_id FROM accounts_account ORDER BY id LIMIT %s", [bulk_rows])
        accounts = cursor.fetchall()
        cursor.execute("SELECT count(*) FROM accounts_account")
        account_count = cursor.fetchone()[0]
    return {"deal_ids": deal_ids, "accounts": accounts, "account_count": account_count}


def _bulk_payload(accounts: list[tuple], rows: int, amount_offset: int) -> bytes:
    return json.dumps(
        [
            {
                "external_id": f"BENCH-HTTP-{n}",
                "name": f"Bench deal {n}",
                "account_external_id": accounts[n % len(accounts)][1],
                "amount": f"{1000 + n + amount_offset}.00",
                "stage": "proposal",
                "probability": 50,
                "created_on": "2025-01-05",
            }
            for n in range(rows)
        ]
    ).encode()


def _measure(url: str, scale: str) -> dict:
    bulk_rows = BULK_ROWS[scale]
    seconds = DURATION_SECONDS[scale]
    sample = _sample(url, BULK_ACCOUNTS[scale])
    manager = _token(url, "manager")
    rep = _token(url, "rep1")
    integration = _token(url, "integration", scope="read-write")
    port = _free_port()
    redis_url = BENCH_REDIS_URL if _redis_up() else None
    server = _gunicorn_start(url, port, redis_url)
    worker = _worker_start(url, redis_url) if redis_url else None
    figures: dict = {
        "load_before": os.getloadavg()[0],
        "account_count": sample["account_count"],
        "worker": worker is not None,
    }
    try:
        figures["health"] = _load(port, manager, ["/health/"], seconds)
        figures["deal_list"] = _load(port, manager, ["/api/v1/deals/?page_size=100"], seconds)
        figures["account_list"] = _load(port, manager, ["/api/v1/accounts/?page_size=100"], seconds)
        figures["rep_deal_list"] = _load(port, rep, ["/api/v1/deals/?page_size=100"], seconds)
        # First pages are cached under the data version (what pollers re-read); a sync walks later pages
        # once each, never cached: measured too, on pages a few steps in.
        figures["deal_list_later"] = _load(port, manager, _later_pages(port, manager), seconds)
        detail_paths = [f"/api/v1/deals/{deal_id}/" for deal_id in sample["deal_ids"]]
        figures["deal_detail"] = _load(port, manager, detail_paths, seconds)

        _request(port, manager, "GET", "/api/v1/accounts/export/?format=csv&search=warm-up-only")
        export_seconds, status, content = _request(port, manager, "GET", "/api/v1/accounts/export/?format=csv")
        if status != 200:
            raise RuntimeError(f"export failed: {status} {content[:300]!r}")
        figures["export_seconds"] = export_seconds
        figures["export_rows"] = content.count(b"\n") - 1
        figures["copy_seconds"] = _copy_seconds(url)

        for key, offset in (("bulk_new_seconds", 0), ("bulk_changed_seconds", 7)):
            payload = _bulk_payload(sample["accounts"], bulk_rows, offset)
            began = time.perf_counter()
            bulk_seconds, status, content = _request(port, integration, "POST", "/api/v1/deals/bulk/", payload)
            if status != 200:
                raise RuntimeError(f"bulk upsert failed: {status} {content[:500]!r}")
            figures[key] = bulk_seconds
            figures[key.replace("_seconds", "_settled_seconds")] = _settled_seconds(url, began)
        baseline_rows = [
            (f"BASE-{n}", f"Bench deal {n}", sample["accounts"][n % len(sample["accounts"])][0], 1000 + n,
             "proposal", 50, "2025-01-05")
            for n in range(bulk_rows)
        ]  # fmt: skip
        figures["insert_baseline_seconds"] = _insert_baseline_seconds(url, baseline_rows)
    finally:
        for process in (server, worker):
            if process is not None:
                process.terminate()
                process.wait(timeout=60)
    figures["load_after"] = os.getloadavg()[0]
    print(json.dumps(figures, indent=1), file=sys.stderr)
    return figures


def run(scale: str) -> list[dict]:
    accounts, deals = SIZES[scale]
    with bench_database(f"api_http_{scale}") as url:
        manage(url, "seed_demo", "--accounts", str(accounts), "--deals", str(deals), timeout=7200)
        database_settle(url)
        figures = _measure(url, scale)
    load = f"load {figures['load_before']:.1f}→{figures['load_after']:.1f}"
    dataset = f"{deals:,} deals, {CLIENTS} clients ({CLIENT}), gunicorn {WORKERS}×{THREADS} threads, {load}"
    health = figures["health"]
    rows = []
    for key, label in (
        ("deal_list", "deal list page of 100"),
        ("account_list", "account list page of 100"),
        ("rep_deal_list", "deal list page of 100, as a rep"),
        ("deal_list_later", "deal list, later pages of 100 (cursor, not cached)"),
    ):
        measured = figures[key]
        rows.append(
            result_row(
                name=f"{label}, p95",
                dataset=dataset,
                value=measured["p95_ms"],
                unit="ms",
                goal=f"<= {LIST_P95_GOAL_MS:g} ms",
                baseline=health["p95_ms"],
                ok=measured["p95_ms"] <= LIST_P95_GOAL_MS,
            )
        )
        rows.append(
            result_row(
                name=f"{label}, throughput",
                dataset=dataset,
                value=measured["rps"],
                unit="req/s",
                goal=f">= {LIST_RPS_GOAL:g} req/s",
                baseline=health["rps"],
                ok=measured["rps"] >= LIST_RPS_GOAL,
            )
        )
    detail = figures["deal_detail"]
    rows.append(
        result_row(
            name="deal detail, p95",
            dataset=dataset,
            value=detail["p95_ms"],
            unit="ms",
            goal=f"<= {DETAIL_P95_GOAL_MS:g} ms",
            baseline=health["p95_ms"],
            ok=detail["p95_ms"] <= DETAIL_P95_GOAL_MS,
        )
    )
    rows.append(
        result_row(
            name="/health/ (baseline), throughput",
            dataset=dataset,
            value=health["rps"],
            unit="req/s",
            goal="– (baseline)",
            ok=True,
        )
    )
    rows.append(
        result_row(
            name="account export, CSV",
            dataset=f"{figures['export_rows']:,} rows, {load}",
            value=figures["export_seconds"],
            unit="s",
            goal=f"<= {EXPORT_GOAL_SECONDS:g} s",
            baseline=figures["copy_seconds"],
            ok=figures["export_seconds"] <= EXPORT_GOAL_SECONDS and figures["export_rows"] == figures["account_count"],
        )
    )
    bulk_rows = BULK_ROWS[scale]
    mode = "worker" if figures["worker"] else "eager, in the request"
    for key, label in (("bulk_new_seconds", "new"), ("bulk_changed_seconds", "all amounts changed")):
        settled = figures[key.replace("_seconds", "_settled_seconds")]
        rows.append(
            result_row(
                name=f"deal bulk upsert over HTTP, {label}",
                dataset=f"{bulk_rows:,} deals of {BULK_ACCOUNTS[scale]:,} accounts in one request, tasks {mode},"
                f" settled after {settled:.1f} s, {load}",
                value=figures[key],
                unit="s",
                goal=f"<= {BULK_GOAL_SECONDS:g} s",
                baseline=figures["insert_baseline_seconds"],
                ok=figures[key] <= BULK_GOAL_SECONDS,
            )
        )
    return rows


if __name__ == "__main__":
    from bench.run import main

    sys.exit(main(["--only", "api_http", *sys.argv[1:]]))
