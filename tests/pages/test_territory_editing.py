"""Editing what exists: territories, rules and their criteria, overrides (pins) and named accounts.

Managers edit; reps are refused (403) and scoped managers do not see other subtrees (404). Every change
is audited, validated like the API (model clean / rule_criterion_validate) with the error on the field,
and saved whole or not at all.
"""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core import roles
from core.models import AuditEntry, ManagerScope
from territories.models import (
    AccountTerritoryMembership,
    NamedAccount,
    ReassignPending,
    RuleCriterion,
    Territory,
    TerritoryOverride,
    TerritoryRule,
)
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(client, world):
    client.force_login(world.manager_user)
    return client


def _territory_data(territory, **changes) -> dict:
    data = {
        "code": territory.code,
        "name": territory.name,
        "kind": territory.kind,
        "parent": territory.parent_id or "",
        "priority": territory.priority,
        "value_tier": territory.value_tier,
        "description": territory.description,
    }
    return {**data, **changes}


def _rule_data(rule, criteria: list[dict], **changes) -> dict:
    """The rule page's POST: the rule's fields, then one formset row per given criterion (existing ones by
    id first, as the page lists them) and the empty extra row."""
    existing = list(rule.criteria.order_by("id"))
    data = {
        "name": rule.name,
        "position": rule.position,
        "criteria-TOTAL_FORMS": len(criteria) + 1,
        "criteria-INITIAL_FORMS": len(existing),
        "criteria-MIN_NUM_FORMS": 0,
        "criteria-MAX_NUM_FORMS": 1000,
        **changes,
    }
    blank = {"field": "", "operator": "in", "values": "", "min_value": "", "max_value": ""}
    for i, criterion in enumerate([*criteria, {}]):
        row = {**blank, "range_start": "", "range_end": "", **criterion}
        if i < len(existing):
            row["id"] = existing[i].pk
        row["rule"] = rule.pk
        data.update({f"criteria-{i}-{name}": value for name, value in row.items()})
    return data


# --- Territories ------------------------------------------------------------------------------------


def test_it_edits_a_territory_and_audits_the_change(manager, world):
    url = reverse("territories:edit", args=[world.model.pk, world.west_ca.pk])
    response = manager.post(url, _territory_data(world.west_ca, name="California North", priority=4, parent=""))
    assert response.status_code == 302
    world.west_ca.refresh_from_db()
    assert (world.west_ca.name, world.west_ca.priority, world.west_ca.parent_id) == ("California North", 4, None)
    entry = AuditEntry.objects.get(territory_code="west-ca", action="update", user=world.manager_user)
    assert entry.changes == {
        "name": ["California", "California North"],
        "priority": [0, 4],
        "parent_id": [
            world.west.pk,
            None,
        ],
    }


def test_it_refuses_a_parent_that_makes_a_cycle_naming_the_field(manager, world):
    url = reverse("territories:edit", args=[world.model.pk, world.west.pk])
    response = manager.post(url, _territory_data(world.west, parent=world.west_ca.pk, name="Renamed"))
    assert response.status_code == 400
    assert response.context["form"].errors["parent"] == ["A territory cannot be its own ancestor."]
    assert 'id="id_parent-errors"' in response.content.decode()  # shown next to the field
    world.west.refresh_from_db()
    assert (world.west.parent_id, world.west.name) == (None, "West")  # nothing half-saved
    assert not AuditEntry.objects.filter(action="update", user=world.manager_user).exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", ""),
        ("code", "not a slug!"),
        ("code", "west-or"),  # taken in this model
        ("kind", "planet"),
        ("priority", "high"),
        ("value_tier", "9"),
        ("parent", "999999"),
    ],
)
def test_it_names_the_field_of_bad_territory_input(manager, world, field, value):
    url = reverse("territories:edit", args=[world.model.pk, world.west_ca.pk])
    response = manager.post(url, _territory_data(world.west_ca, **{field: value}))
    assert response.status_code == 400
    form = response.context["form"]
    assert field in form.errors
    assert 'aria-invalid="true"' in response.content.decode()
    assert Territory.objects.get(pk=world.west_ca.pk).code == "west-ca"


