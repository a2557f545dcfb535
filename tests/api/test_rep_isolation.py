"""For every endpoint that shows data: a rep never sees another rep's rows (list, detail, filters, search)."""

import pytest
from rest_framework.test import APIClient

from core.models import AuditEntry
from territories.models import AccountTerritoryMembership, AssignmentRun
from tests.access.world import make_manager
from tests.api.helpers import client_for, result_ids, url

# (route, world attribute visible to rep A, world attribute of rep B's, search term matching rep B's row)
ENDPOINTS = [
    ("account", "account_a", "account_b", "Beta"),
    ("deal", "deal_a", "deal_b", "expansion"),
    ("territory", "west", "east", "East"),
    ("rule", "rule_a", "rule_b", None),
    ("override", "override_a", "override_b", "east"),
    ("named-account", "named_a", "named_b", None),
    ("rep-assignment", "assignment_a", "assignment_b", None),
    ("target", "target_a", "target_b", None),
    ("rollup", "rollup_a", "rollup_b", None),
    ("rep", "rep_a", "rep_b", "Bob"),
]


@pytest.mark.parametrize(("route", "mine", "theirs", "term"), ENDPOINTS)
def test_it_lists_only_the_reps_own_rows(world, route, mine, theirs, term):
    listed = result_ids(client_for(world.rep_a.user).get(url(f"{route}-list")))
    assert getattr(world, mine).id in listed
    assert getattr(world, theirs).id not in listed


@pytest.mark.parametrize(("route", "mine", "theirs", "term"), ENDPOINTS)
def test_it_answers_404_for_another_reps_row(world, route, mine, theirs, term):
    client = client_for(world.rep_a.user)
    assert client.get(url(f"{route}-detail", getattr(world, mine).id)).status_code == 200
    assert client.get(url(f"{route}-detail", getattr(world, theirs).id)).status_code == 404
    assert client.get(url(f"{route}-detail", 987654321)).status_code == 404


@pytest.mark.parametrize(("route", "mine", "theirs", "term"), [e for e in ENDPOINTS if e[3]])
def test_it_finds_nothing_of_another_rep_by_search(world, route, mine, theirs, term):
    client = client_for(world.rep_a.user)
    assert getattr(world, theirs).id not in result_ids(client.get(url(f"{route}-list", search=term)))
    # the same search as rep B does find it, so the search itself works
    assert getattr(world, theirs).id in result_ids(client_for(world.rep_b.user).get(url(f"{route}-list", search=term)))


@pytest.mark.parametrize(
    ("route", "query"),
    [
        ("account", {"territory": "east"}),
        ("deal", {"territory": "east"}),
        ("deal", {"account": "account_b"}),
        ("territory", {"within": "east"}),
        ("territory", {"parent": "east"}),
        ("rule", {"territory": "east"}),
        ("target", {"territory": "east"}),
        ("rollup", {"territory": "east_ny"}),
        ("override", {"account": "account_b"}),
        ("rep-assignment", {"rep": "rep_b"}),
        ("membership", {"territory": "east_ny"}),
    ],
)
def test_it_rejects_a_filter_on_another_reps_object_like_an_unknown_id(world, route, query):
    name, attribute = next(iter(query.items()))
    hidden = client_for(world.rep_a.user).get(url(f"{route}-list", **{name: getattr(world, attribute).id}))
    unknown = client_for(world.rep_a.user).get(url(f"{route}-list", **{name: 987654321}))
    assert hidden.status_code == unknown.status_code == 400
    assert name in hidden.json()


@pytest.mark.parametrize(
    ("route", "query", "expected"),
    [
        ("account", {"territory": "west"}, {"account_a"}),
        ("deal", {"territory": "west"}, {"deal_a"}),
        ("territory", {"within": "west"}, {"west", "west_ca"}),
        ("deal", {"account": "account_a"}, {"deal_a"}),
    ],
)
def test_it_filters_within_the_reps_own_scope(world, route, query, expected):
    name, attribute = next(iter(query.items()))
    listed = result_ids(client_for(world.rep_a.user).get(url(f"{route}-list", **{name: getattr(world, attribute).id})))
    assert listed == {getattr(world, item).id for item in expected}


def test_it_lists_only_memberships_of_the_reps_territories(world):
    listed = result_ids(client_for(world.rep_a.user).get(url("membership-list")))
    assert listed == set(
        AccountTerritoryMembership.objects.filter(territory=world.west_ca).values_list("id", flat=True)
    )


