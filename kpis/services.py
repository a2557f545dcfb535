"""Rollup recomputes (full and targeted), dirty marking and flushing, and recompute runs.

A recompute runs the set-based SQL in kpis/rollup_sql.py and swaps the scope's rows in the same
transaction, so readers see the old rollups or the new ones, never a mix. Deal changes are captured by
triggers (kpis_dealchange) and applied to the stored rollups as deltas by the flush; every writer of
rollups (flush, targeted or full recompute) first takes the pending changes its snapshot sees, so each
change is counted exactly once. Writers run one at a time (a self-conflicting lock on kpis_dealchange
taken before the snapshot, which is REPEATABLE READ when the writer owns its transaction); a full
recompute of a view also takes a try-lock on the view (held elsewhere: it skips), a targeted one a
try-lock per territory (territories held elsewhere stay dirty for the next flush).
"""

import json
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from core.hooks import territories_dirty_on_commit
from core.models import AuditEntry
from core.table_swap import locks_take_giving_way
from kpis import rollup_sql
from kpis.choices import KpiCode, RollupView
from kpis.models import (
    ARCHIVED_TARGET_MESSAGE,
    DealChange,
    KpiTarget,
    RecomputeRun,
    RollupDirty,
    target_territory_problem,
    validate_period,
)
from territories.choices import RunStatus, TerritoryModelState
from territories.models import Territory, TerritoryModel

logger = logging.getLogger(__name__)
DIMENSIONS_LOCK_TIMEOUT = "5s"

FULL_LOCK_CLASS = 40401  # pg advisory lock key (class, view) for a full recompute of a view
TERRITORY_LOCK_CLASS = 40410  # (class + view index, territory id) for a targeted recompute
VIEW_INDEX = {RollupView.AS_OF: 0, RollupView.RESTATED: 1}
BOTH_VIEWS = [RollupView.AS_OF, RollupView.RESTATED]
# More pending changes than this in one flush: a targeted recompute of their territories instead.
DELTA_MAX_CHANGES = 2000
# A flush whose dirty territories (with their ancestors) reach this share of the active model's recomputes
# everything, with the full recompute's partition swap — in models of at least this many territories (in
# smaller ones both cost alike, and a targeted recompute leaves the other territories' rows as they are).
FULL_RECOMPUTE_SHARE = 0.5
FULL_RECOMPUTE_MIN_TERRITORIES = 50

StepCallback = Callable[[str, str], None]


class UnknownView(ValueError):
    pass


@dataclass
class RecomputeResult:
    views: list[str] = field(default_factory=list)
    territories: int = 0
    rollup_rows: int = 0
    skipped_views: list[str] = field(default_factory=list)
    busy_territory_ids: list[int] = field(default_factory=list)
    deal_changes: int = 0  # pending deal changes taken
    delta: bool = False  # ... and applied as deltas (else reflected by a recompute)
    targets_refreshed: int = 0  # figures rows whose target a flush set in place (targets changed only)

    def as_counts(self) -> dict:
        return {
            "views": self.views,
            "territories": self.territories,
            "rollup_rows": self.rollup_rows,
            "skipped_views": self.skipped_views,
            "busy_territories": len(self.busy_territory_ids),
            "deal_changes": self.deal_changes,
            "delta": self.delta,
            "targets_refreshed": self.targets_refreshed,
        }


def rollup_views_parse(*, view: str | None) -> list[str]:
    """None → both views; accepts 'as_of' / 'as-of' / 'restated'."""
    if view is None or view == "":
        return [RollupView.AS_OF, RollupView.RESTATED]
    normalised = view.replace("-", "_")
    if normalised not in RollupView.values:
        raise UnknownView(f"Unknown view {view!r}: use as-of or restated.")
    return [normalised]


def _active_model_id() -> int | None:
    return TerritoryModel.objects.filter(state=TerritoryModelState.ACTIVE).values_list("id", flat=True).first()


