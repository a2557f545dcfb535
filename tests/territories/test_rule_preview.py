"""The rule editor's previews (core/editor_selectors.py) against the brute-force reference matcher
(tests/territories/reference.py, written from docs/ASSIGNMENT.md) on random accounts and criteria:
one criterion on its own, and the whole rule (all criteria together, within the territory's parent)."""

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from accounts.models import Account
from core import roles
from core.editor_selectors import PreviewCriterion, criterion_accounts_count, rule_accounts_count
from territories.models import AccountTerritoryMembership, PlanAccountAnswer, RuleCriterion, Territory
from tests import factories
from tests.territories.reference import criterion_matches
from tests.territories.test_properties import NUMBERS, RANGES, VALUE_POOLS, accounts_strategy

ACCOUNT_FIELDS = [f for f in VALUE_POOLS if f not in ("product", "product_line")] + ["employees", "annual_revenue"]

preview_criterion_strategy = st.builds(
    lambda field, operator, indexes, low, high, bounds, odd_case: (
        field,
        operator,
        [
            (v.swapcase() if odd_case else v)
            for v in (VALUE_POOLS.get(field, ["x"])[i % len(VALUE_POOLS.get(field, ["x"]))] for i in indexes)
        ],
        low,
        high,
        bounds,
    ),
    st.sampled_from(ACCOUNT_FIELDS),
    st.sampled_from(["in", "prefix", "range"]),
    st.lists(st.integers(0, 4), max_size=3),
    st.sampled_from(NUMBERS),
    st.sampled_from(NUMBERS),
    st.sampled_from([*RANGES, ("", ""), ("941", "94199")]),
    st.booleans(),
)


def _criterion(data) -> PreviewCriterion:
    field, operator, values, low, high, (start, end) = data
    return PreviewCriterion(field, operator, values, low, high, start, end)


def _reference(criterion: PreviewCriterion, kind: str, account: Account) -> bool:
    model_criterion = RuleCriterion(
        field=criterion.field,
        operator=criterion.operator,
        values=criterion.values,
        min_value=criterion.min_value,
        max_value=criterion.max_value,
        range_start=criterion.range_start,
        range_end=criterion.range_end,
    )
    return criterion_matches(model_criterion, kind, account, None)


class PreviewMatchesReferenceTests(TestCase):
    def setUp(self):
        self.manager = factories.make_user(roles.SALES_MANAGER)

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        accounts_data=accounts_strategy,
        criteria_data=st.lists(preview_criterion_strategy, max_size=4),
        kind=st.sampled_from(["geographic", "segment", "vertical", "account"]),
        in_parent=st.lists(st.booleans(), min_size=7, max_size=7),
        active=st.booleans(),
        with_parent=st.booleans(),
    )
    def test_the_whole_rule_count_equals_the_reference(
        self, accounts_data, criteria_data, kind, in_parent, active, with_parent
    ):
        accounts = [factories.make_account(**data) for data in accounts_data]
        model = factories.make_territory_model(state="active" if active else "planning")
        root = Territory.objects.create(territory_model=model, code="root", name="Root", kind="geographic")
        middle = Territory.objects.create(territory_model=model, code="mid", name="Mid", kind=kind, parent=root)
        leaf = Territory.objects.create(territory_model=model, code="leaf", name="Leaf", kind=kind, parent=middle)
        # Some accounts in the parent (one of them through the parent's child), others at the root only.
        for index, account in enumerate(accounts):
            where = (leaf if index % 2 else middle) if in_parent[index] else root
            if active:
                AccountTerritoryMembership.objects.create(account=account, territory=where, valid_from="2020-01-01")
            else:
                # A plan stores each account's deepest territories as its signature (id * 4 + 2: by rule).
                PlanAccountAnswer.objects.create(territory_model=model, account=account, sig=[where.pk * 4 + 2])
        territory = Territory.objects.create(
            territory_model=model, code="new", name="New", kind=kind, parent=middle if with_parent else None
        )
        territory = Territory.objects.select_related("territory_model").get(pk=territory.pk)
        criteria = [_criterion(data) for data in criteria_data]

        expected = sum(
            1
            for index, account in enumerate(accounts)
            if (not with_parent or in_parent[index])
            and kind != "account"
            and all(_reference(criterion, kind, account) for criterion in criteria)
        )
        self.assertEqual(rule_accounts_count(user=self.manager, territory=territory, criteria=criteria), expected)

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(accounts_data=accounts_strategy, criterion_data=preview_criterion_strategy)
    def test_one_criterion_count_equals_the_reference(self, accounts_data, criterion_data):
        accounts = [factories.make_account(**data) for data in accounts_data]
        criterion = _criterion(criterion_data)
        # On its own the criterion is counted whatever the kind: the kind that takes its field.
        kind = "geographic" if criterion.field in ("country", "region", "city", "postal_code") else "segment"
        kind = "vertical" if criterion.field == "industry" else kind
        expected = sum(1 for account in accounts if _reference(criterion, kind, account))
        got = criterion_accounts_count(
            user=self.manager,
            field=criterion.field,
            operator=criterion.operator,
            values=criterion.values,
            min_value=criterion.min_value,
            max_value=criterion.max_value,
            range_start=criterion.range_start,
            range_end=criterion.range_end,
        )
        self.assertEqual(got, expected)


class PreviewEdgeCaseTests(TestCase):
    def setUp(self):
        self.manager = factories.make_user(roles.SALES_MANAGER)
        factories.make_account(country="US", region="CA", city="Oakland", employees=10)
        factories.make_account(country="DE", region="BY", city="München", employees=None)

    def test_a_rule_without_criteria_matches_every_account(self):
        territory = factories.make_territory(kind="geographic")
        self.assertEqual(rule_accounts_count(user=self.manager, territory=territory, criteria=[]), 2)

    def test_a_rule_on_product_fields_or_a_product_territory_has_no_account_preview(self):
        geo = factories.make_territory(kind="geographic")
        product = {"field": "product", "operator": "in", "values": ["sku-a"]}
        self.assertIsNone(rule_accounts_count(user=self.manager, territory=geo, criteria=[product]))
        territory = factories.make_territory(geo.territory_model, code="p", kind="product")
        self.assertIsNone(rule_accounts_count(user=self.manager, territory=territory, criteria=[]))

    def test_a_criterion_the_kind_cannot_use_matches_nothing(self):
        territory = factories.make_territory(kind="segment")
        country = {"field": "country", "operator": "in", "values": ["us"]}
        self.assertEqual(rule_accounts_count(user=self.manager, territory=territory, criteria=[country]), 0)

    def test_non_ascii_values_match_case_insensitively(self):
        territory = factories.make_territory(kind="geographic")
        city = {"field": "city", "operator": "in", "values": ["MÜNCHEN"]}
        self.assertEqual(rule_accounts_count(user=self.manager, territory=territory, criteria=[city]), 1)

    def test_numbers_compare_as_numbers(self):
        self.assertEqual(
            criterion_accounts_count(
                user=self.manager, field="employees", operator="range", values=[], min_value=Decimal("9")
            ),
            1,
        )

    def test_a_prefix_is_matched_literally(self):
        factories.make_account(postal_code="9_1")
        for prefix, expected in (("9_", 1), ("%", 0), ("94", 2)):
            count = criterion_accounts_count(user=self.manager, field="postal_code", operator="prefix", values=[prefix])
            self.assertEqual(count, expected, prefix)
