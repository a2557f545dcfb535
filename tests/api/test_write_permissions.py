"""Reps read but never change alignment, targets or reps; read-only tokens change nothing."""

import pytest
from django.utils import timezone

from core import roles
from core.services import api_token_create
from kpis.models import KpiTarget
from territories.models import RepAssignment, Territory
from tests import factories
from tests.api.helpers import client_for, url


@pytest.mark.parametrize(
    ("route", "attribute", "payload"),
    [
        ("territory", "west", {"name": "Mine now"}),
        ("rule", "rule_a", {"name": "Mine now"}),
        ("override", "override_a", {"reason": "Mine now"}),
        ("rep-assignment", "assignment_a", {"allocation_percent": 50}),
        ("target", "target_a", {"value": "999"}),
        ("rep", "rep_a", {"capacity": 1}),
        ("account", "account_a", {"name": "Mine now"}),
        ("deal", "deal_a", {"amount": "1.00"}),
    ],
)
def test_it_forbids_a_rep_changing_even_their_own_rows(world, route, attribute, payload):
    client = client_for(world.rep_a.user)
    target = getattr(world, attribute)
    assert client.patch(url(f"{route}-detail", target.id), payload, format="json").status_code == 403
    assert client.delete(url(f"{route}-detail", target.id)).status_code == 403
    target.refresh_from_db()
    for name, value in payload.items():
        assert str(getattr(target, name)) != str(value)


def test_it_forbids_a_rep_creating_alignment_or_targets(world):
    client = client_for(world.rep_a.user)
    today = timezone.localdate()
    assert (
        client.post(
            url("rep-assignment-list"),
            {"rep": world.rep_a.id, "territory": world.east.id, "role": "support", "start_date": str(today)},
            format="json",
        ).status_code
        == 403
    )
    assert (
        client.post(
            url("target-list"),
            {
                "territory": world.west.id,
                "kpi": world.kpi.id,
                "period_type": "year",
                "period_start": "2030-01-01",
                "value": "1",
            },
            format="json",
        ).status_code
        == 403
    )
    assert RepAssignment.objects.filter(rep=world.rep_a, territory=world.east, role="support").count() == 0
    assert not KpiTarget.objects.filter(period_start="2030-01-01").exists()


def test_it_answers_404_not_403_when_a_rep_writes_to_a_hidden_row(world):
    # Writes are refused before lookup for reps; a manager scoped elsewhere gets 404 for hidden rows.
    from tests.access.world import make_manager

    client = client_for(make_manager(scope_codes=("west",)))
    assert client.patch(url("territory-detail", world.east.id), {"name": "X"}, format="json").status_code == 404
    assert Territory.objects.get(pk=world.east.id).name == "East"


def test_it_refuses_a_scoped_manager_pointing_at_a_territory_outside_their_scope(world):
    from tests.access.world import make_manager

    client = client_for(make_manager(scope_codes=("west",)))
    response = client.post(
        url("target-list"),
        {
            "territory": world.east.id,
            "kpi": world.kpi.id,
            "period_type": "year",
            "period_start": "2031-01-01",
            "value": "1",
        },
        format="json",
    )
    assert response.status_code == 400
    assert "territory" in response.json()
    ok = client.post(
        url("target-list"),
        {
            "territory": world.west_ca.id,
            "kpi": world.kpi.id,
            "period_type": "year",
            "period_start": "2031-01-01",
            "value": "1",
        },
        format="json",
    )
    assert ok.status_code == 201


def test_it_lets_an_integration_sync_accounts_but_not_change_alignment(world):
    integration = factories.make_user(roles.INTEGRATION)
    _, key = api_token_create(user=integration, name="crm", scope="read-write")
    client = client_for(integration)
    client.logout()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    created = client.post(url("account-list"), {"external_id": "CRM-1", "name": "Crm", "country": "US"}, format="json")
    assert created.status_code == 201
    assert client.patch(url("territory-detail", world.west.id), {"name": "X"}, format="json").status_code == 403


def test_it_forbids_any_write_with_a_read_only_token(world, admin_user_):
    _, key = api_token_create(user=admin_user_, name="bi", scope="read")
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get(url("territory-list")).status_code == 200
    response = client.patch(url("territory-detail", world.west.id), {"name": "X"}, format="json")
    assert response.status_code == 403
    assert "read-only" in response.json()["detail"]
    assert Territory.objects.get(pk=world.west.id).name == "West"


def test_it_answers_401_to_anonymous_callers(world):
    from rest_framework.test import APIClient

    assert APIClient().get(url("account-list")).status_code == 401
