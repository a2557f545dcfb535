"""The engine on hand-made alignments: every kind and operator, priority, specificity, named accounts,
overrides and hierarchy narrowing. Each expectation is worked out from docs/ASSIGNMENT.md."""

from decimal import Decimal

import pytest

from accounts.models import ProductLine
from territories.models import NamedAccount, TerritoryOverride
from tests import factories
from tests.territories.helpers import engine_answer
from tests.territories.reference import reference_assign

pytestmark = pytest.mark.django_db


def deep_codes(model, account) -> set[str]:
    codes = {t.pk: t.code for t in model.territories.all()}
    return {codes[t] for a, t, _ in engine_answer(model)["deep"] if a == account.pk}


@pytest.fixture
def model():
    return factories.make_territory_model(state="active")


@pytest.mark.parametrize(
    ("criterion", "matching", "other"),
    [
        ({"field": "country", "values": ["de"]}, {"country": "DE"}, {"country": "FR"}),
        ({"field": "region", "values": ["bavaria"]}, {"region": "Bavaria"}, {"region": "Hesse"}),
        ({"field": "city", "values": ["MUNICH"]}, {"city": "Munich"}, {"city": "Berlin"}),
        ({"field": "postal_code", "values": ["80331"]}, {"postal_code": "80331"}, {"postal_code": "80332"}),
        (
            {"field": "postal_code", "operator": "prefix", "values": ["80", "sw1"]},
            {"postal_code": "SW1A"},
            {"postal_code": "90210"},
        ),
        (
            {"field": "postal_code", "operator": "range", "range_start": "80000", "range_end": "80999"},
            {"postal_code": "80999"},
            {"postal_code": "809990"},
        ),
    ],
)
def test_it_matches_geographic_operators(model, criterion, matching, other):
    territory = factories.make_territory(model, code="geo")
    factories.make_rule(territory, {"operator": "in", **criterion})
    inside = factories.make_account(**matching)
    outside = factories.make_account(**other)
    assert deep_codes(model, inside) == {"geo"}
    assert deep_codes(model, outside) == set()


@pytest.mark.parametrize(
    ("criterion", "matching", "others"),
    [
        (
            {"field": "employees", "operator": "range", "min_value": 50, "max_value": 999},
            {"employees": 999},
            [{"employees": 1000}, {"employees": None}],
        ),
        (
            {"field": "employees", "operator": "range", "min_value": 1000},
            {"employees": 5000},
            [{"employees": 999}],
        ),
        (
            {"field": "annual_revenue", "operator": "range", "max_value": Decimal("1000000")},
            {"annual_revenue": Decimal("1000000")},
            [{"annual_revenue": Decimal("1000000.01")}, {"annual_revenue": None}],
        ),
        ({"field": "business_type", "values": ["b2c"]}, {"business_type": "B2C"}, [{"business_type": "B2B"}]),
    ],
)
def test_it_matches_segment_criteria(model, criterion, matching, others):
    territory = factories.make_territory(model, code="seg", kind="segment")
    factories.make_rule(territory, {"operator": "in", **criterion})
    assert deep_codes(model, factories.make_account(**matching)) == {"seg"}
    for other in others:
        assert deep_codes(model, factories.make_account(**other)) == set()


def test_it_matches_vertical_industries(model):
    territory = factories.make_territory(model, code="health", kind="vertical")
    factories.make_rule(territory, {"field": "industry", "values": ["Healthcare", "pharma"]})
    assert deep_codes(model, factories.make_account(industry="pharma")) == {"health"}
    assert deep_codes(model, factories.make_account(industry="retail")) == set()


def test_it_requires_every_criterion_of_a_rule_and_any_rule_of_a_territory(model):
    territory = factories.make_territory(model, code="west")
    factories.make_rule(territory, {"field": "country", "values": ["US"]}, {"field": "region", "values": ["CA"]})
    factories.make_rule(territory, {"field": "country", "values": ["CA"]})
    assert deep_codes(model, factories.make_account(country="US", region="CA")) == {"west"}
    assert deep_codes(model, factories.make_account(country="US", region="NY")) == set()
    assert deep_codes(model, factories.make_account(country="CA", region="ON")) == {"west"}


