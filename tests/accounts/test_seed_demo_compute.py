from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from accounts.models import Account, Deal
from kpis.models import KpiRollup, KpiTarget, RollupDirty
from territories.models import AccountTerritoryMembership

pytestmark = pytest.mark.django_db


def test_it_leaves_a_demo_with_assignments_targets_and_figures_when_asked_to_compute():
    out = StringIO()
    call_command("seed_demo", accounts=300, deals=3000, seed=7, compute=True, stdout=out)

    current = AccountTerritoryMembership.objects.filter(valid_to__isnull=True)
    assert current.values("account").distinct().count() == Account.objects.count()
    assert KpiTarget.objects.filter(kpi__code="revenue", period_type="month").exists()
    assert KpiRollup.objects.filter(view="as_of").exists() and KpiRollup.objects.filter(view="restated").exists()
    assert KpiRollup.objects.filter(kpi__code="quota_attainment", value__isnull=False).exists()
    assert "monthly revenue targets" in out.getvalue()
    assert not RollupDirty.objects.exists()  # the assignment's marks were rolled up: no figures left waiting

    rep_user = User.objects.get(username="rep1")
    visible = Account.objects.visible_to(rep_user)
    assert 0 < visible.count() < Account.objects.count()
    assert Deal.objects.visible_to(rep_user).exists()
