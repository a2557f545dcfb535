"""Reads of the alignment: current assignment, dry-run previews, planning diffs and coverage."""

from datetime import date

from dateutil.relativedelta import relativedelta
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.models import Account
from territories.choices import AssignmentRole, TerritoryModelState
from territories.models import (
    AccountTerritoryMembership,
    AssignmentOverlap,
    DealTerritoryMembership,
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
_PLANNED_ROWS = """SELECT account_id, territory_id FROM territories_plannedaccountterritory
    WHERE territory_model_id = %(planning)s"""
_RESULT_ROWS = "SELECT a AS account_id, b AS territory_id FROM _engine_result WHERE row_type = 'deep'"

_MOVES_SQL = """
WITH b AS (SELECT x.account_id, t.kind, t.code FROM ({before}) x JOIN territories_territory t ON t.id = x.territory_id),
     a AS (SELECT x.account_id, t.kind, t.code FROM ({after}) x JOIN territories_territory t ON t.id = x.territory_id),
     bk AS (SELECT account_id, kind, array_agg(code ORDER BY code) AS codes FROM b GROUP BY 1, 2),
     ak AS (SELECT account_id, kind, array_agg(code ORDER BY code) AS codes FROM a GROUP BY 1, 2)
SELECT coalesce(bk.account_id, ak.account_id), coalesce(bk.kind, ak.kind),
       coalesce(bk.codes, '{{}}'), coalesce(ak.codes, '{{}}')
FROM bk FULL JOIN ak ON ak.account_id = bk.account_id AND ak.kind = bk.kind
WHERE bk.codes IS DISTINCT FROM ak.codes
ORDER BY 1, 2
LIMIT %(limit)s
"""

_PER_TERRITORY_SQL = """
WITH per AS (
    SELECT DISTINCT t.code, x.account_id
    FROM ({rows}) x
    JOIN territories_territoryclosure c ON c.descendant_id = x.territory_id
    JOIN territories_territory t ON t.id = c.ancestor_id
), rev AS (
    SELECT account_id, sum(amount) AS revenue FROM accounts_deal
    WHERE stage = 'won' AND closed_on > %(since)s AND closed_on <= %(today)s
    GROUP BY account_id
)
SELECT per.code, count(*), coalesce(sum(rev.revenue), 0) FROM per LEFT JOIN rev ON rev.account_id = per.account_id
GROUP BY per.code
"""


def _moves(*, before: str, after: str, params: dict, limit: int) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(_MOVES_SQL.format(before=before, after=after), {**params, "limit": limit})
        return [
            {"account_id": account_id, "kind": kind, "from_codes": list(before_codes), "to_codes": list(after_codes)}
            for account_id, kind, before_codes, after_codes in cursor.fetchall()
        ]


def assignment_preview(*, model: TerritoryModel, limit: int = 1000) -> dict:
    """What a full run of the model would change against the active alignment, computed and rolled back."""
    from territories.services import assignment_apply

    active = TerritoryModel.objects.filter(state=TerritoryModelState.ACTIVE).first()
    with transaction.atomic():
        counts = assignment_apply(model=model, dry_run=True)
        moves = _moves(
            before=_CURRENT_ROWS, after=_RESULT_ROWS, params={"active": active.pk if active else 0}, limit=limit
        )
        transaction.set_rollback(True)
    return {"counts": counts, "moves": moves}


def territory_model_diff(*, planning: TerritoryModel, active: TerritoryModel, limit: int = 10_000) -> dict:
    """Accounts moving from → to (by territory code, per kind) and, per territory code, accounts and
    trailing-12-month won revenue before (active, current) and after (planning, its latest run)."""
    today = timezone.localdate()
    params = {"active": active.pk, "planning": planning.pk, "today": today, "since": today - relativedelta(years=1)}
    moves = _moves(before=_CURRENT_ROWS, after=_PLANNED_ROWS, params=params, limit=limit)
    territories = {}
    with connection.cursor() as cursor:
        for side, rows in (("before", _CURRENT_ROWS), ("after", _PLANNED_ROWS)):
            cursor.execute(_PER_TERRITORY_SQL.format(rows=rows), params)
            for code, accounts, revenue in cursor.fetchall():
                entry = territories.setdefault(code, _empty_entry(code))
                entry[f"accounts_{side}"] = accounts
                entry[f"revenue_{side}"] = revenue
    for code in Territory.objects.filter(territory_model__in=[planning, active]).values_list("code", flat=True):
        territories.setdefault(code, _empty_entry(code))
    return {"moves": moves, "territories": [territories[code] for code in sorted(territories)]}


def _empty_entry(code: str) -> dict:
    return {"code": code, "accounts_before": 0, "accounts_after": 0, "revenue_before": 0, "revenue_after": 0}


def _deepest_rows(model: TerritoryModel):
    if model.state == TerritoryModelState.ACTIVE:
        return AccountTerritoryMembership.objects.filter(valid_to__isnull=True, territory__territory_model=model)
    return PlannedAccountTerritory.objects.filter(territory_model=model)


def coverage_gaps(*, model: TerritoryModel, kind: str) -> QuerySet[Account]:
    """Accounts in no territory of this kind (current assignment for the active model, else its plan)."""
    covered = _deepest_rows(model).filter(account_id=OuterRef("pk"), territory__ancestor_links__ancestor__kind=kind)
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


def account_current_territories(*, account: Account) -> QuerySet[AccountTerritoryMembership]:
    return AccountTerritoryMembership.objects.filter(account=account, valid_to__isnull=True).select_related("territory")


__all__ = [
    "account_current_territories",
    "assignment_preview",
    "coverage_gaps",
    "coverage_overlaps",
    "territories_without_accounts",
    "territories_without_owner",
    "territory_model_diff",
]
