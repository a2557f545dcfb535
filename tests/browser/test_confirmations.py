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
