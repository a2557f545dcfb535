"""The editor's live preview: how many accounts one rule criterion matches on its own.

Mirrors the engine's matching (territories/engine.py): case-insensitive values, prefixes, postal-code
ranges between equal-length bounds, numeric ranges with either bound open. The parent's rules are not
applied, so this is what the criterion alone would let in.
"""

from decimal import Decimal

from django.db.models import Q
from django.db.models.functions import Lower

from accounts.models import Account
from territories.choices import CriterionField, CriterionOperator

ACCOUNT_TEXT_FIELDS = {
    CriterionField.COUNTRY,
    CriterionField.REGION,
    CriterionField.CITY,
    CriterionField.POSTAL_CODE,
    CriterionField.BUSINESS_TYPE,
    CriterionField.INDUSTRY,
}
ACCOUNT_NUMBER_FIELDS = {CriterionField.EMPLOYEES, CriterionField.ANNUAL_REVENUE}


def criterion_accounts_count(
    *,
    user,
    field: str,
    operator: str,
    values: list[str],
    min_value: Decimal | None = None,
    max_value: Decimal | None = None,
    range_start: str = "",
    range_end: str = "",
) -> int | None:
    """Visible accounts the criterion matches; None when it does not filter accounts (product fields)."""
    accounts = Account.objects.visible_to(user)
    lowered = [v.lower() for v in values]
    if field in ACCOUNT_TEXT_FIELDS:
        accounts = accounts.annotate(_match=Lower(field))
        if operator == CriterionOperator.IN:
            return accounts.filter(_match__in=lowered).count()
        if operator == CriterionOperator.PREFIX:
            condition = Q(pk__in=[])
            for prefix in lowered:
                condition |= Q(_match__startswith=prefix)
            return accounts.filter(condition).count()
        if operator == CriterionOperator.RANGE:
            start, end = range_start.lower(), range_end.lower()
            if not start or not end or len(start) != len(end):
                return 0
            return accounts.filter(_match__gte=start, _match__lte=end, _match__regex=rf"^.{{{len(start)}}}$").count()
        return 0
    if field in ACCOUNT_NUMBER_FIELDS and operator == CriterionOperator.RANGE:
        condition = Q(**{f"{field}__isnull": False})
        if min_value is not None:
            condition &= Q(**{f"{field}__gte": min_value})
        if max_value is not None:
            condition &= Q(**{f"{field}__lte": max_value})
        return accounts.filter(condition).count()
    return None
