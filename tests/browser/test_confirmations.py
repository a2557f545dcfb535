"""Destructive buttons ask first (data-confirm, static/js/confirm.js): dismissed, nothing happens."""

import pytest

from core import roles
from core.models import ApiToken
from core.services import api_token_create
from tests import factories
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser


def test_revoking_a_token_asks_first(page, live_server, console_errors):
    user = factories.make_user(roles.SALES_MANAGER, username="maria", password="s3cret-pass")
    token, _ = api_token_create(user=user, name="CRM sync")
    log_in(page, live_server, "maria", "s3cret-pass")
    page.goto(f"{live_server.url}/tokens/")
    asked = []

    def answer(dialog, accept):
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, accept=False))
    page.get_by_role("button", name="Revoke CRM sync").click()
    page.wait_for_timeout(300)
    assert asked == ["Revoke this token? Whatever uses it stops working at once."]
    token.refresh_from_db()
    assert token.revoked_at is None
    page.once("dialog", lambda dialog: answer(dialog, accept=True))
    with page.expect_navigation():
        page.get_by_role("button", name="Revoke CRM sync").click()
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert console_errors == []


def test_reloading_the_new_key_page_creates_no_second_token(page, live_server, console_errors):
    factories.make_user(roles.SALES_MANAGER, username="maria", password="s3cret-pass")
    log_in(page, live_server, "maria", "s3cret-pass")
    page.goto(f"{live_server.url}/tokens/")
    page.get_by_label("Name").fill("BI export")
    with page.expect_navigation():
        page.get_by_role("button", name="Create token").click()
    assert page.locator("#new-key").is_visible()
    page.once("dialog", lambda dialog: dialog.accept())  # a resubmission prompt, were there one
    page.reload()
    page.wait_for_load_state("networkidle")
    assert page.locator("#new-key").count() == 0  # the list again, by GET
    assert ApiToken.objects.filter(name="BI export").count() == 1
    assert console_errors == []
