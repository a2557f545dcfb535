from accounts.filtersets import AccountFilterSet, DealFilterSet
from accounts.models import Account, Deal
from accounts.tables import AccountTable, DealTable
from core.views_generic import ObjectListView


class AccountListView(ObjectListView):
    queryset = Account.objects.all()
    filterset_class = AccountFilterSet
    table_class = AccountTable
    title = "Accounts"
    filter_labels = {
        "employees_min": "Employees from",
        "employees_max": "Employees up to",
        "updated_since": "Updated since",
        "external_id": "External id",
    }
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
    filter_labels = {
        "account": "Account id",
        "rep": "Rep id",
        "created_from": "Created from",
        "created_to": "Created up to",
        "closed_from": "Closed from",
        "closed_to": "Closed up to",
        "expected_close_from": "Expected close from",
        "expected_close_to": "Expected close up to",
        "amount_min": "Amount from",
        "amount_max": "Amount up to",
        "updated_since": "Updated since",
    }
    nav = "deals"
    export_name = "deals"
    id_filters = ("account", "rep")
    empty_text = "No deals yet."
    empty_hint = "Deals arrive from the CRM sync through the API; they count once their account is in a territory."
