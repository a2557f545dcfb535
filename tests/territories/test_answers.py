"""A full run of the active model diffs only the accounts whose answer changed since it was last written
(territories_engine_answer, kept honest by triggers on the membership table): it must still notice an
account whose class changed, one whose class answer changed, pins coming and going, and membership rows
changed behind its back — and write exactly the history a full diff would."""

from collections import Counter
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from accounts.models import Account
from territories import engine, services
from territories.models import (
    AccountTerritoryMembership,
    AssignmentOverlap,
    AssignmentRun,
    RuleCriterion,
    Territory,
    TerritoryOverride,
)
from tests import factories
from tests.territories.reference import reference_assign
from tests.territories.test_properties import COUNTRIES, POSTALS, REGIONS, build, territory_strategy

SOURCE_CODES = {"override": 0, "named": 1, "rule": 2}


def full_run(model) -> AssignmentRun:
    return services.assignment_run_execute(run=AssignmentRun.objects.create(territory_model=model))


def stored_answers() -> dict[int, list[int]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT account_id, sig FROM {engine.ANSWER_TABLE}")
        return {account_id: sorted(sig) for account_id, sig in cursor.fetchall()}


def assert_answers_match_memberships() -> None:
    """The invariant the skip rests on: a stored answer is exactly its account's current rows."""
    rows: dict[int, list[int]] = {}
    for account_id, territory_id, source in AccountTerritoryMembership.objects.filter(valid_to=None).values_list(
        "account_id", "territory_id", "source"
    ):
        rows.setdefault(account_id, []).append(territory_id * 4 + SOURCE_CODES[source])
    for account_id, sig in stored_answers().items():
        assert sig == sorted(rows.get(account_id, [])), (
            f"account {account_id}: stored {sig}, rows {rows.get(account_id)}"
        )


@pytest.fixture
def scopes(monkeypatch):
    """Per run: the accounts the run diffed, or None when it diffed everyone."""
    seen = []
    original = engine._answer_scope

    def spy(cursor, *args, **kwargs):
        scoped = original(cursor, *args, **kwargs)
        if scoped:
            cursor.execute("SELECT account_id FROM _engine_scope")
        seen.append(sorted(row[0] for row in cursor.fetchall()) if scoped else None)
        return scoped

    monkeypatch.setattr(engine, "_answer_scope", spy)
    return seen


@pytest.fixture
def alignment():
    model = factories.make_territory_model(code="fy26", state="active")
    west = factories.make_territory(model, code="west")
    factories.make_rule(west, {"field": "region", "values": ["CA"]})
    east = factories.make_territory(model, code="east")
    factories.make_rule(east, {"field": "region", "values": ["NY"]})
    factories.make_territory(model, code="tech", kind="vertical")
    factories.make_rule(Territory.objects.get(code="tech"), {"field": "industry", "values": ["technology"]})
    return model


def codes(account) -> set[tuple[str, str]]:
    return set(
        AccountTerritoryMembership.objects.filter(account=account, valid_to=None).values_list(
            "territory__code", "source"
        )
    )


@pytest.mark.django_db(databases=["default", "progress"])
def test_a_rerun_diffs_only_an_account_whose_class_changed(alignment, scopes):
    mover = factories.make_account(region="CA", industry="technology")
    others = [factories.make_account(region="NY", industry="retail") for _ in range(4)]
    full_run(alignment)
    assert scopes == [None]  # nothing stored yet: everyone
    assert_answers_match_memberships()
    assert set(stored_answers()) == {mover.pk, *(a.pk for a in others)}
    Account.objects.filter(pk=mover.pk).update(region="NY")  # no signal: no incremental reassignment
    run = full_run(alignment)
    assert scopes[-1] == [mover.pk]
    assert run.counts["opened"] == 1 and run.counts["closed"] == 1 and run.counts["deep"] == 6
    assert codes(mover) == {("east", "rule"), ("tech", "rule")}
    assert_answers_match_memberships()
    again = full_run(alignment)
    assert scopes[-1] == [] and again.counts["opened"] == again.counts["closed"] == 0
    assert again.counts["deep"] == 6


@pytest.mark.django_db(databases=["default", "progress"])
def test_a_rerun_notices_accounts_whose_class_answer_changed(alignment, scopes):
    moved = [factories.make_account(region="TX", industry="retail") for _ in range(2)]
    stay = [factories.make_account(region="NY", industry="retail") for _ in range(3)]
    full_run(alignment)
    assert all(codes(account) == set() for account in moved)
    RuleCriterion.objects.filter(rule__territory__code="west").update(values=["CA", "TX"])
    full_run(alignment)
    assert scopes[-1] == sorted(a.pk for a in moved)
    assert all(codes(account) == {("west", "rule")} for account in moved)
    assert all(codes(account) == {("east", "rule")} for account in stay)
    assert_answers_match_memberships()


@pytest.mark.django_db(databases=["default", "progress"])
def test_a_rerun_notices_an_override_set_and_removed(alignment, scopes):
    account = factories.make_account(region="CA")
    for _ in range(4):
        factories.make_account(region="NY")
    full_run(alignment)
    override = TerritoryOverride.objects.create(
        territory=Territory.objects.get(code="east"), account=account, reason="VIP"
    )
    full_run(alignment)
    assert scopes[-1] == [account.pk]
    assert codes(account) == {("east", "override"), ("tech", "rule")}
    override.delete()
    full_run(alignment)
    assert scopes[-1] == [account.pk]
    assert codes(account) == {("west", "rule"), ("tech", "rule")}
    assert_answers_match_memberships()


@pytest.mark.django_db(databases=["default", "progress"])
def test_membership_rows_changed_behind_the_engines_back_are_rediffed(alignment, scopes):
    deleted, edited, untouched = (factories.make_account(region="CA") for _ in range(3))
    for _ in range(4):
        factories.make_account(region="NY")
    full_run(alignment)
    AccountTerritoryMembership.objects.filter(account=deleted).delete()
    AccountTerritoryMembership.objects.filter(account=edited).update(source="named")
    assert deleted.pk not in stored_answers() and edited.pk not in stored_answers()  # the triggers forgot them
    assert untouched.pk in stored_answers()
    full_run(alignment)
    assert scopes[-1] == sorted([deleted.pk, edited.pk])
    assert codes(deleted) == codes(edited) == codes(untouched) == {("west", "rule"), ("tech", "rule")}
    assert_answers_match_memberships()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE; TRUNCATE territories_accountterritorymembership")
    assert stored_answers() == {}


@pytest.mark.django_db(databases=["default", "progress"])
def test_an_incremental_reassignment_forgets_the_accounts_stored_answer(alignment, scopes):
    account = factories.make_account(region="CA")
    for _ in range(4):
        factories.make_account(region="NY")
    full_run(alignment)
    Account.objects.filter(pk=account.pk).update(region="NY")
    services.account_reassign(account_ids=[account.pk])
    assert account.pk not in stored_answers()
    assert_answers_match_memberships()
    run = full_run(alignment)
    assert scopes[-1] == [account.pk] and run.counts["opened"] == run.counts["closed"] == 0
    assert codes(account) == {("east", "rule"), ("tech", "rule")}
    assert_answers_match_memberships()


@pytest.mark.django_db(databases=["default", "progress"])
def test_a_bulk_load_rewrites_the_stored_answers(alignment, scopes, monkeypatch):
    monkeypatch.setattr(services, "BULK_LOAD_MIN_ROWS", 1)
    accounts = [factories.make_account(region="CA", industry="technology") for _ in range(3)]
    full_run(alignment)
    assert set(stored_answers()) == {a.pk for a in accounts}
    assert_answers_match_memberships()
    with connection.cursor() as cursor:  # the triggers are back on
        cursor.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'territories_accountterritorymembership'::regclass"
            " AND tgname LIKE 'territories_engine_answer%%' AND tgenabled = 'O'"
        )
        assert cursor.fetchone()[0] == 4
    AccountTerritoryMembership.objects.filter(account=accounts[0]).delete()
    assert accounts[0].pk not in stored_answers()


