"""Cached page figures, invalidated by what changed (the log of migration core/0004).

`data_version()` is read BEFORE the figures: the figures are then at least as new as the version they are
cached under, so a cache entry can be fresher than its key but never older. Entries also expire after
FIGURES_CACHE_SECONDS, which bounds "computed 5 minutes ago" wording and any change written outside the
tracked tables.
"""

from collections.abc import Callable

from django.core.cache import cache
from django.db import connection, transaction

FIGURES_CACHE_SECONDS = 60
# Rows older than the newest are pruned (by the beat schedule); the epoch bump keeps keys unique.
_VERSION_SQL = "SELECT (SELECT epoch FROM core_datachangeepoch), count(*), max(id) FROM core_datachange"


def data_version() -> str:
    """A string that changes whenever a committed write touched a table the dashboards read."""
    with connection.cursor() as cursor:
        cursor.execute(_VERSION_SQL)
        epoch, count, newest = cursor.fetchone()
    return f"{epoch}.{count}.{newest or 0}"


def data_changed_mark() -> None:
    """For writes the triggers cannot see (a partition swapped in by DDL): log one change now."""
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO core_datachange DEFAULT VALUES")


def data_changes_prune() -> int:
    """Deletes all but the newest log row and bumps the epoch, atomically; returns the rows deleted."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE core_datachangeepoch SET epoch = epoch + 1")
        cursor.execute("DELETE FROM core_datachange WHERE id < (SELECT max(id) FROM core_datachange)")
        return cursor.rowcount


def cached_figures(*, key: str, build: Callable[[], object], version: str | None = None):
    """build()'s result, cached under key and the current data version."""
    full_key = f"figures:{key}:{version or data_version()}"
    value = cache.get(full_key)
    if value is None:
        value = build()
        cache.set(full_key, value, FIGURES_CACHE_SECONDS)
    return value
