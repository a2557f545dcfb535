"""Runs, history, incremental reassignment, planning → diff → activation, coverage and validation."""

from datetime import date, timedelta
from decimal import Decimal
from io import StringIO

import psycopg2
import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Account
from core import roles
from territories import services
from territories.choices import RunStatus, TerritoryModelState
from territories.models import (
    AccountTerritoryMembership,
    AssignmentRun,
    DealTerritoryMembership,
    RepAssignment,
    Territory,
    TerritoryModel,
    TerritoryOverride,
)
from territories.selectors import (
    coverage_gaps,
    coverage_overlaps,
    territories_without_accounts,
    territories_without_owner,
    territory_model_diff,
)
from territories.validation import rule_criterion_validate
from tests import factories
from tests.territories.helpers import current_deal_memberships, current_memberships, history_rows

pytestmark = pytest.mark.django_db(databases=["default", "progress"])
EARLIEST = date(1900, 1, 1)


def full_run(model) -> AssignmentRun:
    return services.assignment_run_execute(run=AssignmentRun.objects.create(territory_model=model))


@pytest.fixture
def alignment():
    model = factories.make_territory_model(code="fy26", state="active")
    west = factories.make_territory(model, code="west")
    factories.make_rule(west, {"field": "region", "values": ["CA"]})
    east = factories.make_territory(model, code="east")
    factories.make_rule(east, {"field": "region", "values": ["NY"]})
    return model


def test_it_writes_history_from_the_beginning_on_a_first_run_and_nothing_on_a_second(alignment):
    west_account = factories.make_account(region="CA")
    factories.make_account(region="NY")
    run = full_run(alignment)
    assert run.status == RunStatus.SUCCEEDED and run.progress == 100
    assert run.counts["opened"] == 2 and run.counts["closed"] == 0
    assert AccountTerritoryMembership.objects.get(account=west_account).valid_from == EARLIEST
    before = list(AccountTerritoryMembership.objects.order_by("id").values())
    again = full_run(alignment)
    assert again.counts["opened"] == 0 and again.counts["closed"] == 0
    assert list(AccountTerritoryMembership.objects.order_by("id").values()) == before


def test_it_closes_and_opens_rows_when_an_account_moves(alignment):
    account = factories.make_account(region="CA")
    full_run(alignment)
    account.region = "NY"
    account.save()
    run = full_run(alignment)
    today = timezone.localdate()
    assert run.counts["closed"] == 1 and run.counts["opened"] == 1
    assert history_rows() == [(account.pk, "east", today, None), (account.pk, "west", EARLIEST, today)]


def test_it_deletes_a_row_that_started_the_same_day(alignment):
    first = factories.make_account(region="CA")
    full_run(alignment)  # first has history from EARLIEST
    second = factories.make_account(region="TX")
    full_run(alignment)
    second.region = "CA"
    second.save()
    full_run(alignment)  # second's first row ever: from EARLIEST
    second.region = "NY"
    second.save()
    first.region = "NY"
    first.save()
    full_run(alignment)
    today = timezone.localdate()
    first.region = "CA"
    first.save()
    full_run(alignment)  # first's NY row started today and is gone again
    rows = [row for row in history_rows() if row[0] == first.pk]
    assert rows == [(first.pk, "west", EARLIEST, today), (first.pk, "west", today, None)]


HISTORY_TABLES = ("territories_accountterritorymembership", "territories_dealterritorymembership")