def test_it_refuses_a_kind_its_rules_cannot_use(manager, world):
    factories.make_rule(world.west_ca, {"field": "city", "values": ["Oakland"]})
    url = reverse("territories:edit", args=[world.model.pk, world.west_ca.pk])
    response = manager.post(url, _territory_data(world.west_ca, kind="segment"))
    assert response.status_code == 400
    assert "Its rules use City" in " ".join(response.context["form"].errors["kind"])
    assert Territory.objects.get(pk=world.west_ca.pk).kind == "geographic"
    # A kind that fits them is fine, and so is any kind for a territory without criteria.
    other = factories.make_territory(world.model, parent=world.west, code="west-x", kind="geographic")
    other_url = reverse("territories:edit", args=[world.model.pk, other.pk])
    assert manager.post(other_url, _territory_data(other, kind="vertical")).status_code == 302


def test_it_refuses_a_parent_from_a_subtree_a_scoped_manager_cannot_see(client, world):
    scoped = factories.make_user(roles.SALES_MANAGER)
    ManagerScope.objects.create(user=scoped, territory_code="west-ca")
    other = factories.make_territory(world.model, code="east", name="East")
    client.force_login(scoped)
    url = reverse("territories:edit", args=[world.model.pk, world.west_ca.pk])
    response = client.post(url, _territory_data(world.west_ca, parent=other.pk))
    assert response.status_code == 400
    assert "parent" in response.context["form"].errors


# --- Rules and criteria -----------------------------------------------------------------------------


@pytest.fixture
def rule(world):
    return factories.make_rule(
        world.west_ca,
        {"field": "country", "values": ["US", "CA"]},
        {"field": "city", "values": ["San Francisco"]},
    )


def test_it_shows_a_rule_with_its_criteria_and_live_previews(manager, rule):
    response = manager.get(reverse("territories:rule-edit", args=[rule.pk]))
    assert response.status_code == 200
    content = response.content.decode()
    assert 'value="US, CA"' in content  # the values as typed, not a Python list
    assert 'id="preview-criteria-0"' in content and 'id="preview-criteria-2"' in content
    assert "?prefix=criteria-1" in content
    assert 'hx-trigger="load, input delay:400ms, change"' in content  # existing rows preview on load
    for criterion in rule.criteria.all():
        assert f'formaction="{reverse("territories:criterion-delete", args=[criterion.pk])}"' in content


def test_it_changes_adds_and_keeps_criteria_in_one_save_and_audits_it(manager, world, rule):
    data = _rule_data(
        rule,
        [
            {"field": "country", "values": "US"},
            {"field": "city", "values": "San Francisco, Oakland"},
            {"field": "postal_code", "operator": "prefix", "values": "94"},
        ],
        name="Bay Area",
    )
    response = manager.post(reverse("territories:rule-edit", args=[rule.pk]), data)
    assert response.status_code == 302
    assert response.url == reverse("territories:detail", args=[world.west_ca.pk])
    rule.refresh_from_db()
    assert rule.name == "Bay Area"
    stored = {c.field: (c.operator, c.values) for c in rule.criteria.all()}
    assert stored == {
        "country": ("in", ["US"]),
        "city": ("in", ["San Francisco", "Oakland"]),
        "postal_code": ("prefix", ["94"]),
    }
    entry = AuditEntry.objects.get(object_type="territories.territoryrule", action="update")
    assert entry.territory_code == "west-ca"
    assert entry.changes["name"] == ["", "Bay Area"]
    before, after = entry.changes["criteria"]
    assert [c["values"] for c in before] == [["US", "CA"], ["San Francisco"]]
    assert [c["field"] for c in after] == ["country", "city", "postal_code"]
    # The territory's history reads it as sentences, not as stored data.
    page = manager.get(reverse("territories:detail", args=[world.west_ca.pk])).content.decode()
    assert "Updated territory rule Bay Area" in page
    assert (
        "<div>Criteria: Country is one of US, CA; City is one of San Francisco → Country is one of US; "
        "City is one of San Francisco, Oakland; Postal code starts with one of 94</div>"
    ) in page
    assert "<div>Name: — → Bay Area</div>" in page and "{&#x27;field&#x27;" not in page


