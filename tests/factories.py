"""Plain factory functions for tests: each makes one valid object, overridable by keyword."""

import itertools
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import Group, User

from accounts.models import Account, Campaign, Deal, Product, ProductLine
from core import roles
from reps.models import Rep
from territories.models import RuleCriterion, Territory, TerritoryModel, TerritoryRule

_seq = itertools.count(1)


def _n() -> int:
    return next(_seq)


def make_user(role: str | None = None, **kwargs) -> User:
    n = _n()
    kwargs.setdefault("username", f"user{n}")
    kwargs.setdefault("email", f"user{n}@example.com")
    user = User.objects.create_user(password=kwargs.pop("password", "pw-for-tests"), **kwargs)
    if role:
        # get_or_create: transactional tests flush the groups the data migration made.
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


def make_rep(**kwargs) -> Rep:
    n = _n()
    if "user" not in kwargs:
        kwargs["user"] = make_user(roles.SALES_REP)
    kwargs.setdefault("name", f"Rep {n}")
    kwargs.setdefault("email", f"rep{n}@example.com")
    return Rep.objects.create(**kwargs)


def make_account(**kwargs) -> Account:
    n = _n()
    kwargs.setdefault("external_id", f"ACC-{n}")
    kwargs.setdefault("name", f"Account {n}")
    kwargs.setdefault("country", "US")
    kwargs.setdefault("region", "CA")
    kwargs.setdefault("city", "San Francisco")
    kwargs.setdefault("postal_code", "94105")
    kwargs.setdefault("industry", "technology")
    kwargs.setdefault("employees", 250)
    return Account.objects.create(**kwargs)


def make_product(**kwargs) -> Product:
    n = _n()
    if "product_line" not in kwargs:
        kwargs["product_line"] = ProductLine.objects.create(code=f"line-{n}", name=f"Line {n}")
    kwargs.setdefault("external_id", f"PRD-{n}")
    kwargs.setdefault("sku", f"SKU-{n}")
    kwargs.setdefault("name", f"Product {n}")
    return Product.objects.create(**kwargs)


def make_campaign(**kwargs) -> Campaign:
    n = _n()
    kwargs.setdefault("name", f"Campaign {n}")
    kwargs.setdefault("channel", "email")
    return Campaign.objects.create(**kwargs)


def make_deal(**kwargs) -> Deal:
    n = _n()
    if "account" not in kwargs:
        kwargs["account"] = make_account()
    kwargs.setdefault("external_id", f"DEAL-{n}")
    kwargs.setdefault("amount", Decimal("1000.00"))
    kwargs.setdefault("created_on", date(2025, 1, 10))
    stage = kwargs.setdefault("stage", "prospecting")
    if stage in ("won", "lost"):
        kwargs.setdefault("closed_on", date(2025, 2, 10))
        kwargs.setdefault("probability", 100 if stage == "won" else 0)
    return Deal.objects.create(**kwargs)


def make_territory_model(**kwargs) -> TerritoryModel:
    n = _n()
    kwargs.setdefault("code", f"model-{n}")
    kwargs.setdefault("name", f"Model {n}")
    return TerritoryModel.objects.create(**kwargs)


def make_territory(territory_model: TerritoryModel | None = None, **kwargs) -> Territory:
    n = _n()
    if territory_model is None:
        territory_model = kwargs["parent"].territory_model if kwargs.get("parent") else make_territory_model()
    kwargs.setdefault("code", f"t-{n}")
    kwargs.setdefault("name", f"Territory {n}")
    kwargs.setdefault("kind", "geographic")
    return Territory.objects.create(territory_model=territory_model, **kwargs)


def make_rule(territory: Territory, *criteria: dict) -> TerritoryRule:
    """make_rule(t, {"field": "country", "values": ["US"]}, ...)"""
    rule = TerritoryRule.objects.create(territory=territory)
    for criterion in criteria:
        RuleCriterion.objects.create(rule=rule, **criterion)
    return rule


# The figure a catalogue KPI shows as it is (the KpiRollup view reads the other KPIs from several figures).
FIGURE_OF_KPI = {
    "revenue": "revenue",
    "deals_won": "won",
    "new_customers": "new_customers",
    "pipeline_value": "pipeline",
    "weighted_pipeline": "weighted",
}


def make_rollup(
    territory: Territory,
    kpi_code: str = "revenue",
    *,
    period_type: str = "month",
    period_start: date = date(2025, 1, 1),
    value=0,
    view: str = "as_of",
    computed_at=None,
):
    """The KPI row (KpiRollup) of a territory's period showing `value`, through the figures row it is read
    from (created, or updated when the period has one: set several KPIs of one period in turn)."""
    from django.utils import timezone

    from kpis.models import KpiFigure, KpiRollup

    figures, _ = KpiFigure.objects.update_or_create(
        territory=territory,
        view=view,
        period_type=period_type,
        period_start=period_start,
        defaults={FIGURE_OF_KPI[kpi_code]: Decimal(value), "computed_at": computed_at or timezone.now()},
    )
    return KpiRollup.objects.get(figure=figures, kpi__code=kpi_code)
