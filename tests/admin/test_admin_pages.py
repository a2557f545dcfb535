"""Every admin page loads for a superuser, and the big changelists do not query per row."""

from datetime import date
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Account, Campaign, Deal, Product, ProductLine
from core.models import ApiToken, AuditEntry
from kpis.models import KpiDefinition, KpiRollup, KpiTarget, RecomputeRun, RollupDirty, TerritoryKpi
from reps.models import Rep
from territories.models import (
    AccountTerritoryMembership,
    AssignmentRun,
    DealTerritoryMembership,
    NamedAccount,
    RepAssignment,
    Territory,
    TerritoryModel,
    TerritoryOverride,
    TerritoryRule,
)
from tests import factories

pytestmark = pytest.mark.django_db


def make_kpi() -> KpiDefinition:
    n = KpiDefinition.objects.count() + 1
    return KpiDefinition.objects.create(code=f"kpi-{n}", name=f"KPI {n}", unit="count")


def make_api_token() -> ApiToken:
    key = ApiToken.generate_key()
    return ApiToken.objects.create(
        user=factories.make_user(), name="CRM sync", prefix=key[:12], key_hash=ApiToken.hash_key(key)
    )


# One way to make a valid object of each registered model.
MAKERS = {
    Group: lambda: Group.objects.create(name="Admin page test group"),
    User: factories.make_user,
    ApiToken: make_api_token,
    AuditEntry: lambda: AuditEntry.objects.create(action="create", object_type="territory", object_id="1"),
    Account: factories.make_account,
    ProductLine: lambda: ProductLine.objects.create(code="line-admin", name="Line admin"),
    Product: factories.make_product,
    Campaign: factories.make_campaign,
    Deal: lambda: factories.make_deal(rep=factories.make_rep(), product=factories.make_product()),
    Rep: factories.make_rep,
    TerritoryModel: factories.make_territory_model,
    Territory: lambda: factories.make_territory(parent=factories.make_territory()),
    TerritoryRule: lambda: factories.make_rule(factories.make_territory(), {"field": "country", "values": ["US"]}),
    NamedAccount: lambda: NamedAccount.objects.create(
        territory=factories.make_territory(kind="account"), account=factories.make_account()
    ),
    TerritoryOverride: lambda: TerritoryOverride.objects.create(
        territory=factories.make_territory(), account=factories.make_account(), reason="Key account"
    ),
    RepAssignment: lambda: RepAssignment.objects.create(
        rep=factories.make_rep(), territory=factories.make_territory(), start_date=date(2025, 1, 1)
    ),
    AccountTerritoryMembership: lambda: AccountTerritoryMembership.objects.create(
        account=factories.make_account(), territory=factories.make_territory(), valid_from=date(2025, 1, 1)
    ),
    DealTerritoryMembership: lambda: DealTerritoryMembership.objects.create(
        deal=factories.make_deal(), territory=factories.make_territory(kind="product"), valid_from=date(2025, 1, 1)
    ),
    AssignmentRun: lambda: AssignmentRun.objects.create(territory_model=factories.make_territory_model()),
    KpiDefinition: make_kpi,
    TerritoryKpi: lambda: TerritoryKpi.objects.create(territory=factories.make_territory(), kpi=make_kpi()),
    KpiTarget: lambda: KpiTarget.objects.create(
        territory=factories.make_territory(),
        kpi=make_kpi(),
        period_type="quarter",
        period_start=date(2025, 1, 1),
        value=Decimal("10"),
    ),
    KpiRollup: lambda: factories.make_rollup(factories.make_territory(), "revenue", value="1.5"),
    RollupDirty: lambda: RollupDirty.objects.create(territory=factories.make_territory()),
    RecomputeRun: lambda: RecomputeRun.objects.create(territory=factories.make_territory()),
}

REGISTERED = sorted(admin.site._registry, key=lambda model: model._meta.label)


def admin_url(model, page: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{page}", args=args)


def test_it_knows_how_to_make_every_registered_model():
    assert set(REGISTERED) <= set(MAKERS), f"add a maker for {set(REGISTERED) - set(MAKERS)}"


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label)
def test_it_loads_the_changelist_add_and_change_pages(client, admin_user_, model):
    obj = MAKERS[model]()
    client.force_login(admin_user_)

    changelist = client.get(admin_url(model, "changelist"))
    assert changelist.status_code == 200
    assert obj in changelist.context["cl"].result_list

    can_add = admin.site._registry[model].has_add_permission(changelist.wsgi_request)
    assert client.get(admin_url(model, "add")).status_code == (200 if can_add else 403)

    change = client.get(admin_url(model, "change", obj.pk))
    assert change.status_code == 200
    assert change.context["original"] == obj


def test_it_keeps_the_audit_trail_read_only(client, admin_user_):
    entry = MAKERS[AuditEntry]()
    client.force_login(admin_user_)
    assert client.get(admin_url(AuditEntry, "add")).status_code == 403
    response = client.post(admin_url(AuditEntry, "change", entry.pk), {"action": "delete", "object_type": "x"})
    assert response.status_code == 403
    entry.refresh_from_db()
    assert entry.action == "create"


def test_it_searches_the_deal_changelist(client, admin_user_):
    wanted = factories.make_deal(account=factories.make_account(name="Globex"))
    factories.make_deal(account=factories.make_account(name="Initech"))
    client.force_login(admin_user_)
    response = client.get(admin_url(Deal, "changelist"), {"q": "Globex"})
    assert list(response.context["cl"].result_list) == [wanted]


def test_it_shows_an_overlapping_owner_next_to_the_start_date(client, admin_user_):
    territory = factories.make_territory()
    RepAssignment.objects.create(rep=factories.make_rep(), territory=territory, start_date=date(2025, 1, 1))
    client.force_login(admin_user_)
    response = client.post(
        admin_url(RepAssignment, "add"),
        {
            "rep": factories.make_rep().pk,
            "territory": territory.pk,
            "role": "owner",
            "start_date": "2025-06-01",
            "allocation_percent": 100,
        },
    )
    assert response.status_code == 200
    assert "already has an owner" in str(response.context["adminform"].form.errors["start_date"])
    assert RepAssignment.objects.filter(territory=territory).count() == 1


def changelist_queries(client, model) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(admin_url(model, "changelist"))
    assert response.status_code == 200
    return len(queries)


def make_deal_with_everything() -> Deal:
    return factories.make_deal(
        rep=factories.make_rep(), product=factories.make_product(), campaign=factories.make_campaign()
    )


@pytest.mark.parametrize(("model", "make"), [(Deal, make_deal_with_everything), (Account, factories.make_account)])
def test_it_does_not_query_per_row_in_big_changelists(client, admin_user_, model, make):
    client.force_login(admin_user_)
    make()
    with_one = changelist_queries(client, model)
    for _ in range(29):
        make()
    assert model.objects.count() == 30
    assert changelist_queries(client, model) == with_one
