"""Assignment runs, incremental reassignment, planning models and activation (state changes).

History rules (docs/ASSIGNMENT.md): only the active model writes AccountTerritoryMembership /
DealTerritoryMembership. A write compares the engine's answer with the current rows (valid_to IS NULL)
of the accounts in scope: unchanged rows are left alone, rows no longer true are closed at the
effective date (deleted when they started that same day), new rows open at the effective date — or at
EARLIEST_DATE when the account (deal) never had a membership, so a first alignment counts from the
beginning of the data. Other models write PlannedAccountTerritory / PlannedDealTerritory instead.
"""

import functools
import logging
from collections.abc import Callable
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, connections, transaction
from django.utils import timezone

from core.hooks import hook_call
from core.prepared import prepared_execute
from core.table_swap import TableCopy, table_copies_swap, table_copy_build, table_copy_create
from territories.choices import RunStatus, TerritoryModelState
from territories.engine import (
    ANSWER_TABLE,
    EARLIEST_DATE,
    PLAN_ANSWER_TABLE,
    assignment_compute,
    incremental_result_ctes,
    result_stats_rebuild,
    rules_compile,
)
from territories.models import AssignmentRun, PlanDiff, RepAssignment, Territory, TerritoryModel
from territories.validation import (
    SCOPED_WHOLE_MODEL_MESSAGE,
    rule_criterion_validate,
    scoped_manager,
)

__all__ = [
    "account_changed",
    "account_reassign",
    "assignment_run_execute",
    "assignment_run_start",
    "rule_criterion_validate",
    "territory_model_activate",
    "territory_model_activation_start",
    "territory_model_copy",
]

logger = logging.getLogger(__name__)

# Fields that rules read; a change to any of them moves the account.
RULE_FIELDS = frozenset(
    {"country", "region", "city", "postal_code", "employees", "annual_revenue", "business_type", "industry"}
)

ProgressCallback = Callable[[str, int, dict], None]

SOURCE_SQL = "CASE r.c WHEN 0 THEN 'override' WHEN 1 THEN 'named' ELSE 'rule' END"


def _scope_params(account_ids: list[int] | None) -> dict:
    return {"all": account_ids is None, "ids": list(account_ids or [])}


_HISTORY_TABLES = {
    # kind: (membership table, id column, result row type, scope condition on the id column, has source)
    "account": (
        "territories_accountterritorymembership",
        "account_id",
        "deep",
        "%(all)s OR m.account_id = ANY(%(ids)s)",
        True,
    ),
    "deal": (
        "territories_dealterritorymembership",
        "deal_id",
        "deal",
        "%(all)s OR m.deal_id IN (SELECT d.id FROM accounts_deal d WHERE d.account_id = ANY(%(ids)s))",
        False,
    ),
}


def _source_sql(alias: str) -> str:
    return f"CASE {alias}.c WHEN 0 THEN 'override' WHEN 1 THEN 'named' ELSE 'rule' END"


# A full write that opens at least this many rows — and at least half as many as the table holds (a first
# run, an activation) — loads in bulk: the table's indexes (primary key included) are dropped, the rows
# inserted in no particular order, and the indexes rebuilt set-based (sorted, parallel builds) instead of
# one index insert per index for every row. Within the run's transaction: readers never see it half done,
# but readers of that table wait (the drop takes an ACCESS EXCLUSIVE lock on it) until the run commits.
# The tables loaded this way have no database foreign keys (see the models): dropping and re-adding one
# would lock the referenced tables too, and validating it costs seconds.
BULK_LOAD_MIN_ROWS = 100_000

_TABLE_DEPENDENTS_SQL = """
    SELECT 'index', i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
    WHERE x.indrelid = %(table)s::regclass AND NOT x.indisprimary AND NOT EXISTS (
        SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid AND c.conrelid = x.indrelid)
    UNION ALL
    SELECT 'pk', c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c
    WHERE c.conrelid = %(table)s::regclass AND c.contype = 'p'
      AND NOT EXISTS (SELECT 1 FROM pg_constraint r WHERE r.confrelid = c.conrelid)
    ORDER BY 1, 2"""


def _bulk_load_wanted(cursor, *, table: str, to_open: int) -> bool:
    if to_open < BULK_LOAD_MIN_ROWS:
        return False
    cursor.execute("SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = %s::regclass", [table])
    return to_open * 2 >= cursor.fetchone()[0]


def _bulk_load_begin(cursor, *, table: str) -> list[tuple[str, str, str]]:
    """Drop the table's secondary indexes and primary key (unless another table references it); return what
    _bulk_load_end recreates."""
    cursor.execute(_TABLE_DEPENDENTS_SQL, {"table": table})
    dependents = cursor.fetchall()
    for kind, name, _definition in dependents:
        if kind == "pk":
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        else:
            cursor.execute(f'DROP INDEX "{name}"')
    return dependents


def _bulk_load_end(cursor, *, table: str, dependents: list[tuple[str, str, str]]) -> None:
    # Sorted builds in memory, with the parallel workers the server allows.
    cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
    for kind, name, definition in dependents:
        if kind == "pk":
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for _kind, _name, definition in (d for d in dependents if d[0] == "index"):
        cursor.execute(definition)
    cursor.execute(f"ANALYZE {table}")


_BIGINT_MAX = 2**63 - 1


def _pair_key_stride(cursor, *, table: str, column: str, params: dict) -> int:
    """A stride that packs every (owner, territory) pair of the answer and of the table into one bigint
    (owner * stride + territory, exact: territory < stride), or 0 when the ids are too big for it. The
    full-run diff hashes that one key: a third faster than hashing the pair."""
    cursor.execute(
        f"""SELECT r.owner, r.territory, m.owner, m.territory
            FROM (SELECT max(max_a) AS owner, max(max_b) AS territory FROM _engine_result_stats
                  WHERE row_type = %(row_type)s) r,
                 (SELECT max({column}) AS owner, max(territory_id) AS territory FROM {table}) m""",
        params,
    )
    answer_owner, answer_territory, current_owner, current_territory = cursor.fetchone()
    stride = max(answer_territory or 0, current_territory or 0) + 1
    owner = max(answer_owner or 0, current_owner or 0)
    return stride if owner * stride + stride - 1 <= _BIGINT_MAX else 0


def _answer_disjoint(cursor, table: str, params: dict) -> bool:
    """Whether no current row of the table is in a territory of the answer (then no answer row can equal
    one): one probe of the table's territory index per territory of the answer."""
    cursor.execute(
        f"""SELECT NOT EXISTS (
                SELECT 1 FROM (SELECT DISTINCT b FROM _engine_result WHERE row_type = %(row_type)s) t
                WHERE EXISTS (SELECT 1 FROM {table} m WHERE m.territory_id = t.b AND m.valid_to IS NULL))""",
        params,
    )
    return cursor.fetchone()[0]


