"""visible_to(user): the one access rule, checked per model and against a straightforward reference."""

from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from accounts.models import Account, Campaign, Deal, Product
from core import roles
from core.models import AuditEntry
from kpis.models import KpiDefinition, KpiRollup, KpiTarget
from reps.models import Rep
from territories.models import (
    AccountTerritoryMembership,
    AssignmentRun,
    NamedAccount,
    RepAssignment,
    RuleCriterion,
    Territory,
    TerritoryModel,
    TerritoryOverride,
    TerritoryRule,
)
from tests import factories
from tests.access.world import make_manager


def ids(queryset):
    return set(queryset.values_list("id", flat=True))


def test_it_shows_a_rep_their_assigned_territories_and_subtrees(world):
    user = world.rep_a.user
    assert ids(Territory.objects.visible_to(user)) == {world.west.id, world.west_ca.id}


def test_it_ignores_ended_and_future_assignments(world):
    user = world.rep_a.user
    today = timezone.localdate()
    world.assignment_a.end_date = today - timedelta(days=1)
    world.assignment_a.save()
    assert ids(Territory.objects.visible_to(user)) == set()
    RepAssignment.objects.create(
        rep=world.rep_a, territory=world.west_ca, role="support", start_date=today + timedelta(days=1)
    )
    assert ids(Territory.objects.visible_to(user)) == set()


def test_it_keeps_an_assignment_ending_today(world):
    world.assignment_a.end_date = timezone.localdate()
    world.assignment_a.save()
    assert world.west.id in ids(Territory.objects.visible_to(world.rep_a.user))


def test_it_shows_a_rep_only_accounts_currently_in_their_territories(world):
    assert ids(Account.objects.visible_to(world.rep_a.user)) == {world.account_a.id}
    assert ids(Account.objects.visible_to(world.rep_b.user)) == {world.account_b.id}


def test_it_shows_a_rep_deals_of_their_accounts_and_deals_they_work(world):
    assert ids(Deal.objects.visible_to(world.rep_a.user)) == {world.deal_a.id, world.deal_b_worked_by_a.id}
    assert ids(Deal.objects.visible_to(world.rep_b.user)) == {world.deal_b.id, world.deal_b_worked_by_a.id}


@pytest.mark.parametrize(
    ("model", "mine", "theirs"),
    [
        (KpiTarget, "target_a", "target_b"),
        (KpiRollup, "rollup_a", "rollup_b"),
        (TerritoryRule, "rule_a", "rule_b"),
        (TerritoryOverride, "override_a", "override_b"),
        (NamedAccount, "named_a", "named_b"),
        (RepAssignment, "assignment_a", "assignment_b"),
    ],
)
def test_it_scopes_territory_rows_to_the_reps_territories(world, model, mine, theirs):
    visible = ids(model.objects.visible_to(world.rep_a.user))
    assert getattr(world, mine).id in visible
    assert getattr(world, theirs).id not in visible


def test_it_scopes_criteria_and_memberships(world):
    user = world.rep_a.user
    assert ids(RuleCriterion.objects.visible_to(user)) == ids(RuleCriterion.objects.filter(rule=world.rule_a))
    assert ids(AccountTerritoryMembership.objects.visible_to(user)) == ids(
        AccountTerritoryMembership.objects.filter(territory=world.west_ca)
    )


def test_it_shows_a_rep_themself_and_colleagues_in_their_territories_only(world):
    assert ids(Rep.objects.visible_to(world.rep_a.user)) == {world.rep_a.id}
    colleague = factories.make_rep()
    RepAssignment.objects.create(
        rep=colleague, territory=world.west_ca, role="support", start_date=timezone.localdate()
    )
    assert ids(Rep.objects.visible_to(world.rep_a.user)) == {world.rep_a.id, colleague.id}


def test_it_follows_only_assignments_in_the_active_model(world):
    """A rep's access follows the active alignment: a plan's copy of their territory, or an archived
    alignment's, gives them nothing (a draft realignment is the managers' business)."""
    today = timezone.localdate()
    for state in ("planning", "archived"):
        other = factories.make_territory_model(state=state)
        elsewhere = factories.make_territory(other, code=f"{state}-west")
        RepAssignment.objects.create(rep=world.rep_a, territory=elsewhere, start_date=today)
        assert ids(Territory.objects.visible_to(world.rep_a.user)) == {world.west.id, world.west_ca.id}
        assert ids(TerritoryModel.objects.visible_to(world.rep_a.user)) == {world.west.territory_model_id}


def test_it_shows_the_model_of_visible_territories(world):
    factories.make_territory_model()
    assert ids(TerritoryModel.objects.visible_to(world.rep_a.user)) == {world.west.territory_model_id}


def test_it_shows_catalog_data_to_every_role_and_nothing_to_users_without_one(world):
    factories.make_product()
    factories.make_campaign()
    nobody = factories.make_user()
    for model in (Product, Campaign, KpiDefinition):
        assert model.objects.visible_to(world.rep_a.user).count() == model.objects.count() > 0
        assert model.objects.visible_to(nobody).count() == 0
    for model in (Territory, Account, Deal, KpiTarget):
        assert model.objects.visible_to(nobody).count() == 0


