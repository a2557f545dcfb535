"""A plan stores one answer signature per account; each run rewrites only the accounts whose answer changed
and drops the accounts that no longer exist."""

import pytest
from django.db import connection

from accounts.models import Account
from territories import services
from territories.models import AssignmentRun, PlanAccountAnswer, PlannedAccountTerritory, RuleCriterion
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan():
    active = factories.make_territory_model(code="fy", name="FY", state="active")
    west = factories.make_territory(active, code="west")
    factories.make_rule(west, {"field": "region", "values": ["CA"]})
    factories.make_rule(factories.make_territory(active, code="east"), {"field": "region", "values": ["NY"]})
    for region in ("CA", "CA", "NY", "TX"):
        factories.make_account(region=region)
    return services.territory_model_copy(source=active, code="plan", name="Plan")


def plan_run(plan) -> AssignmentRun:
    run = services.assignment_run_execute(run=AssignmentRun.objects.create(territory_model=plan))
    assert run.status == "succeeded", run.error
    return run


def planned(plan) -> set[tuple[int, str, str]]:
    rows = PlannedAccountTerritory.objects.filter(territory_model=plan)
    return set(rows.values_list("account_id", "territory__code", "source"))


def test_a_plan_run_stores_every_accounts_answer_once_and_then_only_the_changes(plan):
    run = plan_run(plan)
    ca, ca2, ny, tx = Account.objects.order_by("pk")
    expected = {(ca.pk, "west", "rule"), (ca2.pk, "west", "rule"), (ny.pk, "east", "rule")}
    assert planned(plan) == expected
    assert run.counts["planned"] == 3 and run.counts["plan_accounts_changed"] == 4  # TX: an empty answer
    assert PlanAccountAnswer.objects.get(territory_model=plan, account=tx).sig == []

    assert plan_run(plan).counts["plan_accounts_changed"] == 0  # nothing changed: nothing written
    RuleCriterion.objects.filter(rule__territory__territory_model=plan, rule__territory__code="east").update(
        values=["NY", "TX"]
    )
    run = plan_run(plan)
    assert run.counts["plan_accounts_changed"] == 1
    assert planned(plan) == expected | {(tx.pk, "east", "rule")}


def test_a_plans_first_run_stores_the_engines_signatures_without_comparing_them(plan):
    """Nothing is stored yet, so the run loads every account's signature straight from the engine's query;
    the next run compares with what the first stored (and finds nothing to write)."""
    statements = []
    with connection.execute_wrapper(lambda execute, sql, *args: statements.append(sql) or execute(sql, *args)):
        plan_run(plan)
    assert not any("CREATE TEMP TABLE _engine_scope " in sql for sql in statements)
    assert PlanAccountAnswer.objects.filter(territory_model=plan).count() == Account.objects.count() == 4

    statements.clear()
    with connection.execute_wrapper(lambda execute, sql, *args: statements.append(sql) or execute(sql, *args)):
        assert plan_run(plan).counts["plan_accounts_changed"] == 0
    assert any("CREATE TEMP TABLE _engine_scope " in sql for sql in statements)


def test_an_account_deleted_since_leaves_the_plan_at_its_next_run(plan):
    plan_run(plan)
    gone = Account.objects.get(region="NY")
    gone_id = gone.pk
    gone.delete()  # no history: it may be deleted; its plan answer stays until the plan runs again
    assert PlanAccountAnswer.objects.filter(territory_model=plan, account_id=gone_id).exists()
    run = plan_run(plan)
    assert run.counts["plan_accounts_changed"] == 1
    assert not PlanAccountAnswer.objects.filter(territory_model=plan, account_id=gone_id).exists()
    assert {code for _account, code, _source in planned(plan)} == {"west"}


def test_deleting_a_plan_deletes_its_answers(plan):
    plan_run(plan)
    plan.delete()
    assert not PlanAccountAnswer.objects.exists()


def test_a_plans_first_answers_load_in_bulk_and_keep_the_key(plan, monkeypatch):
    monkeypatch.setattr(services, "BULK_LOAD_MIN_ROWS", 1)
    loads = []
    begin = services._bulk_load_begin

    def recorded(cursor, *, table):
        loads.append(table)
        return begin(cursor, table=table)

    monkeypatch.setattr(services, "_bulk_load_begin", recorded)
    plan_run(plan)
    assert "territories_planaccountanswer" in loads
    assert len(planned(plan)) == 3
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = 'territories_planaccountanswer'::regclass AND contype = 'p'"
        )
        assert cursor.fetchall() == [("PRIMARY KEY (territory_model_id, account_id)",)]
    loads.clear()
    plan_run(plan)  # later runs write only the changes, through the key
    assert "territories_planaccountanswer" not in loads
