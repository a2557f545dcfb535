from django.db import connection, transaction

from territories.engine import SOURCE_NAMES, assignment_compute
from territories.models import AccountTerritoryMembership, DealTerritoryMembership


def engine_answer(model, account_ids: list[int] | None = None) -> dict:
    """The engine's answer for a model, computed and rolled back, in the reference's shape.

    With account_ids, the incremental path computes just those accounts."""
    with transaction.atomic():
        assignment_compute(model_id=model.pk, account_ids=account_ids)
        with connection.cursor() as cursor:
            cursor.execute("SELECT row_type, a, b, c, d, e FROM _engine_result")
            rows = cursor.fetchall()
        transaction.set_rollback(True)
    return {
        "deep": {(a, b, SOURCE_NAMES[c]) for kind, a, b, c, d, e in rows if kind == "deep"},
        "overlaps": {(a, b, d, e) for kind, a, b, c, d, e in rows if kind == "overlap"},
        "deals": {(a, b) for kind, a, b, c, d, e in rows if kind == "deal"},
    }


def current_memberships() -> set[tuple[int, int]]:
    return set(
        AccountTerritoryMembership.objects.filter(valid_to__isnull=True).values_list("account_id", "territory_id")
    )


def current_deal_memberships() -> set[tuple[int, int]]:
    return set(DealTerritoryMembership.objects.filter(valid_to__isnull=True).values_list("deal_id", "territory_id"))


def history_rows() -> list[tuple]:
    return sorted(
        AccountTerritoryMembership.objects.values_list("account_id", "territory__code", "valid_from", "valid_to")
    )
