import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings

from core import roles
from tests import factories

ROOT = Path(__file__).resolve().parent.parent


def reference_data_ensure() -> None:
    """Rows the data migrations create (role groups, the KPI catalogue).

    Transactional tests (live server, real worker) flush every table when they end, and --reuse-db
    keeps the flushed database for the next run, so these are put back before the tests need them.
    """
    from core.services import role_groups_ensure
    from kpis.services import kpi_catalogue_sync

    role_groups_ensure()
    kpi_catalogue_sync()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        reference_data_ensure()


@pytest.fixture(autouse=True)
def _reference_data_after_flush(request):
    """Transactional tests start from a flushed database: restore the reference rows first."""
    marker = request.node.get_closest_marker("django_db")
    transactional = (marker is not None and marker.kwargs.get("transaction")) or any(
        name in request.fixturenames for name in ("transactional_db", "live_server")
    )
    if transactional:
        request.getfixturevalue("transactional_db")
        reference_data_ensure()


@pytest.fixture(scope="session", autouse=True)
def _live_server_without_nagle():
    """The live server answers each request in several small writes; with Nagle's algorithm on, the
    client's delayed ACK stalls every response by about 40 ms (schemathesis: 2,500 requests, 150 s)."""
    from django.core.servers.basehttp import WSGIRequestHandler

    WSGIRequestHandler.disable_nagle_algorithm = True
    yield


@pytest.fixture(autouse=True)
def _cache_cleared():
    """Each test starts with an empty cache: the change log's version restarts when a test rolls back."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def admin_user_(db):
    return factories.make_user(roles.ADMIN, is_staff=True, is_superuser=True)


@pytest.fixture
def manager_user(db):
    return factories.make_user(roles.SALES_MANAGER, is_staff=True)


@pytest.fixture
def rep_user(db):
    return factories.make_rep().user


@pytest.fixture
def other_rep_user(db):
    return factories.make_rep().user


def database_url_for_current_connection() -> str:
    """A DATABASE_URL for the database the tests are using (the test database)."""
    from django.db import connection

    params = connection.settings_dict
    host = params["HOST"] or "127.0.0.1"
    host_part = quote(host, safe="") if host.startswith("/") else host
    port = f":{params['PORT']}" if params.get("PORT") else ""
    password = f":{quote(params['PASSWORD'])}" if params.get("PASSWORD") else ""
    return f"postgres://{params['USER']}{password}@{host_part}{port}/{params['NAME']}"


@pytest.fixture
def celery_worker_process(transactional_db):
    """A real `celery worker` subprocess on REDIS_URL, reading the test database.

    Skipped (with the reason printed) only where REDIS_URL is unset; CI always sets it.
    """
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        pytest.skip("REDIS_URL is not set: no Redis to run a real Celery worker against")
    from config.celery import app

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "1",
        "DATABASE_URL": database_url_for_current_connection(),
        "REDIS_URL": redis_url,
    }
    app.conf.broker_url = redis_url
    app.conf.result_backend = redis_url
    app.conf.task_always_eager = False
    app.control.purge()
    hostname = f"test-{os.getpid()}@%h"
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--loglevel=WARNING", "-n", hostname],
        cwd=ROOT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"celery worker exited early with code {process.returncode}")
            replies = app.control.ping(timeout=0.5)
            if any(name.startswith(f"test-{os.getpid()}@") for reply in replies for name in reply):
                break
        else:
            pytest.fail("celery worker did not answer a ping within 60 s")
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        app.conf.task_always_eager = settings.CELERY_TASK_ALWAYS_EAGER
