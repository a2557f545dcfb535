"""A territory's kind cannot change to one its existing criteria do not fit — one rule (Territory.clean),
refused with an error on `kind` alike from the territory edit page, the API and the admin; nothing is saved."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.urls import reverse

from territories.models import Territory
from tests import factories
from tests.api.helpers import client_for, url

pytestmark = pytest.mark.django_db

MESSAGE = "Its rules use City"


@pytest.fixture
def territory():
    """A geographic territory whose rule reads the city: a segment or account territory cannot use it."""
    territory = factories.make_territory(code="west-ca", name="California", kind="geographic")
    factories.make_rule(territory, {"field": "city", "values": ["Oakland"]})
    return territory


def _stored_kind(territory) -> str:
    return Territory.objects.get(pk=territory.pk).kind


def test_the_api_refuses_a_kind_the_criteria_do_not_fit(territory, manager_user):
    client = client_for(manager_user)
    for kind in ("segment", "account"):
        response = client.patch(url("territory-detail", territory.pk), {"kind": kind}, format="json")
        assert response.status_code == 400, response.json()
        assert list(response.json()) == ["kind"]
        assert MESSAGE in " ".join(response.json()["kind"])
        assert _stored_kind(territory) == "geographic"


def test_the_api_accepts_other_changes_and_any_kind_without_criteria(territory, manager_user):
    client = client_for(manager_user)
    # No other kind reads the city; a change that keeps the kind is not checked against the criteria.
    response = client.patch(url("territory-detail", territory.pk), {"name": "Cal", "kind": "geographic"}, format="json")
    assert response.status_code == 200, response.json()
    assert Territory.objects.get(pk=territory.pk).name == "Cal"
    bare = factories.make_territory(territory.territory_model, code="bare", kind="geographic")
    response = client.patch(url("territory-detail", bare.pk), {"kind": "account"}, format="json")
    assert response.status_code == 200, response.json()
    assert _stored_kind(bare) == "account"


def _admin_form(territory, **changes) -> dict:
    form = {
        "territory_model": territory.territory_model_id,
        "code": territory.code,
        "name": territory.name,
        "kind": territory.kind,
        "priority": territory.priority,
        "value_tier": territory.value_tier,
        "description": "",
        "rules-TOTAL_FORMS": "0",
        "rules-INITIAL_FORMS": "0",
    }
    return {**form, **changes}


def test_the_admin_refuses_a_kind_the_criteria_do_not_fit(territory, rf):
    # The admin's own change form, validated as its change view does (rendering the page is not needed).
    request = rf.post("/")
    request.user = User.objects.create_superuser("root", "root@example.com", "pw")
    model_admin = admin.site._registry[Territory]

    def admin_form(obj, **changes):
        form_class = model_admin.get_form(request, obj, change=True)
        return form_class(_admin_form(obj, **changes), instance=obj)

    form = admin_form(Territory.objects.get(pk=territory.pk), kind="segment")
    assert not form.is_valid()
    assert list(form.errors) == ["kind"]
    assert MESSAGE in " ".join(form.errors["kind"])
    assert _stored_kind(territory) == "geographic"
    assert admin_form(Territory.objects.get(pk=territory.pk), name="Cal").is_valid()
    bare = factories.make_territory(territory.territory_model, code="bare", kind="geographic")
    form = admin_form(Territory.objects.get(pk=bare.pk), kind="segment")
    assert form.is_valid(), form.errors
    form.save()
    assert _stored_kind(bare) == "segment"


def test_the_edit_page_refuses_a_kind_the_criteria_do_not_fit(territory, manager_user, client):
    client.force_login(manager_user)
    edit_url = reverse("territories:edit", args=[territory.territory_model_id, territory.pk])
    data = {
        "code": territory.code,
        "name": territory.name,
        "kind": "segment",
        "priority": 0,
        "value_tier": territory.value_tier,
        "description": "",
    }
    response = client.post(edit_url, data)
    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["kind"]
    assert MESSAGE in " ".join(response.context["form"].errors["kind"])
    assert _stored_kind(territory) == "geographic"


def test_the_model_refuses_it_when_cleaned_directly(territory):
    from django.core.exceptions import ValidationError

    loaded = Territory.objects.get(pk=territory.pk)
    loaded.kind = "segment"
    with pytest.raises(ValidationError) as error:
        loaded.full_clean()
    assert list(error.value.message_dict) == ["kind"]
