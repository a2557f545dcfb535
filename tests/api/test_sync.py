"""Upsert by external_id: idempotent, all-or-nothing, every bad row reported with index, field and message."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import services
from accounts.models import Account, Deal, Product
from core import roles
from tests import factories
from tests.api.helpers import client_for, url


@pytest.fixture
def integration(db):
    return factories.make_user(roles.INTEGRATION)


@pytest.fixture
def client(integration):
    return client_for(integration)


def account_row(n: int, **extra) -> dict:
    return {"external_id": f"SYNC-{n}", "name": f"Synced {n}", "country": "US", "employees": n, **extra}


def test_it_creates_then_updates_one_account_by_external_id(client):
    created = client.put(url("account-by-external-id", "CRM-9"), {"name": "Nine", "country": "FR"}, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["external_id"] == "CRM-9"
    updated = client.put(url("account-by-external-id", "CRM-9"), {"name": "Nine SA", "country": "FR"}, format="json")
    assert updated.status_code == 200
    assert updated.json()["id"] == created.json()["id"]
    assert Account.objects.get(external_id="CRM-9").name == "Nine SA"


def test_it_is_idempotent_for_the_same_record(client):
    body = {"name": "Same", "country": "US", "employees": 10, "annual_revenue": "1000.50"}
    client.put(url("account-by-external-id", "SAME"), body, format="json")
    before = Account.objects.get(external_id="SAME")
    again = client.put(url("account-by-external-id", "SAME"), body, format="json")
    assert again.status_code == 200
    after = Account.objects.get(external_id="SAME")
    assert Account.objects.filter(external_id="SAME").count() == 1
    assert (after.updated_at, after.annual_revenue) == (before.updated_at, Decimal("1000.50"))


def test_it_names_the_field_of_a_bad_single_upsert(client):
    response = client.put(url("account-by-external-id", "BAD"), {"name": "Bad", "country": "ZZ"}, format="json")
    assert response.status_code == 400
    assert "country" in response.json()
    assert not Account.objects.filter(external_id="BAD").exists()


def test_it_refuses_a_body_external_id_that_differs_from_the_url(client):
    response = client.put(
        url("account-by-external-id", "URL-ID"),
        {"external_id": "BODY-ID", "name": "X", "country": "US"},
        format="json",
    )
    assert response.status_code == 400
    assert "external_id" in response.json()


def test_it_bulk_upserts_new_and_existing_rows_and_counts_them(client):
    factories.make_account(external_id="SYNC-1", name="Old name", country="US", employees=1)
    rows = [account_row(n) for n in range(1, 6)]
    response = client.post(url("account-bulk"), rows, format="json")
    assert response.status_code == 200, response.json()
    assert response.json() == {"created": 4, "updated": 1, "unchanged": 0}
    assert dict(Account.objects.filter(external_id__startswith="SYNC-").values_list("external_id", "name")) == {
        row["external_id"]: row["name"] for row in rows
    }
    again = client.post(url("account-bulk"), rows, format="json")
    assert again.json() == {"created": 0, "updated": 0, "unchanged": 5}


def test_it_writes_nothing_when_one_row_is_bad_and_reports_every_bad_row(client):
    rows = [account_row(n) for n in range(10)]
    rows[3]["employees"] = "lots"
    rows[7]["country"] = "Narnia"
    rows[7]["surprise"] = 1
    response = client.post(url("account-bulk"), rows, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert {(e["index"], e["field"]) for e in errors} == {(3, "employees"), (7, "country"), (7, "surprise")}
    assert all(e["message"] for e in errors)
    assert not Account.objects.filter(external_id__startswith="SYNC-").exists()


def test_it_rejects_duplicated_external_ids_naming_the_rows(client):
    rows = [account_row(1), account_row(2), account_row(1, name="Other")]
    response = client.post(url("account-bulk"), rows, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [(e["index"], e["field"]) for e in errors] == [(0, "external_id"), (2, "external_id")]
    assert "rows 0, 2" in errors[0]["message"]
    assert not Account.objects.filter(external_id__startswith="SYNC-").exists()


@pytest.mark.parametrize("body", ["{}", '"rows"', "[1, 2]", '[{"external_id": 5}]'])
def test_it_answers_400_to_a_bulk_body_of_the_wrong_shape(client, body):
    response = client.post(url("account-bulk"), data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"]


def test_it_upserts_thousands_of_rows_in_one_statement(client):
    rows = [account_row(n) for n in range(3000)]
    with CaptureQueriesContext(connection) as queries:
        response = client.post(url("account-bulk"), rows, format="json")
    assert response.status_code == 200
    assert response.json()["created"] == 3000
    inserts = [
        q
        for q in queries.captured_queries
        if q["sql"].startswith('INSERT INTO "accounts_account"') or q["sql"].startswith("INSERT INTO accounts_account")
    ]
    assert len(inserts) == 1
    assert Account.objects.filter(external_id__startswith="SYNC-").count() == 3000


def test_it_upserts_deals_resolving_accounts_products_and_reps_by_external_id(client):
    account = factories.make_account(external_id="A-1")
    product = factories.make_product(external_id="P-1")
    rep = factories.make_rep(external_id="R-1")
    rows = [
        {
            "external_id": "D-1",
            "account_external_id": "A-1",
            "product_external_id": "P-1",
            "rep_external_id": "R-1",
            "amount": "500.00",
            "stage": "won",
            "created_on": "2026-01-02",
            "closed_on": "2026-02-01",
            "probability": 100,
        },
        {"external_id": "D-2", "account_external_id": "A-1", "amount": 12.5, "created_on": "2026-01-03"},
    ]
    response = client.post(url("deal-bulk"), rows, format="json")
    assert response.status_code == 200, response.json()
    won = Deal.objects.get(external_id="D-1")
    assert (won.account_id, won.product_id, won.rep_id, won.amount) == (account.id, product.id, rep.id, 500)
    assert Deal.objects.get(external_id="D-2").amount == Decimal("12.50")


def test_it_reports_unknown_references_and_cross_field_rules_for_deals(client):
    factories.make_account(external_id="A-1")
    rows = [
        {"external_id": "D-1", "account_external_id": "NOPE", "amount": "1", "created_on": "2026-01-02"},
        {"external_id": "D-2", "account_external_id": "A-1", "amount": "1", "created_on": "2026-01-02", "stage": "won"},
        {"external_id": "D-3", "account_external_id": "A-1", "amount": "-1", "created_on": "2026-01-02"},
        {
            "external_id": "D-4",
            "account_external_id": "A-1",
            "amount": "1",
            "created_on": "2026-01-02",
            "probability": 101,
        },
        {"external_id": "D-5", "amount": "1", "created_on": "2026-01-02"},
    ]
    response = client.post(url("deal-bulk"), rows, format="json")
    assert response.status_code == 400
    assert {(e["index"], e["field"]) for e in response.json()["errors"]} == {
        (0, "account_external_id"),
        (1, "closed_on"),
        (2, "amount"),
        (3, "probability"),
        (4, "account_external_id"),
    }
    assert not Deal.objects.exists()


def test_it_upserts_products_and_refuses_a_sku_taken_by_another_product(client):
    line = factories.make_product().product_line
    factories.make_product(external_id="P-OLD", sku="SKU-TAKEN", product_line=line)
    ok = client.post(
        url("product-bulk"),
        [{"external_id": "P-NEW", "sku": "SKU-NEW", "name": "New", "product_line": line.code}],
        format="json",
    )
    assert ok.status_code == 200, ok.json()
    taken = client.post(
        url("product-bulk"),
        [{"external_id": "P-2", "sku": "SKU-TAKEN", "name": "Clash", "product_line": line.code}],
        format="json",
    )
    assert taken.status_code == 400
    assert taken.json()["errors"][0]["field"] == "sku"
    assert not Product.objects.filter(external_id="P-2").exists()


def test_it_forbids_reps_and_read_tokens_from_syncing(world):
    response = client_for(world.rep_a.user).post(url("account-bulk"), [account_row(1)], format="json")
    assert response.status_code == 403
    assert not Account.objects.filter(external_id="SYNC-1").exists()


def test_it_refuses_to_overwrite_an_account_outside_a_scoped_managers_territories(world):
    from tests.access.world import make_manager

    client = client_for(make_manager(scope_codes=("west",)))
    response = client.post(
        url("account-bulk"), [{"external_id": "ACC-B", "name": "Hijacked", "country": "US"}], format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "external_id"
    assert Account.objects.get(external_id="ACC-B").name == "Beta East LLC"


def test_it_calls_the_change_hooks_changed_hook_with_only_changed_ids(
    db, monkeypatch, django_capture_on_commit_callbacks
):
    seen = []
    kind = services.SYNC_KINDS["accounts"]
    monkeypatch.setitem(
        services.SYNC_KINDS,
        "accounts",
        services.SyncKind(**{**kind.__dict__, "changed_hook": lambda changed, moved: seen.append((changed, moved))}),
    )
    services.sync_rows_upsert(kind="accounts", rows=[account_row(1)])
    seen.clear()
    with django_capture_on_commit_callbacks(execute=True):
        result = services.sync_rows_upsert(kind="accounts", rows=[account_row(1), account_row(2)])
    assert (result.created, result.updated, result.unchanged) == (1, 0, 1)
    new_id = Account.objects.get(external_id="SYNC-2").id
    assert seen == [([new_id], [new_id])]  # a new account has moved (into its territories)
