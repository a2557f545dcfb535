"""A manager limited to some territories changes only those: no top-level territory, no activation or copy
of a whole model — on pages and through the API alike."""

import pytest
from django.urls import reverse

from territories.models import Territory, TerritoryModel
from tests import factories
from tests.access.world import make_manager
from tests.api.helpers import client_for, url

pytestmark = pytest.mark.django_db(databases=["default", "progress"])


@pytest.fixture
def plan(world):
    return factories.make_territory_model(code="fy-plan", name="FY plan")


def test_a_scoped_manager_cannot_activate_or_copy_a_model(world, plan, client):
    east = make_manager(scope_codes=("east",))
    api = client_for(east)
    factories.make_territory(plan, code="east")  # visible to them: the model is too
    response = api.post(url("territory-model-activate", plan.pk), {}, format="json")
    assert response.status_code == 403
    assert "cannot activate or copy a whole territory model" in response.json()["detail"]
    assert (
        api.post(
            url("territory-model-copy", world.east.territory_model_id), {"code": "c", "name": "C"}, format="json"
        ).status_code
        == 403
    )
    client.force_login(east)
    assert 'id="activate"' not in client.get(reverse("territories:model-detail", args=[plan.pk])).content.decode()
    page = client.post(reverse("territories:model-activate", args=[plan.pk]), {"confirm": "on"})
    assert page.status_code == 403
    plan.refresh_from_db()
    assert plan.state == "planning" and not TerritoryModel.objects.filter(code="c").exists()
    # An unscoped manager may.
    assert (
        client_for(make_manager()).post(url("territory-model-activate", plan.pk), {}, format="json").status_code == 202
    )


def test_a_scoped_manager_creates_territories_only_inside_their_own(world, client):
    east = make_manager(scope_codes=("east",))
    api = client_for(east)
    body = {
        "territory_model": world.east.territory_model_id,
        "code": "new-root",
        "name": "New root",
        "kind": "geographic",
    }
    response = api.post(url("territory-list"), body, format="json")
    assert response.status_code == 400 and "parent" in response.json()
    assert api.post(url("territory-list"), {**body, "parent": world.east.pk}, format="json").status_code == 201
    # Their own top territory stays editable; moving a territory to the top level is refused.
    assert api.patch(url("territory-detail", world.east.pk), {"name": "East (renamed)"}, format="json").status_code in (
        200,
        400,
    )
    child = Territory.objects.get(code="new-root")
    assert api.patch(url("territory-detail", child.pk), {"parent": None}, format="json").status_code == 400
    client.force_login(east)
    page = client.post(
        reverse("territories:create", args=[world.east.territory_model_id]),
        {"code": "page-root", "name": "Page root", "kind": "geographic", "priority": 0, "value_tier": 2},
    )
    assert page.status_code == 400 and "Choose a parent within your territories" in page.content.decode()
    assert not Territory.objects.filter(code="page-root").exists()
