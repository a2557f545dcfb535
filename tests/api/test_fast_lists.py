"""The fast list path (rows from .values()) renders exactly what the serializers render."""

from datetime import date
from decimal import Decimal

from django.test import override_settings
from django.utils import timezone

from accounts.api.serializers import AccountSerializer, DealSerializer
from accounts.models import Account, Deal
from tests import factories
from tests.api.helpers import client_for, url


def _listed(client, route) -> dict[int, dict]:
    response = client.get(url(f"{route}-list", page_size=1000))
    assert response.status_code == 200
    return {row["id"]: row for row in response.json()["results"]}


def _seed():
    campaign = factories.make_campaign()
    product = factories.make_product()
    rep = factories.make_rep()
    plain = factories.make_account(employees=None, industry="", region="")
    located = factories.make_account(
        latitude=Decimal("37.7749"),
        longitude=Decimal("-122.4194"),
        annual_revenue=Decimal("1234567.5"),
        customer_since=date(2020, 2, 29),
        status="customer",
        country="DE",
    )
    factories.make_deal(account=plain)
    factories.make_deal(
        account=located,
        product=product,
        rep=rep,
        campaign=campaign,
        amount=Decimal("0.5"),
        stage="won",
        probability=100,
        created_on=date(2024, 12, 31),
        closed_on=date(2025, 1, 1),
        name="Zürich – naïve “quotes”",
    )
    factories.make_deal(account=located, stage="proposal", expected_close_on=date(2026, 6, 30))


def test_it_lists_accounts_exactly_as_the_serializer_renders_them(manager_user):
    _seed()
    listed = _listed(client_for(manager_user), "account")
    expected = {row["id"]: row for row in AccountSerializer(Account.objects.all(), many=True).data}
    assert listed == {pk: dict(row) for pk, row in expected.items()}


def test_it_lists_deals_exactly_as_the_serializer_renders_them(manager_user):
    _seed()
    listed = _listed(client_for(manager_user), "deal")
    expected = {row["id"]: dict(row) for row in DealSerializer(Deal.objects.all(), many=True).data}
    assert len(listed) == 3
    assert listed == expected


@override_settings(TIME_ZONE="America/New_York")
def test_it_renders_timestamps_in_the_current_time_zone_like_the_serializer(manager_user):
    timezone.activate("America/New_York")
    try:
        _seed()
        listed = _listed(client_for(manager_user), "deal")
        expected = {row["id"]: dict(row) for row in DealSerializer(Deal.objects.all(), many=True).data}
        assert listed == expected
        assert not next(iter(listed.values()))["created_at"].endswith("Z")
    finally:
        timezone.deactivate()