def _run_steps(cursor, *, params: dict, on_step: StepCallback | None, beside: bool = False) -> str | None:
    """One view's steps. A full recompute stops before its partition swap and returns that statement: the
    caller swaps every view's partitions after all are built (_full_swaps), so no view's build waits behind
    the swap's locks. beside (a full recompute in its own REPEATABLE READ transaction): the campaign and
    breakdown partitions are built by a second session on this transaction's snapshot while this one
    builds the figures — two cores instead of one; should that session fail, this one builds them."""
    cursor.execute(rollup_sql.VIEW_CLEANUP)
    full = params["all_territories"]
    helper = executor = None
    if full and beside and settings.KPI_FULL_RECOMPUTE_BESIDE:
        cursor.execute("SELECT pg_export_snapshot()")
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kpi-dimensions")
        helper = executor.submit(_dimensions_beside, snapshot=cursor.fetchone()[0], params=params)
    try:
        for name, sql in rollup_sql.steps(view=params["view"], full=full, dimensions=helper is None):
            if full and name == "swap":
                if helper is not None and not _dimensions_built(helper):
                    cursor.execute(rollup_sql.dimension_build(view=params["view"]), params)
                return sql
            if on_step:
                on_step(params["view"], name)
            cursor.execute(sql, params)
        return None
    finally:
        if executor is not None:
            executor.shutdown(wait=True)  # its session closed before this transaction ends


def _full_swaps(cursor, *, swaps: list[tuple[dict, str]], on_step: StepCallback | None) -> None:
    """Swap in the partitions the full builds made, every view in this transaction's last statements."""
    if not swaps:
        return
    if on_step:
        for params, _sql in swaps:
            on_step(params["view"], "swap")
    # The partition swap's DDL must not queue every dashboard behind a long reader of the rollups.
    locks_take_giving_way(cursor, rollup_sql.ROLLUP_PARENTS)
    for params, sql in swaps:
        cursor.execute(sql, params)


def _dimensions_built(helper) -> bool:
    try:
        helper.result()
        return True
    except DatabaseError:
        logger.warning("KPI recompute: the second session's campaign and breakdown build failed", exc_info=True)
        return False


