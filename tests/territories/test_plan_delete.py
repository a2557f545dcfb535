"""A plan can be thrown away with everything it holds; the active and archived models (the history) cannot."""

from datetime import date

import pytest
from django.db import connection
from django.urls import reverse

from kpis.models import KpiDefinition, KpiTarget, TerritoryKpi
from territories.models import AssignmentRun, RepAssignment, Territory, TerritoryModel
from territories.services import assignment_run_execute, territory_model_copy
from tests import factories
from tests.access.world import make_manager
from tests.api.helpers import client_for, url

pytestmark = pytest.mark.django_db(databases=["default", "progress"])


@pytest.fixture
def active():
    model = factories.make_territory_model(code="fy26", state="active")
    west = factories.make_territory(model, code="west")
    factories.make_rule(west, {"field": "region", "values": ["CA"]})
    ca = factories.make_territory(model, parent=west, code="west-ca")
    factories.make_rule(ca, {"field": "city", "values": ["Oakland"]})
    account = factories.make_account(region="CA", city="Oakland")
    factories.make_territory(model, code="keys", kind="account").named_accounts.create(account=account)
    RepAssignment.objects.create(rep=factories.make_rep(), territory=west, start_date=date(2025, 1, 1))
    revenue = KpiDefinition.objects.get(code="revenue")
    KpiTarget.objects.create(territory=west, kpi=revenue, period_type="year", period_start=date(2027, 1, 1), value=9)
    TerritoryKpi.objects.create(territory=west, kpi=revenue, tracked=True)
    return model


def test_a_run_plan_is_deleted_with_everything_it_holds(active, client):
    plan = territory_model_copy(source=active, code="plan", name="Plan")
    assignment_run_execute(run=AssignmentRun.objects.create(territory_model=plan))
    territory_ids = list(plan.territories.values_list("id", flat=True))
    client.force_login(make_manager())
    response = client.post(reverse("territories:model-delete", args=[plan.pk]))
    assert response.status_code == 302
    assert not TerritoryModel.objects.filter(pk=plan.pk).exists()
    assert not Territory.objects.filter(pk__in=territory_ids).exists()
    assert not KpiTarget.objects.filter(territory_id__in=territory_ids).exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM territories_planaccountanswer WHERE territory_model_id = %s", [plan.pk])
        assert cursor.fetchone()[0] == 0
    # The alignment it was copied from is untouched.
    assert active.territories.count() == 3 and KpiTarget.objects.filter(territory__territory_model=active).exists()


def test_the_history_and_scoped_managers_cannot_delete(active):
    manager = client_for(make_manager())
    response = manager.delete(url("territory-model-detail", active.pk))
    assert response.status_code == 400 and response.json() == {
        "state": ["Only a plan can be deleted: this model holds the history."]
    }
    plan = territory_model_copy(source=active, code="plan", name="Plan")
    scoped = client_for(make_manager(scope_codes=("west",)))
    assert scoped.delete(url("territory-model-detail", plan.pk)).status_code == 403
    assert manager.delete(url("territory-model-detail", plan.pk)).status_code == 204
    assert not TerritoryModel.objects.filter(pk=plan.pk).exists()
