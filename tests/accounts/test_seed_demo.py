"""seed_demo: deterministic, realistic, all-or-nothing; demo_logins prints what exists."""

import re
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.models import Min
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from accounts import demo_data
from accounts.choices import CLOSED_STAGES, OPEN_STAGES, Industry
from accounts.models import Account, Campaign, Deal, Product
from core import roles
from core.models import ManagerScope
from reps.models import Rep
from territories.choices import FIELDS_BY_KIND, OPERATORS_BY_FIELD, AssignmentRole, TerritoryKind
from territories.models import NamedAccount, RepAssignment, RuleCriterion, Territory, TerritoryModel

SMALL = {"accounts": 300, "deals": 3000}

# Deals are compared through natural keys: reps, products and campaigns get sequence ids, which a
# rolled-back run in the same database does not rewind.
ACCOUNTS_DIGEST = "SELECT md5(string_agg(a::text, '|' ORDER BY a.id)) FROM accounts_account a"
DEALS_DIGEST = """
SELECT md5(string_agg(concat_ws(',', d.id, d.external_id, d.name, d.account_id, p.sku, r.external_id,
        c.external_id, d.amount, d.stage, d.probability, d.created_on, d.expected_close_on, d.closed_on,
        d.created_at, d.updated_at), '|' ORDER BY d.id))
FROM accounts_deal d
JOIN accounts_product p ON p.id = d.product_id
JOIN reps_rep r ON r.id = d.rep_id
LEFT JOIN accounts_campaign c ON c.id = d.campaign_id
"""


def seed(**options) -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, **{**SMALL, **options})
    return out.getvalue()


def digests() -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(ACCOUNTS_DIGEST)
        accounts = cursor.fetchone()[0]
        cursor.execute(DEALS_DIGEST)
        deals = cursor.fetchone()[0]
    return accounts, deals


class RolledBack(Exception):
    pass


def digests_of_fresh_run(**options) -> tuple[str, str]:
    """Seed an empty database, take the digests, and roll everything back."""
    assert not Account.objects.exists()
    try:
        with transaction.atomic():
            seed(**options)
            result = digests()
            raise RolledBack
    except RolledBack:
        pass
    assert not Account.objects.exists()
    return result


@pytest.fixture
def seeded(db):
    seed()


def test_it_makes_the_same_rows_for_the_same_seed(db):
    first = digests_of_fresh_run(seed=7)
    second = digests_of_fresh_run(seed=7)
    other = digests_of_fresh_run(seed=8)

    assert None not in first
    assert first == second
    assert other[0] != first[0]
    assert other[1] != first[1]


def test_it_makes_the_requested_numbers_of_rows(seeded):
    assert Account.objects.count() == SMALL["accounts"]
    assert Deal.objects.count() == SMALL["deals"]
    # Sequences continue after the copied ids, so the ORM can add rows.
    account = Account.objects.create(external_id="NEW-1", name="New", country="US")
    assert account.pk == SMALL["accounts"] + 1


def test_it_spreads_accounts_over_countries_with_real_postal_formats(seeded):
    postal_formats = {
        "US": r"\d{5}",
        "DE": r"\d{5}",
        "FR": r"\d{5}",
        "CA": r"[ABCEGHJ-NPRSTVXY]\d[A-Z] \d[A-Z]\d",
        "GB": r"[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}",
    }
    accounts = list(Account.objects.values("country", "region", "city", "postal_code", "latitude", "longitude"))
    assert {str(a["country"]) for a in accounts} == set(postal_formats)
    for account in accounts:
        pattern = postal_formats[str(account["country"])]
        assert re.fullmatch(pattern, account["postal_code"]), account
        assert account["region"] and account["city"]
        if account["latitude"] is not None:
            assert Decimal(-90) <= account["latitude"] <= Decimal(90)
            assert Decimal(-180) <= account["longitude"] <= Decimal(180)
    us_regions = {a["region"] for a in accounts if str(a["country"]) == "US"}
    assert {"CA", "NY", "TX"} <= us_regions