def _dimensions_beside(*, snapshot: str, params: dict) -> None:
    """In a thread (a database connection of its own): the campaign and breakdown partitions of a full
    recompute, from the recompute's snapshot, committed as unattached build tables. The recompute's swap
    attaches them; if it fails instead, the next full build drops them."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"SET TRANSACTION ISOLATION LEVEL REPEATABLE READ; SET TRANSACTION SNAPSHOT %s; {_RECOMPUTE_SETTINGS}; "
                # The first session waits for this one outside the database, where no deadlock is detected:
                # a lock this one cannot get soon fails it, and the first builds the rows itself.
                f"SET LOCAL lock_timeout = '{DIMENSIONS_LOCK_TIMEOUT}'",
                [snapshot],
            )
            _temp_buffers_raise(cursor)
            for _name, sql in rollup_sql.dimension_steps(view=params["view"]):
                cursor.execute(sql, params)
    finally:
        connection.close()


# The hash aggregates, sorts and index builds of a full recompute spill to disk with the defaults; JIT
# compiles for a second per statement.
_RECOMPUTE_SETTINGS = "SET LOCAL work_mem = '256MB'; SET LOCAL maintenance_work_mem = '512MB'; SET LOCAL jit = off"
_TEMP_BUFFERS = "512MB"
_temp_buffers_sessions: set[tuple[int, int]] = set()


def _temp_buffers_raise(cursor) -> None:
    """Keep the temporary tables of a recompute in memory (the default 8 MB pushes them through the
    kernel). PostgreSQL only allows this before the session's first use of a temporary table, so it is
    tried once per session, in a savepoint."""
    raw = connection.connection
    session = (id(raw), raw.get_backend_pid())
    if session in _temp_buffers_sessions:
        return
    _temp_buffers_sessions.add(session)
    try:
        with transaction.atomic():
            cursor.execute("SET temp_buffers = %s", [_TEMP_BUFFERS])
    except DatabaseError:
        pass


def _lock_territories(cursor, *, view: str, territory_ids: list[int]) -> list[int]:
    cursor.execute(
        "SELECT id FROM unnest(%s::bigint[]) AS id WHERE pg_try_advisory_xact_lock(%s, id::int) ORDER BY id",
        [sorted(territory_ids), TERRITORY_LOCK_CLASS + VIEW_INDEX[view]],
    )
    return [row[0] for row in cursor.fetchall()]


def _recompute_in_transaction(
    *, views: list[str], territory_ids: list[int] | None, on_step: StepCallback | None = None, beside: bool = False
) -> RecomputeResult:
    """Recompute inside the caller's transaction. territory_ids=None means every active territory.
    beside: the transaction is the recompute's own (REPEATABLE READ, no savepoint), so a full build may
    share its snapshot with a second session (_run_steps)."""
    result = RecomputeResult()
    model_id = _active_model_id()
    if model_id is None:
        return result
    computed_at = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_RECOMPUTE_SETTINGS + "; " + rollup_sql.DELTA_SETTINGS_RESET)  # reset: after a delta
        _temp_buffers_raise(cursor)
        cursor.execute(rollup_sql.CLEANUP)
        swaps: list[tuple[dict, str]] = []
        for view in views:
            if territory_ids is None:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [FULL_LOCK_CLASS, VIEW_INDEX[view]])
                if not cursor.fetchone()[0]:
                    result.skipped_views.append(view)
                    continue
                scope: list[int] = []
            else:
                scope = _lock_territories(cursor, view=view, territory_ids=territory_ids)
                result.busy_territory_ids = sorted(set(result.busy_territory_ids) | (set(territory_ids) - set(scope)))
                if not scope:
                    continue
            params = {
                "view": view,
                "model_id": model_id,
                "all_territories": territory_ids is None,
                "territory_ids": scope,
                "today": timezone.localdate(),
                "computed_at": computed_at,
            }
            swap = _run_steps(cursor, params=params, on_step=on_step, beside=beside)
            if swap:
                swaps.append((params, swap))
            cursor.execute("SELECT count(*) FROM kpi_scope")
            result.territories = max(result.territories, cursor.fetchone()[0])
            # KPI rows as the KpiRollup view reads them: one per figures row and catalogue KPI defined.
            cursor.execute(
                "SELECT count(*) * (SELECT count(*) FROM kpis_kpidefinition WHERE code = ANY(%s)) FROM kpi_period",
                [list(KpiCode.values)],
            )
            result.rollup_rows += cursor.fetchone()[0]
            result.views.append(view)
        _full_swaps(cursor, swaps=swaps, on_step=on_step)
        cursor.execute(rollup_sql.CLEANUP)
    return result


def _writer_begin(*, own_transaction: bool, full: bool) -> None:
    """The first statements of a transaction that writes rollups: one writer at a time (SHARE UPDATE
    EXCLUSIVE conflicts with itself, not with the deal writers' inserts of changes), and — when this
    transaction is our own — REPEATABLE READ, so the deals a recompute reads and the pending changes it
    takes come from one snapshot, taken after the locks (LOCK and SET are not queries)."""
    statements = ["SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"] if own_transaction else []
    statements.append("LOCK TABLE kpis_dealchange IN SHARE UPDATE EXCLUSIVE MODE")
    if full:
        # Holds off any other write to the rollups (the ORM's included); readers are not blocked.
        statements.append(
            "LOCK TABLE kpis_kpifigure, kpis_kpicampaignrollup, kpis_kpibreakdownrollup IN SHARE ROW EXCLUSIVE MODE"
        )
    with connection.cursor() as cursor:
        cursor.execute("; ".join(statements))


def rollups_recompute(
    *,
    view: str | None = None,
    territory_ids: Iterable[int] | None = None,
    on_step: StepCallback | None = None,
) -> RecomputeResult:
    """Recompute the rollups of the given views (default both) for the given active-model territories
    (default all), writing and swapping them in one transaction. Pending deal changes are taken first:
    a full recompute of both views reflects them; otherwise they are applied as deltas (or their
    territories recomputed too), so none is counted twice or lost."""
    views = rollup_views_parse(view=view)
    ids = None if territory_ids is None else sorted(set(territory_ids))
    own = not connection.in_atomic_block
    with transaction.atomic():
        _writer_begin(own_transaction=own, full=ids is None)
        full_views: list[str] = []
        if ids is None:
            with connection.cursor() as cursor:
                for name in views:
                    cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [FULL_LOCK_CLASS, VIEW_INDEX[name]])
                    if cursor.fetchone()[0]:
                        full_views.append(name)
        taken = _deal_changes_take(maintain_views=[name for name in BOTH_VIEWS if name not in full_views])
        result = _recompute_in_transaction(views=views, territory_ids=ids, on_step=on_step, beside=own)
        if taken.fallback_territory_ids:
            affected = rollup_affected_territories(dirty_territory_ids=taken.fallback_territory_ids)
            extra = _recompute_in_transaction(views=BOTH_VIEWS, territory_ids=affected) if affected else None
            if extra and extra.busy_territory_ids:
                rollups_mark_dirty(territory_ids=extra.busy_territory_ids)
        result.deal_changes, result.delta = taken.changes, taken.delta
        return result


@dataclass
class ChangesTaken:
    changes: int = 0
    delta: bool = False
    fallback_territory_ids: list[int] = field(default_factory=list)  # any model; recompute these instead


def _deal_changes_take(*, maintain_views: list[str]) -> ChangesTaken:
    """Take (delete) every pending deal change this transaction sees. maintain_views: the views whose
    rollups this transaction does not rebuild in full; the changes are applied to them as deltas, or —
    a big batch, a change of the calendar, no stored rollups — their territories are returned for a
    targeted recompute in this transaction."""
    taken = ChangesTaken()
    with connection.cursor() as cursor:
        if not maintain_views:
            cursor.execute("DELETE FROM kpis_dealchange")
            taken.changes = cursor.rowcount
            return taken
        today = timezone.localdate()
        name, prepare = rollup_sql.delta_prepared(rollup_sql.DELTA_SQL)
        cursor.execute(rollup_sql.DELTA_CHECK, {"today": today, "prepared": name})
        taken.changes, deals, model_id, first, last, stored, prepared = cursor.fetchone()
        if not taken.changes or model_id is None:
            return taken
        calendar = _calendar_unchanged(first=first, last=last, stored=stored, views=maintain_views)
        if deals > DELTA_MAX_CHANGES or calendar is None:
            cursor.execute(rollup_sql.CHANGES_TERRITORIES)
            taken.fallback_territory_ids = sorted(row[0] for row in cursor.fetchall())
            return taken
        params = {
            "views": maintain_views,
            "model_id": model_id,
            "today": today,
            "cal_first": first,
            "cal_last": last,
            "computed_at": timezone.now(),
        }
        if not prepared:
            cursor.execute(prepare)
        arguments = ", ".join(f"%({parameter})s" for parameter, _ in rollup_sql.DELTA_PARAMETERS)
        cursor.execute(f"{rollup_sql.DELTA_SETTINGS}; EXECUTE {name} ({arguments})", params)
        taken.fallback_territory_ids = sorted(row[0] for row in cursor.fetchall())  # without rows to update
        taken.delta = True
    return taken


def _calendar_unchanged(*, first, last, stored, views: list[str]):
    """(first month, last month) when the deals' calendar is the one every maintained view has stored;
    None when it moved (a delta cannot add or drop periods) or nothing is stored."""
    if first is None:
        return None
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    by_view = {row[0]: tuple(row[1:]) for row in (json.loads(stored) if isinstance(stored, str) else stored)}
    expected = (first.isoformat(), last.isoformat(), months)
    if any(by_view.get(name) != expected for name in views):
        return None
    return first, last


# --- Incremental: dirty marking and the coalesced flush ---


def _enqueue_flush() -> None:
    from core.hooks import task_enqueue
    from kpis.tasks import flush_dirty_rollups

    # An unreachable broker only logs: the dirty rows and pending changes are committed and the beat sweep
    # enqueues the flush later (the writer's own work — a run, an API write — has succeeded).
    task_enqueue(flush_dirty_rollups)


def _enqueue_flush_on_commit() -> None:
    """One flush per transaction however many changes it marks."""
    conn = transaction.get_connection()
    if conn.in_atomic_block and any(func is _enqueue_flush for _, func, _ in conn.run_on_commit):
        return
    transaction.on_commit(_enqueue_flush)


def rollups_mark_dirty(*, territory_ids: Iterable[int], targets_only: bool = False, exact: bool = False) -> int:
    """Record, in the caller's transaction, that these territories' rollups (of any model; the flush
    maps them to the active model by code, with their ancestors) need recomputing — or, targets_only,
    only their targets setting (a target change: no figure or ancestor changes), or, exact, these active
    territories' figures alone (memberships_moved: their ancestors' did not change); enqueue one flush on
    commit."""
    ids = sorted(set(territory_ids))
    if not ids:
        return 0
    with connection.cursor() as cursor:
        # Two marks of one territory make the wider one: targets only < exact (a recompute of the territory,
        # its targets included) < with its ancestors (neither flag).
        cursor.execute(
            """
            INSERT INTO kpis_rollupdirty (territory_id, since, targets_only, exact)
            SELECT id, now(), %s, %s FROM unnest(%s::bigint[]) AS id
            ON CONFLICT (territory_id) DO UPDATE
                SET targets_only = kpis_rollupdirty.targets_only AND EXCLUDED.targets_only,
                    exact = (kpis_rollupdirty.exact OR kpis_rollupdirty.targets_only)
                            AND (EXCLUDED.exact OR EXCLUDED.targets_only)
                            AND NOT (kpis_rollupdirty.targets_only AND EXCLUDED.targets_only)
                WHERE (kpis_rollupdirty.targets_only, kpis_rollupdirty.exact)
                      IS DISTINCT FROM (EXCLUDED.targets_only, EXCLUDED.exact)
            """,
            [targets_only, exact, ids],
        )
    _enqueue_flush_on_commit()
    return len(ids)


def deal_changed(*, deal_ids: Iterable[int]) -> int:
    """Enqueue one flush when the caller's transaction commits. The change itself was captured by the
    triggers on accounts_deal (old and new row, in the writer's transaction), so this only wakes the
    worker; call it after the change is written."""
    ids = sorted(set(deal_ids))
    if not ids:
        return 0
    _enqueue_flush_on_commit()
    return len(ids)


def territories_settings_delete(*, territory_ids: list[int]) -> None:
    """The targets and tracked KPIs of territories about to be deleted (a plan thrown away)."""
    from kpis.models import TerritoryKpi

    KpiTarget.objects.filter(territory_id__in=territory_ids).delete()
    TerritoryKpi.objects.filter(territory_id__in=territory_ids).delete()


def memberships_moved(*, territory_ids: Iterable[int]) -> int:
    """Mark exactly these active territories dirty: those whose set of accounts (or deals) a reassignment
    changed — for each account, the territories above the memberships it left but not above those it
    entered, and the other way round (territories.services, the incremental write). A territory above
    both holds the account before and after, in both views, so its figures stand: an account moving
    between two leaves of a region no longer recomputes the region and every root above it (a whole-
    database recompute per moved account)."""
    return rollups_mark_dirty(territory_ids=territory_ids, exact=True)


def memberships_changed(*, account_ids: Iterable[int]) -> int:
    """Mark dirty every territory these accounts are or were in (after a membership change)."""
    ids = sorted(set(account_ids))
    if not ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT DISTINCT territory_id FROM territories_accountterritorymembership WHERE account_id = ANY(%s)
            UNION
            SELECT dm.territory_id FROM territories_dealterritorymembership dm
            JOIN accounts_deal d ON d.id = dm.deal_id WHERE d.account_id = ANY(%s)
            """,
            [ids, ids],
        )
        territory_ids = [row[0] for row in cursor.fetchall()]
    return rollups_mark_dirty(territory_ids=territory_ids)


