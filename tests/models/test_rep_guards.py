from decimal import Decimal

import pytest
from django.db.models import F

from reps.models import Rep
from tests import factories
from tests.models.helpers import assert_invalid, refused_by_database

pytestmark = pytest.mark.django_db


def test_it_accepts_a_rep_with_another_manager():
    manager = factories.make_rep()
    rep = factories.make_rep(manager=manager)
    rep.full_clean()


def test_it_refuses_a_rep_as_own_manager():
    rep = factories.make_rep()
    rep.manager = rep
    assert_invalid(rep, "manager")


def test_it_refuses_a_rep_as_own_manager_in_the_database():
    rep = factories.make_rep()
    with refused_by_database():
        Rep.objects.filter(pk=rep.pk).update(manager=F("id"))


@pytest.mark.parametrize(("field", "value"), [("home_latitude", "-90.1"), ("home_longitude", "181")])
def test_it_refuses_a_home_out_of_range_both_ways(field, value):
    rep = factories.make_rep(home_latitude=Decimal("1"), home_longitude=Decimal("1"))
    rep.full_clean()
    setattr(rep, field, Decimal(value))
    assert_invalid(rep, field)
    with refused_by_database():
        Rep.objects.filter(pk=rep.pk).update(**{field: Decimal(value)})
