"""API tokens: hashed, shown once, scoped, revocable, expiring; 401 once revoked or expired."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from core.models import ApiToken
from core.services import api_token_create, api_token_revoke
from tests.api.helpers import client_for, url


def token_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_it_prints_the_key_once_and_stores_only_its_hash(manager_user):
    out = StringIO()
    call_command(
        "create_api_token",
        manager_user.username,
        "--name",
        "bi",
        "--scope",
        "read-write",
        "--expires-days",
        "30",
        stdout=out,
        stderr=StringIO(),
    )
    key = out.getvalue().strip()
    token = ApiToken.objects.get(user=manager_user)
    assert key.startswith("tm_") and len(key) > 30
    assert token.key_hash == ApiToken.hash_key(key) and key not in (token.key_hash, token.prefix)
    assert (token.name, token.scope) == ("bi", "read-write")
    assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)
    assert token_client(key).get(url("territory-list")).status_code == 200


def test_it_defaults_to_a_read_only_token(manager_user):
    out = StringIO()
    call_command("create_api_token", manager_user.username, stdout=out, stderr=StringIO())
    assert ApiToken.objects.get(user=manager_user).scope == "read"


def test_it_refuses_an_unknown_user(db):
    with pytest.raises(CommandError, match="No user"):
        call_command("create_api_token", "ghost", stdout=StringIO(), stderr=StringIO())


def test_it_answers_401_for_a_revoked_token(manager_user):
    token, key = api_token_create(user=manager_user, name="t")
    assert token_client(key).get(url("account-list")).status_code == 200
    api_token_revoke(token=token)
    response = token_client(key).get(url("account-list"))
    assert response.status_code == 401


def test_it_answers_401_for_an_expired_token(manager_user):
    token, key = api_token_create(user=manager_user, name="t", expires_days=1)
    now = timezone.now()
    ApiToken.objects.filter(pk=token.pk).update(
        created_at=now - timedelta(days=2), expires_at=now - timedelta(seconds=1)
    )
    assert token_client(key).get(url("account-list")).status_code == 401


def test_it_answers_401_for_a_made_up_token(db):
    assert token_client("tm_not-a-real-key").get(url("account-list")).status_code == 401


def test_it_lists_creates_and_revokes_only_your_own_tokens(manager_user, rep_user):
    own, _ = api_token_create(user=manager_user, name="mine")
    theirs, _ = api_token_create(user=rep_user, name="theirs")
    client = client_for(manager_user)
    listed = client.get(url("token-list")).json()["results"]
    assert [row["id"] for row in listed] == [own.id]
    assert "key_hash" not in listed[0]
    created = client.post(url("token-list"), {"name": "new", "scope": "read-write", "expires_days": 7}, format="json")
    assert created.status_code == 201
    key = created.json()["key"]
    assert ApiToken.objects.get(pk=created.json()["id"]).key_hash == ApiToken.hash_key(key)
    assert "key" not in client.get(url("token-detail", created.json()["id"])).json()
    assert client.delete(url("token-detail", theirs.id)).status_code == 404
    assert client.delete(url("token-detail", own.id)).status_code == 204
    own.refresh_from_db()
    theirs.refresh_from_db()
    assert own.revoked_at is not None and theirs.revoked_at is None


def test_it_lets_a_rep_manage_their_own_tokens(rep_user):
    response = client_for(rep_user).post(url("token-list"), {"name": "phone"}, format="json")
    assert response.status_code == 201
    assert response.json()["scope"] == "read"


def test_it_forbids_a_read_token_from_minting_tokens(manager_user):
    _, key = api_token_create(user=manager_user, name="ro")
    response = token_client(key).post(url("token-list"), {"name": "escalate", "scope": "read-write"}, format="json")
    assert response.status_code == 403
    assert ApiToken.objects.filter(user=manager_user).count() == 1


def test_it_rejects_a_bad_scope_and_unknown_fields(manager_user):
    client = client_for(manager_user)
    assert "scope" in client.post(url("token-list"), {"name": "x", "scope": "admin"}, format="json").json()
    assert "key_hash" in client.post(url("token-list"), {"name": "x", "key_hash": "abc"}, format="json").json()
    assert not ApiToken.objects.exists()


def _deal_external_ids_through_token(user) -> tuple[set[str], int]:
    """(deal external ids a token of this user lists, queries the request ran)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    token, key = api_token_create(user=user, name="scope check")
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())  # no last-used write below
    with CaptureQueriesContext(connection) as queries:
        response = token_client(key).get(url("deal-list"))
    assert response.status_code == 200
    return {row["external_id"] for row in response.json()["results"]}, len(queries)


def test_a_token_carries_its_users_scope_and_authenticates_in_one_query(world):
    from tests.access.world import make_manager

    west_manager = make_manager(scope_codes=("west",))
    everyone = {"DEAL-A", "DEAL-B", "DEAL-BA"}
    seen = {
        "rep a": _deal_external_ids_through_token(world.rep_a.user),
        "rep b": _deal_external_ids_through_token(world.rep_b.user),
        "west manager": _deal_external_ids_through_token(west_manager),
        "manager": _deal_external_ids_through_token(make_manager()),
    }
    assert {who: ids for who, (ids, _) in seen.items()} == {
        "rep a": {"DEAL-A", "DEAL-BA"},  # deals of their accounts, and deals they are the rep of
        "rep b": {"DEAL-B", "DEAL-BA"},
        "west manager": {"DEAL-A"},
        "manager": everyone,
    }
    # token + user + roles + scope facts in one query, the data version (the list cache's key) and the
    # page in two more: the same for every role
    assert {who: count for who, (_, count) in seen.items()} == dict.fromkeys(seen, 3)


def test_a_deactivated_users_token_is_refused(manager_user):
    token, key = api_token_create(user=manager_user, name="t")
    manager_user.is_active = False
    manager_user.save()
    assert token_client(key).get(url("account-list")).status_code == 401
