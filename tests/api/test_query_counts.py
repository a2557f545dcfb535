"""No N+1: each list answers with the same number of queries for 2 rows as for 20."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import roles
from core.audit import audit_record
from core.models import AuditEntry
from kpis.models import KpiTarget
from territories.models import AccountTerritoryMembership, NamedAccount, RepAssignment, TerritoryOverride
from tests import factories
from tests.api.helpers import client_for, url


def _account_in_west(world):
    account = factories.make_account()
    AccountTerritoryMembership.objects.create(account=account, territory=world.west_ca, valid_from=date(2020, 1, 1))
    return account


def _month(n: int) -> date:
    return date(2000 + n // 12, n % 12 + 1, 1)


MAKERS = {
    "account": _account_in_west,
    "deal": lambda world: factories.make_deal(account=world.account_a, rep=world.rep_b),
    "territory": lambda world: factories.make_territory(parent=world.west_ca),
    "rule": lambda world: factories.make_rule(world.west_ca, {"field": "city", "values": ["X"]}),
    "target": lambda world: KpiTarget.objects.create(
        territory=world.west_ca, kpi=world.kpi, period_type="month", period_start=_month(_next()), value=1
    ),
    "rollup": lambda world: factories.make_rollup(world.west_ca, world.kpi.code, period_start=_month(_next()), value=1),
    "rep-assignment": lambda world: RepAssignment.objects.create(
        rep=factories.make_rep(), territory=world.west_ca, role="support", start_date=date(2020, 1, 1)
    ),
    "rep": lambda world: RepAssignment.objects.create(
        rep=factories.make_rep(), territory=world.west_ca, role="support", start_date=date(2020, 1, 1)
    ),
    "override": lambda world: TerritoryOverride.objects.create(
        territory=world.west_ca, account=factories.make_account(), reason="r"
    ),
    "named-account": lambda world: NamedAccount.objects.create(territory=world.west, account=factories.make_account()),
    "membership": _account_in_west,
    "product": lambda world: factories.make_product(),
    "campaign": lambda world: factories.make_campaign(),
}
_counter = iter(range(10_000))


def _next() -> int:
    return next(_counter)


def _count_queries(client, route) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url(f"{route}-list", page_size=1000))
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("route", sorted(MAKERS))
@pytest.mark.parametrize("who", ["manager", "rep"])
def test_it_lists_with_flat_query_counts(world, route, who):
    user = factories.make_user(roles.SALES_MANAGER) if who == "manager" else world.rep_a.user
    client = client_for(user)
    for _ in range(2):
        MAKERS[route](world)
    small = _count_queries(client, route)
    listed_small = len(client.get(url(f"{route}-list", page_size=1000)).json()["results"])
    for _ in range(18):
        MAKERS[route](world)
    large = _count_queries(client, route)
    listed_large = len(client.get(url(f"{route}-list", page_size=1000)).json()["results"])
    assert listed_large >= listed_small + 18  # the new rows are really listed
    assert large == small


def test_it_lists_the_audit_trail_with_flat_query_counts(world, manager_user):
    client = client_for(manager_user)

    def add(n):
        for _ in range(n):
            audit_record(user=manager_user, action=AuditEntry.Action.UPDATE, instance=world.west, changes={})

    add(2)
    small = _count_queries(client, "audit-entry")
    add(18)
    assert _count_queries(client, "audit-entry") == small