def test_it_records_nothing_when_nothing_changed(manager, rule):
    data = _rule_data(rule, [{"field": "country", "values": "US, CA"}, {"field": "city", "values": "San Francisco"}])
    assert manager.post(reverse("territories:rule-edit", args=[rule.pk]), data).status_code == 302
    assert not AuditEntry.objects.filter(object_type="territories.territoryrule").exists()


@pytest.mark.parametrize(
    ("criterion", "field", "message"),
    [
        ({"field": "industry", "values": "retail"}, "field", "cannot use Industry"),
        ({"field": "city", "operator": "range", "values": "x"}, "operator", "takes only"),
        ({"field": "region", "values": " , "}, "values", "at least one value"),
        ({"field": "region", "values": ""}, "values", "at least one value"),
        (
            {"field": "postal_code", "operator": "range", "range_start": "95000", "range_end": "94000"},
            "range_start",
            "comes after",
        ),
        ({"field": "postal_code", "operator": "range", "range_start": "94000"}, "range_end", "last code"),
        (
            {"field": "postal_code", "operator": "range", "range_start": "940", "range_end": "94100"},
            "range_end",
            "same length",
        ),
        ({"field": "planet", "values": "x"}, "field", ""),
        ({"field": "region", "operator": "sounds-like", "values": "x"}, "operator", ""),
        ({"field": "city", "values": "Oakland"}, "field", "already has a criterion on this field"),
    ],
)
def test_it_names_the_field_of_a_bad_criterion_and_saves_nothing(manager, rule, criterion, field, message):
    data = _rule_data(
        rule,
        [{"field": "country", "values": "US"}, {"field": "city", "values": "San Francisco"}, criterion],
        name="Changed too",
    )
    response = manager.post(reverse("territories:rule-edit", args=[rule.pk]), data)
    assert response.status_code == 400
    errors = response.context["formset"].forms[2].errors
    assert field in errors
    assert message in " ".join(errors[field])
    content = response.content.decode()
    assert f'id="id_criteria-2-{field}-errors"' in content  # shown under the field it is about
    assert "is-invalid" in content
    rule.refresh_from_db()
    assert rule.name == ""  # the valid change to the rule was not saved either
    assert sorted(rule.criteria.values_list("field", flat=True)) == ["city", "country"]
    assert RuleCriterion.objects.get(rule=rule, field="country").values == ["US", "CA"]


def test_it_refuses_a_changed_criterion_that_duplicates_another(manager, rule):
    data = _rule_data(rule, [{"field": "country", "values": "US"}, {"field": "country", "values": "CA"}])
    response = manager.post(reverse("territories:rule-edit", args=[rule.pk]), data)
    assert response.status_code == 400
    assert "field" in response.context["formset"].forms[1].errors


def test_it_refuses_a_negative_position(manager, rule):
    data = _rule_data(rule, [], position="-1")
    data["criteria-INITIAL_FORMS"] = 0  # keep the page's existing rows out of it
    response = manager.post(reverse("territories:rule-edit", args=[rule.pk]), data)
    assert response.status_code == 400
    assert "position" in response.context["form"].errors


def test_it_previews_the_criterion_of_a_rule_row(manager, world):
    data = {"criteria-1-field": "city", "criteria-1-operator": "in", "criteria-1-values": "san francisco"}
    response = manager.post(reverse("territories:rule-preview") + "?prefix=criteria-1", data)
    assert response.context["count"] == 2
    assert 'id="preview-criteria-1"' in response.content.decode()
    data["criteria-1-values"] = "portland"
    assert manager.post(reverse("territories:rule-preview") + "?prefix=criteria-1", data).context["count"] == 0