def test_it_mixes_business_types_statuses_and_correlates_size_with_revenue(seeded):
    assert set(Account.objects.values_list("business_type", flat=True)) == {"B2B", "B2C"}
    assert set(Account.objects.values_list("status", flat=True)) >= {"prospect", "customer"}
    assert set(Account.objects.values_list("industry", flat=True)) <= set(Industry.values)
    assert len(set(Account.objects.values_list("industry", flat=True))) >= 15
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT corr(ln(employees), ln(annual_revenue)) FROM accounts_account "
            "WHERE employees IS NOT NULL AND annual_revenue IS NOT NULL"
        )
        assert cursor.fetchone()[0] > 0.7
    # Customers are exactly the accounts that have won a deal, since the first win.
    with_wins = {
        row["account_id"]: row["first"]
        for row in Deal.objects.filter(stage="won").values("account_id").annotate(first=Min("closed_on"))
    }
    for account in Account.objects.all():
        if account.pk in with_wins:
            assert account.status in ("customer", "churned")
            assert account.customer_since == with_wins[account.pk]
        else:
            assert account.status == "prospect"
            assert account.customer_since is None


def test_it_keeps_every_deal_consistent(seeded):
    assert set(Deal.objects.values_list("stage", flat=True)) == {*OPEN_STAGES, *CLOSED_STAGES}
    for deal in Deal.objects.all():
        assert deal.amount >= 0
        assert 0 <= deal.probability <= 100
        assert deal.created_on <= demo_data.ref.ANCHOR_DATE
        assert deal.product_id is not None and deal.rep_id is not None
        if deal.stage in CLOSED_STAGES:
            assert deal.closed_on is not None and deal.closed_on >= deal.created_on
            assert deal.closed_on <= demo_data.ref.ANCHOR_DATE
            assert deal.expected_close_on is None
            assert deal.probability == (100 if deal.stage == "won" else 0)
        else:
            assert deal.closed_on is None
            assert deal.expected_close_on is not None and deal.expected_close_on >= deal.created_on


