"""The dashboard's revenue and pipeline cards add up only territories that share no deal: territories of
different kinds overlay (a geographic and a vertical root hold the same deals), so summing every row shown
counted each deal once per kind."""

from collections import defaultdict
from decimal import Decimal

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from accounts.models import Deal
from core.dashboard_selectors import territories_adding_up
from territories.models import Territory
from tests import factories
from tests.pages.world import rollup
from tests.territories.reference import reference_assign
from tests.territories.test_properties import accounts_strategy, build, territory_strategy


def codes(territories) -> list[str]:
    return [t.code for t in territories]


@pytest.mark.django_db
class TestTerritoriesAddingUp:
    def test_roots_of_different_kinds_overlap_and_the_geographic_one_is_taken(self):
        model = factories.make_territory_model(state="active")
        vertical = factories.make_territory(model, code="verticals", kind="vertical")
        geography = factories.make_territory(model, code="world", kind="geographic")
        segments = factories.make_territory(model, code="segments", kind="segment")
        assert codes(territories_adding_up(territories=[vertical, segments, geography])) == ["world"]

    def test_siblings_of_one_kind_partition_their_parent(self):
        model = factories.make_territory_model(state="active")
        world = factories.make_territory(model, code="world")
        countries = [factories.make_territory(model, parent=world, code=code) for code in ("us", "de", "fr")]
        assert codes(territories_adding_up(territories=countries)) == ["us", "de", "fr"]

    def test_territories_below_two_countries_are_apart_whatever_their_kind(self):
        model = factories.make_territory_model(state="active")
        world = factories.make_territory(model, code="world")
        us = factories.make_territory(model, parent=world, code="us")
        de = factories.make_territory(model, parent=world, code="de")
        tech_us = factories.make_territory(model, parent=us, code="tech-us", kind="vertical")
        smb_de = factories.make_territory(model, parent=de, code="smb-de", kind="segment")
        assert codes(territories_adding_up(territories=[tech_us, smb_de])) == ["smb-de", "tech-us"]

    def test_paths_parting_at_siblings_of_different_kinds_may_overlap(self):
        model = factories.make_territory_model(state="active")
        world = factories.make_territory(model, code="world")
        us = factories.make_territory(model, parent=world, code="us")
        enterprise = factories.make_territory(model, parent=world, code="enterprise", kind="segment")
        tech_us = factories.make_territory(model, parent=us, code="tech-us", kind="vertical")
        tech_enterprise = factories.make_territory(model, parent=enterprise, code="tech-ent", kind="vertical")
        # Both vertical, yet an account in the US and in the enterprise segment can be in both.
        assert codes(territories_adding_up(territories=[tech_us, tech_enterprise])) == ["tech-us"]

    def test_an_ancestor_and_its_descendant_overlap(self):
        model = factories.make_territory_model(state="active")
        world = factories.make_territory(model, code="world")
        us = factories.make_territory(model, parent=world, code="us")
        assert codes(territories_adding_up(territories=[us, world])) == ["us"]

    def test_it_reads_the_chains_in_one_query(self, django_assert_num_queries):
        model = factories.make_territory_model(state="active")
        world = factories.make_territory(model, code="world")
        countries = [factories.make_territory(model, parent=world, code=f"c{n}") for n in range(5)]
        with django_assert_num_queries(1):
            territories_adding_up(territories=countries)


class AddingUpSharesNoDealTests(TestCase):
    """On random alignments, the territories taken share no deal by the brute-force reference: a deal counts
    for a territory when its account is in it (its deepest territories and their ancestors), or, for a
    product territory, when the deal is in it."""

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        accounts_data=accounts_strategy,
        territories_data=st.lists(territory_strategy, min_size=1, max_size=8),
        deals_data=st.lists(st.tuples(st.integers(0, 6), st.integers(0, 3)), min_size=1, max_size=8),
        chosen=st.lists(st.integers(0, 7), min_size=1, max_size=6, unique=True),
    )
    def test_the_territories_taken_share_no_deal(self, accounts_data, territories_data, deals_data, chosen):
        model = build(accounts_data, territories_data, deals_data)
        territories = list(Territory.objects.filter(territory_model=model).order_by("pk"))
        candidates = [territories[i % len(territories)] for i in chosen]
        candidates = list({t.pk: t for t in candidates}.values())
        expected = reference_assign(model)
        parent = {t.pk: t.parent_id for t in territories}

        def with_ancestors(territory_id):
            while territory_id is not None:
                yield territory_id
                territory_id = parent[territory_id]

        account_in, deal_in = defaultdict(set), defaultdict(set)
        for account_id, territory_id, _source in expected["deep"]:
            account_in[account_id].update(with_ancestors(territory_id))
        for deal_id, territory_id in expected["deals"]:
            deal_in[deal_id].update(with_ancestors(territory_id))
        kind = {t.pk: t.kind for t in territories}
        taken = territories_adding_up(territories=candidates)
        self.assertTrue(taken)
        for deal in Deal.objects.all():
            counted_by = [
                t.code
                for t in taken
                if (t.pk in deal_in[deal.pk] if kind[t.pk] == "product" else t.pk in account_in[deal.account_id])
            ]
            self.assertLessEqual(len(counted_by), 1, f"deal {deal.pk} counted by {counted_by}")


@pytest.mark.django_db
def test_the_dashboard_adds_up_the_geography_not_every_kind(client, world):
    """West (geographic) holds 3000 of revenue; a vertical root over the same accounts holds 2500 of it."""
    verticals = factories.make_territory(world.model, code="verticals", name="Verticals", kind="vertical")
    rollup(verticals, "revenue", world.period, "2500")
    rollup(verticals, "pipeline_value", world.period, "400")
    client.force_login(world.manager_user)
    response = client.get(reverse("home"))
    assert sorted(row.code for row in response.context["rows"]) == ["verticals", "west"]
    assert response.context["totals"]["actual"] == Decimal("3000")
    assert response.context["totals"]["pipeline"] == Decimal("500")
    content = response.content.decode()
    assert "3,000" in content and "5,500" not in content
    assert 'id="totals-basis"' in content and "those of West [west]" in content


@pytest.mark.django_db
def test_the_dashboard_adds_up_same_kind_children_and_says_nothing_more(client, world):
    client.force_login(world.manager_user)
    response = client.get(reverse("home"), {"parent": world.west.pk})
    assert response.context["totals"]["actual"] == Decimal("3000")  # California 2000 + Oregon 1000
    assert 'id="totals-basis"' not in response.content.decode()


@pytest.mark.django_db
def test_the_totals_cover_the_whole_level_when_the_table_lists_part_of_it(client, world, monkeypatch):
    monkeypatch.setattr("core.views.TOP_TERRITORIES_SHOWN", 1)
    client.force_login(world.manager_user)
    response = client.get(reverse("home"), {"parent": world.west.pk})
    assert [row.code for row in response.context["rows"]] == ["west-ca"]
    assert response.context["totals"]["actual"] == Decimal("3000")
    assert "add up all 2 territories at this level; 1 of them are listed below" in response.content.decode()
