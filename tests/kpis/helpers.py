from datetime import date
from decimal import Decimal

from kpis.models import KpiDefinition, KpiRollup, KpiTarget
from territories.models import AccountTerritoryMembership, DealTerritoryMembership


def member(account, territory, valid_from=date(2020, 1, 1), valid_to=None):
    return AccountTerritoryMembership.objects.create(
        account=account, territory=territory, valid_from=valid_from, valid_to=valid_to
    )


def deal_member(deal, territory, valid_from=date(2020, 1, 1), valid_to=None):
    return DealTerritoryMembership.objects.create(
        deal=deal, territory=territory, valid_from=valid_from, valid_to=valid_to
    )


def target(territory, value, period_type="month", period_start=date(2025, 2, 1), kpi="revenue"):
    return KpiTarget.objects.create(
        territory=territory,
        kpi=KpiDefinition.objects.get(code=kpi),
        period_type=period_type,
        period_start=period_start,
        value=Decimal(value),
    )


def value(territory, kpi, period_start, period_type="month", view="as_of"):
    return KpiRollup.objects.get(
        territory=territory, kpi__code=kpi, view=view, period_type=period_type, period_start=period_start
    ).value


def values(territory, period_start, period_type="month", view="as_of") -> dict:
    return dict(
        KpiRollup.objects.filter(
            territory=territory, view=view, period_type=period_type, period_start=period_start
        ).values_list("kpi__code", "value")
    )


def d(text: str) -> Decimal:
    return Decimal(text)
