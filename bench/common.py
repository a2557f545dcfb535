"""Shared helpers for benchmarks: a throwaway database per benchmark, manage.py against it, timing, rows.

Each benchmark works in its own database (BENCH_DATABASE_URL, else tm_bench_<name> on the server of
DATABASE_URL, else on 127.0.0.1:5432, else on the embedded server under .pgdata/), so it never touches
the app's data.
"""

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, urlparse, urlunparse

import psycopg2
from psycopg2 import sql

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SERVER_URL = "postgres://postgres@127.0.0.1:5432/postgres"
SCALES = ("full", "small")


def bench_database_url(name: str) -> str:
    explicit = os.environ.get("BENCH_DATABASE_URL")
    if explicit:
        return explicit
    server = os.environ.get("DATABASE_URL") or (DEFAULT_SERVER_URL if _default_server_up() else _embedded_server_url())
    return urlunparse(urlparse(server)._replace(path=f"/tm_bench_{name}"))


def _default_server_up() -> bool:
    parsed = urlparse(DEFAULT_SERVER_URL)
    try:
        with socket.create_connection((parsed.hostname, parsed.port), timeout=1):
            return True
    except OSError:
        return False


def _embedded_server_url() -> str:
    """The embedded server `make run` uses (started if need be), for machines without a PostgreSQL service."""
    from config.embedded_db import embedded_database_settings

    settings = embedded_database_settings(ROOT / ".pgdata")
    return f"postgres://{settings['USER']}@{quote(settings['HOST'], safe='')}/postgres"


def _maintenance_url(url: str) -> tuple[str, str]:
    parsed = urlparse(url)
    return urlunparse(parsed._replace(path="/postgres")), parsed.path.lstrip("/")


def database_recreate(url: str) -> None:
    """Drop (if there) and create the database named in url."""
    maintenance, name = _maintenance_url(url)
    connection = psycopg2.connect(maintenance)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        connection.close()


def database_drop(url: str) -> None:
    maintenance, name = _maintenance_url(url)
    connection = psycopg2.connect(maintenance)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    finally:
        connection.close()


@contextmanager
def bench_database(name: str, *, migrate: bool = True, keep: bool = False):
    """A fresh, migrated database for one benchmark; dropped afterwards unless keep (or BENCH_KEEP=1)."""
    url = bench_database_url(name)
    database_recreate(url)
    try:
        if migrate:
            manage(url, "migrate", "--noinput")
        yield url
    finally:
        if not (keep or os.environ.get("BENCH_KEEP") == "1"):
            database_drop(url)


def manage(url: str, *args: str, timeout: float = 3600) -> subprocess.CompletedProcess:
    """Run `python manage.py ARGS` against the database at url; raise with its output when it fails."""
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("REDIS_URL", None)  # tasks run eagerly in-process: a benchmark measures the work, not a queue
    completed = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    if completed.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{completed.stdout}\n{completed.stderr}")
    return completed


def worker_figures(url: str, module: str, *args: str, extra_env: dict | None = None, timeout: float = 3600) -> dict:
    """Run `python -m MODULE worker ARGS` (a benchmark's measuring half, in its own process, tasks eager)
    against the database at url; returns the JSON figures it prints last."""
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("REDIS_URL", None)
    for key, value in (extra_env or {}).items():
        env.setdefault(key, value)
    completed = subprocess.run(
        [sys.executable, "-m", module, "worker", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    if completed.returncode != 0:
        raise RuntimeError(f"{module} worker failed:\n{completed.stdout}\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def connect(url: str):
    """A psycopg2 connection to url (the caller closes it)."""
    return psycopg2.connect(url)


def database_settle(url: str) -> None:
    """What autovacuum and the checkpointer do soon after a bulk load (statistics, hint bits, the visibility
    map, dirty pages written), done before measuring instead of during it: right after the API benchmark's
    seed they ran through the measurements (/health/ 815 instead of 1,400–1,900 req/s)."""
    connection = connect(url)  # not `with`: that opens a transaction, and VACUUM runs outside one
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
            cursor.execute("CHECKPOINT")
    finally:
        connection.close()


def timed(function: Callable, *args, **kwargs) -> tuple[float, object]:
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - started, result


def result_row(
    *, name: str, dataset: str, value: float, unit: str, goal: str, ok: bool, baseline: float | None = None
) -> dict:
    ratio = value / baseline if baseline else None
    return {
        "name": name,
        "dataset": dataset,
        "value": value,
        "unit": unit,
        "goal": goal,
        "baseline": baseline,
        "ratio": ratio,
        "ok": ok,
    }


@contextmanager
def statements_timed(top: int = 25):
    """Time every statement the default connection runs inside the block; on leaving, print the total and
    the `top` slowest (the profile tools: bench/profile_kpis.py, bench/profile_assignment.py)."""
    from django.db import connection

    timings: list[tuple[float, str]] = []

    def timed(execute, statement, params, many, context):
        started = time.perf_counter()
        try:
            return execute(statement, params, many, context)
        finally:
            timings.append((time.perf_counter() - started, " ".join(statement.split())[:110]))

    started = time.perf_counter()
    with connection.execute_wrapper(timed):
        yield
    print(f"{time.perf_counter() - started:.2f} s, {len(timings)} statements; the {top} slowest:")
    for seconds, statement in sorted(timings, reverse=True)[:top]:
        print(f"{seconds:7.3f} s  {statement}")