def test_it_narrows_children_to_their_parent(model):
    us = factories.make_territory(model, code="us")
    factories.make_rule(us, {"field": "country", "values": ["US"]})
    tech = factories.make_territory(model, code="us-tech", parent=us, kind="vertical")
    factories.make_rule(tech, {"field": "industry", "values": ["technology"]})
    american = factories.make_account(country="US", industry="technology")
    german = factories.make_account(country="DE", industry="technology")
    assert deep_codes(model, american) == {"us-tech"}
    assert deep_codes(model, german) == set()  # matches the child, but is not in the parent


def test_it_keeps_the_parent_when_no_child_matches(model):
    us = factories.make_territory(model, code="us")
    factories.make_rule(us, {"field": "country", "values": ["US"]})
    ca = factories.make_territory(model, code="us-ca", parent=us)
    factories.make_rule(ca, {"field": "region", "values": ["CA"]})
    assert deep_codes(model, factories.make_account(region="NY")) == {"us"}
    assert deep_codes(model, factories.make_account(region="CA")) == {"us-ca"}


def test_it_overlays_siblings_of_different_kinds(model):
    geo = factories.make_territory(model, code="geo")
    factories.make_rule(geo, {"field": "country", "values": ["US"]})
    vertical = factories.make_territory(model, code="tech", kind="vertical")
    factories.make_rule(vertical, {"field": "industry", "values": ["technology"]})
    assert deep_codes(model, factories.make_account()) == {"geo", "tech"}


def test_it_lets_higher_priority_win_and_reports_the_overlap(model):
    low = factories.make_territory(model, code="a-low", priority=0)
    factories.make_rule(low, {"field": "postal_code", "values": ["94105"]})
    high = factories.make_territory(model, code="z-high", priority=5)
    factories.make_rule(high, {"field": "country", "values": ["US"]})
    account = factories.make_account()
    answer = engine_answer(model)
    assert {t for a, t, _ in answer["deep"] if a == account.pk} == {high.pk}
    assert answer["overlaps"] == {(account.pk, high.pk, low.pk, "priority")}


@pytest.mark.parametrize(
    ("narrow", "wide"),
    [
        ({"field": "postal_code", "values": ["94105"]}, {"field": "city", "values": ["San Francisco"]}),
        ({"field": "city", "values": ["San Francisco"]}, {"field": "region", "values": ["CA"]}),
        ({"field": "region", "values": ["CA"]}, {"field": "country", "values": ["US"]}),
    ],
)
def test_it_prefers_the_more_specific_rule(model, narrow, wide):
    wide_territory = factories.make_territory(model, code="a-wide")
    factories.make_rule(wide_territory, wide)
    narrow_territory = factories.make_territory(model, code="z-narrow")
    factories.make_rule(narrow_territory, narrow)
    account = factories.make_account()
    answer = engine_answer(model)
    assert {t for a, t, _ in answer["deep"]} == {narrow_territory.pk}
    assert answer["overlaps"] == {(account.pk, narrow_territory.pk, wide_territory.pk, "specificity")}


def test_it_prefers_the_narrower_range(model):
    wide = factories.make_territory(model, code="a-wide", kind="segment")
    factories.make_rule(wide, {"field": "employees", "operator": "range", "min_value": 0, "max_value": 1000})
    narrow = factories.make_territory(model, code="z-narrow", kind="segment")
    factories.make_rule(narrow, {"field": "employees", "operator": "range", "min_value": 200, "max_value": 300})
    factories.make_account(employees=250)
    assert {t for _, t, _ in engine_answer(model)["deep"]} == {narrow.pk}