def _history_copy(
    cursor,
    *,
    table: str,
    copy: str,
    column: str,
    has_source: bool,
    diffed: bool,
    params: dict,
    every_current_closes: bool = False,
) -> list[int]:
    """Copy a history table's rows into its copy with _engine_diff applied — rows to close closed at the
    effective date, those that opened that same day left out, sources updated — and return the counts
    (deleted the same day, closed, and re-sourced when has_source) the in-place writes would have.
    every_current_closes: _engine_diff closes every current row, so the copy needs no join with it."""
    columns = f"id, {column}, territory_id, valid_from, valid_to{', source' if has_source else ''}"
    if not diffed:
        cursor.execute(f"INSERT INTO {copy} ({columns}) SELECT {columns} FROM {table}")
        return [0, 0, 0] if has_source else [0, 0]
    cursor.execute(
        """SELECT count(*) FILTER (WHERE a IS NULL AND valid_from >= %(eff)s::date),
                  count(*) FILTER (WHERE a IS NULL AND valid_from < %(eff)s::date),
                  count(*) FILTER (WHERE a IS NOT NULL AND id IS NOT NULL)
           FROM _engine_diff""",
        params,
    )
    deleted, closed, resourced = cursor.fetchone()
    if every_current_closes:
        cursor.execute(
            f"""INSERT INTO {copy} ({columns})
                SELECT id, {column}, territory_id, valid_from, coalesce(valid_to, %(eff)s::date)
                       {", source" if has_source else ""}
                FROM {table} WHERE valid_to IS NOT NULL OR valid_from < %(eff)s::date""",
            params,
        )
        return [deleted, closed, resourced] if has_source else [deleted, closed]
    source = f", CASE WHEN d.a IS NULL THEN m.source ELSE {_source_sql('d')} END" if has_source else ""
    cursor.execute(
        f"""INSERT INTO {copy} ({columns})
            SELECT m.id, m.{column}, m.territory_id, m.valid_from,
                   CASE WHEN d.id IS NOT NULL AND d.a IS NULL THEN %(eff)s::date ELSE m.valid_to END{source}
            FROM {table} m LEFT JOIN _engine_diff d ON d.id = m.id
            WHERE d.id IS NULL OR d.a IS NOT NULL OR d.valid_from < %(eff)s::date""",
        params,
    )
    return [deleted, closed, resourced] if has_source else [deleted, closed]


def _membership_write(
    *,
    kind: str,
    effective: date,
    account_ids: list[int] | None,
    answers: str = "",
    deep_rest: tuple[str, int] = ("", 0),
    answers_source: str = "",
    swaps: list[TableCopy] | None = None,
) -> dict:
    """Diff _engine_result against the current rows in scope and write the difference.

    One hash full join of the answer with the current rows keeps only what differs (nothing on an
    unchanged re-run) in a temporary table, with whether each owner to open has any history yet; one
    statement of data-modifying CTEs then deletes (same day), closes and re-sources those rows, and one
    insert opens the new ones. Into an empty table (the first run ever) the answer goes straight in.
    Big full writes load in bulk (BULK_LOAD_MIN_ROWS).

    answers (account history of a full run, see engine.assignment_compute): "scoped" — the answer and the
    diff cover only the accounts of _engine_scope (every other account's stored answer equals both its new
    answer and its current rows, so it has nothing to write); "full" — all accounts. Either way the
    changed accounts' signatures are stored afterwards in ANSWER_TABLE.

    deep_rest (account history of a first full run, see engine.assignment_compute): (a query of the deep
    rows (a, b, c) left out of _engine_result, their number); they open with the rest. answers_source (the
    same run): the query of every account's signature, stored in place of _engine_scope's.

    swaps: a bulk write's built copy of the table is appended there, for the caller to swap in as late as it
    can (readers wait from the swap to the commit); without it the copy is swapped in at once.

    The counts carry "_touched": the territories whose memberships opened or closed (their KPI rollups
    follow), or None when the write was a first write or a bulk load (every territory of the model)."""
    table, column, row_type, scope, has_source = _HISTORY_TABLES[kind]
    deep_rest, deep_rest_rows = deep_rest
    scoped = answers == "scoped"
    if scoped:
        scope = "m.account_id IN (SELECT s.account_id FROM _engine_scope s)"
    params = {**_scope_params(account_ids), "eff": effective, "earliest": EARLIEST_DATE, "row_type": row_type}
    prefix = "" if kind == "account" else "deals_"
    source_new = _source_sql("d")
    with connection.cursor() as cursor:
        keys = [f"{prefix}opened", f"{prefix}deleted_same_day", f"{prefix}closed"]
        if has_source:
            keys.append("source_changed")
        cursor.execute(f"DROP TABLE IF EXISTS _engine_diff, _engine_known; SELECT NOT EXISTS (SELECT 1 FROM {table})")
        first_write = account_ids is None and cursor.fetchone()[0]
        if deep_rest and not first_write:
            # A row was written since the engine looked (an incremental reassignment committed in between):
            # the deferred rows join the answer for the diff after all.
            cursor.execute(f"INSERT INTO _engine_result SELECT 'deep', d.a, d.b, d.c, NULL, NULL FROM ({deep_rest}) d")
            result_stats_rebuild(cursor)
            deep_rest = ""
        every_current_closes = False
        if first_write:
            # The very first write: the whole answer opens from the beginning of the data, nothing to diff.
            cursor.execute("SELECT coalesce(sum(n), 0) FROM _engine_result_stats WHERE row_type = %(row_type)s", params)
            to_open, to_change = cursor.fetchone()[0], 0
            opening = f"""SELECT a, b, {_source_sql("r") if has_source else "NULL"} AS source
                          FROM _engine_result r WHERE row_type = %(row_type)s"""
            if deep_rest:
                to_open += deep_rest_rows
                opening += f"\nUNION ALL SELECT a, b, {_source_sql('r')} AS source FROM ({deep_rest}) r"
            valid_from = "%(earliest)s::date"
        else:
            stride = _pair_key_stride(cursor, table=table, column=column, params=params) if account_ids is None else 0
            # One bigint key per pair when the ids allow (the hash join's cost is mostly per key column).
            if stride:
                answer_key, current_key = f", a * {stride} + b AS k", f", m.{column} * {stride} + m.territory_id AS k"
                match = "x.k = r.k"
            else:
                answer_key = current_key = ""
                match = "x.owner_id = r.a AND x.territory_id = r.b"
            answer = f"SELECT a, b, c{answer_key} FROM _engine_result WHERE row_type = %(row_type)s"
            current = f"""SELECT m.id, m.{column} AS owner_id, m.territory_id, m.valid_from,
                                 {"m.source" if has_source else "NULL::text AS source"}{current_key}
                          FROM {table} m WHERE m.valid_to IS NULL AND ({scope})"""
            every_current_closes = account_ids is None and not scoped and _answer_disjoint(cursor, table, params)
            if every_current_closes:
                # No pair can match (an activation: the answer is in the new model's territories): the full
                # join's result is both sides side by side, without hashing millions of keys.
                diff = f"""SELECT r.a, r.b, r.c, NULL::bigint AS id, NULL::date AS valid_from, NULL::text AS source,
                                   NULL::bigint AS owner_id
                            FROM ({answer}) r
                            UNION ALL
                            SELECT NULL, NULL, NULL, x.id, x.valid_from, x.source, x.owner_id FROM ({current}) x"""
            else:
                diff = f"""SELECT r.a, r.b, r.c, x.id, x.valid_from, x.source, x.owner_id
                            FROM ({answer}) r FULL JOIN ({current}) x ON {match}
                            WHERE r.a IS NULL OR x.id IS NULL
                                  {f"OR x.source <> {_source_sql('r')}" if has_source else ""}"""
            cursor.execute(f"CREATE TEMP TABLE _engine_diff ON COMMIT DROP AS {diff}", params)
            cursor.execute(
                "SELECT count(*) FILTER (WHERE id IS NULL), count(*) FILTER (WHERE id IS NOT NULL) FROM _engine_diff"
            )
            to_open, to_change = cursor.fetchone()
            if not to_open and not to_change:
                if answers:
                    _answers_store(cursor, truncated=False, source=answers_source)
                return dict.fromkeys(keys, 0) | {"_touched": []}
            if to_open + to_change > 10_000:
                cursor.execute("ANALYZE _engine_diff")
            # Owners to open that already have history (open from the effective date, else from the beginning):
            # those with a current row in the diff (closed or re-sourced) have, the others are looked up — in an
            # activation every account is of the first kind (its million history lookups cost 3–5 s). One pass
            # over the diff, grouped by owner.
            cursor.execute(
                f"""CREATE TEMP TABLE _engine_known ON COMMIT DROP AS
                SELECT n.a FROM (SELECT coalesce(a, owner_id) AS a, bool_or(id IS NULL) AS opens,
                                        bool_or(id IS NOT NULL) AS has_current
                                 FROM _engine_diff GROUP BY 1) n
                WHERE n.opens AND (n.has_current OR EXISTS (SELECT 1 FROM {table} h WHERE h.{column} = n.a));
                ANALYZE _engine_known"""  # without statistics the planner hashes the rows to open instead
            )
            opening = f"""SELECT d.a, d.b, {source_new if has_source else "NULL"} AS source,
                                 k.a IS NOT NULL AS known
                          FROM _engine_diff d LEFT JOIN _engine_known k ON k.a = d.a WHERE d.id IS NULL"""
            valid_from = "CASE WHEN d.known THEN %(eff)s::date ELSE %(earliest)s::date END"
        bulk = account_ids is None and not scoped and _bulk_load_wanted(cursor, table=table, to_open=to_open)
        changed = [0] * (len(keys) - 1)
        touched: set[int] | None = None if (first_write or bulk) and to_open else set()
        if touched is not None and to_open:
            cursor.execute("SELECT DISTINCT b FROM _engine_diff WHERE id IS NULL")
            touched.update(row[0] for row in cursor.fetchall())
        target, copy = table, None
        if bulk:
            copy = table_copy_create(cursor, table=table)
            target = copy.copy
            if kind == "account":
                # The copy gets the forgetting triggers after its load (millions of rows through their
                # transition tables would cost seconds): the stored answers are rewritten below instead.
                cursor.execute(f"TRUNCATE {ANSWER_TABLE}")
            changed = _history_copy(
                cursor,
                table=table,
                copy=copy.copy,
                column=column,
                has_source=has_source,
                diffed=not first_write,
                every_current_closes=every_current_closes,
                params=params,
            )
        elif to_change:
            ctes = [
                f"""del AS (DELETE FROM {table} m USING _engine_diff d
                    WHERE d.a IS NULL AND m.id = d.id AND d.valid_from >= %(eff)s::date RETURNING m.territory_id)""",
                f"""clo AS (UPDATE {table} m SET valid_to = %(eff)s::date FROM _engine_diff d
                    WHERE d.a IS NULL AND m.id = d.id AND d.valid_from < %(eff)s::date RETURNING m.territory_id)""",
            ]
            names = ["del", "clo"]
            if has_source:
                ctes.append(
                    f"""src AS (UPDATE {table} m SET source = {source_new} FROM _engine_diff d
                        WHERE d.a IS NOT NULL AND d.id IS NOT NULL AND m.id = d.id RETURNING 1)"""
                )
                names.append("src")
            counts_sql = ", ".join(f"(SELECT count(*) FROM {name})" for name in names)
            left = "(SELECT array_agg(DISTINCT territory_id) FROM (TABLE del UNION ALL TABLE clo) gone)"
            cursor.execute("WITH " + ",\n".join(ctes) + f"\nSELECT {counts_sql}, {left}", params)
            *changed, left_territories = cursor.fetchone()
            if touched is not None:
                touched.update(left_territories or [])
        # The opening rows in a statement of their own, counted by rowcount (no RETURNING rows kept); sorted by
        # owner unless loading in bulk, where sorting millions of rows costs more than sorted input saves the
        # index builds.
        cursor.execute(
            f"""INSERT INTO {target} ({column}, territory_id, valid_from, valid_to{", source" if has_source else ""})
                SELECT d.a, d.b, {valid_from}, NULL{", d.source" if has_source else ""}
                FROM ({opening}) d {"" if bulk else "ORDER BY d.a"}""",
            params,
        )
        counts = dict(zip(keys, [cursor.rowcount, *changed], strict=True))
        counts["_touched"] = None if touched is None else sorted(touched)
        if answers:
            _answers_store(cursor, truncated=bulk, source=answers_source)
        if copy:
            table_copy_build(cursor, copy)
            if swaps is None:
                table_copies_swap(cursor, [copy])
            else:
                swaps.append(copy)
        return counts


