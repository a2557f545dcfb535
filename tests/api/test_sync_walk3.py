"""Sync and account API fixes from the integrator walk (walk3): surrogates, scoped moves, complete error
lists, strict dates, external ids with "/", account deletion, search errors and the schema of it all."""

import json

import pytest
from drf_spectacular.generators import SchemaGenerator

from accounts import services
from accounts.models import Account, Deal, Product, ProductLine
from config.api_urls import router
from core import roles
from territories.models import AccountTerritoryMembership
from tests import factories
from tests.access.world import make_manager
from tests.api.helpers import client_for, url


@pytest.fixture
def client(db):
    return client_for(factories.make_user(roles.INTEGRATION))


def post_json(client, path, body):
    """Raw JSON as an integration sends it: json.dumps writes a lone surrogate as the escape \\ud800."""
    return client.post(path, json.dumps(body), content_type="application/json")


def put_json(client, path, body):
    return client.put(path, json.dumps(body), content_type="application/json")


# --- F1: a lone surrogate is a 400 naming row and field, never a 500 ------------------------------------


@pytest.mark.django_db
def test_a_lone_surrogate_in_an_account_row_is_a_400_naming_row_and_field(client):
    rows = [
        {"external_id": "SUR-OK", "name": "fine", "country": "US"},
        {"external_id": "SUR-1", "name": "bad \ud800 surrogate", "country": "US"},
        {"external_id": "SUR-\udfff", "name": "bad id", "country": "US"},
    ]
    response = post_json(client, url("account-bulk"), rows)
    assert response.status_code == 400, response.content
    assert response.json()["errors"] == [
        {"index": 1, "field": "name", "message": "Surrogate characters are not allowed: U+D800."},
        {"index": 2, "field": "external_id", "message": "Surrogate characters are not allowed: U+DFFF."},
    ]
    assert not Account.objects.filter(external_id__startswith="SUR").exists()


@pytest.mark.django_db
def test_a_lone_surrogate_in_a_single_upsert_or_a_field_name_is_a_400(client):
    single = put_json(client, url("account-by-external-id", "SUR-6"), {"name": "bad \udfff", "country": "US"})
    assert single.status_code == 400, single.content
    assert single.json() == {"name": ["Surrogate characters are not allowed: U+DFFF."]}
    odd_key = post_json(
        client, url("account-bulk"), [{"external_id": "SUR-7", "name": "n", "country": "US", "\ud800": 1}]
    )
    assert odd_key.status_code == 400, odd_key.content
    assert odd_key.json()["errors"][0]["message"] == "Unknown field."
    assert not Account.objects.filter(external_id__startswith="SUR").exists()


@pytest.mark.django_db
def test_a_lone_surrogate_in_a_deal_reference_is_a_400_naming_the_column(client):
    factories.make_account(external_id="SUR-ACC")
    rows = [
        {"external_id": "SUR-D1", "account_external_id": "W3-\ud800", "amount": "1", "created_on": "2026-01-01"},
        {"external_id": "SUR-D2", "account_external_id": "SUR-ACC", "amount": "1", "created_on": "2026-01-01"},
        {
            "external_id": "SUR-D3",
            "account_external_id": "SUR-ACC",
            "product_external_id": "\udc00",
            "amount": "1",
            "created_on": "2026-01-01",
        },
    ]
    response = post_json(client, url("deal-bulk"), rows)
    assert response.status_code == 400, response.content
    assert response.json()["errors"] == [
        {"index": 0, "field": "account_external_id", "message": "Surrogate characters are not allowed: U+D800."},
        {"index": 2, "field": "product_external_id", "message": "Surrogate characters are not allowed: U+DC00."},
    ]
    assert not Deal.objects.exists()


@pytest.mark.django_db
def test_a_lone_surrogate_in_a_file_row_is_refused_by_line_and_field():
    factories.make_account(external_id="SUR-F0")
    # No country column: the stored values of existing records are looked up by external_id first.
    sheet = services.SyncFile(
        columns=["external_id", "name"],
        rows=[{"external_id": "SUR-F0", "name": "x \ud800"}, {"external_id": "SUR-\ud801", "name": "y"}],
        lines=[2, 3],
    )
    with pytest.raises(services.UpsertRejected) as rejected:
        services.sync_file_upsert(kind="accounts", sheet=sheet)
    errors = [(error.index, error.field) for error in rejected.value.errors]
    assert errors == [(0, "name"), (1, "external_id"), (1, "country")]  # row 1 is new: it needs a country
    assert Account.objects.get(external_id="SUR-F0").name != "x \ud800"


# --- F2: a scoped manager cannot move an account out of (or within) their scope --------------------------

MOVE_MESSAGE = (
    "Moving an account between territories changes other managers' territories: ask a manager of the whole alignment."
)


