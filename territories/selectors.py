"""Reads of the alignment: current assignment, dry-run previews, planning diffs and coverage."""

from datetime import date
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from accounts.models import Account
from core.access import access_scope
from territories.choices import AssignmentRole, RunStatus, TerritoryKind, TerritoryModelState
from territories.engine import ANSWER_TABLE, PLAN_ANSWER_TABLE
from territories.models import (
    AccountTerritoryMembership,
    AssignmentOverlap,
    AssignmentRun,
    DealTerritoryMembership,
    PlanDiff,
    PlannedAccountTerritory,
    PlannedDealTerritory,
    RepAssignment,
    Territory,
    TerritoryClosure,
    TerritoryModel,
)

_CURRENT_ROWS = """SELECT m.account_id, m.territory_id FROM territories_accountterritorymembership m
    JOIN territories_territory t ON t.id = m.territory_id
    WHERE m.valid_to IS NULL AND t.territory_model_id = %(active)s"""
# A plan's accounts: the stored answer signatures (PlanAccountAnswer, one row per account, scale 4).
_PLANNED_ACCOUNTS = f"""SELECT account_id, sig AS deepest FROM {PLAN_ANSWER_TABLE}
    WHERE territory_model_id = %(planning)s AND cardinality(sig) > 0"""
# How many moves a plan's stored diff keeps (its page shows the first hundred; the count covers all).
PLAN_DIFF_MOVES_KEPT = 1000

_RESULT_ROWS = "SELECT a AS account_id, b AS territory_id FROM _engine_result WHERE row_type = 'deep'"

# The diff works per side on each account's set of deepest territories (`_diff_acc_<side>`) and on the
# distinct sets (`_diff_set_<side>`: a few thousand for a million accounts). Moves: accounts whose sets
# differ by (code, kind); per territory: each set counts its accounts once for every ancestor of its
# members (overlays included). A set is keyed by an array of `territory_id * scale + x` (scale 1 for rows
# read here; 4 for the engine's stored answer signatures, `territory_id * 4 + source`).
_DIFF_ROWS_ACCOUNTS = """SELECT x.account_id, array_agg(x.territory_id ORDER BY x.territory_id) AS deepest
    FROM ({rows}) x GROUP BY x.account_id"""

# The active alignment's accounts from the engine's stored answers (territories_engine_answer: one row per
# account, kept equal to its current rows by triggers on the membership table), and from the rows only for
# the accounts without one (changed since the last full run): no sort of millions of rows by account.
_CURRENT_ACCOUNTS = f"""SELECT a.account_id, a.sig AS deepest FROM {ANSWER_TABLE} a
    WHERE cardinality(a.sig) > 0
    UNION ALL
    SELECT m.account_id, array_agg(m.territory_id * 4 ORDER BY m.territory_id)
    FROM territories_accountterritorymembership m JOIN territories_territory t ON t.id = m.territory_id
    WHERE m.valid_to IS NULL AND t.territory_model_id = %(active)s
      AND NOT EXISTS (SELECT 1 FROM {ANSWER_TABLE} a WHERE a.account_id = m.account_id)
    GROUP BY m.account_id"""

_DIFF_ACCOUNTS_SQL = """
DROP TABLE IF EXISTS _diff_acc_{side}, _diff_set_{side};
CREATE TEMP TABLE _diff_acc_{side} ON COMMIT DROP AS {accounts};
CREATE TEMP TABLE _diff_set_{side} ON COMMIT DROP AS
SELECT s.*, (SELECT array_agg(t.kind || ':' || t.code ORDER BY t.kind, t.code)
             FROM unnest(s.territories) u(id) JOIN territories_territory t ON t.id = u.id) AS codes
FROM (SELECT d.deepest, (SELECT array_agg(DISTINCT e / {scale}) FROM unnest(d.deepest) e) AS territories,
             count(*) AS accounts, coalesce(sum(r.revenue), 0) AS revenue
      FROM _diff_acc_{side} d LEFT JOIN (
          SELECT account_id, sum(amount) AS revenue FROM accounts_deal
          WHERE stage = 'won' AND closed_on > %(since)s AND closed_on <= %(today)s GROUP BY account_id
      ) r ON r.account_id = d.account_id
      GROUP BY d.deepest) s;
ANALYZE _diff_set_{side}
"""