# Before a load from the engine's query of every account's signature: its class sets' account ids join
# hashed, not sorted (the engine's unanalyzed temporary tables make the planner expect thousands of rows
# where there are millions, and sort both sides for a merge join).
_SIGNATURES_HASHED = "SET LOCAL enable_mergejoin = off;"


def _answers_store(cursor, *, truncated: bool, source: str = "") -> None:
    """Store the changed accounts' new answer signatures (_engine_scope, or the query `source` of them),
    now that their rows hold them."""
    source = f"({source})" if source else "_engine_scope"
    if not truncated:
        cursor.execute(f"DELETE FROM {ANSWER_TABLE} a USING {source} s WHERE a.account_id = s.account_id")
        cursor.execute(f"INSERT INTO {ANSWER_TABLE} SELECT account_id, sig FROM {source} s")
        if cursor.rowcount > 10_000:
            cursor.execute(f"ANALYZE {ANSWER_TABLE}")
        return
    # Into the emptied table (a bulk load holds the membership table's lock anyway): the primary key built
    # once after the rows, a fifth of the time of a million random index insertions.
    cursor.execute(
        f"ALTER TABLE {ANSWER_TABLE} DROP CONSTRAINT {ANSWER_TABLE}_pkey;"
        f"{_SIGNATURES_HASHED} INSERT INTO {ANSWER_TABLE} SELECT account_id, sig FROM {source} s;"
        "SET LOCAL enable_mergejoin TO DEFAULT;"
        f"ALTER TABLE {ANSWER_TABLE} ADD CONSTRAINT {ANSWER_TABLE}_pkey PRIMARY KEY (account_id);"
        f"ANALYZE {ANSWER_TABLE}"
    )


# The account and deal histories: one writer, its table chosen by kind (_HISTORY_TABLES).
def _history_write(**options) -> dict:
    return _membership_write(kind="account", **options)


def _deal_history_write(**options) -> dict:
    return _membership_write(kind="deal", **options)


def _planned_write(
    *, model_id: int, account_ids: list[int] | None, answers: str, source: tuple[str, int] = ("", 0)
) -> dict:
    """Store a non-active model's answer as its plan: the accounts' signatures that changed since the
    plan's last run (PlanAccountAnswer), and the deals' rows that differ. source: on the plan's first run,
    (the query of every account's signature, their number) to load from."""
    params = {**_scope_params(account_ids), "model": model_id}
    with connection.cursor() as cursor:
        changed = _plan_answers_write(cursor, params=params, answers=answers, source=source)
        _plan_deals_write(cursor, params=params)
    return {"plan_accounts_changed": changed}


