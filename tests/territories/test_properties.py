"""Property tests: on random small alignments the SQL engine gives exactly the brute-force reference's
answer, and no account is ever in two siblings of one kind."""

from collections import defaultdict
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from accounts.models import Account, ProductLine
from territories.models import NamedAccount, RuleCriterion, Territory, TerritoryOverride, TerritoryRule
from tests import factories
from tests.territories.helpers import engine_answer
from tests.territories.reference import reference_assign

COUNTRIES = ["US", "DE", "FR"]
REGIONS = ["CA", "ny", "BY", ""]
CITIES = ["Paris", "paris", "Berlin", "Austin", ""]
POSTALS = ["94105", "94110", "10001", "A1B", "a1c", "", "9410"]
INDUSTRIES = ["technology", "retail", "energy", ""]
KINDS = ["geographic", "segment", "product", "vertical", "account"]

VALUE_POOLS = {
    "country": ["us", "DE", "fr", "GB"],
    "region": ["ca", "NY", "by"],
    "city": ["PARIS", "berlin", "Austin"],
    "postal_code": ["94105", "941", "A1", "10001", "a1c"],
    "business_type": ["b2b", "B2C"],
    "industry": ["Technology", "retail", "energy"],
    "product": ["sku-a", "SKU-B"],
    "product_line": ["line-x", "LINE-Y"],
}
RANGES = [("94100", "94199"), ("10000", "10001"), ("A1A", "A1Z"), ("941", "9419")]
NUMBERS = [None, Decimal("0"), Decimal("10"), Decimal("250"), Decimal("1000")]

accounts_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "country": st.sampled_from(COUNTRIES),
            "region": st.sampled_from(REGIONS),
            "city": st.sampled_from(CITIES),
            "postal_code": st.sampled_from(POSTALS),
            "industry": st.sampled_from(INDUSTRIES),
            "business_type": st.sampled_from(["B2B", "B2C"]),
            "employees": st.sampled_from([None, 5, 10, 250, 5000]),
            "annual_revenue": st.sampled_from([None, Decimal("0"), Decimal("1000"), Decimal("99999")]),
        }
    ),
    min_size=1,
    max_size=7,
)

criterion_strategy = st.tuples(
    st.sampled_from(list(VALUE_POOLS) + ["employees", "annual_revenue"]),
    st.sampled_from(["in", "prefix", "range"]),
    st.lists(st.integers(0, 4), min_size=0, max_size=3),
    st.sampled_from(NUMBERS),
    st.sampled_from(NUMBERS),
    st.sampled_from(RANGES),
)

territory_strategy = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(KINDS),
        "parent": st.integers(-1, 6),
        "priority": st.integers(0, 2),
        "rules": st.lists(st.lists(criterion_strategy, max_size=3), max_size=2),
        "named": st.lists(st.integers(0, 6), max_size=2),
        "overrides": st.lists(st.integers(0, 6), max_size=1),
    }
)


def build(accounts_data, territories_data, deals_data):
    model = factories.make_territory_model(state="active")
    accounts = [factories.make_account(**data) for data in accounts_data]
    line_x = ProductLine.objects.create(code="line-x", name="Line X")
    line_y = ProductLine.objects.create(code="line-y", name="Line Y")
    products = [
        factories.make_product(sku="SKU-A", product_line=line_x),
        factories.make_product(sku="sku-b", product_line=line_y),
        factories.make_product(sku="SKU-C", product_line=line_y),
    ]
    territories = []
    for index, data in enumerate(territories_data):
        parent = territories[data["parent"] % len(territories)] if data["parent"] >= 0 and territories else None
        territory = Territory.objects.create(
            territory_model=model,
            code=f"t{(index * 7) % 10}{index}",
            name=f"T{index}",
            kind=data["kind"],
            parent=parent,
            priority=data["priority"],
        )
        territories.append(territory)
        for rule_data in data["rules"]:
            rule = TerritoryRule.objects.create(territory=territory)
            seen = set()
            for field, operator, value_indexes, low, high, (start, end) in rule_data:
                if field in seen:
                    continue
                seen.add(field)
                pool = VALUE_POOLS.get(field, ["x"])
                if low is not None and high is not None and low > high:
                    low, high = high, low
                RuleCriterion.objects.create(
                    rule=rule,
                    field=field,
                    operator=operator,
                    values=[pool[i % len(pool)] for i in value_indexes],
                    min_value=low,
                    max_value=high,
                    range_start=start,
                    range_end=end,
                )
        for account in {accounts[i % len(accounts)] for i in data["named"]}:
            NamedAccount.objects.create(territory=territory, account=account)
        for account in {accounts[i % len(accounts)] for i in data["overrides"]}:
            TerritoryOverride.objects.create(territory=territory, account=account, reason="test")
    for account_index, product_index in deals_data:
        product = products[product_index] if product_index < len(products) else None
        factories.make_deal(account=accounts[account_index % len(accounts)], product=product)
    return model


