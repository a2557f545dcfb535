"""Recompute runs through the API: a manager starts one, polls it, and it runs after commit."""

from kpis.models import KpiRollup, RecomputeRun
from tests.access.world import make_manager
from tests.api.helpers import client_for, url


def test_a_manager_starts_a_recompute_and_reads_its_progress(world, manager_user, django_capture_on_commit_callbacks):
    client = client_for(manager_user)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(url("recompute-run-list"), {"territory": world.west.id, "view": "as_of"}, format="json")
    assert response.status_code == 201, response.json()
    run = RecomputeRun.objects.get(pk=response.json()["id"])
    assert (run.status, run.territory_id, run.view, len(callbacks)) == ("queued", world.west.id, "as_of", 1)
    assert client.get(url("recompute-run-detail", run.id)).json()["status"] == "queued"
    callbacks[0]()  # the commit: the task runs (eagerly here)
    finished = client.get(url("recompute-run-detail", run.id)).json()
    assert (finished["status"], finished["progress"]) == ("succeeded", 100)
    assert KpiRollup.objects.filter(territory=world.west, view="as_of").exists()


def test_bad_input_names_the_field_and_starts_nothing(world, manager_user):
    client = client_for(manager_user)
    unknown = client.post(url("recompute-run-list"), {"territory": 999_999}, format="json")
    bad_view = client.post(url("recompute-run-list"), {"view": "sideways"}, format="json")
    assert (unknown.status_code, list(unknown.json())) == (400, ["territory"])
    assert (bad_view.status_code, list(bad_view.json())) == (400, ["view"])
    assert not RecomputeRun.objects.exists()


def test_a_scoped_manager_recomputes_only_inside_their_scope(world):
    client = client_for(make_manager(scope_codes=("west",)))
    everything = client.post(url("recompute-run-list"), {}, format="json")
    outside = client.post(url("recompute-run-list"), {"territory": world.east.id}, format="json")
    assert (everything.status_code, list(everything.json())) == (400, ["territory"])
    assert (outside.status_code, list(outside.json())) == (400, ["territory"])
    assert client.post(url("recompute-run-list"), {"territory": world.west_ca.id}, format="json").status_code == 201


def test_a_rep_cannot_start_a_recompute(world):
    response = client_for(world.rep_a.user).post(url("recompute-run-list"), {}, format="json")
    assert response.status_code == 403 and not RecomputeRun.objects.exists()


def test_a_run_that_cannot_be_queued_says_so_instead_of_waiting_forever(
    world, manager_user, monkeypatch, django_capture_on_commit_callbacks
):
    from kpis import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("redis is down")

    monkeypatch.setattr(tasks.recompute_run_task, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(manager_user).post(url("recompute-run-list"), {}, format="json")
    assert response.status_code == 201
    run = RecomputeRun.objects.get(pk=response.json()["id"])
    assert (run.status, "could not be reached" in run.error) == ("failed", True)
