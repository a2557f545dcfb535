"""Every list, in every ordering, pages through each row exactly once: orderings end with the id (so rows
sharing a value keep one order), and a cursor positions on the whole key (value, …, id) — it never loops,
skips or repeats, however many rows share a value. Cursors that were not made by the list are a 404."""

from base64 import b64encode
from datetime import date
from decimal import Decimal

import pytest
from django.db.models import F
from django.utils import timezone

from accounts.models import Account, Deal
from kpis.models import KpiBreakdownRollup, KpiCampaignRollup, KpiDefinition, KpiFigure, KpiRollup, KpiTarget
from reps.models import Rep
from territories.models import RepAssignment, Territory
from tests import factories
from tests.api.helpers import client_for, url

pytestmark = pytest.mark.django_db


def _walk(client, first_url: str, *, limit: int) -> tuple[list[int], list[dict]]:
    """Follow `next` from the first page; returns the ids in order and the last body."""
    ids, next_url, body = [], first_url, None
    for _ in range(limit):
        response = client.get(next_url)
        assert response.status_code == 200, response.content
        body = response.json()
        ids += [row["id"] for row in body["results"]]
        next_url = body["next"]
        if not next_url:
            return ids, body
    raise AssertionError(f"still paging after {limit} pages: {first_url}")


def _walk_back(client, body: dict, *, limit: int) -> list[int]:
    """Follow `previous` from a page (its rows included); returns the ids in list order."""
    pages = [[row["id"] for row in body["results"]]]
    previous_url = body["previous"]
    for _ in range(limit):
        if not previous_url:
            return [pk for page in reversed(pages) for pk in page]
        response = client.get(previous_url)
        assert response.status_code == 200, response.content
        body = response.json()
        pages.append([row["id"] for row in body["results"]])
        previous_url = body["previous"]
    raise AssertionError("still paging back")


def _expected(queryset, ordering: str) -> list[int]:
    terms = ordering.split(",")
    tie = [] if terms[-1].lstrip("-") == "id" else ["-id" if terms[-1].startswith("-") else "id"]
    return list(queryset.order_by(*terms, *tie).values_list("id", flat=True))


def _shuffle_ties(model, ids: list[int]) -> None:
    """Rewrite every other row, so rows sharing a value are no longer stored in id order (an UPDATE writes
    a new row version at the end of the table): only an explicit tie-breaker keeps them in one order."""
    model.objects.filter(id__in=ids[::2]).update(id=F("id"))


