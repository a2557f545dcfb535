"""Rewrite a big table by building its new content aside and swapping it in, inside the caller's transaction.

Readers keep reading the table, unblocked, while the copy is filled (table_copy_create, then the caller's
INSERT … SELECT) and indexed (table_copy_build); they wait only from the swap (table_copies_swap: drop +
renames, milliseconds) until the transaction commits, then see the new content. Writers must
be held off by the caller (LOCK TABLE … IN EXCLUSIVE MODE) before it reads the rows it copies: a row
written to the old table afterwards would be dropped with it.

The copy gets everything the table had: its owner and grants, columns, defaults and comments, check
constraints, the primary key and
indexes (built once, sorted, after the rows are in, under their own names after the swap), triggers
(statement triggers without transition tables from the start, so they fire for the load as they would have
for the table's own writes; those with transition tables after it: they would see every row), and the
identity column, whose sequence continues where the table's stopped. A table that a view or a foreign key
depends on, or that a publication replicates, cannot be swapped (dropping it would drop them): refused
before any work. The swap's DROP waits for any query still reading the table (and new readers queue behind
it): a reader of several seconds delays the commit by as much.
"""

import logging
import re
import time
from dataclasses import dataclass, field

import psycopg2.errors
from django.db import OperationalError, transaction

logger = logging.getLogger(__name__)

_COPY_SUFFIX = "__swap"
_MAX_IDENTIFIER = 63

# The table's primary key and indexes (a unique constraint would need its own branch: none of the swapped
# tables has one, and the swap refuses rather than drop it silently).
_INDEXES_SQL = """
    SELECT c.contype::text, i.relname, CASE WHEN c.contype IS NULL THEN pg_get_indexdef(x.indexrelid)
                                       ELSE pg_get_constraintdef(c.oid) END
    FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
    LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid
    WHERE x.indrelid = %(table)s::regclass
    ORDER BY c.contype IS NULL, i.relname"""

_DEPENDENTS_SQL = """
    SELECT v.ev_class::regclass::text FROM pg_depend d JOIN pg_rewrite v ON v.oid = d.objid
    WHERE d.refobjid = %(table)s::regclass AND d.classid = 'pg_rewrite'::regclass AND v.ev_class <> d.refobjid
    UNION
    SELECT conname FROM pg_constraint WHERE confrelid = %(table)s::regclass
    UNION
    SELECT conname FROM pg_constraint WHERE conrelid = %(table)s::regclass AND contype NOT IN ('p', 'c', 'n')
    UNION
    SELECT 'publication ' || p.pubname FROM pg_publication_rel r JOIN pg_publication p ON p.oid = r.prpubid
    WHERE r.prrelid = %(table)s::regclass"""

# Who may do what with the table besides its owner (a read-only reporting role, say): granted on the copy.
_GRANTS_SQL = """
    SELECT quote_ident(pg_get_userbyid(c.relowner)), g.privilege_type,
           CASE g.grantee WHEN 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(g.grantee)) END, g.is_grantable
    FROM pg_class c LEFT JOIN LATERAL aclexplode(c.relacl) g ON g.grantee <> c.relowner
    WHERE c.oid = %(table)s::regclass"""


@dataclass
class TableCopy:
    table: str
    copy: str
    identity: tuple[str, str, str] | None  # (column, 'a' always / 'd' by default, the table's sequence)
    indexes: list[tuple[str | None, str, str]]  # (constraint type or None, name, definition)
    late_triggers: list[str] = field(default_factory=list)


def _swap_name(name: str) -> str:
    swapped = name + _COPY_SUFFIX
    if len(swapped) > _MAX_IDENTIFIER:
        raise ValueError(f"{name!r} is too long to be swapped ({len(swapped)} > {_MAX_IDENTIFIER} characters).")
    return swapped


def _on_copy(definition: str, table: str, copy: str) -> str:
    """A trigger or index definition of the table, made for the copy."""
    return re.sub(rf" ON (?:public\.)?{re.escape(table)}\b", f" ON {copy}", definition, count=1)


def table_copy_create(cursor, *, table: str) -> TableCopy:
    """An empty copy of table to fill with INSERT … SELECT: its owner and grants, columns (the identity
    column defaulting to the table's sequence), defaults, comments, check constraints and its triggers
    without transition tables."""
    cursor.execute(_DEPENDENTS_SQL, {"table": table})
    dependents = [row[0] for row in cursor.fetchall()]
    if dependents:
        raise ValueError(f"{table} cannot be swapped: {', '.join(sorted(dependents))} depend on it.")
    cursor.execute(_INDEXES_SQL, {"table": table})
    indexes = cursor.fetchall()
    if any(kind not in (None, "p") for kind, _name, _definition in indexes):
        raise ValueError(f"{table} cannot be swapped: only a primary key and plain indexes are rebuilt.")
    for _kind, name, _definition in indexes:
        _swap_name(name)  # fail before any work, not after the load
    copy = _swap_name(table)
    cursor.execute(
        f"DROP TABLE IF EXISTS {copy};"
        f"CREATE TABLE {copy} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE"
        " INCLUDING COMMENTS)"
    )
    cursor.execute(_GRANTS_SQL, {"table": table})
    grants = cursor.fetchall()
    owner = grants[0][0]
    cursor.execute("SELECT %s <> quote_ident(current_user)", [owner])
    if cursor.fetchone()[0]:
        cursor.execute(f"ALTER TABLE {copy} OWNER TO {owner}")
    for _owner, privilege, grantee, grantable in grants:
        if privilege:
            cursor.execute(f"GRANT {privilege} ON {copy} TO {grantee}{' WITH GRANT OPTION' if grantable else ''}")
    cursor.execute(
        "SELECT attname, attidentity, pg_get_serial_sequence(%(table)s, attname) FROM pg_attribute"
        " WHERE attrelid = %(table)s::regclass AND attidentity <> ''",
        {"table": table},
    )
    identity = cursor.fetchone()
    if identity:
        column, _kind, sequence = identity
        cursor.execute(f"ALTER TABLE {copy} ALTER COLUMN {column} SET DEFAULT nextval(%s::regclass)", [sequence])
    cursor.execute(
        "SELECT pg_get_triggerdef(oid), tgoldtable IS NOT NULL OR tgnewtable IS NOT NULL,"
        " CASE tgenabled WHEN 'D' THEN 'DISABLE' WHEN 'R' THEN 'ENABLE REPLICA' WHEN 'A' THEN 'ENABLE ALWAYS' END"
        " || ' TRIGGER ' || quote_ident(tgname)"
        " FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal ORDER BY tgname",
        [table],
    )
    late = []
    for definition, has_transition_tables, firing in cursor.fetchall():
        # As it fires on the table: disabled, on replicas only or always (the default needs nothing).
        statements = [_on_copy(definition, table, copy), *([f"ALTER TABLE {copy} {firing}"] if firing else [])]
        if has_transition_tables:
            late.extend(statements)
        else:
            for statement in statements:
                cursor.execute(statement)
    return TableCopy(table=table, copy=copy, identity=identity, indexes=indexes, late_triggers=late)


