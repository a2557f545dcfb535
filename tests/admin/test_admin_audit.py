"""Changes made in the admin leave the same audit trail as the pages and the API."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from core.models import AuditEntry
from territories.models import Territory, TerritoryOverride
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    return client


def test_an_admin_edit_of_a_territory_is_audited_with_before_and_after(admin_client):
    territory = factories.make_territory(code="west", name="West")
    form = {
        "territory_model": territory.territory_model_id,
        "code": "west",
        "name": "West Coast",
        "kind": territory.kind,
        "priority": territory.priority,
        "value_tier": territory.value_tier,
        "description": "",
        "rules-TOTAL_FORMS": "0",
        "rules-INITIAL_FORMS": "0",
    }
    response = admin_client.post(reverse("admin:territories_territory_change", args=[territory.pk]), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = AuditEntry.objects.get(object_type="territories.territory")
    assert (entry.action, entry.object_id, entry.user.username) == ("update", str(territory.pk), "root")
    assert entry.changes == {"name": ["West", "West Coast"]}
    assert Territory.objects.get(pk=territory.pk).name == "West Coast"


def test_an_admin_delete_of_an_override_is_audited(admin_client):
    override = TerritoryOverride.objects.create(
        territory=factories.make_territory(code="west"), account=factories.make_account(), reason="Pinned"
    )
    url = reverse("admin:territories_territoryoverride_delete", args=[override.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    entry = AuditEntry.objects.get(object_type="territories.territoryoverride")
    assert (entry.action, entry.changes["reason"]) == ("delete", ["Pinned", None])
    assert not TerritoryOverride.objects.exists()