def stored_row(account: Account, **changes) -> dict:
    """A full sync row of the account as stored (the fields that place it unchanged), with changes."""
    row = {
        name: getattr(account, name)
        for name in ("external_id", "name", "industry", "employees", "business_type", "region", "city")
    }
    row.update(postal_code=account.postal_code, country=account.country.code, status=account.status)
    return {**row, **changes}


@pytest.mark.django_db
def test_a_scoped_manager_cannot_change_the_fields_that_place_an_account_by_sync(world):
    client = client_for(make_manager(scope_codes=("west",)))
    account = world.account_a
    moved = stored_row(account, country="DE", city="Berlin")
    response = post_json(client, url("account-bulk"), [stored_row(account, name="Renamed"), moved])
    assert response.status_code == 400, response.content
    message = MOVE_MESSAGE
    # Row 0 is fine on its own; row 1 (the same record again) also names each field it would move.
    errors = response.json()["errors"]
    assert {"index": 1, "field": "city", "message": message} in errors
    assert {"index": 1, "field": "country", "message": message} in errors
    assert {error["field"] for error in errors} == {"city", "country", "external_id"}  # + the duplicate
    single = put_json(client, url("account-by-external-id", "ACC-A"), stored_row(account, postal_code="10001"))
    assert single.status_code == 400, single.content
    assert single.json() == {"postal_code": [message]}
    account.refresh_from_db()
    assert (account.name, account.country.code, account.postal_code) == ("Alpha West Inc", "US", "94105")
    # The same values are not a move: an idempotent batch still goes through, twice.
    for expected in ({"created": 0, "updated": 1, "unchanged": 0}, {"created": 0, "updated": 0, "unchanged": 1}):
        again = post_json(client, url("account-bulk"), [stored_row(account, name="Renamed")])
        assert again.status_code == 200, again.content
        assert again.json() == expected


@pytest.mark.django_db
def test_a_scoped_manager_cannot_move_an_account_by_patch_or_put(world):
    client = client_for(make_manager(scope_codes=("west",)))
    account = world.account_a
    detail = url("account-detail", account.id)
    patched = client.patch(detail, {"country": "DE"}, format="json")
    assert patched.status_code == 400, patched.content
    assert patched.json() == {"country": [MOVE_MESSAGE]}
    put = client.put(detail, {**stored_row(account, employees=9999), "external_id": "ACC-A"}, format="json")
    assert put.status_code == 400 and set(put.json()) == {"employees"}, put.content
    assert (
        client.patch(detail, {"name": "Renamed", "country": "US", "city": "Oakland"}, format="json").status_code == 200
    )
    account.refresh_from_db()
    assert (account.name, account.country.code, account.employees) == ("Renamed", "US", 250)
    # A manager of the whole alignment (and an integration) moves accounts.
    unscoped = client_for(make_manager()).patch(detail, {"country": "DE"}, format="json")
    assert unscoped.status_code == 200, unscoped.content


@pytest.mark.django_db
def test_a_scoped_managers_file_cannot_move_an_account(world):
    manager = make_manager(scope_codes=("west",))
    sheet = services.SyncFile(
        columns=["external_id", "city"], rows=[{"external_id": "ACC-A", "city": "Reno"}], lines=[2]
    )
    with pytest.raises(services.UpsertRejected) as rejected:
        services.sync_file_upsert(kind="accounts", sheet=sheet, user=manager)
    assert [(error.index, error.field) for error in rejected.value.errors] == [(0, "city")]
    assert Account.objects.get(external_id="ACC-A").city == "Oakland"


# --- F6: every bad row in one answer ---------------------------------------------------------------------


@pytest.mark.django_db
def test_cross_row_and_table_checks_run_alongside_field_errors(client):
    factories.make_product(external_id="PRD-TAKEN", sku="PLT-STD")
    ProductLine.objects.create(code="platform", name="Platform")
    response = post_json(
        client,
        url("product-bulk"),
        [
            {"external_id": "W3-P-3", "sku": "PLT-STD", "name": "p", "product_line": "platform"},
            {"external_id": "W3-P-4", "sku": "W3SKU", "name": "p", "product_line": "nope"},
            {"external_id": "W3-P-5", "sku": "DUP", "name": "p", "product_line": "platform"},
            {"external_id": "W3-P-5", "sku": "DUP2", "name": "p", "product_line": "platform"},
        ],
    )
    assert response.status_code == 400, response.content
    assert [(error["index"], error["field"]) for error in response.json()["errors"]] == [
        (0, "sku"),
        (1, "product_line"),
        (2, "external_id"),
        (3, "external_id"),
    ]
    assert not Product.objects.filter(external_id__startswith="W3-P").exists()


