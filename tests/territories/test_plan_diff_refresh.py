"""A plan's stored diff: computed by its own task after a plan run or an activation, never twice for the
same run and alignment, dropped once the plan is no longer a plan."""

import pytest

from territories import services
from territories.models import AssignmentRun, PlanDiff
from territories.selectors import plans_with_pending_diff
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def alignment():
    active = factories.make_territory_model(code="fy", name="FY", state="active")
    factories.make_rule(factories.make_territory(active, code="west"), {"field": "region", "values": ["CA"]})
    factories.make_account(region="CA")
    factories.make_account(region="OR")
    services.assignment_run_execute(run=AssignmentRun.objects.create(territory_model=active))
    return active


def plan_run(plan) -> AssignmentRun:
    return services.assignment_run_execute(run=AssignmentRun.objects.create(territory_model=plan))


def test_a_plan_run_queues_its_diff_once_it_commits(alignment, django_capture_on_commit_callbacks):
    plan = services.territory_model_copy(source=alignment, code="plan", name="Plan")
    factories.make_rule(plan.territories.get(code="west"), {"field": "region", "values": ["OR"]})
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        run = plan_run(plan)
    assert len(callbacks) == 1
    stored = PlanDiff.objects.get(territory_model=plan)
    assert (stored.run, stored.active_model, stored.moved_accounts) == (run, alignment, 1)  # Oregon joins west


def test_a_current_diff_is_not_computed_again(alignment):
    plan = services.territory_model_copy(source=alignment, code="plan", name="Plan")
    plan_run(plan)
    first = services.plan_diff_refresh(plan=plan)
    assert services.plan_diff_refresh(plan=plan).computed_at == first.computed_at  # a redelivered task
    assert not plans_with_pending_diff().exists()
    rerun = plan_run(plan)
    assert list(plans_with_pending_diff()) == [plan]
    assert services.plan_diff_refresh(plan=plan).run == rerun


def test_a_diff_from_before_runs_were_recorded_is_recomputed(alignment):
    plan = services.territory_model_copy(source=alignment, code="plan", name="Plan")
    plan_run(plan)
    services.plan_diff_refresh(plan=plan)
    PlanDiff.objects.update(run=None)  # as migration 0015 left earlier diffs
    assert list(plans_with_pending_diff()) == [plan]
    assert services.plan_diff_refresh(plan=plan).run is not None


def test_no_diff_without_a_run_or_once_the_plan_is_active(alignment, django_capture_on_commit_callbacks):
    plan = services.territory_model_copy(source=alignment, code="plan", name="Plan")
    assert services.plan_diff_refresh(plan=plan) is None and not plans_with_pending_diff().exists()
    plan_run(plan)
    services.plan_diff_refresh(plan=plan)
    other = services.territory_model_copy(source=alignment, code="other", name="Other")
    plan_run(other)
    services.plan_diff_refresh(plan=other)
    with django_capture_on_commit_callbacks(execute=True):
        services.territory_model_activate(model=plan)
    assert not PlanDiff.objects.filter(territory_model=plan).exists()  # the active model has no diff
    assert PlanDiff.objects.get(territory_model=other).active_model == plan  # the other plan compared again
    assert services.plan_diff_refresh(plan=plan) is None