class EngineMatchesReferenceTests(TestCase):
    @settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        accounts_data=accounts_strategy,
        territories_data=st.lists(territory_strategy, min_size=1, max_size=8),
        deals_data=st.lists(st.tuples(st.integers(0, 6), st.integers(0, 3)), max_size=5),
    )
    def test_it_equals_the_brute_force_reference(self, accounts_data, territories_data, deals_data):
        model = build(accounts_data, territories_data, deals_data)
        expected = reference_assign(model)
        got = engine_answer(model)
        self.assertEqual(got["deep"], expected["deep"])
        self.assertEqual(got["overlaps"], expected["overlaps"])
        self.assertEqual(got["deals"], expected["deals"])
        # The incremental path (one statement, for a few accounts) must give the same answer.
        self.assertEqual(engine_answer(model, account_ids=list(Account.objects.values_list("pk", flat=True))), got)

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(accounts_data=accounts_strategy, territories_data=st.lists(territory_strategy, min_size=1, max_size=8))
    def test_it_puts_an_account_in_at_most_one_sibling_of_a_kind(self, accounts_data, territories_data):
        model = build(accounts_data, territories_data, [])
        territories = {t.pk: t for t in Territory.objects.filter(territory_model=model)}
        inside = defaultdict(set)
        for account_id, territory_id, _ in engine_answer(model)["deep"]:
            node = territories[territory_id]
            while node is not None:
                inside[account_id].add(node.pk)
                node = territories.get(node.parent_id)
        for account_id, territory_ids in inside.items():
            groups = defaultdict(list)
            for pk in territory_ids:
                groups[(territories[pk].parent_id, territories[pk].kind)].append(pk)
                parent_id = territories[pk].parent_id
                self.assertTrue(parent_id is None or parent_id in territory_ids, "in a child but not its parent")
            for group, members in groups.items():
                self.assertEqual(len(members), 1, f"account {account_id} in siblings {members} of {group}")


class FullRunOverClassesTests(TestCase):
    """A full run sorts accounts into classes (same satisfied criteria, field by field) and computes one
    representative per class: with many accounts drawn from few values, classes hold several accounts, some
    of them pinned (named / overridden) — the answer must still be the reference's, account by account."""

    @settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        many=st.lists(
            st.fixed_dictionaries(
                {
                    "country": st.sampled_from(COUNTRIES),
                    "region": st.sampled_from(REGIONS),
                    "city": st.sampled_from(CITIES[:3]),
                    "postal_code": st.sampled_from(POSTALS),
                    "industry": st.sampled_from(INDUSTRIES[:2]),
                    "business_type": st.sampled_from(["B2B", "B2C"]),
                    "employees": st.sampled_from([None, 5, 10, 11, 250, 5000]),
                    "annual_revenue": st.sampled_from([None, Decimal("0"), Decimal("1000"), Decimal("1000.5")]),
                }
            ),
            min_size=8,
            max_size=30,
        ),
        territories_data=st.lists(territory_strategy, min_size=1, max_size=8),
        deals_data=st.lists(st.tuples(st.integers(0, 29), st.integers(0, 3)), max_size=12),
    )
    def test_it_equals_the_brute_force_reference_with_shared_classes(self, many, territories_data, deals_data):
        model = build(many, territories_data, deals_data)
        expected = reference_assign(model)
        got = engine_answer(model)
        self.assertEqual(got["deep"], expected["deep"])
        self.assertEqual(got["overlaps"], expected["overlaps"])
        self.assertEqual(got["deals"], expected["deals"])