@pytest.mark.django_db(databases=["default", "progress"])
def test_an_activation_compares_no_answer_and_stores_the_new_models(alignment, scopes):
    """No current row is in the new model's territories: every answer is new, none is compared (no
    _engine_scope), and the stored answers are the new model's rows, which a re-run then leaves alone."""
    accounts = [factories.make_account(region=region, industry="technology") for region in ("CA", "NY", "TX")]
    full_run(alignment)
    plan = services.territory_model_copy(source=alignment, code="fy27", name="FY27")
    full_run(plan)
    scopes.clear()
    statements = []
    with connection.execute_wrapper(lambda execute, sql, *args: statements.append(sql) or execute(sql, *args)):
        services.territory_model_activate(model=plan)
    assert scopes == [None]
    assert not any("CREATE TEMP TABLE _engine_scope " in sql for sql in statements)
    assert set(stored_answers()) == {a.pk for a in accounts}
    assert_answers_match_memberships()
    plan.refresh_from_db()
    run = full_run(plan)
    assert (run.counts["opened"], run.counts["closed"]) == (0, 0)
    assert scopes[-1] == []


class SkippingRunMatchesReferenceTests(TestCase):
    """Random alignments, a first run, then random changes that bypass the incremental path (account fields,
    a criterion's values, overrides, membership rows deleted); the next full run — diffing only what it
    thinks changed — must leave exactly the reference's current memberships and overlaps."""

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        many=st.lists(
            st.fixed_dictionaries(
                {
                    "country": st.sampled_from(COUNTRIES),
                    "region": st.sampled_from(REGIONS),
                    "city": st.sampled_from(["Paris", "Berlin"]),
                    "postal_code": st.sampled_from(POSTALS),
                    "industry": st.sampled_from(["technology", "retail"]),
                    "business_type": st.sampled_from(["B2B", "B2C"]),
                    "employees": st.sampled_from([None, 5, 250]),
                    "annual_revenue": st.sampled_from([None, Decimal("0"), Decimal("1000")]),
                }
            ),
            min_size=8,
            max_size=24,
        ),
        territories_data=st.lists(territory_strategy, min_size=1, max_size=7),
        account_changes=st.lists(
            st.tuples(st.integers(0, 23), st.sampled_from(["region", "postal_code", "country"]), st.integers(0, 6)),
            max_size=3,
        ),
        criterion_change=st.none() | st.tuples(st.integers(0, 20), st.sampled_from([["CA"], ["941"], ["us", "ny"]])),
        override_change=st.none() | st.tuples(st.integers(0, 23), st.integers(0, 6)),
        drop_overrides=st.booleans(),
        tamper=st.none() | st.integers(0, 23),
    )
    def test_it_leaves_the_reference_answer(
        self, many, territories_data, account_changes, criterion_change, override_change, drop_overrides, tamper
    ):
        model = build(many, territories_data, [])
        with transaction.atomic():
            services.assignment_apply(model=model)
        accounts = list(Account.objects.order_by("pk"))
        pools = {"region": REGIONS, "postal_code": POSTALS, "country": COUNTRIES}
        for index, field, value in account_changes:
            pool = pools[field]
            Account.objects.filter(pk=accounts[index % len(accounts)].pk).update(**{field: pool[value % len(pool)]})
        criteria = list(RuleCriterion.objects.filter(rule__territory__territory_model=model).order_by("pk"))
        if criterion_change and criteria:
            index, values = criterion_change
            RuleCriterion.objects.filter(pk=criteria[index % len(criteria)].pk).update(values=values)
        if drop_overrides:
            TerritoryOverride.objects.filter(territory__territory_model=model).delete()
        territories = list(Territory.objects.filter(territory_model=model).order_by("pk"))
        if override_change:
            account_index, territory_index = override_change
            territory = territories[territory_index % len(territories)]
            if territory.kind != "product":
                TerritoryOverride.objects.get_or_create(
                    territory=territory, account=accounts[account_index % len(accounts)], defaults={"reason": "t"}
                )
        if tamper is not None:
            AccountTerritoryMembership.objects.filter(account=accounts[tamper % len(accounts)]).delete()
        with transaction.atomic():
            services.assignment_apply(model=model)
        expected = reference_assign(model)
        current = list(
            AccountTerritoryMembership.objects.filter(valid_to=None).values_list("account_id", "territory_id", "source")
        )
        # As a multiset: no duplicate open rows either.
        self.assertEqual(Counter(current), Counter(expected["deep"]))
        overlaps = set(
            AssignmentOverlap.objects.filter(territory_model=model).values_list(
                "account_id", "winner_id", "loser_id", "reason"
            )
        )
        self.assertEqual(overlaps, expected["overlaps"])
        assert_answers_match_memberships()