def _plan_answers_write(cursor, *, params: dict, answers: str, source: tuple[str, int] = ("", 0)) -> int:
    """Replace the stored signatures of the accounts in _engine_scope (answer changed, new, or gone: sig
    NULL); the first answers of a plan go in one load. Without a class run (a model without territories,
    some accounts only) the signatures come from _engine_result's deep rows. source, on a plan's first run
    (none stored, as the engine checked under the plan's row lock the run holds): (the engine's query of
    every account's signature, their number), loaded straight from, with no _engine_scope. Returns the
    accounts written."""
    table = PLAN_ANSWER_TABLE
    query, rows = source
    if query:
        first, changed, to_open = True, rows, rows
        signatures = f"SELECT account_id, sig FROM ({query}) s"
    else:
        if answers != "plan":
            cursor.execute(
                f"""DROP TABLE IF EXISTS _engine_scope;
                    CREATE TEMP TABLE _engine_scope ON COMMIT DROP AS
                    SELECT coalesce(n.account_id, o.account_id) AS account_id, n.sig FROM (
                        SELECT a AS account_id, array_agg(b * 4 + c ORDER BY b * 4 + c) AS sig FROM _engine_result
                        WHERE row_type = 'deep' GROUP BY a) n
                    FULL JOIN (SELECT account_id, sig FROM {table} WHERE territory_model_id = %(model)s
                               AND (%(all)s OR account_id = ANY(%(ids)s))) o ON o.account_id = n.account_id
                    WHERE n.sig IS DISTINCT FROM o.sig""",
                params,
            )
        cursor.execute("SELECT count(*), count(*) FILTER (WHERE sig IS NOT NULL) FROM _engine_scope")
        changed, to_open = cursor.fetchone()
        cursor.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {table} WHERE territory_model_id = %(model)s)", params)
        first = cursor.fetchone()[0]
        signatures = "SELECT account_id, sig FROM _engine_scope WHERE sig IS NOT NULL"
    bulk = first and _bulk_load_wanted(cursor, table=table, to_open=to_open)
    dependents = _bulk_load_begin(cursor, table=table) if bulk else []
    if not first:
        cursor.execute(
            f"""DELETE FROM {table} p USING _engine_scope s
                WHERE p.territory_model_id = %(model)s AND p.account_id = s.account_id""",
            params,
        )
    cursor.execute(
        f"""{_SIGNATURES_HASHED}
            INSERT INTO {table} (territory_model_id, account_id, sig) SELECT %(model)s, s.* FROM ({signatures}) s;
            SET LOCAL enable_mergejoin TO DEFAULT""",
        params,
    )
    if bulk:
        _bulk_load_end(cursor, table=table, dependents=dependents)
    elif changed > 10_000:
        cursor.execute(f"ANALYZE {table}")
    return changed


def _plan_deals_write(cursor, *, params: dict) -> None:
    """Diff the answer's deal rows against the plan's deals in scope (one hash full join), delete what is
    gone, insert what is new; the first plan of a model goes straight in (in bulk when big)."""
    table = "territories_planneddealterritory"
    scope = "p.deal_id IN (SELECT d.id FROM accounts_deal d WHERE d.account_id = ANY(%(ids)s))"
    params = {**params, "row_type": "deal"}
    cursor.execute("SELECT coalesce(sum(n), 0)::bigint FROM _engine_result_stats WHERE row_type = 'deal'")
    answer_rows = cursor.fetchone()[0]
    cursor.execute(
        f"SELECT NOT EXISTS (SELECT 1 FROM {table} p WHERE p.territory_model_id = %(model)s AND (%(all)s OR {scope}))",
        params,
    )
    if cursor.fetchone()[0]:
        bulk = _bulk_load_wanted(cursor, table=table, to_open=answer_rows)
        dependents = _bulk_load_begin(cursor, table=table) if bulk else []
        cursor.execute(
            f"""INSERT INTO {table} (territory_model_id, deal_id, territory_id)
                SELECT %(model)s, r.a, r.b FROM _engine_result r WHERE r.row_type = 'deal'""",
            params,
        )
        if bulk:
            _bulk_load_end(cursor, table=table, dependents=dependents)
        return
    stride = _pair_key_stride(cursor, table=table, column="deal_id", params=params) if params["all"] else 0
    # One bigint key per pair when the ids allow (the hash join's cost is mostly per key column).
    if stride:
        answer_key, plan_key, match = (
            f", r.a * {stride} + r.b AS k",
            f", p.deal_id * {stride} + p.territory_id AS k",
            "x.k = r.k",
        )
    else:
        answer_key = plan_key = ""
        match = "x.deal_id = r.a AND x.territory_id = r.b"
    # A hash full join: the planner would sort both sides for a merge join.
    cursor.execute(
        f"""SET LOCAL enable_mergejoin = off;
            DROP TABLE IF EXISTS _plan_diff;
            CREATE TEMP TABLE _plan_diff ON COMMIT DROP AS
            SELECT r.a, r.b, x.id
            FROM (SELECT r.a, r.b{answer_key} FROM _engine_result r WHERE r.row_type = 'deal') r
            FULL JOIN (SELECT p.id, p.deal_id, p.territory_id{plan_key}
                       FROM {table} p WHERE p.territory_model_id = %(model)s AND (%(all)s OR {scope})) x
              ON {match}
            WHERE r.a IS NULL OR x.id IS NULL;
            SET LOCAL enable_mergejoin TO DEFAULT""",
        params,
    )
    # Data-modifying CTEs run to completion whether or not the insert reads them.
    cursor.execute(
        f"""WITH gone AS (DELETE FROM {table} p USING _plan_diff d WHERE d.a IS NULL AND p.id = d.id)
            INSERT INTO {table} (territory_model_id, deal_id, territory_id)
            SELECT %(model)s, d.a, d.b FROM _plan_diff d WHERE d.id IS NULL ORDER BY d.a""",
        params,
    )


def _overlaps_write(*, model_id: int, account_ids: list[int] | None) -> None:
    """Replace the overlaps in scope by the answer's, touching only the rows that differ (a re-run writes
    none, so commits no deferred foreign-key checks)."""
    params = {**_scope_params(account_ids), "model": model_id}
    with connection.cursor() as cursor:
        cursor.execute(
            """WITH new AS (SELECT r.a, r.b, r.d, r.e FROM _engine_result r WHERE r.row_type = 'overlap'),
               cur AS (SELECT o.id, o.account_id, o.winner_id, o.loser_id, o.reason
                       FROM territories_assignmentoverlap o
                       WHERE o.territory_model_id = %(model)s AND (%(all)s OR o.account_id = ANY(%(ids)s))),
               gone AS (DELETE FROM territories_assignmentoverlap o USING cur c
                        WHERE o.id = c.id AND NOT EXISTS (
                            SELECT 1 FROM new n WHERE n.a = c.account_id AND n.b = c.winner_id AND n.d = c.loser_id
                            AND n.e = c.reason)
                        RETURNING 1)
               INSERT INTO territories_assignmentoverlap (territory_model_id, account_id, winner_id, loser_id, reason)
               SELECT %(model)s, n.a, n.b, n.d, n.e FROM new n WHERE NOT EXISTS (
                   SELECT 1 FROM cur c WHERE c.account_id = n.a AND c.winner_id = n.b AND c.loser_id = n.d
                   AND c.reason = n.e)""",
            params,
        )


