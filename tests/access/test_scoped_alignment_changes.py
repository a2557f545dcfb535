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
    assert "cannot create, change, activate or copy a whole territory model" in response.json()["detail"]
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


def test_a_scoped_manager_cannot_reach_outside_through_their_top_territorys_rules(world, client):
    """east's rules and priority decide which of root's accounts go east — west's included. Its children's
    reach only what east holds: those stay theirs to change, and so does east itself in a plan."""
    from territories.models import TerritoryRule
    from territories.validation import SCOPED_LIVE_ROOT_MESSAGE

    manager = make_manager(scope_codes=("east",))
    api = client_for(manager)
    grab = {"criteria": [{"field": "region", "operator": "in", "values": ["NY", "CA"]}]}
    response = api.patch(url("rule-detail", world.rule_b.pk), grab, format="json")
    assert response.status_code == 400 and response.json() == {"territory": [SCOPED_LIVE_ROOT_MESSAGE]}
    assert world.rule_b.criteria.get().values == ["NY"]
    new_rule = {"territory": world.east.pk, **grab}
    assert api.post(url("rule-list"), new_rule, format="json").json() == {"territory": [SCOPED_LIVE_ROOT_MESSAGE]}
    assert api.delete(url("rule-detail", world.rule_b.pk)).status_code == 400
    response = api.patch(url("territory-detail", world.east.pk), {"priority": 100}, format="json")
    assert response.json() == {"priority": [SCOPED_LIVE_ROOT_MESSAGE]}
    assert api.patch(url("territory-detail", world.east.pk), {"name": "East coast"}, format="json").status_code == 200
    # Below the top of their scope: theirs to change.
    child_rule = {"territory": world.east_ny.pk, "criteria": [{"field": "city", "operator": "in", "values": ["NYC"]}]}
    assert api.post(url("rule-list"), child_rule, format="json").status_code == 201
    assert api.patch(url("territory-detail", world.east_ny.pk), {"priority": 5}, format="json").status_code == 200

    client.force_login(manager)
    page = client.post(reverse("territories:rule-delete", args=[world.rule_b.pk]))
    assert page.status_code == 302 and TerritoryRule.objects.filter(pk=world.rule_b.pk).exists()
    assert [str(m) for m in client.get(page.url).context["messages"]] == [SCOPED_LIVE_ROOT_MESSAGE]
    criterion = world.rule_b.criteria.get()
    client.post(reverse("territories:criterion-delete", args=[criterion.pk]))
    assert world.rule_b.criteria.filter(pk=criterion.pk).exists()
    edit = {"name": "", "position": 0, "criteria-TOTAL_FORMS": 1, "criteria-INITIAL_FORMS": 1,
            "criteria-0-id": criterion.pk, "criteria-0-field": "region", "criteria-0-operator": "in",
            "criteria-0-values": "NY, CA"}  # fmt: skip
    client.post(reverse("territories:rule-edit", args=[world.rule_b.pk]), edit)
    assert world.rule_b.criteria.get().values == ["NY"]
    model_id = world.east.territory_model_id
    form = {"code": "east", "name": "East", "kind": "geographic", "parent": world.root.pk, "priority": 9,
            "value_tier": world.east.value_tier}  # fmt: skip
    page = client.post(reverse("territories:edit", args=[model_id, world.east.pk]), form)
    assert page.status_code == 400 and SCOPED_LIVE_ROOT_MESSAGE in page.content.decode()
    with_rule = {**form, "priority": world.east.priority, "rule-field": "region", "rule-values": "CA"}
    page = client.post(reverse("territories:edit", args=[model_id, world.east.pk]), with_rule)
    assert page.status_code == 400 and world.east.rules.count() == 1

    # In a plan, the same change waits for a manager of the whole alignment to activate it.
    from territories import services

    plan = services.territory_model_copy(source=world.east.territory_model, code="plan", name="Plan")
    plan_rule = TerritoryRule.objects.get(territory__territory_model=plan, territory__code="east")
    assert api.patch(url("rule-detail", plan_rule.pk), grab, format="json").status_code == 200


def test_only_a_manager_of_the_whole_alignment_moves_a_rep_to_another_login(world):
    from core import roles
    from territories.validation import SCOPED_WHOLE_MODEL_MESSAGE

    newcomer = factories.make_user(roles.SALES_REP)
    scoped = client_for(make_manager(scope_codes=("west",)))
    response = scoped.patch(url("rep-detail", world.rep_a.pk), {"user": newcomer.pk}, format="json")
    assert response.status_code == 400 and "cannot move a rep to another login" in response.json()["user"][0]
    assert scoped.patch(url("rep-detail", world.rep_a.pk), {"title": "Lead"}, format="json").status_code == 200
    whole = client_for(make_manager())
    not_a_rep = factories.make_user(roles.SALES_MANAGER)
    assert whole.patch(url("rep-detail", world.rep_a.pk), {"user": not_a_rep.pk}, format="json").status_code == 400
    assert whole.patch(url("rep-detail", world.rep_a.pk), {"user": newcomer.pk}, format="json").status_code == 200

    # Rows every territory shares: the models and the KPI catalogue.
    model = {"code": "fy28", "name": "FY28"}
    response = scoped.post(url("territory-model-list"), model, format="json")
    assert response.status_code == 403 and response.json()["detail"] == SCOPED_WHOLE_MODEL_MESSAGE
    assert scoped.patch(url("territory-model-detail", world.east.territory_model_id), {"name": "x"}).status_code == 403
    kpi = world.kpi_revenue if hasattr(world, "kpi_revenue") else None
    from kpis.models import KpiDefinition

    kpi = KpiDefinition.objects.get(code="revenue")
    assert scoped.patch(url("kpi-definition-detail", kpi.pk), {"name": "Money"}, format="json").status_code == 403
    assert whole.patch(url("kpi-definition-detail", kpi.pk), {"name": "Money"}, format="json").status_code == 200
    assert whole.post(url("territory-model-list"), model, format="json").status_code == 201
