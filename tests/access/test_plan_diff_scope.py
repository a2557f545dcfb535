"""A plan's stored diff shown to a scoped manager holds only their territories' figures and the moves of
accounts they can see — on the model page and through the API alike; reps get neither."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from territories.models import AssignmentRun, PlanDiff
from tests import factories
from tests.access.world import make_manager
from tests.api.helpers import client_for, url

pytestmark = pytest.mark.django_db

CODES = ("root", "west", "west-ca", "east", "east-ny")


def move(account, old: str, new: str) -> dict:
    return {"account_id": account.pk, "kind": "geographic", "from_codes": [old], "to_codes": [new]}


@pytest.fixture
def plan(world):
    """A plan whose stored diff moves account A (west-ca → east-ny) and account B (east-ny → west-ca)."""
    active = world.root.territory_model
    plan = factories.make_territory_model(code="fy-plan", name="FY plan")
    for code in CODES:
        factories.make_territory(plan, code=code)
    run = AssignmentRun.objects.create(territory_model=plan, status="succeeded", finished_at=timezone.now())
    PlanDiff.objects.create(
        territory_model=plan,
        active_model=active,
        run=run,
        computed_at=timezone.now(),
        moved_accounts=2,
        moves=[move(world.account_a, "west-ca", "east-ny"), move(world.account_b, "east-ny", "west-ca")],
        territories=[
            {"code": code, "accounts_before": 1, "accounts_after": 1, "revenue_before": "0", "revenue_after": "0"}
            for code in CODES
        ],
    )
    return plan


def page_diff(user, plan) -> dict:
    client = Client()
    client.force_login(user)
    response = client.get(reverse("territories:model-detail", args=[plan.pk]))
    assert response.status_code == 200
    return response.context["diff"]


def api_diff(user, plan):
    return client_for(user).get(url("territory-model-diff", plan.pk))


def test_an_unscoped_manager_sees_the_whole_diff(world, plan):
    manager = make_manager()
    body = api_diff(manager, plan).json()
    assert (body["moved_accounts"], body["complete"], body["pending"]) == (2, True, False)
    assert {entry["code"] for entry in body["territories"]} == set(CODES)
    assert body["compared_with"] == world.root.territory_model.code
    assert body["territories"][0]["revenue_before"] == "0.00"
    assert page_diff(manager, plan)["moved_accounts"] == 2


def test_a_scoped_manager_sees_their_territories_and_accounts_only(world, plan):
    west_manager = make_manager(scope_codes=("west",))
    body = api_diff(west_manager, plan).json()
    assert {entry["code"] for entry in body["territories"]} == {"west", "west-ca"}
    assert [move["account_id"] for move in body["moves"]] == [world.account_a.pk]  # B is east's account today
    assert body["moved_accounts"] == 1 and body["complete"]
    diff = page_diff(west_manager, plan)
    assert [move["account_id"] for move in diff["moves"]] == [world.account_a.pk]
    assert diff["moved_accounts"] == 1


def test_a_count_beyond_the_kept_moves_is_flagged_for_a_scoped_manager(world, plan):
    PlanDiff.objects.filter(territory_model=plan).update(moved_accounts=5000)
    body = api_diff(make_manager(scope_codes=("west",)), plan).json()
    assert (body["moved_accounts"], body["complete"]) == (1, False)
    client = Client()
    client.force_login(make_manager(scope_codes=("west",)))
    page = client.get(reverse("territories:model-detail", args=[plan.pk])).content.decode()
    assert "at least 1 account move" in page


def test_reps_get_no_diff(world, plan):
    assert api_diff(world.rep_a.user, plan).status_code == 403
    client = Client()
    client.force_login(world.rep_a.user)
    assert client.get(reverse("territories:model-detail", args=[plan.pk])).status_code == 403


def test_the_api_refuses_a_diff_of_a_model_that_is_not_a_plan(world, plan):
    response = api_diff(make_manager(), world.root.territory_model)
    assert response.status_code == 400 and "state" in response.json()


def test_the_diff_decimal_figures_round_trip(world, plan):
    PlanDiff.objects.filter(territory_model=plan).update(
        territories=[
            {"code": "west", "accounts_before": 1, "accounts_after": 2, "revenue_before": "5.5", "revenue_after": "9"}
        ]
    )
    body = api_diff(make_manager(), plan).json()
    assert body["territories"] == [
        {"code": "west", "accounts_before": 1, "accounts_after": 2, "revenue_before": "5.50", "revenue_after": "9.00"}
    ]
    assert Decimal(body["territories"][0]["revenue_before"]) == Decimal("5.5")
