from datetime import date
from decimal import Decimal

import pytest

from kpis.models import KpiDefinition, KpiFigure, KpiTarget
from tests import factories
from tests.models.helpers import assert_invalid, refused_by_database

pytestmark = pytest.mark.django_db


@pytest.fixture
def kpi():
    return KpiDefinition.objects.create(code="revenue-test", name="Revenue (test)", unit="currency")


def make_target(kpi, **kwargs) -> KpiTarget:
    kwargs.setdefault("territory", factories.make_territory())
    kwargs.setdefault("period_type", "quarter")
    kwargs.setdefault("period_start", date(2025, 4, 1))
    kwargs.setdefault("value", Decimal("100"))
    return KpiTarget.objects.create(kpi=kpi, **kwargs)


@pytest.mark.parametrize(
    ("period_type", "period_start"),
    [("month", date(2025, 2, 1)), ("quarter", date(2025, 10, 1)), ("year", date(2025, 1, 1))],
)
def test_it_accepts_real_period_starts(kpi, period_type, period_start):
    make_target(kpi, period_type=period_type, period_start=period_start, value=Decimal("0")).full_clean()


def test_it_refuses_a_negative_target(kpi):
    target = make_target(kpi)
    target.value = Decimal("-1")
    assert_invalid(target, "value")


def test_it_refuses_a_negative_target_in_the_database(kpi):
    target = make_target(kpi)
    with refused_by_database():
        KpiTarget.objects.filter(pk=target.pk).update(value=Decimal("-1"))


@pytest.mark.parametrize(
    ("period_type", "period_start"),
    [
        ("quarter", date(2025, 2, 1)),
        ("quarter", date(2025, 4, 2)),
        ("month", date(2025, 3, 2)),
        ("year", date(2025, 7, 1)),
    ],
)
def test_it_refuses_a_period_start_that_is_not_a_real_period_start(kpi, period_type, period_start):
    target = make_target(kpi)
    target.period_type, target.period_start = period_type, period_start
    assert_invalid(target, "period_start")


@pytest.mark.parametrize(
    ("period_type", "period_start"),
    [("quarter", date(2025, 2, 1)), ("month", date(2025, 3, 2)), ("year", date(2025, 7, 1))],
)
def test_it_refuses_a_bad_period_start_in_the_database(kpi, period_type, period_start):
    territory = factories.make_territory()
    with refused_by_database():
        KpiTarget.objects.bulk_create(
            [KpiTarget(territory=territory, kpi=kpi, period_type=period_type, period_start=period_start, value=1)]
        )
    with refused_by_database():
        KpiFigure.objects.bulk_create(
            [
                KpiFigure(
                    territory=territory,
                    period_type=period_type,
                    period_start=period_start,
                    computed_at="2025-01-01T00:00Z",
                )
            ]
        )
