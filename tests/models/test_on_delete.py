from datetime import date

import pytest
from django.db.models import ProtectedError

from accounts.models import Account, Deal
from reps.models import Rep
from territories.models import AccountTerritoryMembership, Territory
from tests import factories

pytestmark = pytest.mark.django_db


def test_it_protects_an_account_with_deals():
    deal = factories.make_deal()
    with pytest.raises(ProtectedError):
        deal.account.delete()
    assert Account.objects.filter(pk=deal.account_id).exists()


def test_it_deletes_an_account_without_history():
    account = factories.make_account()
    account.delete()
    assert not Account.objects.filter(pk=account.pk).exists()


def test_it_protects_a_territory_with_memberships():
    territory = factories.make_territory()
    AccountTerritoryMembership.objects.create(
        account=factories.make_account(), territory=territory, valid_from=date(2025, 1, 1)
    )
    with pytest.raises(ProtectedError):
        territory.delete()
    assert Territory.objects.filter(pk=territory.pk).exists()


def test_it_protects_a_territory_with_children():
    parent = factories.make_territory()
    factories.make_territory(parent=parent)
    with pytest.raises(ProtectedError):
        parent.delete()


def test_it_protects_a_rep_with_deals():
    rep = factories.make_rep()
    deal = factories.make_deal(rep=rep)
    with pytest.raises(ProtectedError):
        rep.delete()
    assert Deal.objects.get(pk=deal.pk).rep_id == rep.pk


def test_it_protects_a_rep_through_their_login():
    rep = factories.make_rep()
    with pytest.raises(ProtectedError):
        rep.user.delete()
    assert Rep.objects.filter(pk=rep.pk).exists()