# --- F7: dates are YYYY-MM-DD only -----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("text", ["20261101", "2026-W44-1", "2026-11-1", "2026-306"])
def test_a_synced_date_in_another_iso_form_is_refused(client, text):
    factories.make_account(external_id="DT-ACC")
    deal = {"external_id": "DT-1", "account_external_id": "DT-ACC", "amount": "1", "created_on": text}
    response = post_json(client, url("deal-bulk"), [deal])
    assert response.status_code == 400, response.content
    [error] = response.json()["errors"]
    assert (error["index"], error["field"]) == (0, "created_on")
    assert "YYYY-MM-DD" in error["message"]
    account = put_json(
        client, url("account-by-external-id", "DT-ACC"), {"name": "a", "country": "US", "customer_since": text}
    )
    assert account.status_code == 400 and set(account.json()) == {"customer_since"}
    assert not Deal.objects.exists()
    ok = post_json(client, url("deal-bulk"), [{**deal, "created_on": "2026-11-01"}])
    assert ok.status_code == 200, ok.content


# --- F8: an external id with "/" is reachable by its route -----------------------------------------------


@pytest.mark.django_db
def test_an_external_id_with_a_slash_is_read_and_written_by_external_id(client):
    created = post_json(client, url("account-bulk"), [{"external_id": "A/B", "name": "slash", "country": "DE"}])
    assert created.json() == {"created": 1, "updated": 0, "unchanged": 0}
    for path in ("/api/v1/accounts/by-external-id/A%2FB/", "/api/v1/accounts/by-external-id/A/B/"):
        read = client.get(path)
        assert read.status_code == 200, (path, read.content)
        assert read.json()["external_id"] == "A/B"
    assert url("account-by-external-id", "A/B") == "/api/v1/accounts/by-external-id/A/B/"
    updated = put_json(client, "/api/v1/accounts/by-external-id/A%2FB/", {"name": "renamed", "country": "DE"})
    assert updated.status_code == 200, updated.content
    assert Account.objects.get(external_id="A/B").name == "renamed"
    created_deep = put_json(client, "/api/v1/accounts/by-external-id/x/y/z/", {"name": "deep", "country": "DE"})
    assert created_deep.status_code == 201 and created_deep.json()["external_id"] == "x/y/z"
    assert client.get("/api/v1/accounts/by-external-id/A/C/").status_code == 404


# --- F12: an account with history answers 409 saying what to do -----------------------------------------


@pytest.mark.django_db
def test_deleting_an_account_with_territory_history_is_a_409_saying_why(world):
    client = client_for(factories.make_user(roles.INTEGRATION))
    # ACC-F's membership has ended: history all the same.
    assert not AccountTerritoryMembership.objects.filter(account=world.account_former, valid_to=None).exists()
    response = client.delete(url("account-detail", world.account_former.id))
    assert response.status_code == 409, response.content
    assert response.json() == {
        "detail": "This account has territory history (it was in a territory), which is kept for the KPIs: "
        "set its status instead."
    }
    with_deals = factories.make_account()
    factories.make_deal(account=with_deals)
    response = client.delete(url("account-detail", with_deals.id))
    assert response.status_code == 409
    assert response.json() == {"detail": "This account has deals: delete them first, or set its status instead."}
    bare = factories.make_account()
    assert client.delete(url("account-detail", bare.id)).status_code == 204
    assert Account.objects.filter(pk=world.account_former.pk).exists()


# --- F13: search errors name `search`; the schema lists the answers -------------------------------------


def searchable_list_names() -> list[str]:
    return sorted(
        f"{basename}-list" for _, viewset, basename in router.registry if getattr(viewset, "search_fields", None)
    )


@pytest.mark.django_db
@pytest.mark.parametrize("name", searchable_list_names())
def test_a_nul_in_search_is_a_400_naming_search(name):
    client = client_for(make_manager())
    response = client.get(url(name, search="a\x00b"))
    assert response.status_code == 400, response.content
    assert response.json() == {"search": ["Null characters are not allowed."]}


@pytest.mark.django_db
def test_malformed_json_in_a_bulk_body_answers_in_the_batch_error_shape(client):
    response = client.post(url("account-bulk"), '[{"external_id": ', content_type="application/json")
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert (error["index"], error["field"]) == (-1, "non_field_errors")
    assert "JSON parse error" in error["message"]


def test_the_schema_documents_the_sync_and_delete_answers():
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    for kind in ("accounts", "deals", "products"):
        bulk = paths[f"/api/v1/{kind}/bulk/"]["post"]["responses"]
        assert {"200", "400", "413", "415"} <= set(bulk), kind
        assert bulk["400"]["content"]["application/json"]["schema"]["$ref"].endswith("/SyncErrors")
        by_id = paths[f"/api/v1/{kind}/by-external-id/{{external_id}}/"]
        assert {"200", "201", "400", "403"} <= set(by_id["put"]["responses"]), kind
    delete = paths["/api/v1/accounts/{id}/"]["delete"]["responses"]
    assert {"204", "409"} <= set(delete)