def test_it_ignores_an_unexpected_preview_prefix(manager, world):
    data = {"rule-field": "city", "rule-operator": "in", "rule-values": "san francisco"}
    response = manager.post(reverse("territories:rule-preview") + '?prefix="><script>', data)
    assert response.context["count"] == 2
    assert 'id="rule-preview"' in response.content.decode()


def test_it_deletes_a_rule_with_its_criteria_and_audits_them(manager, world, rule):
    response = manager.post(reverse("territories:rule-delete", args=[rule.pk]))
    assert response.url == reverse("territories:detail", args=[world.west_ca.pk])
    assert not TerritoryRule.objects.filter(pk=rule.pk).exists()
    assert not RuleCriterion.objects.filter(rule_id=rule.pk).exists()
    entry = AuditEntry.objects.get(object_type="territories.territoryrule", action="delete")
    assert entry.object_id == str(rule.pk) and entry.territory_code == "west-ca"
    assert [c["field"] for c in entry.changes["criteria"][0]] == ["country", "city"]


def test_it_deletes_a_criterion_and_audits_it(manager, rule):
    city = rule.criteria.get(field="city")
    response = manager.post(reverse("territories:criterion-delete", args=[city.pk]))
    assert response.url == reverse("territories:rule-edit", args=[rule.pk])
    assert list(rule.criteria.values_list("field", flat=True)) == ["country"]
    entry = AuditEntry.objects.get(object_type="territories.rulecriterion", action="delete")
    assert entry.changes["values"] == [["San Francisco"], None]
    assert entry.territory_code == "west-ca"


def test_the_territory_page_links_rules_to_their_edit_page(manager, world, rule):
    content = manager.get(reverse("territories:detail", args=[world.west_ca.pk])).content.decode()
    assert reverse("territories:rule-edit", args=[rule.pk]) in content
    edit = manager.get(reverse("territories:edit", args=[world.model.pk, world.west_ca.pk])).content.decode()
    assert reverse("territories:rule-edit", args=[rule.pk]) in edit


# --- Overrides --------------------------------------------------------------------------------------


@pytest.fixture
def queued(monkeypatch):
    """Account ids handed to the reassignment queue (core.hooks → territories.reassign_queue)."""
    calls: list[int] = []
    monkeypatch.setattr(
        "territories.reassign_queue.accounts_reassign_queue", lambda *, account_ids: calls.extend(account_ids)
    )
    return calls


def test_it_pins_an_account_audits_it_and_queues_the_account(manager, world, queued):
    url = reverse("territories:override-add", args=[world.west_or.pk])
    response = manager.post(url, {"override-account": "ACC-ALPHA", "override-reason": "  Signed by Portland office "})
    assert response.url == reverse("territories:detail", args=[world.west_or.pk])
    pin = TerritoryOverride.objects.get(territory=world.west_or)
    assert (pin.account, pin.reason, pin.created_by) == (
        world.account_a,
        "Signed by Portland office",
        world.manager_user,
    )
    entry = AuditEntry.objects.get(object_type="territories.territoryoverride", action="create")
    assert entry.territory_code == "west-or" and entry.changes["account_id"] == [None, world.account_a.pk]
    assert queued == [world.account_a.pk]
    page = manager.get(response.url).content.decode()
    assert "Signed by Portland office" in page and reverse("territories:override-edit", args=[pin.pk]) in page