AFFECTED_SQL = """
-- Dirty territories (any model) -> the codes of them and their ancestors in their own model -> the
-- active territories with those codes, their active ancestors, and product territories below them
-- (whose accounts are their parent's).
WITH codes AS (
    SELECT DISTINCT a.code
    FROM territories_territoryclosure c JOIN territories_territory a ON a.id = c.ancestor_id
    WHERE c.descendant_id = ANY(%(dirty)s)
),
active AS (
    SELECT t.id FROM territories_territory t
    WHERE t.territory_model_id = %(model_id)s AND t.code IN (SELECT code FROM codes)
)
SELECT c.ancestor_id FROM territories_territoryclosure c WHERE c.descendant_id IN (SELECT id FROM active)
UNION
SELECT c.descendant_id FROM territories_territoryclosure c
JOIN territories_territory d ON d.id = c.descendant_id AND d.kind = 'product'
WHERE c.ancestor_id IN (SELECT id FROM active)
"""


# Exactly-marked territories (memberships_moved) of the active model, and the product territories below
# them (whose accounts are their parent's).
AFFECTED_EXACT_SQL = """
SELECT t.id FROM territories_territory t WHERE t.id = ANY(%(exact)s) AND t.territory_model_id = %(model_id)s
UNION
SELECT c.descendant_id FROM territories_territoryclosure c
JOIN territories_territory d ON d.id = c.descendant_id AND d.kind = 'product'
WHERE c.ancestor_id = ANY(%(exact)s) AND d.territory_model_id = %(model_id)s
"""