def _catalog() -> list:
    """What a bulk load must leave as it found it: columns, keys and indexes, constraints, triggers (and
    whether they fire), the identity column and its sequence."""
    rows = []
    with connection.cursor() as cursor:
        for table in HISTORY_TABLES:
            cursor.execute(
                """
                SELECT 'index', pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = %(t)s::regclass
                UNION ALL
                SELECT 'constraint', conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
                WHERE conrelid = %(t)s::regclass
                UNION ALL
                SELECT 'trigger', pg_get_triggerdef(oid) || ' ' || tgenabled::text FROM pg_trigger
                WHERE tgrelid = %(t)s::regclass AND NOT tgisinternal
                UNION ALL
                SELECT 'identity', attname || ' ' || attidentity::text || ' ' || pg_get_serial_sequence(%(t)s, attname)
                       || ' cache ' || s.seqcache || ' increment ' || s.seqincrement
                FROM pg_attribute
                JOIN pg_sequence s ON s.seqrelid = pg_get_serial_sequence(%(t)s, attname)::regclass
                WHERE attrelid = %(t)s::regclass AND attidentity <> ''
                UNION ALL
                SELECT 'columns', string_agg(attname || ' ' || format_type(atttypid, atttypmod) || ' ' || attnotnull
                                             || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), ''), ', '
                                             ORDER BY attnum)
                FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                WHERE attrelid = %(t)s::regclass AND attnum > 0 AND NOT attisdropped
                ORDER BY 1, 2
                """,
                {"t": table},
            )
            rows += [(table, *row) for row in cursor.fetchall()]
    return rows


def _record_bulk_loads(monkeypatch) -> list[str]:
    monkeypatch.setattr(services, "BULK_LOAD_MIN_ROWS", 1)
    with connection.cursor() as cursor:
        # Whether to load in bulk reads the table's row estimate, which an earlier test's (rolled back) bulk
        # load left behind (pg_class is updated in place): estimate the empty table afresh.
        cursor.execute("ANALYZE territories_accountterritorymembership; ANALYZE territories_dealterritorymembership")
    bulk_loads = []
    create = services.table_copy_create
    monkeypatch.setattr(
        services, "table_copy_create", lambda cursor, table: bulk_loads.append(table) or create(cursor, table=table)
    )
    return bulk_loads


def test_tables_loaded_in_bulk_have_no_foreign_keys_to_drop():
    # A plan table's bulk load drops and rebuilds indexes only: a foreign key would stay, checked row by row;
    # a history table's is rebuilt aside and swapped in, which a foreign key would forbid.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text FROM pg_constraint WHERE contype = 'f' AND conrelid = ANY(%s::regclass[])",
            [[*HISTORY_TABLES, "territories_plannedaccountterritory", "territories_planneddealterritory"]],
        )
        assert cursor.fetchall() == []


def _deal_in_a_product_line(alignment, account):
    """A deal of account whose product (sku S1) a product territory "line" of alignment holds."""
    product = factories.make_product(sku="S1")
    deal = factories.make_deal(account=account, product=product)
    line = factories.make_territory(alignment, code="line", kind="product")
    factories.make_rule(line, {"field": "product", "values": ["s1"]})
    return deal, line, product


def test_a_big_write_loads_in_bulk_with_the_same_history_and_restores_the_tables(alignment, monkeypatch):
    bulk_loads = _record_bulk_loads(monkeypatch)
    catalog = _catalog()
    assert {kind for _table, kind, _definition in catalog} == {"columns", "constraint", "identity", "index", "trigger"}
    mover = factories.make_account(region="CA")
    stayer = factories.make_account(region="NY")
    deal, line, _product = _deal_in_a_product_line(alignment, stayer)
    run = full_run(alignment)
    assert run.counts["opened"] == 2 and run.counts["deals_opened"] == 1
    assert bulk_loads == ["territories_accountterritorymembership", "territories_dealterritorymembership"]
    assert _catalog() == catalog
    mover.region = "NY"
    mover.save()
    newcomer = factories.make_account(region="CA")
    run = full_run(alignment)
    today = timezone.localdate()
    assert run.counts["opened"] == 2 and run.counts["closed"] == 1
    assert len(bulk_loads) == 3  # the account table again (2 to open against 3 rows); the deals did not change
    assert history_rows() == sorted(
        [
            (mover.pk, "east", today, None),
            (mover.pk, "west", EARLIEST, today),
            (stayer.pk, "east", EARLIEST, None),
            (newcomer.pk, "west", EARLIEST, None),
        ]
    )
    assert current_deal_memberships() == {(deal.pk, line.pk)}
    assert _catalog() == catalog
    # The identity continues where the swapped table's stopped.
    latest = AccountTerritoryMembership.objects.latest("id")
    added = AccountTerritoryMembership.objects.create(
        account=latest.account, territory=latest.territory, valid_from=EARLIEST, valid_to=date(1901, 1, 1)
    )
    assert added.pk > latest.pk
    taken = AccountTerritoryMembership.objects.first().pk
    with pytest.raises(IntegrityError), transaction.atomic():  # the primary key holds again
        AccountTerritoryMembership.objects.create(pk=taken, account=mover, territory=line, valid_from=today)