@pytest.fixture
def rows(manager_user):
    """Deals, accounts and KPI rows where most share their ordering values."""
    same_time = timezone.now().replace(microsecond=0)
    accounts = [factories.make_account(name=f"Acme {n % 3}", employees=None if n % 2 else n) for n in range(13)]
    for n in range(23):
        factories.make_deal(
            account=accounts[n % 3],
            amount=Decimal(n % 3),
            created_on=date(2025, 1, 1 + n % 2),
            stage="prospecting" if n % 2 else "won",
        )
    Deal.objects.update(updated_at=same_time)
    Account.objects.update(updated_at=same_time)
    _shuffle_ties(Deal, list(Deal.objects.order_by("id").values_list("id", flat=True)))
    _shuffle_ties(Account, [account.id for account in accounts])

    territory = factories.make_territory()
    KpiFigure.objects.bulk_create(
        KpiFigure(
            territory=territory,
            period_type="month",
            period_start=date(2000 + n // 12, 1 + n % 12, 1),
            computed_at=same_time,
        )
        for n in range(1 + 1100 // KpiDefinition.objects.count())
    )
    common = {"territory": territory, "view": "as_of", "period_type": "month", "computed_at": same_time}
    for n in range(9):
        start = date(2024, 1 + n % 2, 1)
        KpiCampaignRollup.objects.create(
            campaign=factories.make_campaign(), period_start=start, revenue=n % 2, deals_won=1, **common
        )
        KpiBreakdownRollup.objects.create(
            dimension="stage", stage=f"s{n}", deals=1, amount=n % 2, weighted=None, period_start=start, **common
        )
    _shuffle_ties(KpiCampaignRollup, list(KpiCampaignRollup.objects.values_list("id", flat=True)))
    _shuffle_ties(KpiBreakdownRollup, list(KpiBreakdownRollup.objects.values_list("id", flat=True)))
    return client_for(manager_user)


CURSOR_CASES = [
    ("deal-list", Deal, "updated_at", 4),
    ("deal-list", Deal, "-updated_at", 4),
    ("deal-list", Deal, "amount", 5),
    ("deal-list", Deal, "-amount", 3),
    ("deal-list", Deal, "created_on", 4),
    ("deal-list", Deal, "-id", 6),
    ("account-list", Account, "name", 2),
    ("account-list", Account, "-updated_at", 3),
    ("account-list", Account, "-name,updated_at", 3),  # mixed directions
    ("deal-list", Deal, "amount,-id", 4),
    ("campaign-revenue-list", KpiCampaignRollup, "deals_won", 2),
    ("campaign-revenue-list", KpiCampaignRollup, "-revenue", 2),
    ("breakdown-list", KpiBreakdownRollup, "deals", 2),
    ("breakdown-list", KpiBreakdownRollup, "-period_start", 4),
]


@pytest.mark.parametrize(("name", "model", "ordering", "page_size"), CURSOR_CASES)
def test_a_cursor_list_pages_every_row_once_forwards_and_back(rows, name, model, ordering, page_size):
    expected = _expected(model.objects.all(), ordering)
    ids, last = _walk(rows, url(name, ordering=ordering, page_size=page_size), limit=len(expected) + 2)
    assert ids == expected
    assert _walk_back(rows, last, limit=len(expected) + 2) == expected


@pytest.mark.parametrize("ordering", ["computed_at", "-period_start", "id"])
def test_the_kpi_list_pages_past_a_thousand_rows_sharing_a_value(rows, ordering):
    # DRF's cursor counted rows sharing the first column's value with an offset capped at 1000: with 1100
    # rows of one computed_at the next page came back to the same offset, forever.
    total = KpiRollup.objects.count()
    assert total > 1100
    ids, _ = _walk(rows, url("rollup-list", ordering=ordering, page_size=100), limit=total // 100 + 2)
    assert len(ids) == len(set(ids)) == total
    if ordering == "id":
        assert ids == sorted(ids)


@pytest.mark.parametrize(
    ("name", "ordering"),
    [("deal-list", "closed_on"), ("deal-list", "-expected_close_on"), ("account-list", "employees")],
)
def test_a_cursor_list_refuses_an_ordering_by_a_column_that_may_be_empty(rows, name, ordering):
    response = rows.get(url(name, ordering=ordering))
    assert response.status_code == 400
    assert "ordering" in response.json()


def _cursor(text: str) -> str:
    return b64encode(text.encode()).decode()


BAD_CURSORS = [
    "cD1hYmM=",  # p=abc: a cursor of DRF's own format
    _cursor("p=1.5"),
    _cursor('k=["abc","1"]'),
    _cursor('k=["1.5"]'),
    _cursor('k=["1","2","3","4"]'),
    _cursor('k=["99999999999999999999999"]'),
    _cursor("k=[null]"),
    _cursor("k=not-json"),
    _cursor("r=2"),
    _cursor(""),
    "%%%",
]


@pytest.mark.parametrize(
    "name", ["deal-list", "account-list", "rollup-list", "breakdown-list", "campaign-revenue-list"]
)
def test_a_tampered_cursor_is_a_404_never_a_500(manager_user, name):
    client = client_for(manager_user)
    for cursor in BAD_CURSORS:
        response = client.get(url(name, cursor=cursor))
        assert response.status_code == 404, (cursor, response.content)
        assert response.json() == {"detail": "Invalid cursor"}


@pytest.fixture
def plain_rows(manager_user):
    """Rows of page-number lists sharing their ordering values."""
    model = factories.make_territory_model()
    territories = [factories.make_territory(model, kind="geographic" if n % 2 else "account") for n in range(11)]
    kpi = KpiDefinition.objects.get(code="revenue")
    start = date(2025, 1, 1)
    for territory in territories:
        KpiTarget.objects.create(territory=territory, kpi=kpi, period_type="year", period_start=start, value=1)
        rep = factories.make_rep()
        RepAssignment.objects.create(rep=rep, territory=territory, start_date=start)
    for model_class in (Territory, KpiTarget, RepAssignment, Rep):
        _shuffle_ties(model_class, list(model_class.objects.order_by("id").values_list("id", flat=True)))
    return client_for(manager_user)


@pytest.mark.parametrize(
    ("name", "model", "ordering"),
    [
        ("territory-list", Territory, "kind"),
        ("territory-list", Territory, "-priority"),
        ("target-list", KpiTarget, "period_start"),
        ("rep-assignment-list", RepAssignment, "start_date"),
        ("rep-list", Rep, "-seniority"),
    ],
)
def test_a_page_number_list_pages_every_row_once(plain_rows, name, model, ordering):
    expected = _expected(model.objects.all(), ordering)
    ids, _ = _walk(plain_rows, url(name, ordering=ordering, page_size=3), limit=len(expected) + 2)
    assert ids == expected