def rollup_affected_territories(
    *, dirty_territory_ids: list[int], exact_territory_ids: list[int] | None = None
) -> list[int]:
    """The active territories to recompute: the dirty ones' (by code) with their ancestors, and the
    exactly-marked ones alone — each with the product territories below it."""
    model_id = _active_model_id()
    if model_id is None or not (dirty_territory_ids or exact_territory_ids):
        return []
    affected = set()
    with connection.cursor() as cursor:
        if dirty_territory_ids:
            cursor.execute(AFFECTED_SQL, {"dirty": dirty_territory_ids, "model_id": model_id})
            affected.update(row[0] for row in cursor.fetchall())
        if exact_territory_ids:
            cursor.execute(AFFECTED_EXACT_SQL, {"exact": exact_territory_ids, "model_id": model_id})
            affected.update(row[0] for row in cursor.fetchall())
    return sorted(affected)


def _full_recompute_wanted(*, dirty_territory_ids: list[int], exact_territory_ids: list[int] | None = None) -> bool:
    """Whether the dirty territories, with their ancestors, are at least FULL_RECOMPUTE_SHARE of the active
    model's and at least FULL_RECOMPUTE_MIN_TERRITORIES (after a first assignment run or an activation, say):
    one full recompute then costs less than a targeted one of nearly everything, which updates millions of
    rows in place."""
    affected = rollup_affected_territories(
        dirty_territory_ids=dirty_territory_ids, exact_territory_ids=exact_territory_ids
    )
    if len(affected) < FULL_RECOMPUTE_MIN_TERRITORIES:
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM territories_territory WHERE territory_model_id = %s", [_active_model_id()])
        return len(affected) >= FULL_RECOMPUTE_SHARE * cursor.fetchone()[0]


