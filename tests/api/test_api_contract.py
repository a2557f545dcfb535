"""What the API promises: the schema documents only the parameters a list reads, unreadable parameters
are 400s naming themselves, every error is {field: [messages]}, and oversize bodies answer JSON."""

import json
from io import StringIO

import pytest
import yaml
from django.core.management import call_command
from django.test import override_settings

from accounts.models import Account
from core import roles
from territories.models import TerritoryModel
from tests import factories
from tests.api.helpers import client_for, url

pytestmark = pytest.mark.django_db


def test_the_schema_documents_search_only_where_a_list_searches(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(target), stdout=StringIO())
    paths = yaml.safe_load(target.read_text())["paths"]

    def documents_search(path: str) -> bool:
        return any(parameter["name"] == "search" for parameter in paths[path]["get"]["parameters"])

    for path in (
        "/api/v1/targets/",
        "/api/v1/rollups/",
        "/api/v1/breakdowns/",
        "/api/v1/campaign-revenue/",
        "/api/v1/tracked-kpis/",
        "/api/v1/memberships/",
        "/api/v1/named-accounts/",
        "/api/v1/rep-assignments/",
        "/api/v1/assignment-runs/",
        "/api/v1/recompute-runs/",
    ):
        assert not documents_search(path), path
    for path in ("/api/v1/accounts/", "/api/v1/deals/", "/api/v1/territories/", "/api/v1/reps/"):
        assert documents_search(path), path


def test_an_unreadable_boolean_filter_is_a_400_naming_it(world, manager_user):
    client = client_for(manager_user)
    response = client.get(url("campaign-revenue-list", no_campaign="maybe"))
    assert response.status_code == 400
    assert response.json() == {"no_campaign": ["Must be true or false."]}
    assert client.get(url("campaign-revenue-list", no_campaign="true")).status_code == 200
    assert client.get(url("deal-list", is_open="false")).status_code == 200
    assert client.get(url("deal-list", is_open="perhaps")).status_code == 400


def test_an_allocation_out_of_range_is_refused_by_its_field(world, manager_user):
    rep = factories.make_rep()
    for percent in (0, 101):
        response = client_for(manager_user).post(
            url("rep-assignment-list"),
            {
                "rep": rep.id,
                "territory": world.west.id,
                "role": "overlay",
                "start_date": "2025-01-01",
                "allocation_percent": percent,
            },  # fmt: skip
            format="json",
        )
        assert response.status_code == 400
        assert list(response.json()) == ["allocation_percent"], response.json()


def test_territory_model_state_errors_are_lists_like_every_other_error(world, manager_user):
    client = client_for(manager_user)
    active = TerritoryModel.objects.get(pk=world.root.territory_model_id)
    diff = client.get(url("territory-model-diff", active.id))
    for response in (diff, client.delete(url("territory-model-detail", active.id))):
        assert response.status_code == 400
        assert isinstance(response.json()["state"], list)


def _rows(count: int) -> list[dict]:
    return [
        {
            "external_id": f"BIG-{n:06d}",
            "name": f"Big account number {n}",
            "country": "US",
            "employees": n,
            "city": "Springfield",
            "region": "Somewhere",
        }  # fmt: skip
        for n in range(count)
    ]


def test_a_batch_over_the_row_limit_reaches_the_row_check(db):
    # About 3 MB: more than Django's 2.5 MB default body limit, well within the bulk endpoints' limit.
    client = client_for(factories.make_user(roles.INTEGRATION))
    body = json.dumps(_rows(20_001))
    assert len(body) > 2.5 * 1024 * 1024
    response = client.post(url("account-bulk"), body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "At most 20000 rows per request; got 20001."


@override_settings(SYNC_BULK_MAX_BODY_SIZE=2000, DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_an_oversize_body_answers_a_json_413(db):
    client = client_for(factories.make_user(roles.INTEGRATION))
    bulk = client.post(url("account-bulk"), json.dumps(_rows(30)), content_type="application/json")
    assert bulk.status_code == 413
    assert bulk.json() == {"detail": "The request body is larger than the 2,000 bytes this endpoint accepts."}
    single = client.put(url("account-by-external-id", "BIG"), {"name": "x" * 2000, "country": "US"}, format="json")
    assert single.status_code == 413
    assert single["Content-Type"] == "application/json"
    assert "1,000 bytes" in single.json()["detail"]
    small = client.post(url("account-bulk"), json.dumps(_rows(5)), content_type="application/json")
    assert small.status_code == 200, small.content
    assert not Account.objects.filter(external_id__in=["BIG", "BIG-000029"]).exists()
