"""Planning and editing pages: managers run, copy, compare, activate and edit; reps are refused."""

from decimal import Decimal

import pytest
from django.urls import reverse

from core.models import AuditEntry
from territories.models import AssignmentRun, PlanAccountAnswer, RuleCriterion, Territory, TerritoryModel
from territories.tasks import plan_diffs_sweep
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(client, world):
    client.force_login(world.manager_user)
    return client


def test_it_renders_the_model_page(manager, world):
    response = manager.get(reverse("territories:model-detail", args=[world.model.pk]))
    assert response.status_code == 200
    assert response.context["territory_count"] == 3


def test_it_queues_a_run_whose_progress_polls_until_it_finishes(manager, world, django_capture_on_commit_callbacks):
    factories.make_rule(world.west, {"field": "country", "values": ["US"]})
    with django_capture_on_commit_callbacks(execute=True):
        response = manager.post(reverse("territories:model-run", args=[world.model.pk]), HTTP_HX_REQUEST="true")
    run = AssignmentRun.objects.get(territory_model=world.model)
    content = response.content.decode()
    assert f'id="run-assignment-{run.pk}"' in content
    assert 'hx-trigger="every 2s"' in content  # queued when the page got it: it polls

    assert run.status == "succeeded"  # the task ran on commit (Celery is eager in tests)
    polled = manager.get(reverse("run-progress", args=["assignment", run.pk])).content.decode()
    assert "hx-trigger" not in polled  # finished: it stops polling
    assert "Succeeded" in polled
    # The counts in words, numbers with thousands separators.
    assert "account territories: " in polled and "deal rows opened: " in polled and "deep:" not in polled


def test_a_runs_counts_read_as_words(manager, world):
    run = AssignmentRun.objects.create(
        territory_model=world.model,
        status="succeeded",
        progress=100,
        counts={"deep": 3005000, "opened": 12, "skipped_views": [], "unheard_of_count": 2},
    )
    content = manager.get(reverse("run-progress", args=["assignment", run.pk])).content.decode()
    assert "account territories: 3,005,000 · opened: 12 · views skipped (busy): none · unheard of count: 2" in content


def test_it_polls_a_run_that_is_not_finished(manager, world):
    run = AssignmentRun.objects.create(territory_model=world.model, status="running", progress=40, phase="writing")
    content = manager.get(reverse("run-progress", args=["assignment", run.pk])).content.decode()
    assert 'hx-trigger="every 2s"' in content
    assert 'aria-valuenow="40"' in content


def test_a_refused_copy_names_the_field(manager, world):
    copy = reverse("territories:model-copy", args=[world.model.pk])
    response = manager.post(copy, {"code": world.model.code, "name": "Again"})
    assert [str(m) for m in manager.get(response.url).context["messages"]] == [
        "Plan not copied: Code: A territory model with this code already exists."
    ]
    response = manager.post(copy, {"code": "not a slug", "name": "X"})
    assert str(next(iter(manager.get(response.url).context["messages"]))).startswith("Plan not copied: Code: ")


def test_it_copies_a_model_as_a_plan_and_shows_the_diff(manager, world, django_capture_on_commit_callbacks):
    response = manager.post(
        reverse("territories:model-copy", args=[world.model.pk]), {"code": "fy-plan", "name": "FY plan"}
    )
    plan = TerritoryModel.objects.get(code="fy-plan")
    assert response.url == reverse("territories:model-detail", args=[plan.pk])
    assert set(plan.territories.values_list("code", flat=True)) == {"west", "west-ca", "west-or"}
    assert AuditEntry.objects.filter(object_type="territories.territorymodel", object_id=str(plan.pk)).exists()
    # The plan puts Beaver (Oregon) in California: a run computes it, the diff shows the move.
    plan_ca = plan.territories.get(code="west-ca")
    factories.make_rule(plan_ca, {"field": "country", "values": ["US"]})
    factories.make_rule(plan.territories.get(code="west"), {"field": "country", "values": ["US"]})
    with django_capture_on_commit_callbacks(execute=True):
        manager.post(reverse("territories:model-run", args=[plan.pk]))
    diff = manager.get(reverse("territories:model-detail", args=[plan.pk])).context["diff"]
    by_code = {t["code"]: t for t in diff["territories"]}
    assert by_code["west-ca"]["accounts_before"] == 1
    assert by_code["west-ca"]["accounts_after"] == 2
    assert by_code["west-or"]["accounts_after"] == 0
    assert diff["moved_accounts"] == 1 and not diff["outdated"]