def test_it_covers_three_years_of_closed_deals_with_a_q4_peak(seeded):
    closed = list(Deal.objects.filter(closed_on__isnull=False).values_list("closed_on", flat=True))
    assert min(closed) <= date(2023, 12, 31)
    assert max(closed) >= date(2026, 11, 1)
    assert {2024, 2025, 2026} <= {d.year for d in closed}
    for year in (2024, 2025):
        by_quarter = [sum(1 for d in closed if d.year == year and (d.month - 1) // 3 == q) for q in range(4)]
        assert by_quarter[3] > max(by_quarter[:3]), by_quarter


def test_it_links_deals_to_campaigns_active_when_they_were_created(seeded):
    linked = Deal.objects.filter(campaign__isnull=False).select_related("campaign")
    assert 0 < linked.count() < Deal.objects.count()
    for deal in linked:
        assert deal.campaign.starts_on <= deal.created_on <= deal.campaign.ends_on
    assert Campaign.objects.values("channel").distinct().count() >= 5
    assert Product.objects.values("product_line").distinct().count() >= 4


def test_it_builds_one_active_model_with_all_five_kinds(seeded):
    model = TerritoryModel.objects.get()
    assert model.state == "active"
    territories = Territory.objects.filter(territory_model=model)
    assert set(territories.values_list("kind", flat=True)) == set(TerritoryKind.values)
    geo_countries = set()
    for criterion in RuleCriterion.objects.select_related("rule__territory"):
        kind = criterion.rule.territory.kind
        assert criterion.field in FIELDS_BY_KIND[TerritoryKind(kind)], criterion
        assert criterion.operator in OPERATORS_BY_FIELD[criterion.field], criterion
        if criterion.field == "country":
            geo_countries.update(criterion.values)
    assert len(geo_countries) >= 5
    key_accounts = territories.get(kind=TerritoryKind.ACCOUNT)
    assert NamedAccount.objects.filter(territory=key_accounts).exists()
    assert not key_accounts.rules.exists()
    # The closure triggers saw every insert: each territory has one link per ancestor, itself included.
    for territory in territories.select_related("parent"):
        depth = 0
        node = territory
        while node.parent_id:
            node, depth = Territory.objects.get(pk=node.parent_id), depth + 1
        assert territory.ancestor_links.count() == depth + 1


def _matches(criterion: RuleCriterion, account: Account) -> bool:
    value = str(getattr(account, criterion.field))
    if criterion.operator == "in":
        return value in criterion.values
    if criterion.operator == "prefix":
        return any(value.startswith(prefix) for prefix in criterion.values)
    return criterion.range_start <= value <= criterion.range_end


def test_it_places_every_account_in_exactly_one_geographic_leaf(seeded):
    """A plain reading of the rules: each account matches some leaf, and priority settles any overlap."""
    geographic = Territory.objects.filter(kind="geographic").prefetch_related("rules__criteria", "children")
    leaves = [t for t in geographic if not t.children.all()]
    for account in Account.objects.all():
        matching = [
            leaf
            for leaf in leaves
            if any(all(_matches(c, account) for c in rule.criteria.all()) for rule in leaf.rules.all())
        ]
        assert matching, account
        top = max(leaf.priority for leaf in matching)
        assert [leaf.priority for leaf in matching].count(top) == 1, (account, matching)


def test_it_gives_territories_one_owner_at_a_time_and_uses_every_role(seeded):
    assert set(RepAssignment.objects.values_list("role", flat=True)) == set(AssignmentRole.values)
    owners = RepAssignment.objects.filter(role="owner").order_by("territory_id", "start_date")
    by_territory = {}
    for assignment in owners:
        by_territory.setdefault(assignment.territory_id, []).append(assignment)
    assert set(by_territory) == set(Territory.objects.values_list("id", flat=True))
    for assignments in by_territory.values():
        for earlier, later in zip(assignments, assignments[1:], strict=False):
            assert earlier.end_date is not None and earlier.end_date < later.start_date


def test_it_gives_reps_logins_skills_homes_and_managers(seeded):
    reps = list(Rep.objects.select_related("user"))
    assert len(reps) >= 30
    for rep in reps:
        assert rep.user.groups.filter(name=roles.SALES_REP).exists()
        assert rep.home_country and rep.home_latitude is not None
        assert rep.capacity > 0
    assert sum(1 for rep in reps if rep.manager_id) == len(reps) - 1  # everyone but the VP reports to someone
    assert any(rep.industries for rep in reps) and any(rep.segments for rep in reps)
    # Each deal's rep owned a geographic leaf on the day the deal was created.
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM accounts_deal d
            WHERE NOT EXISTS (
                SELECT 1 FROM territories_repassignment ra
                JOIN territories_territory t ON t.id = ra.territory_id AND t.kind = 'geographic'
                WHERE ra.rep_id = d.rep_id AND ra.role = 'owner' AND ra.start_date <= d.created_on
                  AND (ra.end_date IS NULL OR ra.end_date >= d.created_on)
                  AND NOT EXISTS (SELECT 1 FROM territories_territory c WHERE c.parent_id = t.id)
            )
            """
        )
        assert cursor.fetchone()[0] == 0


def test_it_creates_a_demo_login_for_each_role(seeded):
    for login in demo_data.DEMO_LOGINS:
        user = User.objects.get(username=login.username)
        assert user.check_password(login.password)
        assert user.groups.filter(name=login.role).exists()
    assert User.objects.get(username="admin").is_superuser
    assert User.objects.get(username="manager").is_staff
    assert not ManagerScope.objects.filter(user__username="manager").exists()  # unscoped: sees everything
    scoped = ManagerScope.objects.get(user__username="emea-manager")
    assert Territory.objects.filter(code=scoped.territory_code, kind="geographic").exists()
    assert Rep.objects.filter(user__username="rep1").exists()


def test_it_prints_the_demo_logins_that_exist(db):
    out = StringIO()
    call_command("demo_logins", stdout=out)
    assert "http://127.0.0.1:8000/" in out.getvalue()
    assert "admin-demo" not in out.getvalue()

    seed()
    out = StringIO()
    call_command("demo_logins", stdout=out)
    for login in demo_data.DEMO_LOGINS:
        assert re.search(rf"{login.username}\s+{login.password}\s+{login.role}", out.getvalue())


def test_it_does_nothing_the_second_time_with_if_empty(db):
    seed(if_empty=True)
    before = digests(), Rep.objects.count(), Territory.objects.count()

    output = seed(if_empty=True, seed=99)

    assert "not seeded" in output
    assert (digests(), Rep.objects.count(), Territory.objects.count()) == before


def test_it_refuses_a_non_empty_database_without_if_empty(db):
    seed()
    with pytest.raises(CommandError, match="empty database"):
        seed()
    assert Account.objects.count() == SMALL["accounts"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"accounts": -1}, "--accounts"),
        ({"deals": -5}, "--deals"),
        ({"accounts": 0, "deals": 10}, "needs accounts"),
        ({"seed": -1}, "--seed"),
    ],
)
def test_it_rejects_bad_arguments(db, options, message):
    with pytest.raises(CommandError, match=message):
        seed(**options)
    assert not Account.objects.exists() and not User.objects.exists()


def test_it_leaves_nothing_behind_when_it_fails_halfway(db, monkeypatch):
    def broken_alignment(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(demo_data, "_create_alignment", broken_alignment)
    with pytest.raises(RuntimeError):
        seed()
    assert not Account.objects.exists()
    assert not Deal.objects.exists()
    assert not Rep.objects.exists()
    assert not User.objects.exists()


def test_it_seeds_reference_data_without_accounts(db):
    seed(accounts=0, deals=0)
    assert not Account.objects.exists()
    assert TerritoryModel.objects.filter(state="active").count() == 1
    assert Rep.objects.exists()


class SeedPropertiesTest(HypothesisTestCase):
    """Any small size and seed gives the requested rows, all within the model's rules."""

    @given(
        accounts=st.integers(min_value=1, max_value=60),
        deals=st.integers(min_value=0, max_value=400),
        seed=st.integers(min_value=0, max_value=2**32),
    )
    @settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    def test_it_keeps_any_small_dataset_valid(self, accounts, deals, seed):
        call_command("seed_demo", accounts=accounts, deals=deals, seed=seed, stdout=StringIO())

        assert Account.objects.count() == accounts
        assert Deal.objects.count() == deals
        # Field and model validation as forms apply it (uniqueness and foreign keys the database enforces).
        for account in Account.objects.all():
            account.clean_fields()
            account.clean()
        for deal in Deal.objects.all():
            deal.clean_fields()
            deal.clean()
            assert deal.created_on <= demo_data.ref.ANCHOR_DATE
        named = NamedAccount.objects.count()
        assert named == max(1, accounts // 400)
        # The named accounts are the ones with the highest revenue.
        revenues = sorted((a.annual_revenue or Decimal(-1) for a in Account.objects.all()), reverse=True)
        named_revenues = sorted(
            (n.account.annual_revenue or Decimal(-1) for n in NamedAccount.objects.select_related("account")),
            reverse=True,
        )
        assert named_revenues == revenues[:named]


SCHEMA_OF_LOADED_TABLES = """
SELECT 'index', indexname, indexdef FROM pg_indexes WHERE tablename IN ('accounts_account', 'accounts_deal')
UNION ALL
SELECT 'constraint', conname, pg_get_constraintdef(oid) FROM pg_constraint
WHERE conrelid IN ('accounts_account'::regclass, 'accounts_deal'::regclass)
ORDER BY 1, 2
"""


def test_it_restores_every_index_and_foreign_key_it_set_aside_for_the_load(db):
    with connection.cursor() as cursor:
        cursor.execute(SCHEMA_OF_LOADED_TABLES)
        before = cursor.fetchall()
        seed()
        cursor.execute(SCHEMA_OF_LOADED_TABLES)
        after = cursor.fetchall()
    assert len(before) > 10
    assert after == before
    # The restored foreign keys still guard the table.
    deal = Deal.objects.first()
    with pytest.raises(Exception, match="foreign key"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("UPDATE accounts_deal SET account_id = 999999 WHERE id = %s", [deal.pk])
