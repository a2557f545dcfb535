"""FastTable renders the same cells django-tables2 would, escaped, with links, in one pass."""

import re
from html import unescape

from django.test import RequestFactory
from django.utils.html import conditional_escape, strip_tags
from django_tables2 import RequestConfig

from accounts.models import Account, Deal
from accounts.tables import AccountTable, DealTable
from reps.models import Rep
from reps.tables import RepTable
from territories.models import Territory
from territories.tables import TerritoryTable
from tests import factories


def cells_of(html: str) -> list[list[str]]:
    rows = re.findall(r"<tr>(.*?)</tr>", html, flags=re.S)
    return [
        [unescape(strip_tags(cell)) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)] for row in rows
    ]


def reference_cells(table) -> list[list[str]]:
    """What django-tables2's own per-cell path renders (BoundRow iteration; its template escapes), as text."""
    return [[unescape(strip_tags(conditional_escape(cell))) for cell in row] for row in table.paginated_rows]


def configured(table):
    RequestConfig(RequestFactory().get("/"), paginate={"per_page": 50}).configure(table)
    return table


def test_it_renders_the_cells_django_tables2_renders(db):
    product = factories.make_product()
    rep = factories.make_rep(name="Rosa Rep")
    account = factories.make_account(name="Tom & Jerry <Ltd>", industry="retail", employees=None)
    factories.make_deal(account=account, product=product, rep=rep, amount="12.50", stage="won",
                        closed_on="2026-02-01", created_on="2026-01-01")  # fmt: skip
    factories.make_deal(account=account, amount="3.00")
    factories.make_territory(code="t-1", name="North")
    for table in (
        AccountTable(Account.objects.all()),
        DealTable(Deal.objects.select_related("account", "rep", "product", "campaign")),
        RepTable(Rep.objects.select_related("manager")),
        TerritoryTable(Territory.objects.select_related("parent", "territory_model")),
    ):
        configured(table)
        assert cells_of(table.tbody_html()) == reference_cells(table), type(table).__name__


def test_it_escapes_values_and_links_like_the_column_says(db):
    factories.make_account(name="<script>alert(1)</script>")
    territory = factories.make_territory(code="t-1", name="North & South")
    account_html = configured(AccountTable(Account.objects.all())).tbody_html()
    assert "<script>" not in account_html and "&lt;script&gt;" in account_html
    territory_html = configured(TerritoryTable(Territory.objects.all())).tbody_html()
    assert f'<a href="/territories/{territory.pk}/">North &amp; South</a>' in territory_html


def test_it_says_what_to_do_when_there_are_no_rows(db):
    html = configured(AccountTable(Account.objects.none())).tbody_html()
    assert cells_of(html) == [["No accounts."]]