@pytest.fixture(params=[False, True], ids=["in place", "rebuilt aside"])
def write_mode(request, monkeypatch) -> tuple[bool, list[str]]:
    """Every full write in bulk or none: (whether, the tables rebuilt aside)."""
    monkeypatch.setattr(services, "_bulk_load_wanted", lambda cursor, *, table, to_open: request.param)
    return request.param, _record_bulk_loads(monkeypatch)


def test_a_bulk_write_writes_what_an_in_place_one_does(alignment, write_mode):
    bulk, swapped = write_mode
    mover = factories.make_account(region="CA")
    pinned = factories.make_account(region="NY")
    deal, line, product = _deal_in_a_product_line(alignment, mover)
    full_run(alignment)
    mover.region = "NY"
    mover.save()
    moved = full_run(alignment).counts
    # Back the same day (the NY row started today: deleted, not closed), and the pinned account's row, same
    # territory, is now held by an override (re-sourced in place).
    mover.region = "CA"
    mover.save()
    TerritoryOverride.objects.create(territory=Territory.objects.get(code="east"), account=pinned, reason="VIP")
    product.sku = "S2"
    product.save()
    back = full_run(alignment).counts
    today = timezone.localdate()
    assert (moved["opened"], moved["closed"], moved["deleted_same_day"]) == (1, 1, 0)
    assert (back["opened"], back["closed"], back["deleted_same_day"], back["source_changed"]) == (1, 0, 1, 1)
    assert (back["deals_opened"], back["deals_closed"]) == (0, 1)
    assert history_rows() == [
        (mover.pk, "west", EARLIEST, today),
        (mover.pk, "west", today, None),
        (pinned.pk, "east", EARLIEST, None),
    ]
    assert AccountTerritoryMembership.objects.get(account=pinned).source == "override"
    assert list(DealTerritoryMembership.objects.values_list("deal", "territory", "valid_from", "valid_to")) == [
        (deal.pk, line.pk, EARLIEST, today)
    ]
    assert bool(swapped) == bulk


def _read_beside(table: str, *, write: bool = False) -> int:
    """A page's read of the table on a connection of its own, giving up after 2 s of waiting for a lock;
    with write, also an insert, which must be the one to wait."""
    reader = psycopg2.connect(**connection.get_connection_params())
    try:
        with reader.cursor() as other:
            other.execute("SET lock_timeout = '2s'")
            other.execute(f"SELECT count(*) FROM {table}")  # a lock wait would raise here
            count = other.fetchone()[0]
            if write:
                with pytest.raises(psycopg2.errors.LockNotAvailable):
                    other.execute(f"INSERT INTO {table} (account_id, territory_id, valid_from) VALUES (1, 1, now())")
            return count
    finally:
        reader.close()


def test_readers_are_not_held_up_while_a_bulk_write_builds_its_tables(alignment, monkeypatch):
    """Until the swaps, the run's last statements, a page reads the previous rows without waiting; the
    run's lock holds off only writers."""
    swapped = _record_bulk_loads(monkeypatch)
    factories.make_account(region="CA")
    seen = []
    swap, deals_write = services.table_copies_swap, services._deal_history_write

    def read_then_swap(cursor, copies):
        seen.extend(("swap", _read_beside(copy.table, write=True)) for copy in copies)
        swap(cursor, copies)

    def read_then_write_deals(**kwargs):
        seen.append(("deals", _read_beside("territories_accountterritorymembership")))
        return deals_write(**kwargs)

    monkeypatch.setattr(services, "table_copies_swap", read_then_swap)
    monkeypatch.setattr(services, "_deal_history_write", read_then_write_deals)
    full_run(alignment)
    # The rows committed before the run: none in this test's database.
    assert seen == [("deals", 0), ("swap", 0)]
    assert swapped == ["territories_accountterritorymembership"]
    assert len(current_memberships()) == 1


