"""The territory page is cached whole per user and URL (core.page_cache): forms still carry the request's
own CSRF token, flash messages still show, and every change to what the page shows is there at once."""

import re

from django.test import Client
from django.urls import reverse

from core.page_cache import CSRF_PLACEHOLDER
from kpis.models import KpiDefinition, KpiTarget
from territories.models import TerritoryOverride
from tests import factories

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def _detail(client, territory, **params):
    response = client.get(reverse("territories:detail", args=[territory.pk]), params)
    assert response.status_code == 200
    page = response.content.decode()
    assert CSRF_PLACEHOLDER not in page
    return page


def test_a_form_of_a_cached_page_posts_with_the_requests_own_token(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.manager_user)
    _detail(client, world.west_ca)
    page = _detail(client, world.west_ca)  # from the cache
    token = TOKEN.search(page).group(1)
    kpi = KpiDefinition.objects.get(code="revenue")
    response = client.post(
        reverse("kpis:target-set", args=[world.west_ca.pk]),
        {
            "csrfmiddlewaretoken": token,
            "kpi": kpi.pk,
            "period_type": "month",
            "period_start": world.period.start.isoformat(),
            "value": "1234",
        },
    )
    assert response.status_code == 302
    target = KpiTarget.objects.get(
        territory=world.west_ca, kpi=kpi, period_type="month", period_start=world.period.start
    )
    assert target.value == 1234


def test_a_flash_message_shows_on_the_page_after_a_post(client, world):
    client.force_login(world.manager_user)
    _detail(client, world.west_ca)
    kpi = KpiDefinition.objects.get(code="revenue")
    response = client.post(
        reverse("kpis:target-set", args=[world.west_ca.pk]),
        {"kpi": kpi.pk, "period_type": "month", "period_start": world.period.start.isoformat(), "value": "777"},
        follow=True,
    )
    assert "Target set" in response.content.decode()
    assert "Target set" not in _detail(client, world.west_ca)  # shown once, then gone


def test_a_new_rule_and_pin_show_at_once(client, world):
    client.force_login(world.manager_user)
    assert "Sacramento" not in _detail(client, world.west_ca)
    factories.make_rule(world.west_ca, {"field": "city", "values": ["Sacramento"]})
    assert "Sacramento" in _detail(client, world.west_ca)
    TerritoryOverride.objects.create(
        account=world.account_b,
        territory=world.west_ca,
        reason="Key customer moved south",
        created_by=world.manager_user,
    )
    assert "Key customer moved south" in _detail(client, world.west_ca)


def test_a_cached_page_is_not_served_to_someone_who_may_not_see_it(client, world):
    client.force_login(world.manager_user)
    _detail(client, world.west_ca)
    client.force_login(world.rep_b.user)
    assert client.get(reverse("territories:detail", args=[world.west_ca.pk])).status_code == 404


def test_each_query_string_is_its_own_page(client, world):
    client.force_login(world.manager_user)
    periods = re.findall(r'<option value="([^"]+)"', _detail(client, world.west_ca))
    other = next(p for p in periods if p != world.period.value)
    page = _detail(client, world.west_ca, period=other)
    assert re.search(rf'<option value="{re.escape(other)}" selected', page)


def test_the_dashboard_shows_a_runs_progress_as_it_moves(client, world):
    from territories.models import AssignmentRun

    run = AssignmentRun.objects.create(territory_model=world.model, status="running", phase="matching", progress=10)
    client.force_login(world.manager_user)
    assert 'aria-valuenow="10"' in client.get(reverse("home")).content.decode()
    assert 'aria-valuenow="10"' in client.get(reverse("home")).content.decode()  # cached
    AssignmentRun.objects.filter(pk=run.pk).update(progress=60, phase="writing")
    page = client.get(reverse("home")).content.decode()
    assert 'aria-valuenow="60"' in page and "writing" in page


def test_a_cached_part_with_a_form_carries_each_requests_own_token(rf, db):
    from django.contrib.auth.models import AnonymousUser
    from django.middleware.csrf import _unmask_cipher_token, get_token

    from core.page_cache import cached_html

    def part(request):
        html = cached_html(key="test:login-form", template="registration/login.html", context=dict, request=request)
        assert CSRF_PLACEHOLDER not in html
        return TOKEN.search(html).group(1)

    first, second = rf.get("/login/"), rf.get("/login/")
    for request in (first, second):
        request.user = AnonymousUser()
    shown = [part(first), part(second)]  # the second from the cache
    secrets = [_unmask_cipher_token(get_token(r)) for r in (first, second)]
    assert [_unmask_cipher_token(token) for token in shown] == secrets
    assert secrets[0] != secrets[1]