def _diff_counts(*, account_ids: list[int] | None) -> dict:
    """What a write would do, without writing (dry runs)."""
    params = _scope_params(account_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT
              (SELECT count(*) FROM _engine_result r WHERE r.row_type = 'deep' AND NOT EXISTS (
                 SELECT 1 FROM territories_accountterritorymembership m
                 WHERE m.account_id = r.a AND m.territory_id = r.b AND m.valid_to IS NULL)),
              (SELECT count(*) FROM territories_accountterritorymembership m
               WHERE m.valid_to IS NULL AND (%(all)s OR m.account_id = ANY(%(ids)s)) AND NOT EXISTS (
                 SELECT 1 FROM _engine_result r WHERE r.row_type = 'deep' AND r.a = m.account_id
                 AND r.b = m.territory_id))
            """,
            params,
        )
        opened, closed = cursor.fetchone()
    return {"would_open": opened, "would_close": closed}


def _incremental_write_sql(max_depth: int, has_products: bool) -> str:
    """One statement for a few accounts of the active model: the engine's incremental CTEs (res) and the
    writes of _membership_write / _overlaps_write as data-modifying CTEs. They all see the snapshot taken
    before the statement and touch disjoint rows (new rows, gone rows, kept rows whose source changed).
    Parameters: %(model)s, %(ids)s, %(eff)s, %(earliest)s."""
    ctes = incremental_result_ctes(max_depth, has_products)
    source = SOURCE_SQL
    deal_scope = "m.deal_id IN (SELECT d.id FROM accounts_deal d WHERE d.account_id = ANY(%(ids)s))"
    for prefix, table, column, scope, row_type, has_source in (
        ("", "territories_accountterritorymembership", "account_id", "m.account_id = ANY(%(ids)s)", "deep", True),
        ("d", "territories_dealterritorymembership", "deal_id", deal_scope, "deal", False),
    ):
        ctes += [
            f"""{prefix}cur AS (SELECT m.id, m.{column} AS owner_id, m.territory_id, m.valid_from
                                {", m.source" if has_source else ""}
                FROM {table} m WHERE m.valid_to IS NULL AND {scope})""",
            f"{prefix}known AS (SELECT DISTINCT m.{column} AS owner_id FROM {table} m WHERE {scope})",
            f"{prefix}new AS (SELECT a, b, c FROM res WHERE row_type = '{row_type}')",
            f"""{prefix}ins AS (
                INSERT INTO {table} ({column}, territory_id, valid_from, valid_to{", source" if has_source else ""})
                SELECT r.a, r.b, CASE WHEN EXISTS (SELECT 1 FROM {prefix}known k WHERE k.owner_id = r.a)
                                      THEN %(eff)s::date ELSE %(earliest)s::date END,
                       NULL{", " + source if has_source else ""}
                FROM {prefix}new r
                WHERE NOT EXISTS (SELECT 1 FROM {prefix}cur c WHERE c.owner_id = r.a AND c.territory_id = r.b)
                RETURNING 1)""",
            f"""{prefix}gone AS (SELECT c.id, c.valid_from, c.owner_id, c.territory_id FROM {prefix}cur c
                WHERE NOT EXISTS (SELECT 1 FROM {prefix}new r WHERE r.a = c.owner_id AND r.b = c.territory_id))""",
            f"""{prefix}opened AS (SELECT r.a AS owner_id, r.b AS territory_id FROM {prefix}new r
                WHERE NOT EXISTS (SELECT 1 FROM {prefix}cur c WHERE c.owner_id = r.a AND c.territory_id = r.b))""",
            f"""{prefix}del AS (DELETE FROM {table} m USING {prefix}gone g
                WHERE m.id = g.id AND g.valid_from >= %(eff)s::date RETURNING 1)""",
            f"""{prefix}clo AS (UPDATE {table} m SET valid_to = %(eff)s::date FROM {prefix}gone g
                WHERE m.id = g.id AND g.valid_from < %(eff)s::date RETURNING 1)""",
        ]
    ctes += [
        f"""src AS (UPDATE territories_accountterritorymembership m SET source = {source}
            FROM cur c JOIN new r ON r.a = c.owner_id AND r.b = c.territory_id
            WHERE m.id = c.id AND c.source <> {source} RETURNING 1)""",
        """odel AS (DELETE FROM territories_assignmentoverlap
            WHERE territory_model_id = %(model)s AND account_id = ANY(%(ids)s) RETURNING 1)""",
        """oins AS (INSERT INTO territories_assignmentoverlap
                (territory_model_id, account_id, winner_id, loser_id, reason)
            SELECT %(model)s, r.a, r.b, r.d, r.e FROM res r WHERE r.row_type = 'overlap' RETURNING 1)""",
    ]
    # The territories whose accounts (deals) changed: per owner, those above a membership it left but not
    # above one it entered, or the other way round. One above both holds the owner before and after, so
    # its KPI figures stand (kpis.services.memberships_moved).
    ctes.append(
        """moved AS (
            SELECT DISTINCT x.territory_id FROM (
                SELECT ch.kind, ch.owner_id, up.ancestor_id AS territory_id
                FROM (SELECT 'a' AS kind, owner_id, territory_id, true AS entered FROM opened
                      UNION ALL SELECT 'a', owner_id, territory_id, false FROM gone
                      UNION ALL SELECT 'd', owner_id, territory_id, true FROM dopened
                      UNION ALL SELECT 'd', owner_id, territory_id, false FROM dgone) ch
                JOIN territories_territoryclosure up ON up.descendant_id = ch.territory_id
                GROUP BY ch.kind, ch.owner_id, up.ancestor_id
                HAVING bool_or(ch.entered) <> bool_or(NOT ch.entered)) x)"""
    )
    counts = ", ".join(
        f"(SELECT count(*) FROM {name})"
        for name in ("new", "oins", "dnew", "ins", "del", "clo", "src", "dins", "ddel", "dclo")
    )
    moved = "(SELECT coalesce(array_agg(territory_id ORDER BY territory_id), '{}') FROM moved)"
    return "WITH " + ",\n".join(ctes) + f"\nSELECT {counts}, {moved}"


INCREMENTAL_COUNT_KEYS = (
    "deep", "overlaps", "deals", "opened", "deleted_same_day", "closed", "source_changed",
    "deals_opened", "deals_deleted_same_day", "deals_closed", "moved_territories",
)  # fmt: skip


@functools.cache
def _incremental_prepared_sql(max_depth: int, has_products: bool) -> str:
    return (
        _incremental_write_sql(max_depth, has_products)
        .replace("%(model)s", "$1")
        .replace("%(ids)s", "$2")
        .replace("%(eff)s", "$3")
        .replace("%(earliest)s", "$4")
        .replace("%(all)s", "false")
    )


# Accounts per execution of the incremental statement. Its generic plan is made for a few accounts and
# grows faster than linearly with more: 2,000 at once took 92 s on the demo data, 2.2 s in chunks of 32.
INCREMENTAL_CHUNK = 32


def _incremental_apply(*, model_id: int, account_ids: list[int], effective: date) -> dict | None:
    """account_reassign's path: compute and write these accounts with one prepared statement (planned
    once per connection, generic plan), INCREMENTAL_CHUNK accounts per execution; the counts are summed
    and the moved territories joined. None when the model has no territories (the general path runs)."""
    max_depth, has_products = rules_compile(model_id=model_id)
    if max_depth < 0:
        return None
    name = f"territories_incremental_write_{max_depth}_{int(bool(has_products))}"
    counts: dict = {}
    with connection.cursor() as cursor:
        for start in range(0, len(account_ids), INCREMENTAL_CHUNK):
            prepared_execute(
                cursor,
                name=name,
                sql=_incremental_prepared_sql(max_depth, bool(has_products)),
                types="bigint, bigint[], date, date",
                params=[model_id, account_ids[start : start + INCREMENTAL_CHUNK], effective, EARLIEST_DATE],
                generic=True,
            )
            for key, value in zip(INCREMENTAL_COUNT_KEYS, cursor.fetchone(), strict=True):
                if key == "moved_territories":
                    counts[key] = sorted(set(counts.get(key, [])) | set(value or []))
                else:
                    counts[key] = counts.get(key, 0) + value
    return counts


def _effective_date(model: TerritoryModel) -> date:
    today = timezone.localdate()
    return max(today, model.effective_from) if model.effective_from else today


def assignment_apply(
    *,
    model: TerritoryModel,
    account_ids: list[int] | None = None,
    dry_run: bool = False,
    effective: date | None = None,
    progress: ProgressCallback | None = None,
) -> dict:
    """Compute the model's assignment and store it (history for the active model, plan otherwise).

    Must run inside a transaction: the engine's temporary table lives until commit. A dry run only counts.
    """
    report = progress or (lambda phase, percent, counts: None)
    if account_ids is not None and not dry_run and model.state == TerritoryModelState.ACTIVE:
        counts = _incremental_apply(
            model_id=model.pk, account_ids=account_ids, effective=effective or _effective_date(model)
        )
        if counts is not None:
            return counts
    if account_ids is None:
        with connection.cursor() as cursor:
            # Big sorts and hashes in memory; no JIT, whose compile time exceeds what it saves here.
            cursor.execute("SET LOCAL work_mem = '256MB'; SET LOCAL jit = off")
            if not dry_run and model.state == TerritoryModelState.ACTIVE:
                # Incremental reassignments wait for the run (readers do not): one committing between the
                # engine's read and the write would be overwritten with an older answer, or, where the
                # write rebuilds a table aside (core.table_swap), lost with the old table.
                tables = ", ".join(table for table, *_rest in _HISTORY_TABLES.values())
                cursor.execute(f"LOCK TABLE {tables} IN EXCLUSIVE MODE")
    report("computing", 10, {})
    # A full run that writes history compares each account's answer with the one it last wrote, and
    # expands and diffs only the accounts whose answer changed.
    skip_unchanged = account_ids is None and not dry_run and model.state == TerritoryModelState.ACTIVE
    # A full run of any other model compares each account's answer with the plan's stored one instead.
    plan_answers = account_ids is None and not dry_run and model.state != TerritoryModelState.ACTIVE
    counts = assignment_compute(
        model_id=model.pk, account_ids=account_ids, skip_unchanged=skip_unchanged, plan_answers=plan_answers
    )
    answers = counts.pop("_answers", "")
    deep_rest = counts.pop("_deep_rest", ("", 0))
    answers_source, answers_rows = counts.pop("_answers_source", ("", 0))
    if account_ids is None:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE _engine_result")
    report("writing", 60, counts)
    if dry_run:
        if model.state == TerritoryModelState.ACTIVE:
            counts |= _diff_counts(account_ids=account_ids)
        return counts
    _overlaps_write(model_id=model.pk, account_ids=account_ids)
    if model.state == TerritoryModelState.ACTIVE:
        effective = effective or _effective_date(model)
        swaps: list[TableCopy] = []  # tables rebuilt aside, swapped in last: readers wait only from there
        written = _history_write(
            effective=effective,
            account_ids=account_ids,
            answers=answers,
            deep_rest=deep_rest,
            answers_source=answers_source,
            swaps=swaps,
        )
        touched = written.pop("_touched")
        counts |= written
        report("writing deals", 80, counts)
        written = _deal_history_write(effective=effective, account_ids=account_ids, swaps=swaps)
        deal_touched = written.pop("_touched")
        counts |= written
        if account_ids is None:  # the incremental path's queue marks its accounts' territories itself
            both = None if touched is None or deal_touched is None else sorted({*touched, *deal_touched})
            _kpi_rollups_follow(model=model, territory_ids=both)
        with connection.cursor() as cursor:
            table_copies_swap(cursor, swaps)
    else:
        counts |= _planned_write(
            model_id=model.pk, account_ids=account_ids, answers=answers, source=(answers_source, answers_rows)
        )
        counts["planned"] = counts["deep"]
    return counts


def plan_diff_refresh(*, plan: TerritoryModel) -> PlanDiff | None:
    """Compare the plan's latest run with the active alignment and store it for the model page.

    Its own task after each plan run and each activation (the run is done when its rows are written; the
    diff, seconds at scale, follows). Holds the plan's row lock, as runs do, so it reads one committed
    run's rows. Nothing to do when the stored diff already compares that run with the active model (a
    redelivered task); no diff without an active model or a run, or once the plan is no longer planning."""
    from territories.selectors import PLAN_DIFF_MOVES_KEPT, plan_diff_current, plan_run_latest, territory_model_diff

    with transaction.atomic():
        plan = TerritoryModel.objects.select_for_update().get(pk=plan.pk)
        active = TerritoryModel.objects.filter(state=TerritoryModelState.ACTIVE).first()
        run = plan_run_latest(plan=plan)
        stored = PlanDiff.objects.filter(territory_model=plan).first()
        if plan.state != TerritoryModelState.PLANNING or active is None or run is None:
            PlanDiff.objects.filter(territory_model=plan).delete()
            return None
        if plan_diff_current(stored=stored, run=run, active=active):
            return stored
        diff = territory_model_diff(planning=plan, active=active, limit=PLAN_DIFF_MOVES_KEPT)
        stored, _created = PlanDiff.objects.update_or_create(
            territory_model=plan,
            defaults={
                "active_model": active,
                "run": run,
                "computed_at": timezone.now(),
                "moved_accounts": diff["moved_accounts"],
                "moves": diff["moves"],
                "territories": [
                    entry
                    | {"revenue_before": str(entry["revenue_before"]), "revenue_after": str(entry["revenue_after"])}
                    for entry in diff["territories"]
                ],
            },
        )
    return stored


def plan_diffs_enqueue_pending() -> list[int]:
    """Queue a diff refresh for every plan whose stored diff is missing or not current (the beat sweep, an
    activation); return their ids."""
    from core.hooks import task_enqueue
    from territories.selectors import plans_with_pending_diff
    from territories.tasks import plan_diff_refresh_task

    plan_ids = list(plans_with_pending_diff().values_list("pk", flat=True))
    for plan_id in plan_ids:
        task_enqueue(plan_diff_refresh_task, plan_id)
    return plan_ids


def _kpi_rollups_follow(*, model: TerritoryModel, territory_ids: list[int] | None) -> None:
    """A full run moved memberships: mark the KPI rollups of the territories they left and entered (None:
    every territory of the model — a first write or a bulk load, such as an activation) for recomputing,
    in the run's transaction; the KPI flush is queued once it commits and recomputes them (in full when
    most territories are marked)."""
    if territory_ids is None:
        territory_ids = list(model.territories.values_list("id", flat=True))
    if territory_ids:
        hook_call("kpis.services", "rollups_mark_dirty", territory_ids=territory_ids)


PROGRESS_DB = "progress"  # a second connection to the same database (config/settings.py)


def assignment_run_execute(*, run: AssignmentRun, progress: ProgressCallback | None = None) -> AssignmentRun:
    """Carry out a queued run: all or nothing, so a failure leaves the previous assignment in place."""
    if run.is_finished:
        return run  # a redelivered task: the work is done
    outer_atomic = connection.in_atomic_block
    AssignmentRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, started_at=timezone.now(), error="")

    def report(phase: str, percent: int, counts: dict) -> None:
        if outer_atomic:
            AssignmentRun.objects.filter(pk=run.pk).update(phase=phase, progress=percent, counts=counts)
        else:
            _run_progress_save_on_progress_alias(run, phase=phase, percent=percent, counts=counts)
        if progress:
            progress(phase, percent, counts)

    try:
        with transaction.atomic():
            if run.activation:
                counts = _activation_execute(run=run, progress=report)
            else:
                model = TerritoryModel.objects.select_for_update().get(pk=run.territory_model_id)
                counts = assignment_apply(model=model, dry_run=run.dry_run, progress=report)
            if run.dry_run:
                transaction.set_rollback(True)
    except Exception as error:
        logger.exception("assignment run %s failed", run.pk)
        # A refusal found when the run starts (an activation's checks, repeated) reads as the page's would.
        message = " ".join(error.messages) if isinstance(error, ValidationError) else f"{type(error).__name__}: {error}"
        AssignmentRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED, error=message, finished_at=timezone.now()
        )
        run.refresh_from_db()
        raise
    AssignmentRun.objects.filter(pk=run.pk).update(
        status=RunStatus.SUCCEEDED, phase="done", progress=100, counts=counts, finished_at=timezone.now()
    )
    run.refresh_from_db()
    if not run.dry_run and run.territory_model.state == TerritoryModelState.PLANNING:
        # The plan's rows (and the run's status) are committed: compare them with the alignment.
        transaction.on_commit(functools.partial(_plan_diff_enqueue, plan_id=run.territory_model_id))
    return run


def _activation_execute(*, run: AssignmentRun, progress: ProgressCallback) -> dict:
    """The queued activation, audited in its transaction as the requester's action."""
    from core.audit import audit_record
    from core.models import AuditEntry

    counts = territory_model_activate(
        model=run.territory_model, effective_from=run.effective_from, user=run.requested_by, progress=progress
    )
    audit_record(
        user=run.requested_by,
        action=AuditEntry.Action.ACTION,
        instance=run.territory_model,
        changes={"activated": str(run.effective_from), "run": run.pk, **counts},
    )
    return counts