def rollups_flush_dirty() -> RecomputeResult:
    """Apply every pending deal change as deltas (or recompute its territories: see _deal_changes_take),
    recompute the dirty territories (both views), and delete what it took — all in one transaction, so a
    failure leaves the changes pending and the territories dirty, and a second run finds nothing. When most
    territories are dirty it recomputes everything instead (_full_recompute_wanted)."""
    own = not connection.in_atomic_block
    with transaction.atomic():
        _writer_begin(own_transaction=own, full=False)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT territory_id, targets_only, exact FROM kpis_rollupdirty"
                " ORDER BY territory_id FOR UPDATE SKIP LOCKED"
            )
            rows = cursor.fetchall()
        taken_ids = [territory_id for territory_id, _, _ in rows]
        dirty = [territory_id for territory_id, targets_only, exact in rows if not targets_only and not exact]
        exact = [territory_id for territory_id, targets_only, exact in rows if exact and not targets_only]
        targets_changed = [territory_id for territory_id, targets_only, _ in rows if targets_only]
        if (dirty or exact) and _full_recompute_wanted(dirty_territory_ids=dirty, exact_territory_ids=exact):
            # In this transaction and snapshot: takes the pending deal changes as a full recompute does.
            result = rollups_recompute()
            if not result.skipped_views:  # else another full recompute holds a view: stay dirty for the sweep
                with connection.cursor() as cursor:
                    cursor.execute("DELETE FROM kpis_rollupdirty WHERE territory_id = ANY(%s)", [taken_ids])
            return result
        taken = _deal_changes_take(maintain_views=BOTH_VIEWS)
        to_recompute = sorted(set(dirty) | set(taken.fallback_territory_ids))
        affected = rollup_affected_territories(dirty_territory_ids=to_recompute, exact_territory_ids=exact)
        result = (
            _recompute_in_transaction(views=rollup_views_parse(view=None), territory_ids=affected)
            if affected
            else RecomputeResult()
        )
        if targets_changed:
            result.targets_refreshed = _targets_refresh(territory_ids=targets_changed)
        if taken_ids:
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM kpis_rollupdirty WHERE territory_id = ANY(%s)", [taken_ids])
        if result.busy_territory_ids:
            rollups_mark_dirty(territory_ids=result.busy_territory_ids)
        result.deal_changes, result.delta = taken.changes, taken.delta
        return result


def _targets_refresh(*, territory_ids: list[int]) -> int:
    """Set the targets of these territories' figures rows (both views) to what a recompute would store;
    returns the rows changed. Targets are per territory: no ancestor's figures change."""
    with connection.cursor() as cursor:
        cursor.execute(rollup_sql.TARGETS_REFRESH, {"territory_ids": territory_ids, "computed_at": timezone.now()})
        return cursor.rowcount