def test_it_keeps_a_deal_worked_by_the_rep_visible_though_its_account_is_not(world):
    client = client_for(world.rep_a.user)
    assert client.get(url("deal-detail", world.deal_b_worked_by_a.id)).status_code == 200
    assert client.get(url("account-detail", world.account_b.id)).status_code == 404


def test_it_hides_by_external_id_lookups_of_another_reps_rows(world):
    client = client_for(world.rep_a.user)
    assert client.get(url("account-by-external-id", "ACC-A")).status_code == 200
    assert client.get(url("account-by-external-id", "ACC-B")).status_code == 404
    assert client.get(url("deal-by-external-id", "DEAL-B")).status_code == 404


def test_it_keeps_the_audit_trail_and_runs_from_reps(world):
    AuditEntry.objects.create(action="create", object_type="territories.territory", object_id="1")
    run = AssignmentRun.objects.create(territory_model=world.west.territory_model)
    client = client_for(world.rep_a.user)
    assert client.get(url("audit-entry-list")).status_code == 403
    assert client.get(url("assignment-run-list")).json()["results"] == []
    assert client.get(url("assignment-run-detail", run.id)).status_code == 404


def test_it_shows_a_scoped_manager_only_their_subtree(world):
    from tests.access.world import make_manager

    client = client_for(make_manager(scope_codes=("west",)))
    assert result_ids(client.get(url("account-list"))) == {world.account_a.id}
    assert client.get(url("target-detail", world.target_b.id)).status_code == 404


def test_it_scopes_tracked_kpis_to_the_reps_territories(world):
    from kpis.models import TerritoryKpi

    mine = TerritoryKpi.objects.create(territory=world.west, kpi=world.kpi)
    theirs = TerritoryKpi.objects.create(territory=world.east, kpi=world.kpi)
    client = client_for(world.rep_a.user)
    assert result_ids(client.get(url("tracked-kpi-list"))) == {mine.id}
    assert client.get(url("tracked-kpi-detail", theirs.id)).status_code == 404


def test_it_shows_a_rep_only_the_active_model(world):
    from django.utils import timezone

    from territories.models import RepAssignment
    from tests import factories

    other_model = factories.make_territory_model()
    other_territory = factories.make_territory(other_model, code="elsewhere")
    RepAssignment.objects.create(rep=world.rep_b, territory=other_territory, start_date=timezone.localdate())
    for rep in (world.rep_a, world.rep_b):
        client = client_for(rep.user)
        assert result_ids(client.get(url("territory-model-list"))) == {world.west.territory_model_id}
        assert client.get(url("territory-model-detail", other_model.id)).status_code == 404


@pytest.mark.parametrize("login", ["session", "token"])
def test_it_hides_a_plans_copies_of_the_reps_territories(world, login):
    """A draft realignment copies the territories and their reps; a rep sees none of it, by session or token."""
    from core.services import api_token_create
    from territories.models import RepAssignment, Territory, TerritoryRule
    from territories.services import territory_model_copy

    plan = territory_model_copy(source=world.west.territory_model, code="draft", name="Draft")
    plan_west = Territory.objects.get(territory_model=plan, code="west")
    assert RepAssignment.objects.filter(territory=plan_west, rep=world.rep_a).exists()  # copied with the plan
    client = client_for(world.rep_a.user)
    if login == "token":
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=world.rep_a.user, name='crm')[1]}")
    assert result_ids(client.get(url("territory-list"))) == {world.west.id, world.west_ca.id}
    assert client.get(url("territory-detail", plan_west.id)).status_code == 404
    assert client.get(url("territory-model-detail", plan.id)).status_code == 404
    plan_rules = set(TerritoryRule.objects.filter(territory__territory_model=plan).values_list("id", flat=True))
    assert plan_rules and not plan_rules & result_ids(client.get(url("rule-list")))
    assert result_ids(client.get(url("rep-assignment-list"))) == set(
        RepAssignment.objects.filter(
            rep=world.rep_a, territory__territory_model=world.west.territory_model
        ).values_list("id", flat=True)
    ) | {world.assignment_a.id}
    # The manager who drafted it does see it.
    assert plan_west.id in result_ids(client_for(make_manager()).get(url("territory-list", page_size=1000)))


def test_it_keeps_recompute_runs_from_reps(world):
    from kpis.models import RecomputeRun

    run = RecomputeRun.objects.create()
    assert client_for(world.rep_a.user).get(url("recompute-run-detail", run.id)).status_code == 404
