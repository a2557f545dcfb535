import pytest

from core import roles
from tests import factories
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser


def test_it_logs_a_manager_in_and_out(page, live_server, console_errors, screenshot):
    factories.make_user(roles.SALES_MANAGER, username="maria", first_name="Maria", password="s3cret-pass")

    page.goto(f"{live_server.url}/")
    assert "/login/" in page.url  # anonymous users are sent to the login page
    screenshot("login")

    log_in(page, live_server, "maria", "s3cret-pass")
    assert page.get_by_role("heading", name="Welcome, Maria").is_visible()
    screenshot("home")

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login/")
    assert console_errors == []


def test_it_refuses_a_wrong_password(page, live_server):
    factories.make_user(roles.SALES_REP, username="rick", password="right-pass")

    log_in(page, live_server, "rick", "wrong-pass")

    assert "/login/" in page.url
    assert page.get_by_role("alert").inner_text().startswith("Your username and password didn't match")