def rollups_dirty_stale_exist(*, older_than_seconds: int) -> bool:
    """Dirty territories or pending deal changes older than this: their flush was lost or failed."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    return (
        RollupDirty.objects.filter(since__lt=cutoff).exists()
        or DealChange.objects.filter(changed_at__lt=cutoff).exists()
    )


# --- Recompute runs (the command and the nightly task record their progress) ---


def recompute_run_create(*, territory_id: int | None = None, view: str = "", requested_by=None) -> RecomputeRun:
    return RecomputeRun.objects.create(territory_id=territory_id, view=view, requested_by=requested_by)


def recompute_run_start(*, territory=None, view: str = "", user=None) -> RecomputeRun:
    """Record a recompute (one territory of the active model, or all) and queue it once the caller's
    transaction commits; the run row then shows its progress and outcome."""
    from core.hooks import task_enqueue
    from kpis.tasks import recompute_run_task

    views = rollup_views_parse(view=view or None)
    run = recompute_run_create(
        territory_id=territory.pk if territory is not None else None,
        view=views[0] if len(views) == 1 else "",
        requested_by=user if user is not None and user.pk else None,
    )

    def enqueue():
        if not task_enqueue(recompute_run_task, run.pk):  # no sweep picks a run up: say so on the run
            RecomputeRun.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(
                status=RunStatus.FAILED,
                error="The task queue could not be reached; start the recompute again.",
                finished_at=timezone.now(),
            )

    transaction.on_commit(enqueue)
    return run


def recompute_run_execute(*, run: RecomputeRun, on_step: StepCallback | None = None) -> RecomputeRun:
    """Run a recorded recompute; the run row shows its phase, progress and outcome."""
    run.status = RunStatus.RUNNING
    run.started_at = timezone.now()
    run.save(update_fields=["status", "started_at"])
    views = rollup_views_parse(view=run.view or None)
    total = sum(len(rollup_sql.steps(view=view, full=run.territory_id is None)) for view in views)
    done = 0

    def step(view: str, name: str) -> None:
        nonlocal done
        done += 1
        run.phase = f"{view}: {name}"[:60]
        run.progress = min(99, done * 100 // total)
        if on_step:
            on_step(view, name)

    try:
        result = rollups_recompute(
            view=run.view or None,
            territory_ids=None if run.territory_id is None else [run.territory_id],
            on_step=step,
        )
    except Exception as error:
        run.status = RunStatus.FAILED
        run.error = str(error)[:2000]
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "finished_at", "phase", "progress"])
        raise
    run.status = RunStatus.SUCCEEDED
    run.progress = 100
    run.phase = "done"
    run.counts = result.as_counts()
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "progress", "phase", "counts", "finished_at"])
    return run


def kpi_catalogue_sync() -> int:
    """Add the catalogue definitions that are missing (existing ones stay as edited)."""
    from kpis.catalogue import CATALOGUE
    from kpis.models import KpiDefinition

    existing = set(KpiDefinition.objects.values_list("code", flat=True))
    missing = [
        KpiDefinition(
            code=code,
            name=name,
            unit=unit,
            decimals=decimals,
            higher_is_better=higher,
            default_for_kinds=kinds,
            description=description,
            position=position,
        )
        for position, (code, name, unit, decimals, higher, kinds, description) in enumerate(CATALOGUE)
        if code not in existing
    ]
    KpiDefinition.objects.bulk_create(missing)
    return len(missing)


# Monthly revenue targets = the same month a year earlier (as-of rollups) × (1 + growth). Existing
# targets are kept: this fills gaps, it never overwrites what a manager set.
_REVENUE_TARGETS_FROM_HISTORY_SQL = """
INSERT INTO kpis_kpitarget (territory_id, kpi_id, period_type, period_start, value, updated_at)
SELECT r.territory_id, d.id, 'month', (r.period_start + interval '12 months')::date,
       round(r.revenue * %(factor)s, 2), now()
FROM kpis_kpifigure r
JOIN kpis_kpidefinition d ON d.code = 'revenue'
JOIN territories_territory t ON t.id = r.territory_id
JOIN territories_territorymodel m ON m.id = t.territory_model_id AND m.state = 'active'
WHERE r.view = 'as_of' AND r.period_type = 'month' AND r.revenue > 0
  AND r.period_start + interval '12 months' <= %(last_month)s
