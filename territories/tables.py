from datetime import date

import django_tables2 as tables

from core.tables import FastTable, IsoDateColumn, IsoDateTimeColumn
from territories.engine import EARLIEST_DATE
from territories.models import AccountTerritoryMembership, RepAssignment, Territory, TerritoryModel

_BEGINNING_OF_THE_DATA = date.fromisoformat(EARLIEST_DATE)


class SinceColumn(IsoDateColumn):
    """A membership's start: the first alignment's rows start at the beginning of the data (a sentinel date),
    which reads as such rather than as 1900; exports keep the date."""

    def render(self, value):
        return "the start" if value == _BEGINNING_OF_THE_DATA else super().render(value)


class TerritoryTable(FastTable):
    code = tables.Column(linkify=("territories:detail", {"pk": tables.A("pk")}))
    name = tables.Column(linkify=("territories:detail", {"pk": tables.A("pk")}))
    parent = tables.Column(accessor="parent__code", verbose_name="Parent", default="—")
    territory_model = tables.Column(accessor="territory_model__name", verbose_name="Model")

    class Meta:
        model = Territory
        fields = ("code", "name", "kind", "parent", "territory_model", "priority", "value_tier")
        attrs = {"class": "table table-sm table-striped table-hover"}
        empty_text = "No territories."


class MembershipTable(FastTable):
    """Accounts in a territory: one row per current deepest membership under it."""

    account = tables.Column(accessor="account__name", verbose_name="Account")
    external_id = tables.Column(accessor="account__external_id", verbose_name="External id")
    city = tables.Column(accessor="account__city", verbose_name="City")
    industry = tables.Column(accessor="account__industry", verbose_name="Industry")
    territory = tables.Column(accessor="territory__code", verbose_name="Territory")
    valid_from = SinceColumn(verbose_name="Since")

    class Meta:
        model = AccountTerritoryMembership
        fields = ("external_id", "account", "city", "industry", "territory", "source", "valid_from")
        attrs = {"class": "table table-sm table-striped"}
        empty_text = "No accounts are in this territory. Run the assignment after adding rules."


class RepAssignmentTable(FastTable):
    rep = tables.Column(accessor="rep__name", verbose_name="Rep")
    start_date = IsoDateColumn(verbose_name="Start date")
    end_date = IsoDateColumn(verbose_name="End date")

    class Meta:
        model = RepAssignment
        fields = ("rep", "role", "start_date", "end_date", "allocation_percent")
        attrs = {"class": "table table-sm"}
        empty_text = "No rep is assigned. Assign an owner so the territory is covered."


class TerritoryModelTable(FastTable):
    code = tables.Column(linkify=("territories:model-detail", {"pk": tables.A("pk")}))
    name = tables.Column(linkify=("territories:model-detail", {"pk": tables.A("pk")}))
    effective_from = IsoDateColumn(verbose_name="Effective from")
    activated_at = IsoDateTimeColumn(verbose_name="Activated")
    created_at = IsoDateTimeColumn(verbose_name="Created")

    class Meta:
        model = TerritoryModel
        fields = ("code", "name", "state", "effective_from", "activated_at", "created_at")
        attrs = {"class": "table table-sm table-striped table-hover"}
        empty_text = "No territory models."
