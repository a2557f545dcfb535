"""The fast list path (rows from .values()) renders exactly what the serializers render."""

from datetime import UTC, date, datetime
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


def _detail(client, route, pk, **headers):
    response = client.get(url(f"{route}-detail", pk), **headers)
    assert response.status_code == 200, response.content
    return response.json()


def test_it_renders_details_exactly_as_the_serializer_does(manager_user):
    _seed()
    client = client_for(manager_user)
    for route, model, serializer in (("account", Account, AccountSerializer), ("deal", Deal, DealSerializer)):
        for instance in model.objects.all():
            assert _detail(client, route, instance.pk) == dict(serializer(instance).data)


@override_settings(TIME_ZONE="America/New_York")
def test_it_renders_details_in_the_current_time_zone_like_the_serializer(manager_user):
    timezone.activate("America/New_York")
    try:
        _seed()
        deal = Deal.objects.order_by("id").last()
        assert _detail(client_for(manager_user), "deal", deal.pk) == dict(DealSerializer(deal).data)
    finally:
        timezone.deactivate()


def test_it_renders_whole_second_and_fractional_timestamps_like_the_serializer(manager_user):
    _seed()
    deals = list(Deal.objects.order_by("id"))
    Deal.objects.filter(pk=deals[0].pk).update(updated_at=datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC))
    Deal.objects.filter(pk=deals[1].pk).update(updated_at=datetime(2025, 3, 1, 12, 0, 0, 120000, tzinfo=UTC))
    listed = _listed(client_for(manager_user), "deal")
    assert listed[deals[0].pk]["updated_at"] == "2025-03-01T12:00:00Z"
    assert listed[deals[1].pk]["updated_at"] == "2025-03-01T12:00:00.120000Z"
    for deal in Deal.objects.all():
        assert listed[deal.pk] == dict(DealSerializer(deal).data)


def test_it_pages_through_an_ordered_list_with_the_cursor(manager_user):
    for number in range(7):
        factories.make_deal(amount=Decimal(f"{(number * 37) % 11}.25"))
    client = client_for(manager_user)
    seen, next_url = [], url("deal-list", ordering="amount", page_size=3)
    while next_url:
        response = client.get(next_url)
        assert response.status_code == 200
        body = response.json()
        seen += [(Decimal(row["amount"]), row["id"]) for row in body["results"]]
        next_url = body["next"]
    assert len(seen) == 7
    assert [amount for amount, _ in seen] == sorted(amount for amount, _ in seen)
    assert {pk for _, pk in seen} == set(Deal.objects.values_list("id", flat=True))


def test_it_answers_404_for_a_malformed_or_unknown_id(manager_user):
    client = client_for(manager_user)
    for pk in ("abc", "999999999"):
        response = client.get(f"/api/v1/deals/{pk}/")
        assert response.status_code == 404
        assert set(response.json()) == {"detail"}


def test_the_browsable_api_still_renders_a_list_and_a_detail(manager_user):
    _seed()
    client = client_for(manager_user)
    deal = Deal.objects.first()
    for path in ("/api/v1/deals/", f"/api/v1/deals/{deal.pk}/"):
        response = client.get(path, HTTP_ACCEPT="text/html")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/html")
        assert deal.name.encode() in response.content


def test_content_negotiation_shortcut_agrees_with_drfs_full_negotiation(manager_user):
    from rest_framework.negotiation import DefaultContentNegotiation
    from rest_framework.request import Request
    from rest_framework.test import APIRequestFactory

    from accounts.api.views import DealViewSet
    from core.api.negotiation import ContentNegotiation

    renderers = [renderer() for renderer in DealViewSet.renderer_classes]

    def outcome(negotiation, request):
        try:
            renderer, media_type = negotiation.select_renderer(request, renderers)
        except Exception as error:  # noqa: BLE001 - the two must fail alike too
            return type(error)
        return type(renderer), media_type

    cases = [
        ("application/json", ""),
        ("application/json", "?format=json"),
        ("application/json", "?format=api"),
        ("application/json; indent=4", ""),
        ("text/html", ""),
        ("*/*", ""),
    ]
    for accept, query in cases:
        request = Request(APIRequestFactory().get(f"/api/v1/deals/{query}", HTTP_ACCEPT=accept))
        assert outcome(ContentNegotiation(), request) == outcome(DefaultContentNegotiation(), request), (accept, query)