def test_the_diff_follows_the_plans_latest_run_and_the_alignment(manager, world, django_capture_on_commit_callbacks):
    plan = factories.make_territory_model(code="fy-plan", name="FY plan")
    factories.make_rule(factories.make_territory(plan, code="west"), {"field": "country", "values": ["US"]})
    detail = reverse("territories:model-detail", args=[plan.pk])
    with django_capture_on_commit_callbacks(execute=True):
        manager.post(reverse("territories:model-run", args=[plan.pk]))
    first_run = AssignmentRun.objects.get(territory_model=plan)
    stored = manager.get(detail).context["diff"]
    assert stored["moved_accounts"] == 2 and stored["compared_with"] == world.model  # both accounts join west
    assert stored["run"] == first_run and not stored["pending"]
    # The page reads what the task stored: the plan's rows changing behind it do not show.
    answers = PlanAccountAnswer.objects.filter(territory_model=plan)
    answers.exclude(account_id=answers.order_by("account_id").first().account_id).delete()
    assert plan.planned_accounts.count() == 1
    assert manager.get(detail).context["diff"]["moved_accounts"] == 2

    # A new run whose diff task has not run yet: the previous figures, marked as being recomputed.
    with django_capture_on_commit_callbacks() as callbacks:
        manager.post(reverse("territories:model-run", args=[plan.pk]))
    (run_task,) = callbacks
    run_task()  # the run, not the diff task it queues on commit
    page = manager.get(detail)
    assert page.context["diff"]["pending"] and page.context["diff"]["moved_accounts"] == 2
    assert 'id="diff-pending"' in page.content.decode()

    # Another alignment becomes active: until the refresh it queues on commit runs, the stored diff says it
    # compared with the archived one; then it compares with the new alignment (which holds no account).
    other = factories.make_territory_model(code="other", name="Other")
    with django_capture_on_commit_callbacks() as callbacks:
        manager.post(reverse("territories:model-activate", args=[other.pk]), {"effective_from": "", "confirm": "on"})
    (activation_task,) = callbacks
    with django_capture_on_commit_callbacks() as callbacks:
        activation_task()  # the activation run, not the diff refreshes it queues on commit
    page = manager.get(detail)
    assert page.context["diff"]["outdated"] and page.context["diff"]["pending"]
    assert "no longer active" in page.content.decode()
    for callback in callbacks:
        callback()
    diff = manager.get(detail).context["diff"]
    assert (diff["compared_with"], diff["pending"], diff["outdated"]) == (other, False, False)
    assert diff["run"] == AssignmentRun.objects.filter(territory_model=plan).latest("finished_at")
    # The second run rewrote the plan (both accounts in west again); the new alignment holds none of them.
    assert diff["moved_accounts"] == 2 and {m["to_codes"][0] for m in diff["moves"]} == {"west"}


def test_the_diff_section_polls_while_a_diff_is_pending(manager, world, django_capture_on_commit_callbacks):
    plan = factories.make_territory_model(code="fy-plan", name="FY plan")
    factories.make_rule(factories.make_territory(plan, code="west"), {"field": "country", "values": ["US"]})
    section = reverse("territories:model-diff", args=[plan.pk])
    with django_capture_on_commit_callbacks() as callbacks:
        manager.post(reverse("territories:model-run", args=[plan.pk]))
    (run_task,) = callbacks
    run_task()  # the run, not the diff task it queues on commit
    pending = manager.get(section).content.decode()
    assert "every 3s" in pending and 'id="diff-pending"' in pending and "diff-table" not in pending
    assert plan_diffs_sweep() == 1  # the beat sweep queues it (Celery is eager in tests)
    current = manager.get(section).content.decode()
    assert "every 3s" not in current and "run-finished from:body" in current and "diff-table" in current
    assert plan_diffs_sweep() == 0
    # Moving accounts by name, not by id.
    assert f"{world.account_a.name} (geographic)" in current and f"Account {world.account_a.pk} " not in current