_MOVED_SQL = """
DROP TABLE IF EXISTS _diff_moved;
CREATE TEMP TABLE _diff_moved ON COMMIT DROP AS
SELECT coalesce(b.account_id, a.account_id) AS account_id, coalesce(sb.codes, '{}') AS before,
       coalesce(sa.codes, '{}') AS after
FROM _diff_acc_before b FULL JOIN _diff_acc_after a ON a.account_id = b.account_id
LEFT JOIN _diff_set_before sb ON sb.deepest = b.deepest
LEFT JOIN _diff_set_after sa ON sa.deepest = a.deepest
WHERE sb.codes IS DISTINCT FROM sa.codes
"""

_PER_TERRITORY_SQL = """
SELECT t.code, sum(s.accounts)::bigint, sum(s.revenue)
FROM (SELECT DISTINCT s.deepest, c.ancestor_id FROM _diff_set_{side} s
      CROSS JOIN LATERAL unnest(s.territories) d(territory_id)
      JOIN territories_territoryclosure c ON c.descendant_id = d.territory_id) up
JOIN _diff_set_{side} s ON s.deepest = up.deepest JOIN territories_territory t ON t.id = up.ancestor_id
GROUP BY t.code
"""


def _diff_sides(cursor, *, active: TerritoryModel | None, after: str, after_scale: int, params: dict) -> None:
    """Before: the active model's current rows; after: the accounts of the `after` query (account_id,
    deepest: its territories as territory_id * after_scale + x)."""
    # Millions of rows sorted and grouped: in memory, no JIT (its compile time exceeds what it saves), and
    # read in one sequential pass — in index order by account, the heap reads are random (2–3× slower).
    cursor.execute("SET LOCAL work_mem = '256MB'; SET LOCAL jit = off; SET LOCAL enable_indexscan = off")
    # Stored answers are the active model's (a run writes them; an activation rewrites every current row,
    # which forgets them): any other "before" model is read from its rows.
    if active is not None and active.state == TerritoryModelState.ACTIVE:
        before, before_scale = _CURRENT_ACCOUNTS, 4
    else:
        before, before_scale = _DIFF_ROWS_ACCOUNTS.format(rows=_CURRENT_ROWS), 1
    for side, accounts, scale in (
        ("before", before, before_scale),
        ("after", after, after_scale),
    ):
        cursor.execute(_DIFF_ACCOUNTS_SQL.format(side=side, accounts=accounts, scale=scale), params)
    cursor.execute("SET LOCAL enable_indexscan TO DEFAULT")


def _moves(cursor, *, limit: int) -> tuple[list[dict], int]:
    """The first `limit` moves (per account and kind, codes sorted) and the number of accounts moving."""
    cursor.execute(_MOVED_SQL)
    moved = cursor.rowcount
    cursor.execute("SELECT account_id, before, after FROM _diff_moved ORDER BY account_id LIMIT %s", [limit])
    moves = []
    for account_id, before, after in cursor.fetchall():
        by_kind: dict[str, tuple[list, list]] = {}
        for side, entries in ((0, before), (1, after)):
            for entry in entries:
                kind, code = entry.split(":", 1)
                by_kind.setdefault(kind, ([], []))[side].append(code)
        moves += [
            {"account_id": account_id, "kind": kind, "from_codes": old, "to_codes": new}
            for kind, (old, new) in sorted(by_kind.items())
            if old != new
        ]
    return moves[:limit], moved


def assignment_preview(*, model: TerritoryModel, limit: int = 1000) -> dict:
    """What a full run of the model would change against the active alignment, computed and rolled back."""
    from territories.services import assignment_apply

    active = TerritoryModel.objects.filter(state=TerritoryModelState.ACTIVE).first()
    today = timezone.localdate()
    params = {"active": active.pk if active else 0, "today": today, "since": today - relativedelta(years=1)}
    with transaction.atomic(), connection.cursor() as cursor:
        counts = assignment_apply(model=model, dry_run=True)
        _diff_sides(
            cursor, active=active, after=_DIFF_ROWS_ACCOUNTS.format(rows=_RESULT_ROWS), after_scale=1, params=params
        )
        moves, moved = _moves(cursor, limit=limit)
        transaction.set_rollback(True)
    return {"counts": counts, "moves": moves, "moved_accounts": moved}