def test_a_pin_moves_the_account_once_the_queue_drains(manager, world, django_capture_on_commit_callbacks):
    url = reverse("territories:override-add", args=[world.west_or.pk])
    with django_capture_on_commit_callbacks(execute=True):
        manager.post(url, {"override-account": "ACC-ALPHA", "override-reason": "Portland office"})
    current = AccountTerritoryMembership.objects.filter(account=world.account_a, valid_to__isnull=True)
    assert list(current.values_list("territory__code", "source")) == [("west-or", "override")]
    assert not ReassignPending.objects.exists()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"override-account": "ACC-NOPE", "override-reason": "x"}, "account", "No account you can see"),
        ({"override-account": "", "override-reason": "x"}, "account", "required"),
        ({"override-account": "ACC-ALPHA", "override-reason": "   "}, "reason", ""),
        ({"override-account": "ACC-BEAVER", "override-reason": "again"}, "account", "already pinned"),
    ],
)
def test_it_names_the_field_of_a_bad_pin(manager, world, queued, data, field, message):
    TerritoryOverride.objects.create(territory=world.west_or, account=world.account_b, reason="first")
    response = manager.post(reverse("territories:override-add", args=[world.west_or.pk]), data)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors and message in " ".join(errors[field])
    assert TerritoryOverride.objects.count() == 1
    assert queued == []
    assert not AuditEntry.objects.filter(object_type="territories.territoryoverride").exists()


def test_a_scoped_manager_cannot_pin_an_account_they_cannot_see(client, world):
    scoped = factories.make_user(roles.SALES_MANAGER)
    ManagerScope.objects.create(user=scoped, territory_code="west-ca")
    client.force_login(scoped)
    url = reverse("territories:override-add", args=[world.west_ca.pk])
    response = client.post(url, {"override-account": "ACC-BEAVER", "override-reason": "grab it"})
    assert response.status_code == 400
    assert "account" in response.context["form"].errors
    assert client.post(reverse("territories:override-add", args=[world.west_or.pk]), {}).status_code == 404


def test_it_edits_the_reason_of_a_pin_only(manager, world, queued):
    pin = TerritoryOverride.objects.create(territory=world.west_or, account=world.account_a, reason="old")
    url = reverse("territories:override-edit", args=[pin.pk])
    page = manager.get(url)
    assert page.status_code == 200
    assert 'value="ACC-ALPHA"' in page.content.decode()
    response = manager.post(url, {"override-account": "ACC-BEAVER", "override-reason": "new reason"})
    assert response.status_code == 302
    pin.refresh_from_db()
    assert (pin.account_id, pin.reason) == (world.account_a.pk, "new reason")  # the account cannot be swapped
    entry = AuditEntry.objects.get(object_type="territories.territoryoverride", action="update")
    assert entry.changes == {"reason": ["old", "new reason"]}

    response = manager.post(url, {"override-reason": ""})
    assert response.status_code == 400 and "reason" in response.context["form"].errors


def test_it_removes_a_pin_audits_it_and_queues_the_account(manager, world, queued):
    pin = TerritoryOverride.objects.create(territory=world.west_or, account=world.account_a, reason="old")
    response = manager.post(reverse("territories:override-delete", args=[pin.pk]))
    assert response.url == reverse("territories:detail", args=[world.west_or.pk])
    assert not TerritoryOverride.objects.exists()
    entry = AuditEntry.objects.get(object_type="territories.territoryoverride", action="delete")
    assert entry.changes["reason"] == ["old", None]
    assert queued == [world.account_a.pk]


# --- Named accounts ---------------------------------------------------------------------------------


@pytest.fixture
def key_accounts(world):
    return factories.make_territory(world.model, parent=world.west, code="west-key", name="Key", kind="account")


