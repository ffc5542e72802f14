"""The login page after too many wrong passwords shows the server's words ("Too many
attempts. Try again in 57 seconds."), on a web process with the default limits."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from oms.auth.enums import UserRole
from tests.conftest import TEST_BROKER_URL, TEST_DATABASE_URL, TEST_REDIS_URL
from tests.e2e.conftest import DEFAULT_TIMEOUT_MS
from tests.factories import PASSWORD, make_user
from tests.processes import free_port, stack_env, start_web

pytestmark = pytest.mark.slow


@pytest.fixture
def limited_web(app, tmp_path):
    """A web server process with the real default limits (not the stack's generous ones)."""
    env = stack_env(
        database_url=TEST_DATABASE_URL, redis_url=TEST_REDIS_URL, broker_url=TEST_BROKER_URL
    )
    env = {k: v for k, v in env.items() if not k.startswith("OMS_RATELIMIT_")}
    port = free_port()
    process = start_web(env, tmp_path / "web.log", port)
    yield f"http://127.0.0.1:{port}"
    process.stop()


def test_the_login_page_says_how_long_to_wait(app_ctx, browser, limited_web):
    email = make_user(UserRole.STAFF).email
    context = browser.new_context(base_url=limited_web)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto("/login")
        alert = page.locator("#login-form [data-form-error]")
        for attempt in range(5):
            page.get_by_label("Email").fill(email)
            page.get_by_label("Password").fill(f"wrong-password-{attempt}")
            page.get_by_role("button", name="Log in").click()
            expect(alert).to_have_text("The email or password is incorrect.")
            expect(page.get_by_role("button", name="Log in")).to_be_enabled()
        page.get_by_label("Password").fill(PASSWORD)  # the right one, too late
        page.get_by_role("button", name="Log in").click()
        expect(alert).to_have_text(re.compile(r"^Too many attempts\. Try again in \d+ seconds?\.$"))
        assert "/login" in page.url
    finally:
        context.close()
