"""Cached dashboard figures follow the data: any tracked write gives a new version, and the page shows it."""

import re
from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Deal
from core.data_version import data_changes_prune, data_version
from core.models import ApiToken
from kpis.models import KpiFigure, KpiTarget
from territories.models import RepAssignment
from tests import factories


def _home(client, **params):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("home"), params)
    assert response.status_code == 200
    return response.content.decode(), len(captured)


def test_a_second_view_reads_the_figures_from_the_cache(client, world):
    client.force_login(world.manager_user)
    first, built = _home(client)
    again, cached = _home(client)
    masked = re.compile(r'[Tt]oken"?[:=] ?"[^"]+"|value="[A-Za-z0-9]{64}"')  # CSRF tokens: masked anew each time
    assert masked.sub("", again) == masked.sub("", first)
    assert cached < built - 3


def test_a_changed_target_shows_at_once(client, world):
    client.force_login(world.manager_user)
    before, _ = _home(client)
    assert "200.0 %" in before  # California: 2,000 of 1,000
    KpiTarget.objects.filter(territory=world.west_ca, kpi__code="revenue").update(value=Decimal("4000"))
    after, _ = _home(client)
    assert "50.0 %" in after
    assert "200.0 %" not in after


def test_changed_rollups_show_at_once(client, world):
    client.force_login(world.manager_user)
    _home(client)
    KpiFigure.objects.filter(territory=world.west_ca).update(revenue=Decimal("3000"))
    after, _ = _home(client)
    assert "300.0 %" in after


def test_each_user_has_their_own_figures(client, world):
    client.force_login(world.manager_user)
    manager_page, _ = _home(client)
    client.force_login(world.rep_b.user)
    rep_page, _ = _home(client)
    assert "Oregon" in rep_page and "California" not in rep_page
    assert "California" in manager_page


def test_a_new_assignment_changes_what_a_rep_sees(client, world):
    client.force_login(world.rep_b.user)
    before, _ = _home(client)
    assert "California" not in before
    start = world.period.start
    RepAssignment.objects.create(rep=world.rep_b, territory=world.west_ca, role="support", start_date=start)
    after, _ = _home(client)
    assert "California" in after


def test_tracked_writes_change_the_version_and_untracked_ones_do_not(world):
    version = data_version()
    ApiToken.objects.filter(user=world.manager_user).update(name="Renamed")  # no page figure shows tokens
    assert data_version() == version
    Deal.objects.filter(pk=world.deal_a.pk).update(name="Renamed")  # the deal list shows it
    after_deal = data_version()
    assert after_deal != version
    version = after_deal
    KpiTarget.objects.filter(territory=world.west).update(value=Decimal("1"))
    changed = data_version()
    assert changed != version
    factories.make_territory(world.model, parent=world.west, code="west-nv", name="Nevada")
    assert data_version() not in (version, changed)


def test_a_prune_keeps_versions_unique(world):
    seen = {data_version()}
    for value in ("1", "2", "3"):
        KpiTarget.objects.filter(territory=world.west).update(value=Decimal(value))
        seen.add(data_version())
        data_changes_prune()
        seen.add(data_version())
    assert len(seen) == 7
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM core_datachange")
        assert cursor.fetchone()[0] == 1


def test_the_map_data_follows_the_memberships(client, world):
    from territories.models import AccountTerritoryMembership

    client.force_login(world.manager_user)
    names = {a["name"] for a in client.get(reverse("territories:map-data")).json()["accounts"]}
    assert names == {"Alpha Pacific Inc", "Beaver Timber LLC"}
    AccountTerritoryMembership.objects.filter(account=world.account_b).delete()
    names = {a["name"] for a in client.get(reverse("territories:map-data")).json()["accounts"]}
    assert names == {"Alpha Pacific Inc"}


def test_a_full_recompute_gives_a_new_version(world):
    from kpis.services import rollups_recompute

    version = data_version()
    rollups_recompute()
    assert data_version() != version
