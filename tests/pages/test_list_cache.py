"""List pages and the tree cache their body under the data version: a second view is cheaper, and
every write to what a list shows is there on the next view, for each user's own scope."""

import re

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Campaign, Deal
from territories.models import AccountTerritoryMembership, RepAssignment
from tests import factories

DEALS = reverse("accounts:deals")


def _page(client, url, **params):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
    assert response.status_code == 200
    return response.content.decode(), len(captured)


def test_a_second_view_reads_the_body_from_the_cache(client, world):
    client.force_login(world.manager_user)
    first, built = _page(client, DEALS)
    again, cached = _page(client, DEALS)
    masked = re.compile(r'[Tt]oken"?[:=] ?"[^"]+"|value="[A-Za-z0-9]{64}"')  # CSRF tokens: masked anew each time
    assert masked.sub("", again) == masked.sub("", first)
    assert cached < built


def test_a_renamed_deal_shows_at_once(client, world):
    client.force_login(world.manager_user)
    assert "Alpha renewal" in _page(client, DEALS)[0]
    Deal.objects.filter(pk=world.deal_a.pk).update(name="Alpha upsell")
    page, _ = _page(client, DEALS)
    assert "Alpha upsell" in page and "Alpha renewal" not in page


def test_a_renamed_campaign_shows_at_once(client, world):
    campaign = Campaign.objects.create(name="Spring push", channel="email")
    Deal.objects.filter(pk=world.deal_a.pk).update(campaign=campaign)
    client.force_login(world.manager_user)
    assert "Spring push" in _page(client, DEALS)[0]
    Campaign.objects.filter(pk=campaign.pk).update(name="Summer push")
    assert "Summer push" in _page(client, DEALS)[0]


def test_each_query_string_and_user_has_its_own_body(client, world):
    client.force_login(world.manager_user)
    everything, _ = _page(client, DEALS)
    searched, _ = _page(client, DEALS, external_id="DEAL-BEAVER")
    assert "Alpha renewal" in everything and "Alpha renewal" not in searched
    client.force_login(world.rep_b.user)
    rep_page, _ = _page(client, DEALS)
    assert "Beaver expansion" in rep_page and "Alpha renewal" not in rep_page


def test_a_rep_given_a_territory_sees_its_deals_at_once(client, world):
    client.force_login(world.rep_b.user)
    assert "Alpha renewal" not in _page(client, DEALS)[0]
    start = world.period.start
    RepAssignment.objects.create(rep=world.rep_b, territory=world.west_ca, role="support", start_date=start)
    assert "Alpha renewal" in _page(client, DEALS)[0]


def test_an_account_leaving_a_territory_leaves_its_filtered_list(client, world):
    client.force_login(world.manager_user)
    url = reverse("accounts:list")
    assert world.account_a.name in _page(client, url, territory=world.west_ca.pk)[0]
    AccountTerritoryMembership.objects.filter(account=world.account_a).delete()
    assert world.account_a.name not in _page(client, url, territory=world.west_ca.pk)[0]


def test_a_new_deal_shows_at_once(client, world):
    client.force_login(world.manager_user)
    _page(client, DEALS)
    factories.make_deal(account=world.account_b, name="Brand new deal", rep=world.rep_b)
    assert "Brand new deal" in _page(client, DEALS)[0]


def test_the_tree_shows_a_new_territory_at_once(client, world):
    client.force_login(world.manager_user)
    tree = reverse("territories:tree")
    assert "Nevada" not in _page(client, tree)[0]
    factories.make_territory(world.model, parent=world.west, code="west-nv", name="Nevada")
    assert "Nevada" in _page(client, tree)[0]
    level = _page(client, tree, parent=world.west.pk)[0]
    assert "Nevada" in level and "California" in level


def test_a_tree_level_is_cached_per_user(client, world):
    client.force_login(world.manager_user)
    assert client.get(reverse("territories:tree"), {"parent": world.west.pk}).status_code == 200
    assert client.get(reverse("territories:tree"), {"parent": world.west_ca.pk}).status_code == 200
    client.force_login(world.rep_b.user)
    level = client.get(reverse("territories:tree"), {"parent": world.west_or.pk})
    assert level.status_code == 200
    assert client.get(reverse("territories:tree"), {"parent": world.west_ca.pk}).status_code == 404