def territory_model_diff(*, planning: TerritoryModel, active: TerritoryModel, limit: int = 10_000) -> dict:
    """Accounts moving from → to (by territory code, per kind; the first `limit`, and how many accounts move)
    and, per territory code, accounts and trailing-12-month won revenue before (active, current) and after
    (planning, its latest run). Compares both sides in full: the diff task stores it
    (services.plan_diff_refresh); pages and the API read plan_diff_report."""
    today = timezone.localdate()
    params = {"active": active.pk, "planning": planning.pk, "today": today, "since": today - relativedelta(years=1)}
    territories = {}
    with transaction.atomic(), connection.cursor() as cursor:
        _diff_sides(cursor, active=active, after=_PLANNED_ACCOUNTS, after_scale=4, params=params)
        moves, moved = _moves(cursor, limit=limit)
        for side in ("before", "after"):
            cursor.execute(_PER_TERRITORY_SQL.format(side=side))
            for code, accounts, revenue in cursor.fetchall():
                entry = territories.setdefault(code, _empty_entry(code))
                entry[f"accounts_{side}"] = accounts
                entry[f"revenue_{side}"] = revenue
    for code in Territory.objects.filter(territory_model__in=[planning, active]).values_list("code", flat=True):
        territories.setdefault(code, _empty_entry(code))
    return {
        "moves": moves,
        "moved_accounts": moved,
        "territories": [territories[code] for code in sorted(territories)],
    }


def plan_run_latest(*, plan: TerritoryModel) -> AssignmentRun | None:
    """The plan's latest successful full run: its plan rows are that run's answer."""
    return plan.runs.filter(status=RunStatus.SUCCEEDED, dry_run=False).order_by("-finished_at", "-pk").first()


def plan_diff_current(*, stored: PlanDiff | None, run: AssignmentRun | None, active: TerritoryModel | None) -> bool:
    """Whether the stored diff compares the plan's latest run with the active model (or there is nothing
    to compare: no run, no active model)."""
    if run is None or active is None:
        return True
    return stored is not None and stored.run_id == run.pk and stored.active_model_id == active.pk


def plans_with_pending_diff() -> QuerySet[TerritoryModel]:
    """Planning models with a successful run whose stored diff is missing or not current."""
    active = TerritoryModel.objects.filter(state=TerritoryModelState.ACTIVE).first()
    if active is None:
        return TerritoryModel.objects.none()
    latest = AssignmentRun.objects.filter(
        territory_model=OuterRef("pk"), status=RunStatus.SUCCEEDED, dry_run=False
    ).order_by("-finished_at", "-pk")
    current = PlanDiff.objects.filter(territory_model=OuterRef("pk"), run=OuterRef("latest_run"), active_model=active)
    return (
        TerritoryModel.objects.filter(state=TerritoryModelState.PLANNING)
        .annotate(latest_run=Subquery(latest.values("pk")[:1]))
        .filter(latest_run__isnull=False)
        .filter(~Exists(current))
    )


def plan_diff_visible(*, stored: PlanDiff, user) -> dict:
    """The stored diff as this caller may see it (page and API alike). Unscoped: all of it. A scoped
    manager: the figures of the territory codes in their scope, and the stored moves of the accounts they
    can see (accounts currently in their territories), counted — "complete" is False when the plan moves
    more accounts than the diff keeps, so that count may be short."""
    if access_scope(user).everything:
        return {
            "moves": stored.moves,
            "territories": stored.territories,
            "moved_accounts": stored.moved_accounts,
            "complete": True,
        }
    models = [stored.territory_model_id, stored.active_model_id]
    codes = set(Territory.objects.visible_to(user).filter(territory_model_id__in=models).values_list("code", flat=True))
    moving = {move["account_id"] for move in stored.moves}
    visible = set(Account.objects.visible_to(user).filter(pk__in=moving).values_list("pk", flat=True))
    return {
        "moves": [move for move in stored.moves if move["account_id"] in visible],
        "territories": [entry for entry in stored.territories if entry["code"] in codes],
        "moved_accounts": len(visible),
        "complete": stored.moved_accounts <= len(moving),
    }