def test_a_finished_run_tells_the_page(manager, world):
    finished = AssignmentRun.objects.create(territory_model=world.model, status="succeeded", progress=100)
    assert manager.get(reverse("run-progress", args=["assignment", finished.pk]))["HX-Trigger"] == "run-finished"
    running = AssignmentRun.objects.create(territory_model=world.model, status="running", progress=40)
    assert "HX-Trigger" not in manager.get(reverse("run-progress", args=["assignment", running.pk]))


def test_it_activates_a_plan_only_when_confirmed(manager, world, django_capture_on_commit_callbacks):
    plan = factories.make_territory_model(code="plan-2", name="Plan 2")
    response = manager.post(reverse("territories:model-activate", args=[plan.pk]), {"effective_from": ""})
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.state == "planning"
    assert [str(m) for m in manager.get(response.url).context["messages"]] == [
        "Tick the box to confirm: activating replaces the live alignment for everyone."
    ]
    with django_capture_on_commit_callbacks(execute=True):
        response = manager.post(
            reverse("territories:model-activate", args=[plan.pk]), {"effective_from": "", "confirm": "on"}
        )
    assert response.status_code == 302
    plan.refresh_from_db()
    world.model.refresh_from_db()
    assert (plan.state, world.model.state) == ("active", "archived")


def test_a_queued_activation_shows_its_progress_instead_of_a_second_form(manager, world):
    plan = factories.make_territory_model(code="plan-2", name="Plan 2")
    other = factories.make_territory_model(code="plan-3", name="Plan 3")
    response = manager.post(
        reverse("territories:model-activate", args=[plan.pk]), {"effective_from": "2031-01-01", "confirm": "on"}
    )  # its task waits for the commit, which this test's transaction never makes
    run = AssignmentRun.objects.get(territory_model=plan, activation=True)
    assert [str(m) for m in manager.get(response.url).context["messages"]] == [
        "Activation of Plan 2 from 2031-01-01 queued: its progress shows below."
    ]
    page = manager.get(reverse("territories:model-detail", args=[plan.pk])).content.decode()
    assert 'id="activate"' not in page and 'id="delete-plan"' not in page
    assert "Activation of Plan 2 from 2031-01-01 is queued: its progress shows under Assignment." in page
    assert f'id="run-assignment-{run.pk}"' in page and "Activation of Plan 2 from 2031-01-01</span>" in page
    page = manager.get(reverse("territories:model-detail", args=[other.pk])).content.decode()
    assert 'id="activate"' not in page and "activate this plan once it has finished" in page
    refused = manager.post(reverse("territories:model-activate", args=[other.pk]), {"confirm": "on"})
    assert [str(m) for m in manager.get(refused.url).context["messages"]] == [
        "Another activation is queued or running: wait for it to finish, then activate."
    ]
    assert TerritoryModel.objects.get(pk=plan.pk).state == "planning"
    refused = manager.post(reverse("territories:model-run", args=[plan.pk]), HTTP_HX_REQUEST="true")
    assert (
        'role="alert"' in refused.content.decode() and "An activation is queued or running" in refused.content.decode()
    )
    assert not AssignmentRun.objects.filter(territory_model=plan, activation=False).exists()
    AssignmentRun.objects.filter(pk=run.pk).update(status="succeeded", progress=100)
    polled = manager.get(reverse("run-progress", args=["assignment", run.pk])).content.decode()
    assert "Plan 2 is the active alignment from 2031-01-01: reload" in polled


def test_it_creates_a_territory_with_a_rule(manager, world):
    response = manager.post(
        reverse("territories:create", args=[world.model.pk]),
        {
            "code": "west-wa",
            "name": "Washington",
            "kind": "geographic",
            "parent": world.west.pk,
            "priority": 0,
            "value_tier": 2,
            "rule-field": "region",
            "rule-operator": "in",
            "rule-values": "WA, wa",
        },
    )
    territory = Territory.objects.get(territory_model=world.model, code="west-wa")
    assert response.url == reverse("territories:detail", args=[territory.pk])
    criterion = RuleCriterion.objects.get(rule__territory=territory)
    assert (criterion.field, criterion.values) == ("region", ["WA", "wa"])
    assert AuditEntry.objects.filter(territory_code="west-wa").count() == 2


