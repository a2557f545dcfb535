"""The token page: create (key shown once, stored hashed), list own tokens only, revoke own tokens only."""

import re

import pytest
from django.urls import reverse

from core.models import ApiToken
from core.services import api_token_create
from tests import factories

pytestmark = pytest.mark.django_db


def test_it_creates_a_token_and_shows_the_key_once(client, rep_user):
    client.force_login(rep_user)
    response = client.post(reverse("tokens"), {"name": "My script", "scope": "read", "expires_days": "30"})
    page = response.content.decode()
    key = re.search(r'id="new-key">([^<]+)<', page).group(1)
    token = ApiToken.objects.get(user=rep_user)
    assert token.name == "My script"
    assert token.key_hash == ApiToken.hash_key(key)
    assert key not in token.key_hash
    assert token.expires_at is not None
    assert response["Cache-Control"] == "no-store"  # no cache keeps the key
    assert key not in client.get(reverse("tokens")).content.decode()  # never shown again

    api = client.__class__()
    assert api.get("/api/v1/deals/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200


def test_it_lists_only_the_users_own_tokens(client, rep_user, other_rep_user):
    api_token_create(user=rep_user, name="mine-token")
    api_token_create(user=other_rep_user, name="theirs-token")
    client.force_login(rep_user)
    page = client.get(reverse("tokens")).content.decode()
    assert "mine-token" in page
    assert "theirs-token" not in page


def test_it_revokes_an_own_token(client, rep_user):
    token, key = api_token_create(user=rep_user, name="to revoke")
    client.force_login(rep_user)
    response = client.post(reverse("token-revoke", args=[token.pk]), follow=True)
    assert "revoked" in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert client.__class__().get("/api/v1/deals/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401


def test_it_answers_404_when_revoking_someone_elses_token(client, rep_user):
    theirs, _ = api_token_create(user=factories.make_user(), name="theirs")
    client.force_login(rep_user)
    assert client.post(reverse("token-revoke", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_it_revokes_only_by_post(client, rep_user):
    token, _ = api_token_create(user=rep_user, name="get is not enough")
    client.force_login(rep_user)
    assert client.get(reverse("token-revoke", args=[token.pk])).status_code == 405


@pytest.mark.parametrize(
    ("data", "field"),
    [({"name": "", "scope": "read"}, "name"), ({"name": "x", "scope": "admin"}, "scope"),
     ({"name": "x", "scope": "read", "expires_days": "0"}, "expires_days")],
)  # fmt: skip
def test_it_rejects_bad_input_naming_the_field(client, rep_user, data, field):
    client.force_login(rep_user)
    response = client.post(reverse("tokens"), data)
    assert response.status_code == 200
    assert f'id="id_{field}-errors"' in response.content.decode()
    assert not ApiToken.objects.filter(user=rep_user).exists()
