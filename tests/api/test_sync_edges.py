"""Sync edge cases an API audit found: padded external ids in the URL, NUL characters, scoped managers
creating accounts, and concurrent identical batches. Each answers a 4xx naming the field and writes
nothing, or succeeds — never a 500, never a write followed by an error."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from accounts.models import Account, Deal, Product, ProductLine
from core import roles
from tests import factories
from tests.access.world import make_manager
from tests.api.helpers import client_for, url


@pytest.fixture
def client(db):
    return client_for(factories.make_user(roles.INTEGRATION))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "model", "body"),
    [
        ("account", Account, lambda: {"name": "Spaced", "country": "US"}),
        (
            "deal",
            Deal,
            lambda: {"name": "Spaced", "amount": "10", "created_on": "2025-01-01", "account_external_id": "ACC-SP"},
        ),
        ("product", Product, lambda: {"name": "Spaced", "sku": "SKU-SP", "product_line": "PL-SP"}),
    ],
)
def test_a_padded_external_id_in_the_url_names_the_stripped_record(client, kind, model, body):
    factories.make_account(external_id="ACC-SP")
    ProductLine.objects.create(code="PL-SP", name="Line")
    padded = url(f"{kind}-by-external-id", " walk-api-sp ")
    created = client.put(padded, body(), format="json")
    assert created.status_code == 201, created.content
    assert created.json()["external_id"] == "walk-api-sp"
    again = client.put(padded, body(), format="json")
    assert again.status_code == 200 and again.json()["id"] == created.json()["id"]
    assert client.get(padded).json()["id"] == created.json()["id"]
    assert model.objects.filter(external_id__contains="walk-api-sp").count() == 1
    # The body may carry the id too: the same one, padded or not.
    with_body_id = client.put(padded, {**body(), "external_id": "walk-api-sp "}, format="json")
    assert with_body_id.status_code == 200, with_body_id.content


@pytest.mark.django_db
def test_a_nul_character_anywhere_in_a_sync_is_a_400_naming_the_field(client):
    factories.make_account(external_id="ACC-NUL")
    single = client.put(url("account-by-external-id", "NUL-1"), {"name": "A\x00B", "country": "US"}, format="json")
    assert single.status_code == 400
    assert single.json() == {"name": ["Null characters are not allowed."]}
    in_url = client.put(url("account-by-external-id", "NUL\x002"), {"name": "A", "country": "US"}, format="json")
    assert in_url.status_code == 400
    assert in_url.json() == {"external_id": ["Null characters are not allowed."]}
    read = client.get(url("account-by-external-id", "NUL\x002"))
    assert read.status_code == 400 and "external_id" in read.json()
    bulk = client.post(
        url("deal-bulk"),
        [
            {
                "external_id": "D-NUL-1",
                "name": "ok",
                "amount": "1",
                "created_on": "2025-01-01",
                "account_external_id": "ACC-NUL",
            },
            {
                "external_id": "D-NUL-2",
                "name": "ok",
                "amount": "1",
                "created_on": "2025-01-01",
                "account_external_id": "ACC\x00NUL",
            },
            {
                "external_id": "D-NUL\x003",
                "name": "ok",
                "amount": "1",
                "created_on": "2025-01-01",
                "account_external_id": "ACC-NUL",
            },
        ],
        format="json",
    )
    assert bulk.status_code == 400
    assert bulk.json()["errors"] == [
        {"index": 1, "field": "account_external_id", "message": "Null characters are not allowed."},
        {"index": 2, "field": "external_id", "message": "Null characters are not allowed."},
    ]
    assert not Account.objects.filter(external_id__startswith="NUL").exists()
    assert not Deal.objects.filter(external_id__startswith="D-NUL").exists()


@pytest.mark.django_db
def test_a_scoped_manager_cannot_create_accounts_but_changes_the_ones_they_see(world):
    client = client_for(make_manager(scope_codes=("west",)))
    for _ in range(2):  # the same answer every time: nothing was written the first time
        response = client.put(url("account-by-external-id", "NEW-EU"), {"name": "Euro", "country": "FR"}, format="json")
        assert response.status_code == 400
        assert "cannot create accounts" in response.json()["external_id"][0]
    bulk = client.post(url("account-bulk"), [{"external_id": "NEW-EU", "name": "Euro", "country": "FR"}], format="json")
    assert bulk.status_code == 400 and bulk.json()["errors"][0]["field"] == "external_id"
    posted = client.post(url("account-list"), {"external_id": "NEW-EU", "name": "Euro", "country": "FR"}, format="json")
    assert posted.status_code == 403 and "cannot create accounts" in posted.json()["detail"]
    assert not Account.objects.filter(external_id="NEW-EU").exists()
    # (A full record: the fields that place the account are sent as stored, account_move_refusal.)
    placed = {"country": "US", "region": "CA", "city": "Oakland", "postal_code": "94105", "industry": "technology"}
    changed = client.put(
        url("account-by-external-id", "ACC-A"), {"name": "Alpha", **placed, "employees": 250}, format="json"
    )
    assert changed.status_code == 200, changed.content
    # An unscoped manager still creates accounts.
    created = client_for(make_manager()).put(
        url("account-by-external-id", "NEW-EU"), {"name": "Euro", "country": "FR"}, format="json"
    )
    assert created.status_code == 201


@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_deal_batches_all_succeed():
    """Eight clients post the same 300 new deals at once (each thread has its own connection). Locking the
    stored rows in the model's order (newest first) while the upsert locked them in request order
    deadlocked some of them (a 500)."""
    user = factories.make_user(roles.INTEGRATION)
    accounts = [factories.make_account(external_id=f"CONC-ACC-{n}") for n in range(10)]
    workers = 8
    for round_number in range(3):
        rows = [
            {
                "external_id": f"CONC-{round_number}-{n:04d}",
                "name": f"Deal {n}",
                "amount": "100",
                "created_on": "2025-01-01",
                "account_external_id": accounts[n % 10].external_id,
            }
            for n in range(300)
        ]
        start = threading.Barrier(workers)

        def post(rows=rows, start=start):
            try:
                client = client_for(user)
                start.wait()
                response = client.post(url("deal-bulk"), rows, format="json")
                return response.status_code, response.json()
            except Exception as error:  # a deadlock surfaces as the test client re-raising it
                return 500, repr(error)
            finally:
                connections.close_all()

        with ThreadPoolExecutor(workers) as pool:
            answers = list(pool.map(lambda _: post(), range(workers)))
        assert [status for status, _ in answers] == [200] * workers, answers
        assert sum(body["created"] for _, body in answers) == 300
        assert Deal.objects.filter(external_id__startswith=f"CONC-{round_number}-").count() == 300
