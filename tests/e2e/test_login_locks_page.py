"""The admin's view of login locks (issue 24, item 4) in Chromium, on a web process with the
default limits: an account locked by wrong passwords is listed at the bottom of /admin/users,
the admin lifts it, and its owner logs in from a new device at once."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from oms.auth.enums import UserRole
from tests.e2e.checks import axe_violations
from tests.e2e.conftest import DEFAULT_TIMEOUT_MS
from tests.e2e.test_login_throttle import limited_web  # noqa: F401 (a fixture)
from tests.factories import PASSWORD, make_user
from tests.integration.conftest import http_raw

pytestmark = pytest.mark.slow


def _login(base: str, email: str, password: str) -> int:
    body = {"email": email, "password": password}
    return http_raw("POST", f"{base}/api/v1/auth/login", body)[0]


def test_an_admin_sees_and_lifts_a_login_lock(app_ctx, browser, limited_web):  # noqa: F811
    locked = make_user(UserRole.STAFF).email
    admin = make_user(UserRole.ADMIN).email
    assert [_login(limited_web, locked, f"wrong-{i}") for i in range(6)] == [401] * 5 + [429]

    context = browser.new_context(base_url=limited_web)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto("/login?next=/admin/users")
        page.get_by_label("Email").fill(admin)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Login locks")).to_be_visible()
        row = page.locator(f'#locks tr[data-lock="account:{locked}"]')
        expect(row).to_contain_text("Account")
        assert axe_violations(page) == []
        row.get_by_role("button", name=f"Lift the lock of {locked}").click()
        expect(page.locator("#locks")).to_contain_text("No login locks.")
    finally:
        context.close()
    assert _login(limited_web, locked, PASSWORD) == 200  # a new device, right away
