"""Happy paths: a manager creates, reads, changes and deletes through every writable endpoint."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from accounts.models import Account, Campaign, Deal, Product, ProductLine
from core import roles
from core.models import AuditEntry
from kpis.models import KpiDefinition, KpiRollup, KpiTarget
from reps.models import Rep
from territories.models import (
    NamedAccount,
    RepAssignment,
    RuleCriterion,
    Territory,
    TerritoryModel,
    TerritoryOverride,
    TerritoryRule,
)
from tests import factories
from tests.api.helpers import client_for, result_ids, url


@pytest.fixture
def manager_client(world, manager_user):
    return client_for(manager_user)


def test_it_creates_reads_updates_and_deletes_a_territory(world, manager_client):
    created = manager_client.post(
        url("territory-list"),
        {
            "territory_model": world.west.territory_model_id,
            "code": "west-or",
            "name": "Oregon",
            "kind": "geographic",
            "parent": world.west.id,
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    territory = Territory.objects.get(code="west-or")
    assert territory.parent_id == world.west.id
    assert manager_client.get(url("territory-detail", territory.id)).json()["name"] == "Oregon"
    changed = manager_client.patch(url("territory-detail", territory.id), {"name": "Oregon & Idaho"}, format="json")
    assert changed.status_code == 200
    assert Territory.objects.get(pk=territory.id).name == "Oregon & Idaho"
    assert manager_client.delete(url("territory-detail", territory.id)).status_code == 204
    assert not Territory.objects.filter(pk=territory.id).exists()


def test_it_refuses_to_delete_a_territory_still_referenced_with_409(world, manager_client):
    response = manager_client.delete(url("territory-detail", world.west.id))
    assert response.status_code == 409
    assert Territory.objects.filter(pk=world.west.id).exists()


def test_it_writes_a_rule_with_its_criteria_and_replaces_them_on_update(world, manager_client):
    created = manager_client.post(
        url("rule-list"),
        {
            "territory": world.west.id,
            "name": "Bay area",
            "criteria": [
                {"field": "city", "operator": "in", "values": ["Oakland", "San Jose"]},
                {"field": "postal_code", "operator": "prefix", "values": ["94"]},
            ],
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    rule = TerritoryRule.objects.get(pk=created.json()["id"])
    assert sorted(rule.criteria.values_list("field", flat=True)) == ["city", "postal_code"]
    replaced = manager_client.put(
        url("rule-detail", rule.id),
        {
            "territory": world.west.id,
            "name": "Bay area",
            "position": 1,
            "criteria": [{"field": "region", "operator": "in", "values": ["CA"]}],
        },
        format="json",
    )
    assert replaced.status_code == 200, replaced.json()
    assert [c["field"] for c in replaced.json()["criteria"]] == ["region"]
    assert list(RuleCriterion.objects.filter(rule=rule).values_list("field", flat=True)) == ["region"]


def test_it_rejects_a_criterion_the_territory_kind_cannot_use(world, manager_client):
    response = manager_client.post(
        url("rule-list"),
        {"territory": world.west.id, "criteria": [{"field": "industry", "operator": "in", "values": ["retail"]}]},
        format="json",
    )
    assert response.status_code == 400
    assert "criteria" in response.json()
    assert not TerritoryRule.objects.filter(territory=world.west, name="").exclude(pk=world.rule_a.pk).exists()


def test_it_rejects_an_operator_the_field_does_not_take(world, manager_client):
    response = manager_client.post(
        url("rule-list"),
        {"territory": world.west.id, "criteria": [{"field": "city", "operator": "range", "values": []}]},
        format="json",
    )
    assert response.status_code == 400
    assert "operator" in response.json()["criteria"]["0"]


def test_it_creates_an_override_recording_who_made_it(world, manager_client, manager_user):
    account = factories.make_account()
    response = manager_client.post(
        url("override-list"),
        {"territory": world.west_ca.id, "account": account.id, "reason": "Key deal"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert TerritoryOverride.objects.get(account=account).created_by == manager_user


def test_it_creates_a_named_account_and_deletes_it(world, manager_client):
    account = factories.make_account()
    # Only account-based territories name accounts (NamedAccount.clean).
    key = factories.make_territory(world.east.territory_model, parent=world.east, code="east-key", kind="account")
    response = manager_client.post(
        url("named-account-list"), {"territory": key.id, "account": account.id}, format="json"
    )
    assert response.status_code == 201, response.json()
    named = NamedAccount.objects.get(account=account)
    assert manager_client.delete(url("named-account-detail", named.id)).status_code == 204
    assert not NamedAccount.objects.filter(pk=named.id).exists()


def test_it_assigns_a_rep_and_refuses_a_second_owner_for_the_same_dates(world, manager_client):
    today = timezone.localdate()
    rep = factories.make_rep()
    ok = manager_client.post(
        url("rep-assignment-list"),
        {"rep": rep.id, "territory": world.west_ca.id, "role": "owner", "start_date": str(today)},
        format="json",
    )
    assert ok.status_code == 201, ok.json()
    clash = manager_client.post(
        url("rep-assignment-list"),
        {
            "rep": world.rep_b.id,
            "territory": world.west_ca.id,
            "role": "owner",
            "start_date": str(today + timedelta(days=3)),
        },
        format="json",
    )
    assert clash.status_code == 400
    assert RepAssignment.objects.filter(territory=world.west_ca).count() == 1


def test_it_sets_a_target_and_validates_the_period(world, manager_client):
    kpi = world.kpi
    good = manager_client.post(
        url("target-list"),
        {
            "territory": world.west_ca.id,
            "kpi": kpi.id,
            "period_type": "quarter",
            "period_start": "2026-04-01",
            "value": "125.5",
        },
        format="json",
    )
    assert good.status_code == 201, good.json()
    assert KpiTarget.objects.get(territory=world.west_ca).value == 125.5
    bad = manager_client.post(
        url("target-list"),
        {
            "territory": world.west_ca.id,
            "kpi": kpi.id,
            "period_type": "quarter",
            "period_start": "2026-05-01",
            "value": "1",
        },
        format="json",
    )
    assert bad.status_code == 400
    assert "period_start" in bad.json()


def test_it_rejects_a_duplicate_target_naming_the_fields(world, manager_client):
    response = manager_client.post(
        url("target-list"),
        {
            "territory": world.west.id,
            "kpi": world.kpi.id,
            "period_type": "year",
            "period_start": str(world.target_a.period_start),
            "value": "5",
        },
        format="json",
    )
    assert response.status_code == 400
    assert KpiTarget.objects.filter(territory=world.west).count() == 1


def test_it_reads_rollups_but_never_writes_them(world, manager_client):
    # Every KPI of the two figures rows: the world's rows and the other ten KPIs of their periods.
    listed = result_ids(manager_client.get(url("rollup-list")))
    assert listed == set(KpiRollup.objects.values_list("id", flat=True))
    assert len(listed) == 22 and {world.rollup_a.id, world.rollup_b.id} <= listed
    response = manager_client.post(url("rollup-list"), {}, format="json")
    assert response.status_code == 405


def test_it_filters_rollups_by_kpi_code_and_period(world, manager_client):
    listed = manager_client.get(url("rollup-list", kpi_code=world.kpi.code, territory_code="west-ca"))
    assert result_ids(listed) == {world.rollup_a.id}


def test_it_manages_kpi_definitions_and_tracked_kpis(world, manager_client):
    created = manager_client.post(
        url("kpi-definition-list"), {"code": "calls", "name": "Calls", "unit": "count"}, format="json"
    )
    assert created.status_code == 201
    kpi = KpiDefinition.objects.get(code="calls")
    tracked = manager_client.post(
        url("tracked-kpi-list"), {"territory": world.west.id, "kpi": kpi.id, "tracked": False}, format="json"
    )
    assert tracked.status_code == 201


def test_it_creates_a_planning_territory_model(manager_client, manager_user):
    response = manager_client.post(url("territory-model-list"), {"code": "fy27", "name": "FY27"}, format="json")
    assert response.status_code == 201
    created = TerritoryModel.objects.get(code="fy27")
    assert (created.state, created.created_by) == ("planning", manager_user)
    ignored_state = manager_client.patch(url("territory-model-detail", created.id), {"state": "active"}, format="json")
    assert ignored_state.status_code == 200
    assert TerritoryModel.objects.get(pk=created.id).state == "planning"


def test_it_manages_catalog_rows(manager_client):
    line = manager_client.post(url("product-line-list"), {"code": "cloud", "name": "Cloud"}, format="json")
    assert line.status_code == 201
    product = manager_client.post(
        url("product-list"),
        {
            "external_id": "P-1",
            "sku": "SKU-CL-1",
            "name": "Cloud Pro",
            "product_line": line.json()["id"],
            "list_price": "99.00",
        },
        format="json",
    )
    assert product.status_code == 201, product.json()
    campaign = manager_client.post(
        url("campaign-list"),
        {"name": "Spring", "channel": "email", "starts_on": "2026-03-01", "ends_on": "2026-02-01"},
        format="json",
    )
    assert campaign.status_code == 400
    assert "ends_on" in campaign.json()
    assert ProductLine.objects.filter(code="cloud").exists()
    assert Product.objects.filter(sku="SKU-CL-1").exists()
    assert not Campaign.objects.filter(name="Spring").exists()


def test_it_creates_and_updates_an_account_and_a_deal(world, manager_client):
    account = manager_client.post(
        url("account-list"), {"external_id": "NEW-1", "name": "New Co", "country": "DE"}, format="json"
    )
    assert account.status_code == 201, account.json()
    deal = manager_client.post(
        url("deal-list"),
        {
            "external_id": "NEW-D",
            "account": account.json()["id"],
            "amount": "10.00",
            "created_on": "2026-01-05",
            "stage": "won",
            "closed_on": "2026-01-04",
        },
        format="json",
    )
    assert deal.status_code == 400
    assert "closed_on" in deal.json()
    deal = manager_client.post(
        url("deal-list"),
        {
            "external_id": "NEW-D",
            "account": account.json()["id"],
            "amount": "10.00",
            "created_on": "2026-01-05",
            "stage": "won",
            "closed_on": "2026-01-09",
        },
        format="json",
    )
    assert deal.status_code == 201, deal.json()
    assert Deal.objects.get(external_id="NEW-D").account.external_id == "NEW-1"
    assert Account.objects.get(external_id="NEW-1").country == "DE"


def test_it_creates_and_updates_a_rep(world, manager_client):
    user = factories.make_user(roles.SALES_REP)  # only a rep's login can be a rep's
    response = manager_client.post(
        url("rep-list"),
        {"user": user.id, "name": "Carol", "email": "carol@example.com", "home_country": "US"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    rep = Rep.objects.get(email="carol@example.com")
    changed = manager_client.patch(url("rep-detail", rep.id), {"capacity": 150}, format="json")
    assert changed.status_code == 200
    assert Rep.objects.get(pk=rep.id).capacity == 150


def test_it_lists_deals_with_cursor_pages(world, manager_client):
    for n in range(5):
        factories.make_deal(account=world.account_a, external_id=f"PAGE-{n}")
    first = manager_client.get(url("deal-list", page_size=5))
    assert first.status_code == 200
    body = first.json()
    assert len(body["results"]) == 5 and body["next"]
    second = manager_client.get(body["next"])
    seen = [row["id"] for row in body["results"]] + [row["id"] for row in second.json()["results"]]
    assert len(seen) == len(set(seen)) == Deal.objects.count()
    assert seen == sorted(seen, reverse=True)


def test_it_filters_deals_by_stage_and_dates(world, manager_client):
    won = factories.make_deal(
        account=world.account_a, stage="won", created_on=date(2025, 1, 1), closed_on=date(2025, 3, 1)
    )
    listed = result_ids(manager_client.get(url("deal-list", stage="won", closed_from="2025-02-01")))
    assert listed == {won.id}
    assert won.id not in result_ids(manager_client.get(url("deal-list", is_open="true")))


def test_it_reads_the_audit_trail_as_a_manager(world, manager_client, manager_user):
    manager_client.patch(url("territory-detail", world.west.id), {"name": "Wild West"}, format="json")
    entries = manager_client.get(url("audit-entry-list", object_type="territories.territory"))
    assert entries.status_code == 200
    (entry,) = entries.json()["results"]
    assert entry["changes"] == {"name": ["West", "Wild West"]}
    assert entry["username"] == manager_user.username
    assert entry["territory_code"] == "west"
    assert AuditEntry.objects.count() == 1


def test_it_refuses_to_delete_the_active_model(world, manager_client):
    response = manager_client.delete(url("territory-model-detail", world.west.territory_model_id))
    assert response.status_code == 400
    assert "state" in response.json()
    assert TerritoryModel.objects.filter(pk=world.west.territory_model_id).exists()


def test_it_lets_a_scoped_manager_staff_their_subtree_with_any_rep(world):
    from tests.access.world import make_manager

    newcomer = factories.make_rep()
    client = client_for(make_manager(scope_codes=("west",)))
    response = client.post(
        url("rep-assignment-list"),
        {"rep": newcomer.id, "territory": world.west_ca.id, "role": "support", "start_date": "2026-01-01"},
        format="json",
    )
    assert response.status_code == 201, response.json()


def test_the_api_root_lists_every_resource_of_every_app(manager_client):
    response = manager_client.get(url("api-root"), HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    listed = response.json()
    for resource in ("accounts", "deals", "tokens", "audit", "reps", "territories", "rules", "rollups", "targets"):
        assert listed[resource].endswith(f"/api/v1/{resource}/")