def test_it_breaks_ties_by_the_lowest_code(model):
    second = factories.make_territory(model, code="b-second")
    factories.make_rule(second, {"field": "country", "values": ["US"]})
    first = factories.make_territory(model, code="a-first")
    factories.make_rule(first, {"field": "country", "values": ["US"]})
    account = factories.make_account()
    answer = engine_answer(model)
    assert {t for _, t, _ in answer["deep"]} == {first.pk}
    assert answer["overlaps"] == {(account.pk, first.pk, second.pk, "tie_break")}


def test_it_puts_named_accounts_in_account_based_territories_and_their_ancestors(model):
    keys = factories.make_territory(model, code="key", kind="account")
    west = factories.make_territory(model, code="key-west", kind="account", parent=keys)
    named = factories.make_account(country="DE")
    NamedAccount.objects.create(territory=west, account=named)
    other = factories.make_account()
    answer = engine_answer(model)
    assert answer["deep"] == {(named.pk, west.pk, "named")}
    assert other.pk not in {a for a, _, _ in answer["deep"]}


def test_it_lets_an_override_beat_rules_and_pin_the_ancestors(model):
    us = factories.make_territory(model, code="us", priority=9)
    factories.make_rule(us, {"field": "country", "values": ["US"]})
    emea = factories.make_territory(model, code="emea")
    factories.make_rule(emea, {"field": "country", "values": ["DE"]})
    germany = factories.make_territory(model, code="emea-de", parent=emea)
    factories.make_rule(germany, {"field": "country", "values": ["DE"]})
    account = factories.make_account(country="US")
    TerritoryOverride.objects.create(territory=germany, account=account, reason="Managed from Munich")
    answer = engine_answer(model)
    assert answer["deep"] == {(account.pk, germany.pk, "override")}
    assert answer["overlaps"] == {(account.pk, emea.pk, us.pk, "override")}


def test_it_puts_deals_in_product_territories_under_their_accounts_territory(model):
    us = factories.make_territory(model, code="us")
    factories.make_rule(us, {"field": "country", "values": ["US"]})
    software = factories.make_territory(model, code="us-software", kind="product", parent=us)
    factories.make_rule(software, {"field": "product_line", "values": ["SOFTWARE"]})
    suite = factories.make_territory(model, code="us-suite", kind="product", parent=software)
    factories.make_rule(suite, {"field": "product", "values": ["suite-1"]})
    line = ProductLine.objects.create(code="software", name="Software")
    suite_product = factories.make_product(sku="SUITE-1", product_line=line)
    other_product = factories.make_product(sku="ADDON", product_line=line)
    american = factories.make_account(country="US")
    german = factories.make_account(country="DE")
    suite_deal = factories.make_deal(account=american, product=suite_product)
    addon_deal = factories.make_deal(account=american, product=other_product)
    factories.make_deal(account=german, product=suite_product)
    factories.make_deal(account=american, product=None)
    answer = engine_answer(model)
    assert answer["deals"] == {(suite_deal.pk, suite.pk), (addon_deal.pk, software.pk)}
    assert answer["deep"] == {(american.pk, us.pk, "rule")}  # accounts are never in product territories


def test_it_ignores_criteria_that_do_not_fit_the_kind(model):
    vertical = factories.make_territory(model, code="v", kind="vertical")
    factories.make_rule(vertical, {"field": "country", "values": ["US"]})  # bypassed validation
    factories.make_account()
    assert engine_answer(model)["deep"] == set()


def test_it_agrees_with_the_reference_on_a_mixed_alignment(model):
    us = factories.make_territory(model, code="us")
    factories.make_rule(us, {"field": "country", "values": ["US"]})
    for code, region in (("us-ca", "CA"), ("us-ny", "NY")):
        child = factories.make_territory(model, code=code, parent=us)
        factories.make_rule(child, {"field": "region", "values": [region]})
    smb = factories.make_territory(model, code="us-smb", parent=us, kind="segment")
    factories.make_rule(smb, {"field": "employees", "operator": "range", "max_value": 100})
    for region, employees in (("CA", 50), ("NY", 500), ("TX", 5), ("CA", None)):
        factories.make_account(region=region, employees=employees)
    assert engine_answer(model) == reference_assign(model)
