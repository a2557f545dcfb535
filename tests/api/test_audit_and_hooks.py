"""Audit rows for alignment writes, and the engine/KPI notifications after API and sync writes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Deal
from core.models import AuditEntry
from territories.models import AssignmentRun, ReassignPending, TerritoryModel
from tests import factories
from tests.api.helpers import client_for, url


@pytest.fixture
def client(world, manager_user):
    return client_for(manager_user)


def test_it_audits_create_update_and_delete_of_an_assignment(world, client, manager_user):
    rep = factories.make_rep()
    created = client.post(
        url("rep-assignment-list"),
        {"rep": rep.id, "territory": world.west_ca.id, "role": "support", "start_date": str(timezone.localdate())},
        format="json",
    )
    assignment_id = created.json()["id"]
    client.patch(url("rep-assignment-detail", assignment_id), {"allocation_percent": 40}, format="json")
    client.delete(url("rep-assignment-detail", assignment_id))
    entries = list(AuditEntry.objects.filter(object_type="territories.repassignment").order_by("id"))
    assert [e.action for e in entries] == ["create", "update", "delete"]
    assert {e.user_id for e in entries} == {manager_user.id}
    assert {e.territory_code for e in entries} == {"west-ca"}
    assert entries[0].changes["rep_id"] == [None, rep.id]
    assert entries[1].changes == {"allocation_percent": [100, 40]}
    assert entries[2].changes["allocation_percent"] == [40, None]


def test_it_audits_rule_criteria_changes(world, client):
    client.put(
        url("rule-detail", world.rule_a.id),
        {
            "territory": world.west.id,
            "name": "",
            "position": 0,
            "criteria": [{"field": "region", "operator": "in", "values": ["CA", "OR"]}],
        },
        format="json",
    )
    entry = AuditEntry.objects.get(object_type="territories.territoryrule")
    old, new = entry.changes["criteria"]
    assert [c["values"] for c in old] == [["CA"]]
    assert [c["values"] for c in new] == [["CA", "OR"]]


def test_it_audits_targets_and_overrides_but_not_unchanged_saves(world, client):
    client.patch(url("target-detail", world.target_a.id), {"value": "11"}, format="json")
    client.patch(url("target-detail", world.target_a.id), {"value": "11"}, format="json")
    client.patch(url("override-detail", world.override_a.id), {"reason": "New reason"}, format="json")
    assert AuditEntry.objects.filter(object_type="kpis.kpitarget").count() == 1
    assert AuditEntry.objects.get(object_type="territories.territoryoverride").changes == {
        "reason": ["Pinned west", "New reason"]
    }


def test_it_writes_nothing_to_the_audit_for_a_refused_write(world, client):
    client.patch(url("territory-detail", world.west.id), {"parent": world.west_ca.id}, format="json")
    assert not AuditEntry.objects.exists()


def test_it_notifies_the_engine_when_an_override_changes(
    world, client, monkeypatch, django_capture_on_commit_callbacks
):
    from territories import services

    calls = []
    monkeypatch.setattr(services, "account_reassign", lambda **kwargs: calls.append(kwargs))
    account = factories.make_account()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            url("override-list"),
            {"territory": world.west_ca.id, "account": account.id, "reason": "pin"},
            format="json",
        )
    assert calls == [{"account_ids": [account.id]}]


def test_it_notifies_kpis_when_a_target_changes(world, client, monkeypatch, django_capture_on_commit_callbacks):
    from kpis import services

    calls = []
    monkeypatch.setattr(services, "rollups_mark_dirty", lambda **kwargs: calls.append(kwargs))
    with django_capture_on_commit_callbacks(execute=True):
        client.patch(url("target-detail", world.target_a.id), {"value": "12"}, format="json")
    assert calls == [{"territory_ids": [world.west.id], "targets_only": True}]


def _deal_sync_calls(client, monkeypatch, django_capture_on_commit_callbacks, amount: str) -> list:
    from kpis import services as kpi_services
    from territories import services as territory_services

    calls = []
    monkeypatch.setattr(kpi_services, "deal_changed", lambda **kwargs: calls.append(("kpis", kwargs)))
    monkeypatch.setattr(territory_services, "account_reassign", lambda **kwargs: calls.append(("territories", kwargs)))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url("deal-bulk"),
            [{"external_id": "HOOK-1", "account_external_id": "ACC-A", "amount": amount, "created_on": "2026-01-01"}],
            format="json",
        )
    assert response.status_code == 200
    return calls


def test_it_reassigns_the_account_and_marks_kpis_after_a_new_deal_sync(
    world, client, monkeypatch, django_capture_on_commit_callbacks
):
    calls = _deal_sync_calls(client, monkeypatch, django_capture_on_commit_callbacks, amount="5")
    deal = Deal.objects.get(external_id="HOOK-1")
    assert sorted(calls, key=str) == [
        ("kpis", {"deal_ids": [deal.id]}),
        ("territories", {"account_ids": [deal.account_id]}),
    ]
    assert not ReassignPending.objects.exists()  # drained


def test_it_only_marks_kpis_when_a_synced_deal_keeps_its_account_and_product(
    world, client, monkeypatch, django_capture_on_commit_callbacks
):
    _deal_sync_calls(client, monkeypatch, django_capture_on_commit_callbacks, amount="5")
    calls = _deal_sync_calls(client, monkeypatch, django_capture_on_commit_callbacks, amount="6")
    assert calls == [("kpis", {"deal_ids": [Deal.objects.get(external_id="HOOK-1").id]})]


def test_it_starts_an_assignment_run_and_reads_its_progress(world, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            url("assignment-run-list"),
            {"territory_model": world.west.territory_model_id, "dry_run": True},
            format="json",
        )
    assert response.status_code == 201, response.json()
    run = AssignmentRun.objects.get(pk=response.json()["id"])
    assert (run.status, run.dry_run, len(callbacks)) == ("queued", True, 1)
    read = client.get(url("assignment-run-detail", run.id)).json()
    assert (read["status"], read["progress"]) == ("queued", 0)


def test_it_forbids_a_rep_starting_a_run(world):
    response = client_for(world.rep_a.user).post(
        url("assignment-run-list"), {"territory_model": world.west.territory_model_id}, format="json"
    )
    assert response.status_code == 403
    assert not AssignmentRun.objects.exists()


def test_it_copies_a_model_for_planning(world, client):
    response = client.post(
        url("territory-model-copy", world.west.territory_model_id),
        {"code": "plan-b", "name": "Plan B"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    copy = TerritoryModel.objects.get(code="plan-b")
    assert copy.state == "planning"
    assert sorted(copy.territories.values_list("code", flat=True)) == ["east", "east-ny", "root", "west", "west-ca"]


def test_it_refuses_to_activate_the_active_model_naming_state(world, client):
    response = client.post(url("territory-model-activate", world.west.territory_model_id), {}, format="json")
    assert response.status_code == 400
    assert "state" in response.json()


def test_an_activation_body_with_an_unknown_field_is_refused_naming_it(world, client):
    planning = factories.make_territory_model(code="next")
    response = client.post(
        url("territory-model-activate", planning.id), {"effective_form": "2031-01-01"}, format="json"
    )
    assert (response.status_code, response.json()) == (400, {"effective_form": ["Unknown field."]})
    assert not AssignmentRun.objects.filter(activation=True).exists()


def test_it_activates_a_planning_model(world, client, django_capture_on_commit_callbacks):
    planning = factories.make_territory_model(code="next")
    effective = timezone.localdate() + timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url("territory-model-activate", planning.id), {"effective_from": str(effective)}, format="json"
        )
    assert response.status_code == 202, response.json()
    run = client.get(url("assignment-run-detail", response.json()["id"])).json()
    assert (run["activation"], run["effective_from"], run["status"]) == (True, str(effective), "succeeded")
    assert TerritoryModel.objects.get(pk=planning.id).state == "active"
    assert TerritoryModel.objects.get(pk=world.west.territory_model_id).state == "archived"
    assert AuditEntry.objects.filter(object_type="territories.territorymodel", action="action").count() == 1


def test_it_skips_hooks_whose_module_or_function_does_not_exist():
    from core.hooks import hook_call

    assert hook_call("no_such_app.services", "anything", x=1) is None
    assert hook_call("core.hooks", "no_such_function", x=1) is None


def test_it_makes_a_synced_account_visible_to_the_rep_once_the_engine_places_it(
    world, django_capture_on_commit_callbacks
):
    """End to end through the real engine hook (territories.services.account_reassign)."""
    from accounts.models import Account
    from core import roles
    from territories.models import AccountTerritoryMembership

    factories.make_rule(world.root, {"field": "country", "values": ["US"]})
    integration = factories.make_user(roles.INTEGRATION)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(integration).post(
            url("account-bulk"),
            [{"external_id": "E2E-1", "name": "End to end", "country": "US", "region": "CA"}],
            format="json",
        )
    assert response.status_code == 200
    account = Account.objects.get(external_id="E2E-1")
    current = AccountTerritoryMembership.objects.filter(account=account, valid_to__isnull=True)
    assert list(current.values_list("territory__code", flat=True)) == ["west"]
    assert client_for(world.rep_a.user).get(url("account-detail", account.id)).status_code == 200
    assert client_for(world.rep_b.user).get(url("account-detail", account.id)).status_code == 404


def test_it_reports_coverage_of_a_model(world, client):
    response = client.get(url("territory-model-coverage", world.west.territory_model_id))
    assert response.status_code == 200, response.json()
    report = response.json()
    # account_former's membership ended; every other account made by the world is in a geographic territory
    assert report["accounts_without_territory"] == {"geographic": 1}
    assert report["territories_without_owner"] == ["east-ny", "root", "west-ca"]
    assert report["territories_without_accounts"] == []
    assert report["overlaps"] == 0


def test_it_keeps_coverage_reports_from_reps(world):
    response = client_for(world.rep_a.user).get(url("territory-model-coverage", world.west.territory_model_id))
    assert response.status_code == 403
