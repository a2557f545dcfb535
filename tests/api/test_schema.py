"""The OpenAPI schema validates with no warnings, and the docs pages load from vendored assets."""

from io import StringIO

import yaml
from django.core.management import call_command

from tests.api.helpers import client_for


def test_it_generates_a_valid_schema_without_warnings(db, tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target), stdout=StringIO())
    schema = yaml.safe_load(target.read_text())
    paths = schema["paths"]
    for path in (
        "/api/v1/accounts/",
        "/api/v1/accounts/bulk/",
        "/api/v1/accounts/by-external-id/{external_id}/",
        "/api/v1/deals/bulk/",
        "/api/v1/products/bulk/",
        "/api/v1/territories/{id}/",
        "/api/v1/rules/",
        "/api/v1/rep-assignments/",
        "/api/v1/targets/",
        "/api/v1/rollups/",
        "/api/v1/breakdowns/",
        "/api/v1/campaign-revenue/",
        "/api/v1/tokens/",
        "/api/v1/audit/",
    ):
        assert path in paths, path
    assert "post" not in paths["/api/v1/rollups/"]
    assert "post" not in paths["/api/v1/breakdowns/"]
    assert "post" not in paths["/api/v1/campaign-revenue/"]
    page_size = next(p for p in paths["/api/v1/deals/"]["get"]["parameters"] if p["name"] == "page_size")
    assert page_size["schema"]["maximum"] == 1000


def test_it_serves_the_schema_and_the_docs(manager_user):
    client = client_for(manager_user)
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"drf_spectacular_sidecar" in docs.content  # assets come from the vendored sidecar, not a CDN