@pytest.mark.django_db(databases=["default", "progress"])
def test_the_first_write_opens_the_classes_rows_straight_from_the_representatives(alignment, monkeypatch):
    accounts = [factories.make_account(region=region, industry="technology") for region in ("CA", "NY", "CA")]
    written = []
    original = services._membership_write

    def spy(**kwargs):
        written.append(bool(kwargs.get("deep_rest")))
        return original(**kwargs)

    monkeypatch.setattr(services, "_membership_write", spy)
    run = full_run(alignment)
    assert written == [True, False]  # accounts deferred, deals as ever
    assert run.counts["deep"] == run.counts["opened"] == 6
    assert {a.pk: codes(a) for a in accounts} == {
        a.pk: {(a.region == "CA" and "west" or "east", "rule"), ("tech", "rule")} for a in accounts
    }
    assert_answers_match_memberships()


@pytest.mark.django_db(databases=["default", "progress"])
def test_a_row_written_between_compute_and_first_write_turns_the_deferred_rows_into_a_diff(alignment):
    """An incremental reassignment committing between the engine's look at the empty table and the writer's:
    the deferred rows join the answer and are diffed, so the result is the same full answer."""
    accounts = [factories.make_account(region=region, industry="technology") for region in ("CA", "NY")]
    with transaction.atomic():
        counts = engine.assignment_compute(model_id=alignment.pk, skip_unchanged=True)
        sql, rows = counts.pop("_deep_rest")
        assert rows == 4
        # Every account's signature (the query, their number), stored by the writer.
        answers_source, answers_rows = counts.pop("_answers_source")
        assert answers_rows == len(accounts)
        AccountTerritoryMembership.objects.create(
            account=accounts[0], territory=Territory.objects.get(code="west"), source="rule", valid_from=date.today()
        )
        services._history_write(
            effective=services._effective_date(alignment),
            account_ids=None,
            answers="full",
            deep_rest=(sql, rows),
            answers_source=answers_source,
        )
    assert [codes(a) for a in accounts] == [
        {("west", "rule"), ("tech", "rule")},
        {("east", "rule"), ("tech", "rule")},
    ]
    assert AccountTerritoryMembership.objects.filter(valid_to=None).count() == 4
    assert_answers_match_memberships()