def test_it_leaves_the_previous_assignment_when_a_run_fails_midway(alignment, monkeypatch):
    account = factories.make_account(region="CA")
    full_run(alignment)
    before = history_rows()
    account.region = "NY"
    account.save()

    def explode(**kwargs):
        raise RuntimeError("worker lost")

    monkeypatch.setattr(services, "_deal_history_write", explode)  # after account history was written
    with pytest.raises(RuntimeError):
        full_run(alignment)
    assert history_rows() == before
    run = AssignmentRun.objects.latest("created_at")
    assert run.status == RunStatus.FAILED and "worker lost" in run.error


def test_it_does_not_write_on_a_dry_run_but_counts(alignment):
    factories.make_account(region="CA")
    run = services.assignment_run_execute(run=AssignmentRun.objects.create(territory_model=alignment, dry_run=True))
    assert run.counts["would_open"] == 1
    assert AccountTerritoryMembership.objects.count() == 0


def test_it_runs_through_the_task_queued_on_commit(alignment, django_capture_on_commit_callbacks):
    factories.make_account(region="NY")
    with django_capture_on_commit_callbacks(execute=True):
        run = services.assignment_run_start(territory_model=alignment)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED
    assert {code for _, code, _, _ in history_rows()} == {"east"}


def test_it_prints_counts_and_the_dry_run_diff_from_the_command(alignment):
    account = factories.make_account(region="CA")
    out = StringIO()
    call_command("assign_territories", "--dry-run", stdout=out, stderr=StringIO())
    assert "would_open: 1" in out.getvalue()
    assert f"account {account.pk} geographic: - → west" in out.getvalue()
    assert AccountTerritoryMembership.objects.count() == 0
    out = StringIO()
    call_command("assign_territories", "--model", "fy26", stdout=out, stderr=StringIO())
    assert "opened: 1" in out.getvalue()
    assert current_memberships() == {(account.pk, Territory.objects.get(code="west").pk)}


def test_it_reassigns_one_account_incrementally_with_the_same_history_rules(alignment):
    account = factories.make_account(region="CA")
    bystander = factories.make_account(region="NY")
    full_run(alignment)
    account.region = "NY"
    account.save()
    bystander.region = "CA"
    bystander.save()  # not reassigned: only the given ids move
    services.account_reassign(account_ids=[account.pk])
    east = Territory.objects.get(code="east").pk
    assert current_memberships() == {(account.pk, east), (bystander.pk, east)}


