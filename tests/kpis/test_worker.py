import time
from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction

from accounts.models import Deal
from kpis import services
from kpis.models import DealChange, KpiRollup, RollupDirty
from tests import factories
from tests.kpis.helpers import member

pytestmark = pytest.mark.worker

FEB = date(2025, 2, 1)


def revenue(territory) -> Decimal:
    return KpiRollup.objects.get(
        territory=territory, kpi__code="revenue", view="as_of", period_type="month", period_start=FEB
    ).value


def test_it_rolls_a_deal_change_up_through_a_real_worker(celery_worker_process):
    model = factories.make_territory_model(state="active")
    region = factories.make_territory(model, code="region")
    east = factories.make_territory(model, code="east", parent=region)
    account = factories.make_account()
    member(account, east)
    deal = factories.make_deal(account=account, stage="won", amount=Decimal("100"), closed_on=FEB)
    services.rollups_recompute()
    assert revenue(region) == Decimal("100")

    with transaction.atomic():
        Deal.objects.filter(id=deal.id).update(amount=Decimal("250"))
        services.deal_changed(deal_ids=[deal.id])  # enqueues the flush when this block commits

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and revenue(region) != Decimal("250"):
        time.sleep(0.1)
    assert revenue(region) == Decimal("250")
    assert revenue(east) == Decimal("250")
    assert not RollupDirty.objects.exists()
    assert not DealChange.objects.exists()  # applied as a delta by the worker's flush
    assert celery_worker_process.poll() is None
