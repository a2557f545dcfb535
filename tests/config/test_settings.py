"""The settings read the environment: each case runs in a fresh interpreter with its own variables."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from django.db import connection

from tests.conftest import ROOT, database_url_for_current_connection

REPORT_SETTINGS = """
import json, django
django.setup()
from django.conf import settings
from django.db import connection
report = {
    "embedded": settings.DATABASE_IS_EMBEDDED,
    "host": settings.DATABASES["default"]["HOST"],
    "name": settings.DATABASES["default"]["NAME"],
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "broker": settings.CELERY_BROKER_URL,
    "backend": settings.CELERY_RESULT_BACKEND,
}
if QUERY:
    with connection.cursor() as cursor:
        cursor.execute("select version(), current_database()")
        report["version"], report["database"] = cursor.fetchone()
print(json.dumps(report))
"""

# Variables the settings read; every case starts without them so the outer environment cannot leak in.
# DJANGO_ALLOW_ASYNC_UNSAFE is set by the browser tests' conftest for this process only.
SETTINGS_VARIABLES = (
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "SECURE_SSL_REDIRECT",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "STATIC_ROOT",
)


def run_python(args: list[str], **variables: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in SETTINGS_VARIABLES}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", **variables)
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)


def settings_report(query: bool = False, **variables: str) -> dict:
    result = run_python(["-c", f"QUERY = {query}\n{REPORT_SETTINGS}"], **variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_it_starts_the_embedded_database_without_database_url():
    report = settings_report(query=True, DEBUG="1")
    assert report["embedded"] is True
    socket_dir = Path(report["host"]).resolve()
    pgdata = (ROOT / ".pgdata").resolve()
    assert socket_dir == pgdata or pgdata in socket_dir.parents
    assert list(socket_dir.glob(".s.PGSQL.*")), f"no PostgreSQL socket in {socket_dir}"
    assert report["version"].startswith("PostgreSQL ")
    assert report["database"] == report["name"]


def test_it_uses_database_url_when_set(db):
    url = database_url_for_current_connection()
    report = settings_report(query=True, DEBUG="1", DATABASE_URL=url)
    assert report["embedded"] is False
    # The URL points at whatever server the tests use: 127.0.0.1 in CI, the embedded server's socket elsewhere.
    assert report["host"] == (connection.settings_dict["HOST"] or "127.0.0.1")
    assert report["database"] == report["name"] == url.rsplit("/", 1)[1]


def test_it_parses_the_documented_database_url():
    report = settings_report(DEBUG="1", DATABASE_URL="postgres://postgres@127.0.0.1:5432/tm_h2")
    assert (report["embedded"], report["host"], report["name"]) == (False, "127.0.0.1", "tm_h2")


def test_it_refuses_a_database_url_that_is_not_postgresql():
    result = run_python(["-c", "import django; django.setup()"], DEBUG="1", DATABASE_URL="sqlite:///tmp/x.db")
    assert result.returncode != 0
    assert "PostgreSQL only" in result.stderr


def test_it_runs_tasks_eagerly_without_redis_url():
    report = settings_report(DEBUG="1", DATABASE_URL="postgres://postgres@127.0.0.1:5432/tm_h2")
    assert report["eager"] is True
    assert report["broker"] == "memory://"


def test_it_sends_tasks_to_redis_when_redis_url_is_set():
    redis_url = "redis://127.0.0.1:6379/2"
    report = settings_report(DEBUG="1", DATABASE_URL="postgres://postgres@127.0.0.1:5432/tm_h2", REDIS_URL=redis_url)
    assert report["eager"] is False
    assert report["broker"] == report["backend"] == redis_url


def test_it_requires_a_secret_key_when_debug_is_off():
    result = run_python(
        ["-c", "import django; django.setup()"], DEBUG="0", DATABASE_URL="postgres://postgres@127.0.0.1:5432/tm_h2"
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


def deploy_check() -> subprocess.CompletedProcess:
    return run_python(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(60),
        ALLOWED_HOSTS="territories.example.com",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/tm_h2",
    )


def test_it_passes_the_deploy_checks_when_configured_for_production():
    # All checks, not only Django's security ones: the API schema generator warns through them too.
    result = deploy_check()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_it_fails_the_security_deploy_checks_with_debug_on():
    result = run_python(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING", "--tag", "security"],
        DEBUG="1",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/tm_h2",
    )
    assert result.returncode != 0
    assert "security.W018" in result.stderr  # DEBUG must be off in deployment


def test_collectstatic_with_production_settings_then_a_page_is_served_with_hashed_assets(db, tmp_path):
    """Production serves static files from the manifest collectstatic writes; every vendored file must
    survive its post-processing (a dangling source-map reference used to abort it)."""
    production = {
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "ALLOWED_HOSTS": "testserver",
        "SECURE_SSL_REDIRECT": "0",
        "STATIC_ROOT": str(tmp_path / "static"),
        "DATABASE_URL": database_url_for_current_connection(),
    }
    collected = run_python(["manage.py", "collectstatic", "--noinput", "-v0"], **production)
    assert collected.returncode == 0, collected.stderr[-2000:]
    manifest = json.loads((tmp_path / "static" / "staticfiles.json").read_text())["paths"]
    assert {"vendor/chartjs/chart.umd.min.js", "vendor/leaflet/leaflet.js", "css/app.css"} <= set(manifest)
    page = run_python(
        [
            "-c",
            "import django; django.setup(); from django.test import Client; "
            "r = Client().get('/login/', secure=True); print(r.status_code); print(r.content.decode())",
        ],
        **production,
    )
    assert page.returncode == 0, page.stderr[-2000:]
    status, _, html = page.stdout.partition("\n")
    assert status == "200"
    assert f"/static/{manifest['vendor/bootstrap/bootstrap.min.css']}" in html
