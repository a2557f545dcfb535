"""A rep sees only their territories and what is in them, on every page and export."""

import csv
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

pytestmark = pytest.mark.django_db


@pytest.fixture
def rep_client(client, world):
    client.force_login(world.rep_a.user)
    return client


def test_it_lists_only_the_reps_accounts(rep_client):
    content = rep_client.get(reverse("accounts:list")).content.decode()
    assert "Alpha Pacific Inc" in content
    assert "Beaver Timber LLC" not in content


def test_it_lists_only_the_reps_deals(rep_client):
    content = rep_client.get(reverse("accounts:deals")).content.decode()
    assert "Alpha renewal" in content
    assert "Beaver expansion" not in content


def test_it_lists_only_the_reps_territories_and_targets(rep_client):
    territories = rep_client.get(reverse("territories:list")).content.decode()
    assert "California" in territories
    assert "Oregon" not in territories
    targets = rep_client.get(reverse("kpis:targets")).context["table"].data.data
    assert {t.territory.code for t in targets} == {"west-ca"}


def test_it_lists_only_the_rep_and_colleagues_in_their_territories(rep_client):
    content = rep_client.get(reverse("reps:list")).content.decode()
    assert "Alice Rep" in content
    assert "Bob Rep" not in content


def test_it_answers_404_for_another_reps_territory(rep_client, world):
    assert rep_client.get(reverse("territories:detail", args=[world.west_or.pk])).status_code == 404
    assert rep_client.get(reverse("territories:detail", args=[world.west.pk])).status_code == 404
    assert rep_client.get(reverse("territories:detail", args=[world.west_ca.pk])).status_code == 200


def test_it_shows_my_territories_on_the_home_page(rep_client):
    response = rep_client.get(reverse("home"))
    assert [row.code for row in response.context["rows"]] == ["west-ca"]
    assert "My territories" in response.content.decode()
    assert "coverage" not in response.context
    assert "runs" not in response.context


def test_it_hides_the_history_from_a_rep(rep_client, world):
    response = rep_client.get(reverse("territories:detail", args=[world.west_ca.pk]))
    assert list(response.context["history"]) == []
    assert 'id="history-table"' not in response.content.decode()


def test_it_exports_only_the_reps_rows_as_csv(rep_client):
    response = rep_client.get(reverse("accounts:list"), {"export": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    names = [row[1] for row in rows[1:]]
    assert rows[0][1] == "Name"
    assert names == ["Alpha Pacific Inc"]


def test_it_exports_only_the_reps_deals_as_xlsx(rep_client):
    response = rep_client.get(reverse("accounts:deals"), {"export": "xlsx"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert values == ["Alpha renewal"]


def test_it_maps_only_the_reps_accounts(rep_client):
    data = rep_client.get(reverse("territories:map-data")).json()
    assert [a["name"] for a in data["accounts"]] == ["Alpha Pacific Inc"]


def test_it_limits_the_tree_to_the_reps_subtree(rep_client):
    nodes = rep_client.get(reverse("territories:tree")).context["nodes"]
    assert [(n["code"], n["children"]) for n in nodes] == [("west-ca", [])]


def test_it_refuses_a_hidden_territory_as_a_filter_value(rep_client, world):
    response = rep_client.get(reverse("accounts:list"), {"territory": world.west_or.pk})
    assert response.status_code == 200
    assert response.context["is_empty"]
    assert "Beaver Timber LLC" not in response.content.decode()


def test_it_hides_runs_progress_from_a_rep(rep_client, world):
    from territories.models import AssignmentRun

    run = AssignmentRun.objects.create(territory_model=world.model)
    assert rep_client.get(reverse("run-progress", args=["assignment", run.pk])).status_code == 404
