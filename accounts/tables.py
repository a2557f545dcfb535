import django_tables2 as tables

from accounts.models import Account, Deal
from core.tables import AmountColumn, FastTable, IsoDateColumn


class AccountTable(FastTable):
    name = tables.Column()
    country = tables.Column(verbose_name="Country")
    annual_revenue = AmountColumn(verbose_name="Annual revenue")

    class Meta:
        model = Account
        fields = (
            "external_id",
            "name",
            "industry",
            "business_type",
            "employees",
            "annual_revenue",
            "country",
            "region",
            "city",
            "postal_code",
            "status",
        )
        attrs = {"class": "table table-sm table-striped table-hover"}
        empty_text = "No accounts."

    # The code, not the name: a country's name is a search through the whole list per cell.
    def render_country(self, record):
        return record.country.code

    def value_country(self, record):
        return record.country.code


class DealTable(FastTable):
    account = tables.Column(accessor="account__name", verbose_name="Account")
    rep = tables.Column(accessor="rep__name", verbose_name="Rep", default="—")
    product = tables.Column(accessor="product__name", verbose_name="Product", default="—")
    campaign = tables.Column(accessor="campaign__name", verbose_name="Campaign", default="—")
    amount = AmountColumn()
    created_on = IsoDateColumn(verbose_name="Created on")
    expected_close_on = IsoDateColumn(verbose_name="Expected close on")
    closed_on = IsoDateColumn(verbose_name="Closed on")

    class Meta:
        model = Deal
        fields = (
            "external_id",
            "name",
            "account",
            "rep",
            "product",
            "campaign",
            "amount",
            "stage",
            "probability",
            "created_on",
            "expected_close_on",
            "closed_on",
        )
        attrs = {"class": "table table-sm table-striped table-hover"}
        empty_text = "No deals."
