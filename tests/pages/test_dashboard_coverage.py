"""The dashboard's coverage warnings (exact counts with separators up to the cap, "+" beyond it) and its
top and bottom territories (within the drill-down)."""

import pytest
from django.urls import reverse

from core import dashboard_selectors
from territories.models import AssignmentOverlap

pytestmark = pytest.mark.django_db


def overlaps(world, n: int) -> None:
    AssignmentOverlap.objects.bulk_create(
        AssignmentOverlap(
            territory_model=world.model,
            account=world.account_a,
            winner=world.west_ca,
            loser=world.west_or,
            reason="priority",
        )
        for _ in range(n)
    )


def coverage_line(client, world) -> str:
    client.force_login(world.manager_user)
    page = client.get(reverse("home")).content.decode()
    start = page.index("Overlapping claims")
    return page[start : page.index("</li>", start)]


def test_it_counts_overlaps_exactly_past_a_thousand(client, world):
    overlaps(world, 1635)
    assert coverage_line(client, world) == "Overlapping claims resolved in the latest run: 1,635"


def test_it_marks_a_count_at_the_cap(client, world, monkeypatch):
    monkeypatch.setattr(dashboard_selectors, "COVERAGE_COUNT_CAP", 20)
    overlaps(world, 25)
    assert coverage_line(client, world) == "Overlapping claims resolved in the latest run: 20+"


def test_the_ranking_follows_the_drill_down(client, world):
    from tests.pages.world import add_bulk

    add_bulk(world, 3)  # under west-ca, each with revenue and a target
    client.force_login(world.manager_user)
    page = client.get(reverse("home"), {"parent": world.west_ca.pk, "period": world.period.value})
    html = page.content.decode()
    top = html[html.index('id="top-heading"') : html.index('id="bottom-heading"')]
    assert "Top territories under California" in top
    assert "Bulk 0" in top and "Oregon" not in top and ">West<" not in top
    whole = client.get(reverse("home"), {"period": world.period.value}).content.decode()
    whole_top = whole[whole.index('id="top-heading"') : whole.index('id="bottom-heading"')]
    assert "Oregon" in whole_top or "West" in whole_top


def test_a_scoped_manager_is_told_that_runs_count_the_whole_alignment(client, world):
    from tests.access.world import make_manager

    note = "A run covers the whole alignment"
    client.force_login(make_manager(scope_codes=("west-ca",)))
    assert note in client.get(reverse("home")).content.decode()
    client.force_login(world.manager_user)
    assert note not in client.get(reverse("home")).content.decode()