ON CONFLICT (territory_id, kpi_id, period_type, period_start) DO NOTHING
RETURNING territory_id
"""


def revenue_targets_from_history(*, growth_percent: float = 10.0, months_ahead: int = 12) -> int:
    """Set missing monthly revenue targets of the active model from last year's revenue plus growth.

    Quarter and year targets follow from the months (see selectors); the territories' figures get their
    targets with the next flush (marked targets-only). Returns the rows written.
    """
    if growth_percent < -100:
        raise ValueError("growth_percent: a target cannot be negative (growth below -100 %).")
    today = timezone.localdate()
    month = today.month - 1 + months_ahead
    last_month = today.replace(year=today.year + month // 12, month=month % 12 + 1, day=1)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            _REVENUE_TARGETS_FROM_HISTORY_SQL, {"factor": 1 + growth_percent / 100, "last_month": last_month}
        )
        territory_ids = [row[0] for row in cursor.fetchall()]
        rollups_mark_dirty(territory_ids=territory_ids, targets_only=True)
        return len(territory_ids)


# ---- Targets ------------------------------------------------------------------------------------------


@dataclass
class TargetsSetResult:
    set: int = 0  # created or changed
    cleared: int = 0  # deleted (an emptied cell)
    unchanged: int = 0


def kpi_targets_set(*, user, kpi, period_type: str, values: dict[tuple[int, date], Decimal | None]) -> TargetsSetResult:
    """Set, replace or clear (None) targets of one KPI and period type: {(territory id, period start): value}
    in stored units (a ratio as a fraction). All or nothing: an invalid value or period refuses the whole
    batch with a ValidationError keyed "territory id:period start"; only changed targets are written and
    audited, and the changed territories' rollups get their targets refreshed on commit."""
    problems = {}
    for (territory_id, start), value in values.items():
        try:
            validate_period(period_type, start)
        except ValidationError as error:
            problems[f"{territory_id}:{start}"] = error.messages
        if value is not None and (problem := kpi.target_problem(value)):
            problems[f"{territory_id}:{start}"] = [problem]
    if problems:
        raise ValidationError(problems)
    territory_ids = sorted({territory_id for territory_id, _ in values})
    result = TargetsSetResult()
    with transaction.atomic():
        territories = Territory.objects.select_related("territory_model").in_bulk(territory_ids)
        archived = [t for t in territories.values() if target_territory_problem(t)]
        if archived:
            raise ValidationError({"territory": [ARCHIVED_TARGET_MESSAGE]})
        existing = {
            (target.territory_id, target.period_start): target
            for target in KpiTarget.objects.select_for_update(of=("self",))
            .select_related("territory", "kpi")
            .filter(
                kpi=kpi,
                period_type=period_type,
                territory_id__in=territory_ids,
                period_start__in=sorted({start for _, start in values}),
            )
            .order_by("id")
        }
        writes, clears, before = [], [], {}
        for key, value in values.items():
            stored = existing.get(key)
            if (value is None and stored is None) or (stored is not None and stored.value == value):
                result.unchanged += 1
            elif value is None:
                clears.append(stored)
            else:
                before[key] = None if stored is None else stored.value
                territory, start = territories[key[0]], key[1]
                writes.append(
                    KpiTarget(territory=territory, kpi=kpi, period_type=period_type, period_start=start, value=value)
                )
        written = KpiTarget.objects.bulk_create(
            writes,
            update_conflicts=True,
            unique_fields=["territory", "kpi", "period_type", "period_start"],
            update_fields=["value", "updated_at"],
        )
        KpiTarget.objects.filter(pk__in=[target.pk for target in clears]).delete()
        changes = [(target, before[(target.territory_id, target.period_start)], target.value) for target in written]
        changes += [(target, target.value, None) for target in clears]
        AuditEntry.objects.bulk_create(
            AuditEntry(
                user=user if user is not None and user.is_authenticated else None,
                action=_TARGET_AUDIT_ACTION[(old is None, new is None)],
                object_type=KpiTarget._meta.label_lower,
                object_id=str(target.pk),
                object_repr=str(target)[:200],
                changes={"value": [None if old is None else str(old), None if new is None else str(new)]},
                territory_code=target.territory.code,
            )
            for target, old, new in changes
        )
        territories_dirty_on_commit([target.territory_id for target, _, _ in changes])
    result.set, result.cleared = len(written), len(clears)
    return result


# (no value before, no value after) → the audit action of a target change
_TARGET_AUDIT_ACTION = {
    (True, False): AuditEntry.Action.CREATE,
    (False, False): AuditEntry.Action.UPDATE,
    (False, True): AuditEntry.Action.DELETE,
}
