"""Details without query parameters run a statement compiled once per access shape (core.api.viewsets):
each caller still gets exactly the rows Model.objects.visible_to(caller) holds, rendered as the serializer
renders them, whoever compiled the statement first."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.api.serializers import AccountSerializer, DealSerializer
from accounts.api.views import AccountViewSet, DealViewSet
from accounts.models import Account, Deal
from core import roles
from core.services import api_token_create
from tests import factories
from tests.access.world import build_world, make_manager
from tests.api.helpers import client_for, url

ROUTES = [("account", Account, AccountSerializer, AccountViewSet), ("deal", Deal, DealSerializer, DealViewSet)]


@pytest.fixture
def world(db):
    for viewset in (AccountViewSet, DealViewSet):
        viewset.__dict__.get("_detail_statements", (None, {}))[1].clear()  # compile afresh in this test
    return build_world()


def _callers(world):
    return {
        "manager": make_manager(),
        "east manager": make_manager(scope_codes=("east",)),
        "rep A": world.rep_a.user,
        "rep B": world.rep_b.user,
        "no role": factories.make_user(),
    }


@pytest.mark.parametrize(("route", "model", "serializer", "viewset"), ROUTES)
def test_each_caller_sees_exactly_their_visible_rows(world, route, model, serializer, viewset):
    # Rep B asks after rep A compiled the rep-shaped statement, the scoped manager after both.
    for name, user in _callers(world).items():
        visible = set(model.objects.visible_to(user).values_list("id", flat=True))
        client = client_for(user)
        for instance in model.objects.all():
            response = client.get(url(f"{route}-detail", instance.pk))
            if instance.pk in visible:
                assert response.status_code == 200, (name, instance)
                assert response.json() == dict(serializer(instance).data), name
            else:
                assert response.status_code == 404, (name, instance)
    shapes = set(viewset._detail_statements[1])
    assert shapes == {"everything", ("ids", False), ("ids", True)}


def test_the_rep_shape_reads_each_reps_own_ids(world):
    # Rep A works deal_b_worked_by_a in rep B's territory: visible to A as its rep, to B by territory.
    for user, visible, hidden in (
        (world.rep_a.user, (world.deal_a, world.deal_b_worked_by_a), (world.deal_b,)),
        (world.rep_b.user, (world.deal_b, world.deal_b_worked_by_a), (world.deal_a,)),
    ):
        client = client_for(user)
        for deal in visible:
            assert client.get(url("deal-detail", deal.pk)).status_code == 200
        for deal in hidden:
            assert client.get(url("deal-detail", deal.pk)).status_code == 404


def test_a_detail_costs_the_token_query_and_one_statement(world):
    _, key = api_token_create(user=make_manager(), name="integration")
    client = client_for(factories.make_user(roles.SALES_MANAGER))
    client.logout()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get(url("deal-detail", world.deal_a.pk)).status_code == 200  # compiles; marks the token used
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url("deal-detail", world.deal_b.pk))
    assert response.status_code == 200
    assert response.json()["id"] == world.deal_b.pk
    assert len(queries) == 2, [query["sql"][:80] for query in queries]


@pytest.mark.parametrize("pk", ["abc", "-1", "0", str(2**63), "99999999999999999999999"])
def test_it_answers_404_for_ids_no_row_can_have(world, pk):
    response = client_for(make_manager()).get(f"/api/v1/deals/{pk}/")
    assert response.status_code == 404


def test_query_parameters_take_the_orm_path_with_the_same_answer(world):
    client = client_for(world.rep_a.user)
    for deal, status in ((world.deal_a, 200), (world.deal_b, 404)):
        assert client.get(url("deal-detail", deal.pk, stage=deal.stage)).status_code == status
    assert client.get(url("deal-detail", world.deal_a.pk, stage="lost" if world.deal_a.stage != "lost" else "won"))\
        .status_code == 404  # fmt: skip