def plan_diff_report(*, plan: TerritoryModel, user, active: TerritoryModel | None = None) -> dict:
    """What the model page and the API show of a plan's diff: the stored one as the caller may see it
    (plan_diff_visible), when and against which model it was computed, and whether a newer one is pending
    (the plan ran again, or another model was activated, since)."""
    active = active or TerritoryModel.objects.filter(state=TerritoryModelState.ACTIVE).first()
    stored = plan_diff_latest(planning=plan)
    run = plan_run_latest(plan=plan)
    report = {
        "stored": stored is not None,
        "pending": not plan_diff_current(stored=stored, run=run, active=active),
        "run": run,
        "computed_at": None,
        "compared_with": None,
        "outdated": False,
        "moves": [],
        "territories": [],
        "moved_accounts": None,
        "complete": True,
        # The plan's territories, rules, named accounts or pins changed after its latest run started: the
        # diff is that run's, not what an activation (which computes the plan afresh) would switch to.
        "plan_changed": bool(
            run is not None
            and plan.alignment_changed_at is not None
            and plan.alignment_changed_at > (run.started_at or run.created_at)
        ),
    }
    if stored is not None:
        report |= plan_diff_visible(stored=stored, user=user) | {
            "computed_at": stored.computed_at,
            "compared_with": stored.active_model,
            # Another model was activated since: the stored diff compares with an archived alignment.
            "outdated": active is not None and stored.active_model_id != active.pk,
        }
    return report


def plan_diff_latest(*, planning: TerritoryModel) -> PlanDiff | None:
    """The diff stored for the plan (revenue back to Decimal), or None; see plan_diff_current."""
    stored = PlanDiff.objects.filter(territory_model=planning).select_related("active_model").first()
    if stored is not None:
        for entry in stored.territories:
            entry["revenue_before"] = Decimal(entry["revenue_before"])
            entry["revenue_after"] = Decimal(entry["revenue_after"])
    return stored


def _empty_entry(code: str) -> dict:
    return {"code": code, "accounts_before": 0, "accounts_after": 0, "revenue_before": 0, "revenue_after": 0}


def _deepest_rows(model: TerritoryModel):
    if model.state == TerritoryModelState.ACTIVE:
        return AccountTerritoryMembership.objects.filter(valid_to__isnull=True, territory__territory_model=model)
    return PlannedAccountTerritory.objects.filter(territory_model=model)


def _deepest_rows_in(model: TerritoryModel, territory_ids: list[int]):
    """_deepest_rows of these territories (the model's, read first as a list of ids): without the join to
    the territories, whose misestimate inside an anti-join planned a loop over every membership."""
    if model.state == TerritoryModelState.ACTIVE:
        deepest = AccountTerritoryMembership.objects.filter(valid_to__isnull=True)
    else:
        deepest = PlannedAccountTerritory.objects.filter(territory_model=model)
    return deepest.filter(territory_id__in=territory_ids or [0])


def coverage_gaps(*, model: TerritoryModel, kind: str) -> QuerySet[Account]:
    """Accounts in no territory of this kind (current assignment for the active model, else its plan).

    The model's territories under a root of the kind are read first (one query) and probed as a list: as
    a join inside the anti-join, a misestimate of the model's territories (1 row for 35) planned a nested
    loop over every membership per account — 57 s for 20,000 accounts."""
    territory_ids = list(
        Territory.objects.filter(territory_model=model, ancestor_links__ancestor__kind=kind)
        .order_by()
        .values_list("id", flat=True)
        .distinct()
    )
    covered = _deepest_rows_in(model, territory_ids).filter(account_id=OuterRef("pk"))
    return Account.objects.filter(~Exists(covered))


