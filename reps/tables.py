import django_tables2 as tables

from core.tables import FastTable
from reps.models import Rep


class RepTable(FastTable):
    manager = tables.Column(accessor="manager__name", verbose_name="Manager", default="—")
    home_country = tables.Column(verbose_name="Home country")

    class Meta:
        model = Rep
        fields = (
            "external_id",
            "name",
            "email",
            "title",
            "seniority",
            "home_city",
            "home_country",
            "capacity",
            "manager",
            "is_active",
        )
        attrs = {"class": "table table-sm table-striped table-hover"}
        empty_text = "No reps."

    def value_home_country(self, record):
        return record.home_country.code or ""
