from accounts.filtersets import AccountFilterSet, DealFilterSet
from accounts.models import Account, Deal
from accounts.tables import AccountTable, DealTable
from core.views_generic import ObjectListView


class AccountListView(ObjectListView):
    queryset = Account.objects.all()
    filterset_class = AccountFilterSet
    table_class = AccountTable
    title = "Accounts"
    nav = "accounts"
    export_name = "accounts"
    empty_text = "No accounts yet."
    empty_hint = (
        "Accounts arrive from the CRM through the API (/api/v1/accounts/); for a demo, run manage.py seed_demo."
    )


class DealListView(ObjectListView):
    queryset = Deal.objects.select_related("account", "rep", "product", "campaign")
    filterset_class = DealFilterSet
    table_class = DealTable
    title = "Deals"
    nav = "deals"
    export_name = "deals"
    id_filters = ("account", "rep")
    empty_text = "No deals yet."
    empty_hint = "Deals arrive from the CRM sync through the API; they count once their account is in a territory."