def _plan_diff_enqueue(*, plan_id: int) -> None:
    from core.hooks import task_enqueue
    from territories.tasks import plan_diff_refresh_task

    task_enqueue(plan_diff_refresh_task, plan_id)


def _run_progress_save_on_progress_alias(run: AssignmentRun, *, phase: str, percent: int, counts: dict) -> None:
    """Progress goes through its own connection, so readers see it while the run's transaction is open."""
    alias = PROGRESS_DB if PROGRESS_DB in connections.databases else "default"
    try:
        AssignmentRun.objects.using(alias).filter(pk=run.pk).update(phase=phase, progress=percent, counts=counts)
    except Exception:  # progress is informative only; never fail the run over it
        logger.warning("could not record progress of assignment run %s", run.pk, exc_info=True)


def assignment_run_start(*, territory_model: TerritoryModel, user=None, dry_run: bool = False) -> AssignmentRun:
    """Create a run and queue its task once the caller's transaction commits. An archived model is history:
    it is not run (its rows would read as a plan's against the live alignment)."""
    from territories.tasks import assignment_run_task

    if territory_model.state == TerritoryModelState.ARCHIVED:
        raise ValidationError({"territory_model": "An archived territory model is history: it cannot be run."})
    # An activation computes the live alignment afresh: a run of the model it replaces or of itself waits.
    activating = AssignmentRun.objects.filter(activation=True, status__in=[RunStatus.QUEUED, RunStatus.RUNNING])
    affected = territory_model.state == TerritoryModelState.ACTIVE or activating.filter(territory_model=territory_model)
    if not dry_run and activating.exists() and (affected is True or affected.exists()):
        raise ValidationError(
            {"territory_model": "An activation is queued or running: it computes the alignment afresh; run after it."}
        )

    run = AssignmentRun.objects.create(
        territory_model=territory_model, dry_run=dry_run, requested_by=user if user and user.pk else None
    )
    transaction.on_commit(lambda: assignment_run_task.delay(run.pk))
    return run