def test_it_reassigns_a_new_account_on_commit(alignment, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        account = factories.make_account(region="CA")
        services.account_changed(account_id=account.pk, created=True)
    assert AccountTerritoryMembership.objects.get(account=account).valid_from == EARLIEST
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.account_changed(account_id=account.pk, changed_fields={"name"})
    assert callbacks == []


def test_it_uses_a_constant_number_of_queries_per_incremental_reassignment(alignment):
    accounts = [factories.make_account(region="CA") for _ in range(3)]
    full_run(alignment)
    services.account_reassign(account_ids=[accounts[0].pk])  # compile once
    with CaptureQueriesContext(connection) as one:
        services.account_reassign(account_ids=[accounts[1].pk])
    with CaptureQueriesContext(connection) as many:
        services.account_reassign(account_ids=[a.pk for a in accounts])
    assert len(one) == len(many)


def test_it_keeps_overrides_across_reruns(alignment):
    account = factories.make_account(region="CA")
    TerritoryOverride.objects.create(territory=Territory.objects.get(code="east"), account=account, reason="VIP")
    full_run(alignment)
    full_run(alignment)
    assert AccountTerritoryMembership.objects.get(account=account, valid_to=None).source == "override"
    assert AccountTerritoryMembership.objects.get(account=account).territory.code == "east"


def test_it_writes_deal_history_for_product_territories(alignment):
    west = Territory.objects.get(code="west")
    product_territory = factories.make_territory(alignment, code="west-all", kind="product", parent=west)
    factories.make_rule(product_territory)  # no criteria: every deal of a west account
    deal = factories.make_deal(account=factories.make_account(region="CA"))
    factories.make_deal(account=factories.make_account(region="NY"))
    full_run(alignment)
    assert current_deal_memberships() == {(deal.pk, product_territory.pk)}
    assert DealTerritoryMembership.objects.get().valid_from == EARLIEST


def test_it_plans_diffs_and_activates_with_history_continuing_by_code(alignment):
    rep = factories.make_rep()
    RepAssignment.objects.create(rep=rep, territory=Territory.objects.get(code="west"), start_date=date(2025, 1, 1))
    mover = factories.make_account(region="NV")
    stayer = factories.make_account(region="CA")
    factories.make_deal(account=mover, stage="won", amount=Decimal("500"), closed_on=timezone.localdate())
    full_run(alignment)

    plan = services.territory_model_copy(source=alignment, code="fy27", name="FY27")
    copied_west = plan.territories.get(code="west")
    assert copied_west.rules.get().criteria.get().values == ["CA"]
    assert copied_west.rep_assignments.get().rep == rep
    criterion = copied_west.rules.get().criteria.get()
    criterion.values = ["CA", "NV"]
    criterion.save()
    full_run(plan)  # a planning model computes into its plan, not history
    assert AccountTerritoryMembership.objects.filter(territory__territory_model=plan).count() == 0

    diff = territory_model_diff(planning=plan, active=alignment)
    assert diff["moves"] == [{"account_id": mover.pk, "kind": "geographic", "from_codes": [], "to_codes": ["west"]}]
    west_entry = next(entry for entry in diff["territories"] if entry["code"] == "west")
    assert (west_entry["accounts_before"], west_entry["accounts_after"]) == (1, 2)
    assert (west_entry["revenue_before"], west_entry["revenue_after"]) == (0, Decimal("500"))

    effective = timezone.localdate() + timedelta(days=1)
    services.territory_model_activate(model=plan, effective_from=effective)
    alignment.refresh_from_db()
    plan.refresh_from_db()
    assert (alignment.state, plan.state) == (TerritoryModelState.ARCHIVED, TerritoryModelState.ACTIVE)
    assert sorted(row for row in history_rows() if row[0] == stayer.pk) == [
        (stayer.pk, "west", EARLIEST, effective),
        (stayer.pk, "west", effective, None),
    ]
    assert [row for row in history_rows() if row[0] == mover.pk] == [(mover.pk, "west", EARLIEST, None)]
    assert AccountTerritoryMembership.objects.get(account=mover).territory.territory_model == plan


def test_an_activation_opens_an_account_with_only_closed_history_from_the_effective_date(alignment, write_mode):
    """The activation's diff holds no current row of it, yet it has history: found by its closed row."""
    returning = factories.make_account(region="CA")
    full_run(alignment)
    Account.objects.filter(pk=returning.pk).update(region="TX")  # in no territory: its row closes
    full_run(alignment)
    Account.objects.filter(pk=returning.pk).update(region="CA")  # back, not reassigned before the switch
    plan = services.territory_model_copy(source=alignment, code="fy27", name="FY27")
    full_run(plan)
    services.territory_model_activate(model=plan)
    today = timezone.localdate()
    assert history_rows() == [(returning.pk, "west", EARLIEST, today), (returning.pk, "west", today, None)]


def test_an_activation_closes_every_current_row_and_opens_the_new_models(alignment, write_mode):
    bulk, swapped = write_mode
    settled = factories.make_account(region="CA")
    moved_today = factories.make_account(region="CA")
    full_run(alignment)
    moved_today.region = "NY"
    moved_today.save()
    full_run(alignment)
    newcomer = factories.make_account(region="CA")  # not reassigned yet: no history at all
    plan = services.territory_model_copy(source=alignment, code="fy27", name="FY27")
    full_run(plan)
    counts = services.territory_model_activate(model=plan)
    today = timezone.localdate()
    assert (counts["opened"], counts["closed"], counts["deleted_same_day"]) == (3, 1, 1)
    assert history_rows() == [
        (settled.pk, "west", EARLIEST, today),
        (settled.pk, "west", today, None),
        (moved_today.pk, "east", today, None),
        (moved_today.pk, "west", EARLIEST, today),
        (newcomer.pk, "west", EARLIEST, None),
    ]
    assert set(
        AccountTerritoryMembership.objects.filter(valid_to=None).values_list("territory__territory_model", flat=True)
    ) == {plan.pk}
    assert bool(swapped) == bulk


def test_it_refuses_an_activation_dated_before_recorded_history(alignment):
    factories.make_account(region="CA")
    full_run(alignment)
    plan = services.territory_model_copy(source=alignment, code="fy27", name="FY27")
    with pytest.raises(ValidationError) as error:
        services.territory_model_activate(model=plan, effective_from=date(1800, 1, 1))
    assert "effective_from" in error.value.message_dict
    assert TerritoryModel.objects.get(pk=plan.pk).state == TerritoryModelState.PLANNING


def test_it_reports_gaps_overlaps_empty_and_ownerless_territories(alignment):
    factories.make_territory(alignment, code="south").rules.create()  # a rule without criteria: everyone
    south = Territory.objects.get(code="south")
    empty = factories.make_territory(alignment, code="empty", kind="vertical")
    factories.make_rule(empty, {"field": "industry", "values": ["media"]})
    covered = factories.make_account(region="CA")
    full_run(alignment)
    assert list(coverage_gaps(model=alignment, kind="vertical")) == [covered]
    assert list(coverage_gaps(model=alignment, kind="geographic")) == []
    overlap = coverage_overlaps(model=alignment).get()
    # the region rule is more specific than the catch-all rule without criteria
    assert (overlap.winner.code, overlap.loser.code, overlap.reason) == ("west", "south", "specificity")
    assert {t.code for t in territories_without_accounts(model=alignment)} == {"east", "empty", "south"}
    RepAssignment.objects.create(rep=factories.make_rep(), territory=south, start_date=date(2020, 1, 1))
    assert {t.code for t in territories_without_owner(model=alignment)} == {"east", "west", "empty"}


@pytest.mark.parametrize(
    ("kind", "criterion", "field"),
    [
        ("segment", {"field": "employees", "operator": "range", "min_value": 10, "max_value": 5}, "min_value"),
        ("geographic", {"field": "country", "operator": "in", "values": ["XX"]}, "values"),
        (
            "geographic",
            {"field": "postal_code", "operator": "range", "range_start": "9", "range_end": "10"},
            "range_end",
        ),
        (
            "geographic",
            {"field": "postal_code", "operator": "range", "range_start": "99", "range_end": "10"},
            "range_start",
        ),
        ("vertical", {"field": "country", "operator": "in", "values": ["US"]}, "field"),
        ("account", {"field": "industry", "operator": "in", "values": ["media"]}, "field"),
        ("geographic", {"field": "city", "operator": "range", "range_start": "a", "range_end": "b"}, "operator"),
    ],
)
def test_it_refuses_bad_criteria_naming_the_field(kind, criterion, field):
    with pytest.raises(ValidationError) as error:
        rule_criterion_validate(territory_kind=kind, **criterion)
    assert list(error.value.message_dict) == [field]


def test_it_accepts_a_good_criterion():
    rule_criterion_validate(territory_kind="geographic", field="country", operator="in", values=["us", "DE"])


@pytest.mark.django_db(transaction=True, databases=["default", "progress"])
def test_it_shows_progress_to_other_connections_while_the_run_transaction_is_open():
    model = factories.make_territory_model(state="active")
    factories.make_rule(factories.make_territory(model, code="us"), {"field": "country", "values": ["US"]})
    factories.make_account()
    run = AssignmentRun.objects.create(territory_model=model)
    seen = []

    def watch(phase, percent, counts):
        # Another connection: sees only committed data, so this proves progress is not stuck in the run's transaction.
        row = AssignmentRun.objects.using("progress").get(pk=run.pk)
        memberships = AccountTerritoryMembership.objects.using("progress").count()
        seen.append((row.phase, row.progress, memberships))

    services.assignment_run_execute(run=run, progress=watch)
    assert ("writing", 60, 0) in seen  # progress visible, the half-written assignment not
    assert AccountTerritoryMembership.objects.count() == 1


def _all_history() -> tuple[list, list]:
    accounts = sorted(
        AccountTerritoryMembership.objects.values_list("account_id", "territory_id", "valid_from", "valid_to", "source")
    )
    deals = sorted(DealTerritoryMembership.objects.values_list("deal_id", "territory_id", "valid_from", "valid_to"))
    return accounts, deals


def test_it_writes_the_same_history_incrementally_as_in_a_full_run(alignment):
    """account_reassign's single-statement path against the full run's writes, over two rounds of moves
    (new rows, closed rows, a row opened and gone the same day, a first row from the beginning, pins)."""
    west = Territory.objects.get(code="west")
    east = Territory.objects.get(code="east")
    factories.make_rule(factories.make_territory(alignment, code="west-all", kind="product", parent=west))
    accounts = [factories.make_account(region=region) for region in ("CA", "NY", "CA", "TX", "NY")]
    for account in accounts:
        factories.make_deal(account=account)
    TerritoryOverride.objects.create(territory=east, account=accounts[2], reason="VIP")
    full_run(alignment)
    for moves in ({0: "NY", 1: "TX", 3: "CA"}, {0: "CA", 3: "NY", 4: "CA"}):
        for index, region in moves.items():
            accounts[index].region = region
            accounts[index].save()
        with transaction.atomic():
            full_run(alignment)
            expected = _all_history()
            transaction.set_rollback(True)
        counts = services.account_reassign(account_ids=[account.pk for account in accounts])
        assert _all_history() == expected
        assert counts["opened"] > 0


def test_an_activation_is_a_run_with_progress_counts_and_an_audit_entry(alignment, django_capture_on_commit_callbacks):
    from core.models import AuditEntry

    factories.make_account(region="CA")
    full_run(alignment)
    plan = services.territory_model_copy(source=alignment, code="fy27", name="FY27")
    manager = factories.make_user(roles.SALES_MANAGER)
    effective = timezone.localdate() + timedelta(days=3)
    with django_capture_on_commit_callbacks(execute=True):
        run = services.territory_model_activation_start(model=plan, effective_from=effective, user=manager)
    run.refresh_from_db()
    plan.refresh_from_db()
    assert (run.activation, run.effective_from, run.status, run.phase, run.progress) == (
        True, effective, RunStatus.SUCCEEDED, "done", 100
    )  # fmt: skip
    assert (run.counts["opened"], run.counts["closed"]) == (1, 1)
    assert (plan.state, plan.effective_from) == (TerritoryModelState.ACTIVE, effective)
    entry = AuditEntry.objects.get(object_type="territories.territorymodel", object_id=str(plan.pk))
    assert (entry.user, entry.changes["run"], entry.changes["activated"]) == (manager, run.pk, str(effective))


def test_one_activation_at_a_time_and_a_plan_being_activated_is_not_deleted(alignment):
    plan = services.territory_model_copy(source=alignment, code="fy27", name="FY27")
    other = services.territory_model_copy(source=alignment, code="fy27b", name="FY27 B")
    queued = services.territory_model_activation_start(model=plan)  # its task waits for a commit
    with pytest.raises(ValidationError) as refused:
        services.territory_model_activation_start(model=other)
    assert refused.value.message_dict == {
        "state": ["Another activation is queued or running: wait for it to finish, then activate."]
    }
    with pytest.raises(ValidationError) as refused:
        services.territory_model_delete(model=plan)
    assert "activation is queued or running" in refused.value.message_dict["state"][0]
    AssignmentRun.objects.filter(pk=queued.pk).update(status=RunStatus.SUCCEEDED)
    assert services.territory_model_activation_start(model=other).activation


def test_an_activation_refused_when_it_runs_fails_its_run_and_changes_nothing(alignment):
    plan = services.territory_model_copy(source=alignment, code="fy27", name="FY27")
    run = services.territory_model_activation_start(model=plan)
    services.territory_model_activate(model=plan)  # someone else's switch got there first
    with pytest.raises(ValidationError):
        services.assignment_run_execute(run=run)
    run.refresh_from_db()
    assert (run.status, run.error) == (RunStatus.FAILED, "This territory model is already active.")
    assert TerritoryModel.objects.get(pk=plan.pk).state == TerritoryModelState.ACTIVE


def test_an_activation_is_refused_at_once_for_a_date_before_the_history(alignment):
    account = factories.make_account(region="CA")
    full_run(alignment)
    Account.objects.filter(pk=account.pk).update(region="NY")
    full_run(alignment)  # history records a move today
    plan = services.territory_model_copy(source=alignment, code="fy27", name="FY27")
    with pytest.raises(ValidationError) as refused:
        services.territory_model_activation_start(model=plan, effective_from=timezone.localdate() - timedelta(days=1))
    assert list(refused.value.message_dict) == ["effective_from"]
    assert not AssignmentRun.objects.filter(activation=True).exists()


def test_an_activation_cannot_start_before_the_live_alignment_nor_revive_an_archived_one(alignment):
    """Before the live alignment's own start, the switch would hand it its whole past (as-of = restated)."""
    TerritoryModel.objects.filter(pk=alignment.pk).update(effective_from=date(2023, 1, 1))
    plan = services.territory_model_copy(source=alignment, code="fy27", name="FY27")
    with pytest.raises(ValidationError) as refused:
        services.territory_model_activation_start(model=plan, effective_from=date(2020, 1, 1))
    expected = f"{alignment.name} is live from 2023-01-01; choose that date or later."
    assert refused.value.message_dict == {"effective_from": [expected]}
    services.territory_model_activate(model=plan, effective_from=date(2023, 1, 1))
    with pytest.raises(ValidationError) as refused:
        services.territory_model_activation_start(model=TerritoryModel.objects.get(pk=alignment.pk))
    assert "archived territory model is history" in refused.value.message_dict["state"][0]


def test_no_run_of_the_live_or_the_activating_model_while_an_activation_waits(alignment):
    plan = services.territory_model_copy(source=alignment, code="fy27", name="FY27")
    other = services.territory_model_copy(source=alignment, code="fy27b", name="FY27 B")
    services.territory_model_activation_start(model=plan)
    for model in (alignment, plan):
        with pytest.raises(ValidationError) as refused:
            services.assignment_run_start(territory_model=model)
        assert "An activation is queued or running" in refused.value.message_dict["territory_model"][0]
    assert services.assignment_run_start(territory_model=other).pk  # another plan runs
    assert services.assignment_run_start(territory_model=alignment, dry_run=True).dry_run  # writes nothing


def test_many_accounts_reassign_in_chunks_as_a_full_run_would(alignment, monkeypatch):
    """The incremental statement runs a chunk of accounts at a time (its plan is made for a few)."""
    monkeypatch.setattr(services, "INCREMENTAL_CHUNK", 3)
    movers = [factories.make_account(region="CA") for _ in range(7)]
    full_run(alignment)
    Account.objects.filter(pk__in=[a.pk for a in movers[:5]]).update(region="NY")
    counts = services.account_reassign(account_ids=[a.pk for a in movers])
    west, east = (Territory.objects.get(code=code) for code in ("west", "east"))
    assert (counts["opened"], counts["closed"]) == (5, 5)
    assert counts["moved_territories"] == sorted([west.pk, east.pk])
    incremental = history_rows()
    with transaction.atomic():
        AccountTerritoryMembership.objects.all().delete()
        Account.objects.update(updated_at=timezone.now())
        full_run(alignment)
        rows = history_rows()
        transaction.set_rollback(True)
    assert sorted((a, c, t) for a, c, _, t in incremental if t is None) == sorted(
        (a, c, t) for a, c, _, t in rows if t is None
    )
