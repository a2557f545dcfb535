"""Statements prepared once per database connection: for queries that run on every request, where
PostgreSQL's planning costs more than the execution."""

import weakref

from django.db import connection

_prepared = weakref.WeakKeyDictionary()  # DB-API connection -> names of the statements prepared on it


def prepared_execute(cursor, *, name: str, sql: str, types: str, params: list, generic: bool = False) -> None:
    """Execute sql (written with $1, $2 … placeholders of these types) as the prepared statement name,
    preparing it first on a connection that has not got it. With generic, the generic plan is forced for
    the statement's transaction (parameters that do not change the best plan)."""
    connection.ensure_connection()
    names = _prepared.setdefault(connection.connection, set())
    if name not in names:
        cursor.execute(f"PREPARE {name} ({types}) AS {sql}")
        names.add(name)
    placeholders = ", ".join(["%s"] * len(params))
    prefix = "SET LOCAL plan_cache_mode = force_generic_plan; " if generic else ""
    cursor.execute(f"{prefix}EXECUTE {name}({placeholders})", params)