def account_reassign(*, account_ids: list[int]) -> dict:
    """Recompute these accounts (and their deals) in the active model, with the same history rules."""
    account_ids = sorted({int(pk) for pk in account_ids})
    if not account_ids:
        return {}
    with transaction.atomic():
        model = TerritoryModel.objects.filter(state=TerritoryModelState.ACTIVE).first()
        if model is None:
            return {}
        return assignment_apply(model=model, account_ids=account_ids)


def account_changed(*, account_id: int, created: bool = False, changed_fields: set[str] | None = None) -> None:
    """Call after saving an account: queues it for reassignment (drained after commit) when it is new or
    a field rules read changed."""
    from territories.reassign_queue import accounts_reassign_queue

    if created or changed_fields is None or (set(changed_fields) & RULE_FIELDS):
        accounts_reassign_queue(account_ids=[account_id])


# Targets and tracked KPIs of _copy_map's old territories onto its new ones, each kept where the new one
# already has its own (same KPI and period).
_KPI_SETTINGS_COPY_SQL = """
    INSERT INTO kpis_kpitarget (territory_id, kpi_id, period_type, period_start, value, updated_at)
    SELECT m.new_id, t.kpi_id, t.period_type, t.period_start, t.value, now()
    FROM kpis_kpitarget t JOIN _copy_map m ON m.old_id = t.territory_id
    ON CONFLICT (territory_id, kpi_id, period_type, period_start) DO NOTHING;
    INSERT INTO kpis_territorykpi (territory_id, kpi_id, tracked)
    SELECT m.new_id, k.kpi_id, k.tracked FROM kpis_territorykpi k JOIN _copy_map m ON m.old_id = k.territory_id
    ON CONFLICT DO NOTHING"""

_COPY_SQL = [
    # Territories first without parents (the closure trigger needs the parent to exist), then parents.
    """INSERT INTO territories_territory (territory_model_id, code, name, kind, parent_id, priority, value_tier,
                                         description, created_at, updated_at)
       SELECT %(target)s, code, name, kind, NULL, priority, value_tier, description, now(), now()
       FROM territories_territory WHERE territory_model_id = %(source)s""",
    """CREATE TEMP TABLE _copy_map ON COMMIT DROP AS
       SELECT s.id AS old_id, t.id AS new_id FROM territories_territory s
       JOIN territories_territory t ON t.code = s.code AND t.territory_model_id = %(target)s
       WHERE s.territory_model_id = %(source)s""",
    """UPDATE territories_territory t SET parent_id = mp.new_id
       FROM territories_territory s JOIN _copy_map m ON m.old_id = s.id JOIN _copy_map mp ON mp.old_id = s.parent_id
       WHERE t.id = m.new_id""",
    """CREATE TEMP TABLE _copy_rules ON COMMIT DROP AS
       SELECT r.id AS old_id, nextval(pg_get_serial_sequence('territories_territoryrule', 'id')) AS new_id,
              m.new_id AS territory_id, r.name, r.position
       FROM territories_territoryrule r JOIN _copy_map m ON m.old_id = r.territory_id""",
    """INSERT INTO territories_territoryrule (id, territory_id, name, position)
       SELECT new_id, territory_id, name, position FROM _copy_rules""",
    """INSERT INTO territories_rulecriterion (rule_id, field, operator, values, min_value, max_value,
                                             range_start, range_end)
       SELECT cr.new_id, c.field, c.operator, c.values, c.min_value, c.max_value, c.range_start, c.range_end
       FROM territories_rulecriterion c JOIN _copy_rules cr ON cr.old_id = c.rule_id""",
    """INSERT INTO territories_namedaccount (territory_id, account_id)
       SELECT m.new_id, n.account_id FROM territories_namedaccount n JOIN _copy_map m ON m.old_id = n.territory_id""",
    """INSERT INTO territories_territoryoverride (territory_id, account_id, reason, created_by_id, created_at)
       SELECT m.new_id, o.account_id, o.reason, o.created_by_id, o.created_at
       FROM territories_territoryoverride o JOIN _copy_map m ON m.old_id = o.territory_id""",
    """INSERT INTO territories_repassignment (rep_id, territory_id, role, start_date, end_date, allocation_percent,
                                             created_at)
       SELECT a.rep_id, m.new_id, a.role, a.start_date, a.end_date, a.allocation_percent, now()
       FROM territories_repassignment a JOIN _copy_map m ON m.old_id = a.territory_id""",
    # The KPI settings go with the territories: a realignment keeps its targets and tracked KPIs (they
    # are per territory; without them an activation left every attainment empty).
    _KPI_SETTINGS_COPY_SQL,
]