def test_it_names_and_removes_an_account(manager, world, key_accounts, queued):
    url = reverse("territories:named-account-add", args=[key_accounts.pk])
    response = manager.post(url, {"named-account": "ACC-BEAVER"})
    assert response.url == reverse("territories:detail", args=[key_accounts.pk])
    named = NamedAccount.objects.get(territory=key_accounts)
    assert named.account == world.account_b
    assert "Beaver Timber LLC" in manager.get(response.url).content.decode()

    again = manager.post(url, {"named-account": "ACC-BEAVER"})
    assert again.status_code == 400 and "already named" in " ".join(again.context["form"].errors["account"])
    unknown = manager.post(url, {"named-account": "nope"})
    assert unknown.status_code == 400 and "account" in unknown.context["form"].errors

    manager.post(reverse("territories:named-account-delete", args=[named.pk]))
    assert not NamedAccount.objects.exists()
    actions = list(
        AuditEntry.objects.filter(object_type="territories.namedaccount")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["create", "delete"]
    assert queued == [world.account_b.pk, world.account_b.pk]


def test_it_names_accounts_only_in_account_based_territories(manager, world):
    url = reverse("territories:named-account-add", args=[world.west_ca.pk])
    assert manager.post(url, {"named-account": "ACC-BEAVER"}).status_code == 404
    assert not NamedAccount.objects.exists()
    assert (
        "named-account-form" not in manager.get(reverse("territories:detail", args=[world.west_ca.pk])).content.decode()
    )


# --- Who may -----------------------------------------------------------------------------------------


def _write_urls(world, rule, pin, named) -> list[tuple[str, str]]:
    return [
        ("get", reverse("territories:edit", args=[world.model.pk, world.west_ca.pk])),
        ("post", reverse("territories:edit", args=[world.model.pk, world.west_ca.pk])),
        ("get", reverse("territories:rule-edit", args=[rule.pk])),
        ("post", reverse("territories:rule-edit", args=[rule.pk])),
        ("post", reverse("territories:rule-delete", args=[rule.pk])),
        ("post", reverse("territories:criterion-delete", args=[rule.criteria.first().pk])),
        ("post", reverse("territories:rule-preview") + "?prefix=criteria-0"),
        ("get", reverse("territories:override-add", args=[world.west_ca.pk])),
        ("post", reverse("territories:override-add", args=[world.west_ca.pk])),
        ("get", reverse("territories:override-edit", args=[pin.pk])),
        ("post", reverse("territories:override-edit", args=[pin.pk])),
        ("post", reverse("territories:override-delete", args=[pin.pk])),
        ("post", reverse("territories:named-account-add", args=[named.territory_id])),
        ("post", reverse("territories:named-account-delete", args=[named.pk])),
    ]


@pytest.fixture
def objects(world, rule, key_accounts):
    pin = TerritoryOverride.objects.create(territory=world.west_ca, account=world.account_a, reason="kept")
    named = NamedAccount.objects.create(territory=key_accounts, account=world.account_a)
    return rule, pin, named


def _state() -> tuple:
    return (
        list(Territory.objects.order_by("id").values_list("id", "name", "parent_id")),
        list(RuleCriterion.objects.order_by("id").values_list("id", "values")),
        list(TerritoryOverride.objects.values_list("id", "reason")),
        list(NamedAccount.objects.values_list("id", flat=True)),
        AuditEntry.objects.count(),
    )


def test_a_rep_may_change_nothing(client, world, objects):
    client.force_login(world.rep_a.user)  # rep A sees west-ca, where all of these are
    before = _state()
    for method, url in _write_urls(world, *objects):
        response = getattr(client, method)(url, {"name": "x", "override-reason": "x"})
        assert response.status_code == 403, (method, url)
    assert _state() == before
    page = client.get(reverse("territories:detail", args=[world.west_ca.pk])).content.decode()
    assert "kept" in page  # reps see the pins of their territory…
    assert reverse("territories:override-edit", args=[objects[1].pk]) not in page  # …without edit controls
    assert reverse("territories:rule-edit", args=[objects[0].pk]) not in page


def test_a_scoped_manager_gets_404_outside_their_subtree(client, world, objects):
    scoped = factories.make_user(roles.SALES_MANAGER)
    ManagerScope.objects.create(user=scoped, territory_code="west-or")
    client.force_login(scoped)
    before = _state()
    for method, url in _write_urls(world, *objects):
        if "preview" in url:
            continue  # not an object: the preview counts what the caller sees
        response = getattr(client, method)(url, {"name": "x"})
        assert response.status_code == 404, (method, url)
    assert _state() == before


def test_an_archived_model_is_read_only(manager, world, objects):
    world.model.state = "archived"
    world.model.save()
    before = _state()
    for method, url in _write_urls(world, *objects):
        if "preview" in url:
            continue
        assert getattr(manager, method)(url, {"name": "x"}).status_code == 403, (method, url)
    assert manager.get(reverse("territories:create", args=[world.model.pk])).status_code == 403
    assert _state() == before
    page = manager.get(reverse("territories:detail", args=[world.west_ca.pk])).content.decode()
    assert reverse("territories:rule-edit", args=[objects[0].pk]) not in page


def test_a_planning_model_is_edited_like_the_active_one(manager, world):
    plan = factories.make_territory_model(code="plan", name="Plan")
    territory = factories.make_territory(plan, code="p-west", name="P West")
    rule = factories.make_rule(territory, {"field": "country", "values": ["US"]})
    data = _rule_data(rule, [{"field": "country", "values": "CA"}])
    assert manager.post(reverse("territories:rule-edit", args=[rule.pk]), data).status_code == 302
    assert rule.criteria.get().values == ["CA"]


# --- Query counts -----------------------------------------------------------------------------------


def _count(client, url) -> int:
    cache.clear()  # a page built from the database, not from the figures cache
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def test_the_rule_page_runs_the_same_queries_whatever_its_criteria(manager, world):
    small = factories.make_rule(world.west_ca, {"field": "country", "values": ["US"]})
    big = factories.make_rule(
        world.west_ca,
        {"field": "country", "values": ["US"]},
        {"field": "region", "values": ["CA", "OR"]},
        {"field": "city", "values": ["Portland"]},
        {"field": "postal_code", "operator": "range", "range_start": "94000", "range_end": "94999"},
    )
    _count(manager, reverse("territories:rule-edit", args=[small.pk]))  # warm-up: session, content types
    assert _count(manager, reverse("territories:rule-edit", args=[big.pk])) == _count(
        manager, reverse("territories:rule-edit", args=[small.pk])
    )


def test_the_territory_edit_page_runs_the_same_queries_whatever_its_rules(manager, world):
    url = reverse("territories:edit", args=[world.model.pk, world.west_ca.pk])
    factories.make_rule(world.west_ca, {"field": "country", "values": ["US"]})
    _count(manager, url)
    small = _count(manager, url)
    for i in range(5):
        factories.make_rule(world.west_ca, {"field": "region", "values": [f"R{i}"]}, {"field": "city", "values": ["X"]})
        factories.make_territory(world.model, parent=world.west, code=f"more-{i}")
    assert _count(manager, url) == small


def test_the_territory_page_runs_the_same_queries_whatever_its_pins(manager, world, key_accounts):
    for territory in (world.west_or, key_accounts):
        url = reverse("territories:detail", args=[territory.pk])
        TerritoryOverride.objects.create(territory=territory, account=world.account_a, reason="one")
        NamedAccount.objects.create(territory=territory, account=world.account_a)
        _count(manager, url)
        small = _count(manager, url)
        for _ in range(5):
            account = factories.make_account()
            TerritoryOverride.objects.create(territory=territory, account=account, reason="more")
            NamedAccount.objects.create(territory=territory, account=account)
        assert _count(manager, url) == small


def test_the_pin_page_runs_a_few_queries(manager, world):
    pin = TerritoryOverride.objects.create(territory=world.west_or, account=world.account_a, reason="old")
    url = reverse("territories:override-edit", args=[pin.pk])
    _count(manager, url)
    assert _count(manager, url) <= 6  # session, user, roles, the pin with its territory, model and account


def test_a_range_on_a_field_the_kind_cannot_use_reads_without_database_words(manager, rule):
    """The field is refused for the kind, so its own range check is skipped: the database constraint's
    message is what remains, and it reads as the field check would."""
    criterion = {"field": "employees", "operator": "range", "min_value": "500", "max_value": "10"}
    data = _rule_data(rule, [{"field": "country", "values": "US"}, {"field": "city", "values": "SF"}, criterion])
    response = manager.post(reverse("territories:rule-edit", args=[rule.pk]), data)
    assert response.status_code == 400
    content = response.content.decode()
    assert "cannot use Employees" in content and "The minimum is above the maximum." in content
    assert "Constraint" not in content and "criterion_min_not_above_max" not in content
