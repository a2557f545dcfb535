from datetime import date
from decimal import Decimal

import pytest

from accounts.models import Account, Campaign, Deal
from tests import factories
from tests.models.helpers import assert_invalid, refused_by_database

pytestmark = pytest.mark.django_db


def test_it_accepts_a_valid_deal():
    deal = factories.make_deal(amount=Decimal("0"), probability=100)
    deal.full_clean()


def test_it_refuses_a_negative_amount():
    deal = factories.make_deal()
    deal.amount = Decimal("-0.01")
    assert_invalid(deal, "amount")


def test_it_refuses_a_negative_amount_in_the_database():
    deal = factories.make_deal()
    with refused_by_database():
        Deal.objects.filter(pk=deal.pk).update(amount=Decimal("-1"))


@pytest.mark.parametrize("probability", [101, 500])
def test_it_refuses_a_probability_above_100(probability):
    deal = factories.make_deal()
    deal.probability = probability
    assert_invalid(deal, "probability")


def test_it_refuses_a_probability_above_100_in_the_database():
    deal = factories.make_deal()
    with refused_by_database():
        Deal.objects.filter(pk=deal.pk).update(probability=101)


def test_it_refuses_a_deal_closed_before_it_was_created():
    deal = factories.make_deal(stage="won", created_on=date(2025, 3, 1), closed_on=date(2025, 3, 1))
    deal.full_clean()  # closing on the creation day is fine
    deal.closed_on = date(2025, 2, 28)
    assert_invalid(deal, "closed_on")


def test_it_refuses_a_deal_closed_before_it_was_created_in_the_database():
    deal = factories.make_deal(stage="won", created_on=date(2025, 3, 1), closed_on=date(2025, 3, 5))
    with refused_by_database():
        Deal.objects.filter(pk=deal.pk).update(closed_on=date(2025, 2, 28))


@pytest.mark.parametrize("stage", ["won", "lost"])
def test_it_refuses_a_closed_deal_without_closed_on(stage):
    deal = factories.make_deal(stage=stage)
    deal.closed_on = None
    assert_invalid(deal, "closed_on")


@pytest.mark.parametrize("stage", ["won", "lost"])
def test_it_refuses_a_closed_deal_without_closed_on_in_the_database(stage):
    account = factories.make_account()
    with refused_by_database():
        Deal.objects.bulk_create(
            [Deal(external_id="D-x", account=account, amount=1, stage=stage, created_on=date(2025, 1, 1))]
        )


def test_it_refuses_an_open_deal_with_closed_on():
    deal = factories.make_deal(stage="negotiation")
    deal.closed_on = date(2025, 2, 1)
    assert_invalid(deal, "closed_on")


def test_it_refuses_an_open_deal_with_closed_on_in_the_database():
    deal = factories.make_deal(stage="negotiation")
    with refused_by_database():
        Deal.objects.filter(pk=deal.pk).update(closed_on=date(2025, 2, 1))


@pytest.mark.parametrize(("field", "value"), [("latitude", "90.5"), ("latitude", "-91"), ("longitude", "180.1")])
def test_it_refuses_coordinates_out_of_range(field, value):
    account = factories.make_account(latitude=Decimal("0"), longitude=Decimal("0"))
    account.full_clean()
    setattr(account, field, Decimal(value))
    assert_invalid(account, field)


@pytest.mark.parametrize(("field", "value"), [("latitude", "90.5"), ("longitude", "-180.5")])
def test_it_refuses_coordinates_out_of_range_in_the_database(field, value):
    account = factories.make_account(latitude=Decimal("10"), longitude=Decimal("10"))
    with refused_by_database():
        Account.objects.filter(pk=account.pk).update(**{field: Decimal(value)})


@pytest.mark.parametrize(("given", "missing"), [("latitude", "longitude"), ("longitude", "latitude")])
def test_it_refuses_one_coordinate_without_the_other(given, missing):
    account = factories.make_account()
    setattr(account, given, Decimal("45"))
    assert_invalid(account, missing)


def test_it_refuses_one_coordinate_without_the_other_in_the_database():
    account = factories.make_account()
    with refused_by_database():
        Account.objects.filter(pk=account.pk).update(latitude=Decimal("45"))


def test_it_refuses_a_negative_annual_revenue_both_ways():
    account = factories.make_account()
    account.annual_revenue = Decimal("-5")
    assert_invalid(account, "annual_revenue")
    with refused_by_database():
        Account.objects.filter(pk=account.pk).update(annual_revenue=Decimal("-5"))


def test_it_refuses_a_campaign_ending_before_it_starts():
    campaign = factories.make_campaign(starts_on=date(2025, 5, 1), ends_on=date(2025, 5, 1))
    campaign.full_clean()
    campaign.ends_on = date(2025, 4, 30)
    assert_invalid(campaign, "ends_on")


def test_it_refuses_a_campaign_ending_before_it_starts_in_the_database():
    with refused_by_database():
        Campaign.objects.bulk_create(
            [Campaign(name="Backwards", channel="email", starts_on=date(2025, 5, 1), ends_on=date(2025, 4, 30))]
        )


def test_it_refuses_a_negative_campaign_budget_both_ways():
    campaign = factories.make_campaign()
    campaign.budget = Decimal("-1")
    assert_invalid(campaign, "budget")
    with refused_by_database():
        Campaign.objects.filter(pk=campaign.pk).update(budget=Decimal("-1"))


def test_it_refuses_a_negative_list_price_both_ways():
    product = factories.make_product()
    product.list_price = Decimal("-1")
    assert_invalid(product, "list_price")
    with refused_by_database():
        type(product).objects.filter(pk=product.pk).update(list_price=Decimal("-1"))