def _whole_alignment_required(user) -> None:
    # A scoped manager's plan would still hold (and an activation switch) every other manager's territories.
    if scoped_manager(user):
        raise PermissionDenied(SCOPED_WHOLE_MODEL_MESSAGE)


def territory_model_copy(*, source: TerritoryModel, code: str, name: str, user=None) -> TerritoryModel:
    """A planning copy of a model: territories (same codes), rules, criteria, named accounts, overrides, reps,
    targets and tracked KPIs. Not for a scoped manager (PermissionDenied)."""
    _whole_alignment_required(user)
    if TerritoryModel.objects.filter(code=code).exists():
        raise ValidationError({"code": "A territory model with this code already exists."})
    with transaction.atomic():
        target = TerritoryModel.objects.create(
            code=code,
            name=name,
            state=TerritoryModelState.PLANNING,
            copied_from=source,
            created_by=user if user and user.pk else None,
            description=source.description,
        )
        params = {"source": source.pk, "target": target.pk}
        with connection.cursor() as cursor:
            for statement in _COPY_SQL:
                cursor.execute(statement, params)
            cursor.execute("DROP TABLE _copy_map; DROP TABLE _copy_rules")
    return target


def territory_model_delete(*, model: TerritoryModel, user=None) -> None:
    """Throw a plan away with everything it holds (territories, rules, pins, rep assignments, targets, runs,
    answers, diff). Only a plan: the active and archived models hold the history. Not for a scoped manager."""
    _whole_alignment_required(user)
    with transaction.atomic():
        model = TerritoryModel.objects.select_for_update().get(pk=model.pk)
        if model.state != TerritoryModelState.PLANNING:
            raise ValidationError({"state": ["Only a plan can be deleted: this model holds the history."]})
        if model.runs.filter(activation=True, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).exists():
            raise ValidationError({"state": ["This plan's activation is queued or running: it cannot be deleted."]})
        territory_ids = list(model.territories.values_list("id", flat=True))
        # The protected references a plan can hold (a plan writes no history, so no memberships): the
        # territories' own parents, rep assignments and targets. Everything else cascades with the model.
        Territory.objects.filter(pk__in=territory_ids).update(parent=None)
        RepAssignment.objects.filter(territory_id__in=territory_ids).delete()
        hook_call("kpis.services", "territories_settings_delete", territory_ids=territory_ids)
        with connection.cursor() as cursor:
            for table in ("branch", "probe", "rule", "state"):  # the engine's compiled rules: no foreign keys
                cursor.execute(f"DELETE FROM territories_engine_{table} WHERE model_id = %s", [model.pk])
        model.delete()


def _activation_refusal_raise(*, model: TerritoryModel, effective: date) -> None:
    """ValidationError, by field, when this model cannot become the active alignment from `effective`."""
    if model.state == TerritoryModelState.ACTIVE:
        raise ValidationError({"state": "This territory model is already active."})
    if model.state == TerritoryModelState.ARCHIVED:
        raise ValidationError(
            {"state": "An archived territory model is history: copy it as a plan to bring its alignment back."}
        )
    # Before the live alignment's own start, the switch would hand its whole past to the new one (a
    # mistyped year turned every as-of figure into a restated one).
    live = TerritoryModel.objects.filter(state=TerritoryModelState.ACTIVE).exclude(effective_from=None).first()
    if live is not None and effective < live.effective_from:
        raise ValidationError(
            {"effective_from": f"{live.name} is live from {live.effective_from}; choose that date or later."}
        )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT max(greatest(valid_from, coalesce(valid_to, valid_from)))"
            " FROM territories_accountterritorymembership"
        )
        latest = cursor.fetchone()[0]
    if latest is not None and effective < latest:
        raise ValidationError(
            {"effective_from": f"History already records changes on {latest}; choose that date or later."}
        )


def territory_model_activation_start(
    *, model: TerritoryModel, effective_from: date | None = None, user=None
) -> AssignmentRun:
    """Queue this model's activation as a run (checked now, and again when it runs): pages and the API
    answer at once and show its progress. One activation at a time. Not for a scoped manager."""
    from territories.tasks import assignment_run_task

    _whole_alignment_required(user)
    effective = effective_from or timezone.localdate()
    with transaction.atomic():
        # The live alignment's row serializes concurrent starts, so the second sees the first's run.
        list(TerritoryModel.objects.select_for_update().filter(state=TerritoryModelState.ACTIVE))
        _activation_refusal_raise(model=model, effective=effective)
        pending = AssignmentRun.objects.filter(activation=True, status__in=[RunStatus.QUEUED, RunStatus.RUNNING])
        if pending.exists():
            raise ValidationError(
                {"state": "Another activation is queued or running: wait for it to finish, then activate."}
            )
        run = AssignmentRun.objects.create(
            territory_model=model,
            activation=True,
            effective_from=effective,
            requested_by=user if user and user.pk else None,
        )
        transaction.on_commit(lambda: assignment_run_task.delay(run.pk))
    return run


def territory_model_activate(
    *, model: TerritoryModel, effective_from: date | None = None, user=None, progress: ProgressCallback | None = None
) -> dict:
    """One atomic switch: the previous active model is archived, this one becomes active and history
    rows of every account are closed / opened at effective_from (default today). Not for a scoped manager
    (PermissionDenied)."""
    _whole_alignment_required(user)
    effective = effective_from or timezone.localdate()
    with transaction.atomic():
        model = TerritoryModel.objects.select_for_update().get(pk=model.pk)
        _activation_refusal_raise(model=model, effective=effective)
        now = timezone.now()
        previous = list(TerritoryModel.objects.select_for_update().filter(state=TerritoryModelState.ACTIVE))
        TerritoryModel.objects.filter(pk__in=[m.pk for m in previous]).update(
            state=TerritoryModelState.ARCHIVED, archived_at=now
        )
        model.state = TerritoryModelState.ACTIVE
        model.activated_at = now
        model.effective_from = effective
        model.save(update_fields=["state", "activated_at", "effective_from"])
        with connection.cursor() as cursor:
            for outgoing in previous:
                # Targets and tracked KPIs set on the live alignment since the plan was copied carry over by
                # territory code (the plan's own win): the new alignment's attainment does not start empty.
                cursor.execute(
                    """CREATE TEMP TABLE _copy_map ON COMMIT DROP AS
                       SELECT s.id AS old_id, t.id AS new_id FROM territories_territory s
                       JOIN territories_territory t ON t.code = s.code AND t.territory_model_id = %(target)s
                       WHERE s.territory_model_id = %(source)s""",
                    {"source": outgoing.pk, "target": model.pk},
                )
                cursor.execute(_KPI_SETTINGS_COPY_SQL)
                cursor.execute("DROP TABLE _copy_map")
        # The plan's answers and diff are not read by the switch (it computes the model afresh): gone first,
        # so the history's swap, at the end of assignment_apply, is as close to the commit as it can be.
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {PLAN_ANSWER_TABLE} WHERE territory_model_id = %s", [model.pk])
            cursor.execute("DELETE FROM territories_planneddealterritory WHERE territory_model_id = %s", [model.pk])
        PlanDiff.objects.filter(territory_model=model).delete()
        # Every territory of the new alignment, even one without accounts, gets its rollups.
        _kpi_rollups_follow(model=model, territory_ids=None)
        counts = assignment_apply(model=model, effective=effective, progress=progress)
        TerritoryModel.objects.filter(pk=model.pk).update(state=TerritoryModelState.ACTIVE)
        # The other plans compared themselves with the previous alignment: compare them with this one.
        transaction.on_commit(plan_diffs_enqueue_pending)
    logger.info("territory model %s activated from %s by %s", model.code, effective, user)
    return counts