def test_it_shows_form_errors_next_to_the_fields(manager, world):
    response = manager.post(
        reverse("territories:create", args=[world.model.pk]),
        {"code": "west", "name": "", "kind": "geographic", "priority": 0, "value_tier": 2},
    )
    assert response.status_code == 400
    assert "name" in response.context["form"].errors
    assert 'aria-invalid="true"' in response.content.decode()


def test_it_refuses_a_criterion_the_kind_does_not_allow(manager, world):
    response = manager.post(
        reverse("territories:create", args=[world.model.pk]),
        {
            "code": "geo-x",
            "name": "Geo X",
            "kind": "geographic",
            "priority": 0,
            "value_tier": 2,
            "rule-field": "industry",
            "rule-operator": "in",
            "rule-values": "retail",
        },
    )
    assert response.status_code == 400
    assert not Territory.objects.filter(code="geo-x").exists()


def test_it_edits_a_territory_and_records_what_changed(manager, world):
    response = manager.post(
        reverse("territories:edit", args=[world.model.pk, world.west_or.pk]),
        {
            "code": "west-or",
            "name": "Oregon State",
            "kind": "geographic",
            "parent": world.west.pk,
            "priority": 3,
            "value_tier": 2,
        },
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.filter(territory_code="west-or", action="update").get()
    assert entry.changes["name"] == ["Oregon", "Oregon State"]
    assert entry.changes["priority"] == [0, 3]


@pytest.mark.parametrize(
    ("criterion", "expected"),
    [
        ({"rule-field": "city", "rule-operator": "in", "rule-values": "san francisco"}, 2),
        ({"rule-field": "postal_code", "rule-operator": "prefix", "rule-values": "941"}, 2),
        (
            {
                "rule-field": "postal_code",
                "rule-operator": "range",
                "rule-range_start": "94000",
                "rule-range_end": "94100",
            },
            0,
        ),
        ({"rule-field": "employees", "rule-operator": "range", "rule-min_value": "300"}, 1),
    ],
)
def test_it_previews_how_many_accounts_a_criterion_matches(manager, world, criterion, expected):
    world.account_b.employees = 500
    world.account_b.save()
    response = manager.post(reverse("territories:rule-preview"), criterion)
    assert response.context["count"] == expected


def test_it_refuses_planning_actions_to_a_rep(client, world):
    client.force_login(world.rep_a.user)
    assert client.get(reverse("territories:model-detail", args=[world.model.pk])).status_code == 403
    assert client.post(reverse("territories:model-run", args=[world.model.pk])).status_code == 403
    assert client.post(reverse("territories:model-activate", args=[world.model.pk])).status_code == 403
    assert client.get(reverse("territories:edit", args=[world.model.pk, world.west_ca.pk])).status_code == 403
    assert not AssignmentRun.objects.exists()


def test_it_sets_a_target_and_marks_the_rollups_dirty(manager, world, django_capture_on_commit_callbacks, monkeypatch):
    from kpis.models import KpiDefinition, KpiTarget

    marked = []
    monkeypatch.setattr(
        "kpis.services.rollups_mark_dirty",
        lambda *, territory_ids, targets_only: marked.extend((pk, targets_only) for pk in territory_ids),
    )
    revenue = KpiDefinition.objects.get(code="revenue")
    with django_capture_on_commit_callbacks(execute=True):
        response = manager.post(
            reverse("kpis:target-set", args=[world.west_or.pk]),
            {"kpi": revenue.pk, "period_type": "quarter", "period_start": world.period.start, "value": "1500"},
        )
    assert response.status_code == 302
    target = KpiTarget.objects.get(territory=world.west_or, kpi=revenue, period_start=world.period.start)
    assert target.value == 1500  # replaced the 3000 of the world
    assert marked == [(world.west_or.pk, True)]  # on commit, through core.hooks: its targets only
    detail = manager.get(response.url)
    row = next(r for r in detail.context["kpi_rows"] if r["as_of"].kpi.code == "revenue")
    assert row["as_of"].attainment.quantize(Decimal("0.01")) == Decimal("0.67")  # 1000 of 1500


def test_it_refuses_a_target_on_a_day_that_starts_no_period(manager, world):
    from kpis.models import KpiDefinition, KpiTarget

    revenue = KpiDefinition.objects.get(code="revenue")
    manager.post(
        reverse("kpis:target-set", args=[world.west_or.pk]),
        {"kpi": revenue.pk, "period_type": "quarter", "period_start": "2025-02-01", "value": "10"},
    )
    assert not KpiTarget.objects.filter(territory=world.west_or, period_start="2025-02-01").exists()


def test_it_assigns_a_rep_and_refuses_a_second_owner(manager, world):
    from territories.models import RepAssignment

    carol = factories.make_rep(name="Carol Rep")
    today = world.period.start
    url = reverse("territories:assignment-add", args=[world.west_or.pk])
    manager.post(url, {"rep": carol.pk, "role": "overlay", "start_date": today, "allocation_percent": 50})
    assert RepAssignment.objects.filter(rep=carol, territory=world.west_or, role="overlay").exists()

    response = manager.post(url, {"rep": carol.pk, "role": "owner", "start_date": today, "allocation_percent": 100})
    page = manager.get(response.url).content.decode()
    assert not RepAssignment.objects.filter(rep=carol, role="owner").exists()
    assert "already has an owner" in page


def test_it_refuses_target_and_assignment_changes_to_a_rep(client, world):
    client.force_login(world.rep_a.user)
    assert client.post(reverse("kpis:target-set", args=[world.west_ca.pk]), {}).status_code == 403
    assert client.post(reverse("territories:assignment-add", args=[world.west_ca.pk]), {}).status_code == 403


def test_an_archived_model_is_history_not_a_plan(manager, world):
    archived = factories.make_territory_model(code="fy24", name="FY24", state="archived")
    old_west = factories.make_territory(archived, code="west")
    page = manager.get(reverse("territories:model-detail", args=[archived.pk])).content.decode()
    assert 'id="run-assignment"' not in page and "is history" in page
    response = manager.post(reverse("territories:model-run", args=[archived.pk]))
    assert response.status_code == 302 and not AssignmentRun.objects.filter(territory_model=archived).exists()
    detail = manager.get(reverse("territories:detail", args=[old_west.pk])).content.decode()
    assert (
        'id="target-form"' not in detail and reverse("territories:edit", args=[archived.pk, old_west.pk]) not in detail
    )
    from tests.api.helpers import client_for, url

    api = client_for(world.manager_user).post(
        url("assignment-run-list"), {"territory_model": archived.pk}, format="json"
    )
    assert api.status_code == 400 and "territory_model" in api.json()


def test_the_diff_says_when_the_plan_changed_after_its_run(manager, world, django_capture_on_commit_callbacks):
    from tests.api.helpers import client_for, url

    plan = factories.make_territory_model(code="fy-plan", name="FY plan")
    rule = factories.make_rule(factories.make_territory(plan, code="west"), {"field": "country", "values": ["US"]})
    section = reverse("territories:model-diff", args=[plan.pk])

    def run_and_compare():
        with django_capture_on_commit_callbacks() as callbacks:
            manager.post(reverse("territories:model-run", args=[plan.pk]))
        callbacks[0]()  # the run
        plan_diffs_sweep()  # its diff

    run_and_compare()
    assert 'id="diff-plan-changed"' not in manager.get(section).content.decode()
    criterion = rule.criteria.get()
    criterion.values = ["US", "CA"]
    criterion.save()
    assert 'id="diff-plan-changed"' in manager.get(section).content.decode()
    assert client_for(world.manager_user).get(url("territory-model-diff", plan.pk)).json()["plan_changed"] is True
    run_and_compare()
    assert 'id="diff-plan-changed"' not in manager.get(section).content.decode()