def coverage_overlaps(*, model: TerritoryModel) -> QuerySet[AssignmentOverlap]:
    """Accounts several siblings claimed in the latest run, with the winner and why."""
    return AssignmentOverlap.objects.filter(territory_model=model).select_related("account", "winner", "loser")


def territories_without_accounts(*, model: TerritoryModel) -> QuerySet[Territory]:
    """Territories no account is in (product territories: no deal), through any descendant."""
    deepest = _deepest_rows(model).values("territory_id")
    if model.state == TerritoryModelState.ACTIVE:
        deals = DealTerritoryMembership.objects.filter(valid_to__isnull=True, territory__territory_model=model)
    else:
        deals = PlannedDealTerritory.objects.filter(territory_model=model)
    held = TerritoryClosure.objects.filter(
        Q(descendant_id__in=deepest) | Q(descendant_id__in=deals.values("territory_id")), ancestor_id=OuterRef("pk")
    )
    return Territory.objects.filter(territory_model=model).filter(~Exists(held))


def territories_without_owner(*, model: TerritoryModel, on: date | None = None) -> QuerySet[Territory]:
    """Territories with no owner rep assigned on the date (default today)."""
    on = on or timezone.localdate()
    owners = RepAssignment.objects.filter(
        territory_id=OuterRef("pk"), role=AssignmentRole.OWNER, start_date__lte=on
    ).filter(Q(end_date__isnull=True) | Q(end_date__gte=on))
    return Territory.objects.filter(territory_model=model).filter(~Exists(owners))


def coverage_unplaced(*, model: TerritoryModel) -> dict[int, int]:
    """{territory id: accounts it holds that none of its children takes} — the accounts whose deepest
    territory has children (a segment parent whose children's ranges leave a hole, a country whose regions
    miss a state). One grouped read of those territories' rows (an index range each)."""
    parents = list(
        Territory.objects.filter(territory_model=model, children__isnull=False)
        .order_by()
        .values_list("id", flat=True)
        .distinct()
    )
    rows = _deepest_rows_in(model, parents).order_by().values("territory_id")
    return dict(rows.annotate(accounts=Count("account_id")).values_list("territory_id", "accounts"))


def coverage_report(*, model: TerritoryModel, user) -> dict:
    """Coverage of a model (its current assignment when active, else its plan) within the user's scope,
    for the coverage page and the API alike: gaps per kind used, overlapping claims, territories without
    accounts, without an owner, and holding accounts none of their children takes."""
    visible = Territory.objects.visible_to(user).filter(territory_model=model)
    kinds = sorted(set(visible.values_list("kind", flat=True)))
    unplaced = coverage_unplaced(model=model)
    codes = dict(visible.filter(id__in=list(unplaced)).values_list("id", "code"))
    return {
        "accounts_without_territory": {
            kind: coverage_gaps(model=model, kind=kind).visible_to(user).count()
            for kind in kinds
            if kind != TerritoryKind.PRODUCT  # product territories hold deals
        },
        "overlaps": coverage_overlaps(model=model).filter(winner__in=visible).values("account_id").distinct().count(),
        "territories_without_accounts": list(
            territories_without_accounts(model=model).visible_to(user).order_by("code").values_list("code", flat=True)
        ),
        "territories_without_owner": list(
            territories_without_owner(model=model).visible_to(user).order_by("code").values_list("code", flat=True)
        ),
        "accounts_unplaced": {
            codes[territory_id]: count
            for territory_id, count in sorted(unplaced.items(), key=lambda item: -item[1])
            if territory_id in codes
        },
    }


def account_current_territories(*, account: Account) -> QuerySet[AccountTerritoryMembership]:
    return AccountTerritoryMembership.objects.filter(account=account, valid_to__isnull=True).select_related("territory")


__all__ = [
    "account_current_territories",
    "assignment_preview",
    "coverage_gaps",
    "coverage_overlaps",
    "plan_diff_current",
    "plan_diff_latest",
    "plan_diff_report",
    "plan_diff_visible",
    "plan_run_latest",
    "plans_with_pending_diff",
    "territories_without_accounts",
    "territories_without_owner",
    "territory_model_diff",
]
