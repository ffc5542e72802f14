"""Registration in the browser: the same "check your inbox" for a new and a known email, and
the emailed link activates the account and logs it in (issue 10 finding 5).

The worker process writes emails as .eml files to its OMS_MAIL_DIR (the mailer is the
boundary); the test reads the link from there."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from oms.auth.enums import UserRole
from tests.factories import make_user
from tests.mail import mailed_link

pytestmark = pytest.mark.slow

PASSWORD = "a-long-password"


def _register(page, email: str) -> str:
    page.goto("/register")
    page.get_by_label("First name").fill("Ada")
    page.get_by_label("Last name").fill("Lovelace")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    status = page.locator("#register-done")
    expect(status).to_contain_text("Check your inbox")
    expect(page.locator("#register-form")).to_be_hidden()
    return status.inner_text()


def test_register_confirm_by_email_and_a_known_email_looks_the_same(
    app_ctx, open_session, web_mail_dir
):
    taken = make_user(UserRole.CUSTOMER).email
    visitor = open_session()
    page = visitor.page
    said_for_new = _register(page, "ada.e2e@example.test")
    assert _register(page, taken) == said_for_new

    # not confirmed yet: the login page says what a wrong password gets
    page.goto("/login")
    page.get_by_label("Email").fill("ada.e2e@example.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#login-form [data-form-error]")).to_contain_text("incorrect")

    link = mailed_link(web_mail_dir, "ada.e2e@example.test", "/register/confirm")
    page.goto(link)
    expect(page.get_by_text("Your email is confirmed")).to_be_visible()
    assert "token" not in page.url  # taken out of the address bar
    page.get_by_role("link", name="Go to your orders").click()
    expect(page).to_have_url(re.compile(r"/customer$"))

    # the same link again is refused in words
    page.goto(link)
    expect(page.get_by_role("alert")).to_contain_text("invalid, used or expired")
    assert not visitor.errors