def table_copy_build(cursor, copy: TableCopy) -> None:
    """Index the filled copy and give it the remaining triggers, the identity (continuing the table's
    sequence) and statistics; the table itself is untouched until table_copies_swap."""
    # Sorted builds in memory, with the parallel workers the server allows.
    cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
    for kind, name, definition in copy.indexes:
        if kind == "p":
            cursor.execute(f"ALTER TABLE {copy.copy} ADD CONSTRAINT {_swap_name(name)} {definition}")
        else:
            definition = definition.replace(f"INDEX {name} ON", f"INDEX {_swap_name(name)} ON", 1)
            cursor.execute(_on_copy(definition, copy.table, copy.copy))
    for definition in copy.late_triggers:
        cursor.execute(definition)
    if copy.identity:
        column, kind, sequence = copy.identity
        # The new identity continues the table's sequence, with the same cache size.
        cursor.execute(
            "SELECT nextval(%s::regclass), seqcache FROM pg_sequence WHERE seqrelid = %s::regclass",
            [sequence, sequence],
        )
        start, cache = cursor.fetchone()
        generated = "ALWAYS" if kind == "a" else "BY DEFAULT"
        cursor.execute(f"ALTER TABLE {copy.copy} ALTER COLUMN {column} DROP DEFAULT")
        cursor.execute(
            f"ALTER TABLE {copy.copy} ALTER COLUMN {column} ADD GENERATED {generated} AS IDENTITY"
            f" (START WITH {int(start)} CACHE {int(cache)})"
        )
    cursor.execute(f"ANALYZE {copy.copy}")


# A swap's ACCESS EXCLUSIVE request that waits for a long reader (a report, a KPI recompute) queues every new
# reader behind it: each attempt gives way after this long, lets the queue drain, and tries again.
SWAP_LOCK_TIMEOUT_MS = 1000
SWAP_LOCK_ATTEMPTS = 300  # then it waits as long as it takes


def locks_take_giving_way(cursor, tables: list[str]) -> None:
    """ACCESS EXCLUSIVE locks on these tables, for the caller's DDL swap: one attempt of
    SWAP_LOCK_TIMEOUT_MS at a time, in a savepoint, so that a long reader delays the swap, not every page."""
    statement = f"LOCK TABLE {', '.join(tables)} IN ACCESS EXCLUSIVE MODE"
    cursor.execute("SELECT current_setting('lock_timeout')")
    caller_timeout = cursor.fetchone()[0]
    for _attempt in range(SWAP_LOCK_ATTEMPTS):
        try:
            with transaction.atomic():  # a savepoint: an attempt that gives way rolls back alone
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", [str(SWAP_LOCK_TIMEOUT_MS)])
                cursor.execute(statement)
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [caller_timeout])
            return
        except OperationalError as error:
            if not isinstance(error.__cause__, psycopg2.errors.LockNotAvailable):
                raise
            time.sleep(0.05)
    logger.warning("swapping %s: still waiting for readers after %s attempts", ", ".join(tables), SWAP_LOCK_ATTEMPTS)
    cursor.execute(statement)


def table_copies_swap(cursor, copies: list[TableCopy]) -> None:
    """Put each built copy in its table's place under the table's names (its indexes', key's and identity
    sequence's too). The tables' locks are taken together first, giving way to long readers (see above).
    From here to the commit readers of the tables wait: call it last."""
    if copies:
        locks_take_giving_way(cursor, [copy.table for copy in copies])
    for copy in copies:
        _swap(cursor, copy)


def _swap(cursor, copy: TableCopy) -> None:
    if copy.identity:
        column, _kind, sequence = copy.identity
        cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [copy.copy, column])
        copy_sequence = cursor.fetchone()[0]
    cursor.execute(f"DROP TABLE {copy.table}; ALTER TABLE {copy.copy} RENAME TO {copy.table}")
    if copy.identity:
        cursor.execute(f"ALTER SEQUENCE {copy_sequence} RENAME TO {sequence.split('.')[-1]}")
    for kind, name, _definition in copy.indexes:
        if kind == "p":
            cursor.execute(f"ALTER TABLE {copy.table} RENAME CONSTRAINT {_swap_name(name)} TO {name}")
        else:
            cursor.execute(f"ALTER INDEX {_swap_name(name)} RENAME TO {name}")
