"""The admin cannot switch or archive a model by its state: that goes through the alignment services."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db


def test_the_state_is_read_only_in_the_admin(client):
    model = factories.make_territory_model(code="fy26", name="FY26", state="active")
    client.force_login(User.objects.create_superuser("root-admin", password=None))
    change = reverse("admin:territories_territorymodel_change", args=[model.pk])
    page = client.get(change).content.decode()
    assert 'name="state"' not in page
    response = client.post(change, {"code": "fy26", "name": "FY26 renamed", "description": "", "state": "archived"})
    assert response.status_code == 302
    model.refresh_from_db()
    assert (model.name, model.state) == ("FY26 renamed", "active")
