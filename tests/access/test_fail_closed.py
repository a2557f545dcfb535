import pytest

from accounts.models import Account
from core.access import VisibleQuerySet
from tests import factories

pytestmark = pytest.mark.django_db


def test_it_shows_a_scoped_caller_nothing_when_a_model_does_not_say_how_it_is_scoped(rep_user, manager_user):
    factories.make_account()
    unscoped = VisibleQuerySet(model=Account)

    assert list(unscoped.visible_to(rep_user)) == []
    assert unscoped.visible_to(manager_user).count() == 1
