"""Constraints without a clean() of their own: full_clean() still checks them, and so does the database."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from core.models import ApiToken
from territories.models import (
    AccountTerritoryMembership,
    DealTerritoryMembership,
    RuleCriterion,
    TerritoryOverride,
)
from tests import factories
from tests.models.helpers import refused_by_database

pytestmark = pytest.mark.django_db


def assert_constraint_refused(obj, constraint_name: str) -> None:
    with pytest.raises(ValidationError) as caught:
        obj.validate_constraints()
    assert constraint_name in str(caught.value)


def test_it_refuses_a_membership_ending_on_or_before_its_start_both_ways():
    membership = AccountTerritoryMembership.objects.create(
        account=factories.make_account(), territory=factories.make_territory(), valid_from=date(2025, 1, 1)
    )
    membership.valid_to = date(2025, 1, 2)
    membership.validate_constraints()
    membership.valid_to = date(2025, 1, 1)
    assert_constraint_refused(membership, "membership_valid_range")
    with refused_by_database():
        AccountTerritoryMembership.objects.filter(pk=membership.pk).update(valid_to=date(2025, 1, 1))


def test_it_refuses_a_deal_membership_ending_before_its_start_in_the_database():
    membership = DealTerritoryMembership.objects.create(
        deal=factories.make_deal(), territory=factories.make_territory(kind="product"), valid_from=date(2025, 1, 1)
    )
    with refused_by_database():
        DealTerritoryMembership.objects.filter(pk=membership.pk).update(valid_to=date(2024, 12, 31))


def test_it_refuses_an_override_without_a_reason_both_ways():
    override = TerritoryOverride.objects.create(
        territory=factories.make_territory(), account=factories.make_account(), reason="Key account"
    )
    override.reason = ""
    with pytest.raises(ValidationError) as caught:
        override.full_clean()
    assert "reason" in caught.value.message_dict
    with refused_by_database():
        TerritoryOverride.objects.filter(pk=override.pk).update(reason="")


def test_it_refuses_criterion_bounds_out_of_order_in_the_database():
    rule = factories.make_rule(factories.make_territory(kind="segment"))
    criterion = RuleCriterion.objects.create(
        rule=rule, field="employees", operator="range", min_value=Decimal("10"), max_value=Decimal("10")
    )
    with refused_by_database():
        RuleCriterion.objects.filter(pk=criterion.pk).update(min_value=Decimal("11"))
    postal = RuleCriterion.objects.create(
        rule=factories.make_rule(factories.make_territory()),
        field="postal_code",
        operator="range",
        range_start="10000",
        range_end="19999",
    )
    with refused_by_database():
        RuleCriterion.objects.filter(pk=postal.pk).update(range_start="20000")


def test_it_refuses_a_token_expiring_before_it_was_created_in_the_database():
    key = ApiToken.generate_key()
    token = ApiToken.objects.create(
        user=factories.make_user(), name="sync", prefix=key[:12], key_hash=ApiToken.hash_key(key)
    )
    with refused_by_database():
        ApiToken.objects.filter(pk=token.pk).update(expires_at=token.created_at - timedelta(seconds=1))
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() + timedelta(days=1))