@pytest.mark.parametrize("role", [roles.ADMIN, roles.SALES_MANAGER, roles.INTEGRATION])
def test_it_shows_everything_to_admins_managers_and_integrations(world, role):
    user = factories.make_user(role)
    for model in (Territory, Account, Deal, KpiTarget, KpiRollup, Rep, RepAssignment):
        assert model.objects.visible_to(user).count() == model.objects.count()


def test_it_shows_everything_to_superusers(world):
    user = factories.make_user(is_superuser=True)
    assert Deal.objects.visible_to(user).count() == Deal.objects.count()


def test_it_limits_a_scoped_manager_to_their_subtrees(world):
    manager = make_manager(scope_codes=("east",))
    assert ids(Territory.objects.visible_to(manager)) == {world.east.id, world.east_ny.id}
    assert ids(Account.objects.visible_to(manager)) == {world.account_b.id}
    assert ids(KpiTarget.objects.visible_to(manager)) == {world.target_b.id}


def test_it_applies_a_manager_scope_to_the_same_code_in_every_model(world):
    planning = factories.make_territory_model()
    east_copy = factories.make_territory(planning, code="east")
    manager = make_manager(scope_codes=("east",))
    assert east_copy.id in ids(Territory.objects.visible_to(manager))


def test_it_shows_the_audit_trail_and_runs_to_managers_only(world):
    AuditEntry.objects.create(action="create", object_type="t", object_id="1", territory_code="east")
    AuditEntry.objects.create(action="create", object_type="t", object_id="2", territory_code="west")
    AssignmentRun.objects.create(territory_model=world.west.territory_model)
    assert AuditEntry.objects.visible_to(world.rep_a.user).count() == 0
    assert AssignmentRun.objects.visible_to(world.rep_a.user).count() == 0
    assert AuditEntry.objects.visible_to(make_manager()).count() == 2
    assert AssignmentRun.objects.visible_to(make_manager()).count() == 1
    scoped = make_manager(scope_codes=("east",))
    assert list(AuditEntry.objects.visible_to(scoped).values_list("territory_code", flat=True)) == ["east"]


def test_it_costs_no_query_until_evaluated_beyond_the_role_lookup(world, django_assert_num_queries):
    user = world.rep_a.user
    Territory.objects.visible_to(user)  # warms the per-user role and scope cache
    with django_assert_num_queries(1):
        list(Deal.objects.visible_to(user))


class VisibilityMatchesReferenceTests(TestCase):
    """Random small trees, assignments and memberships, against a parent-walking reference."""

    @settings(max_examples=25, deadline=None)
    @given(
        parents=st.lists(st.integers(min_value=0, max_value=10), min_size=1, max_size=8),
        assigned=st.sets(st.integers(min_value=0, max_value=7), max_size=3),
        memberships=st.lists(st.tuples(st.integers(min_value=0, max_value=7), st.booleans()), min_size=0, max_size=8),
    )
    def test_it_matches_the_reference(self, parents, assigned, memberships):
        from core.services import role_groups_ensure

        role_groups_ensure()
        TerritoryModel.objects.filter(state="active").update(state="archived")
        model = factories.make_territory_model(state="active")
        nodes: list[Territory] = []
        parent_index: dict[int, int | None] = {}
        for position, choice in enumerate(parents):
            # parent: an earlier node when choice points at one, else a root
            parent = nodes[choice] if choice < position else None
            parent_index[position] = choice if choice < position else None
            nodes.append(factories.make_territory(model, parent=parent))
        rep = factories.make_rep()
        today = timezone.localdate()
        for index in assigned:
            if index < len(nodes):
                RepAssignment.objects.create(rep=rep, territory=nodes[index], role="support", start_date=today)
        accounts = []
        for index, current in memberships:
            account = factories.make_account()
            accounts.append((account, index % len(nodes), current))
            AccountTerritoryMembership.objects.create(
                account=account,
                territory=nodes[index % len(nodes)],
                valid_from=today - timedelta(days=10),
                valid_to=None if current else today - timedelta(days=1),
            )

        def ancestors_or_self(index):
            while index is not None:
                yield index
                index = parent_index[index]

        assigned_nodes = {index for index in assigned if index < len(nodes)}
        expected_territories = {nodes[i].id for i in range(len(nodes)) if assigned_nodes & set(ancestors_or_self(i))}
        expected_accounts = {
            account.id for account, index, current in accounts if current and nodes[index].id in expected_territories
        }
        self.assertEqual(ids(Territory.objects.visible_to(rep.user)), expected_territories)
        self.assertEqual(ids(Account.objects.visible_to(rep.user)), expected_accounts)


def test_it_shows_every_rep_to_a_scoped_manager(world):
    manager = make_manager(scope_codes=("east",))
    assert ids(Rep.objects.visible_to(manager)) == ids(Rep.objects.all())
