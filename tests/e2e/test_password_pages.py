"""Finding 5 in the browser: "Forgot password?" on the login page, the emailed link sets a new
password, and the account page changes it and logs out everywhere.

The worker process writes emails as .eml files to its OMS_MAIL_DIR (the mailer is the
boundary); the test reads the link from there (``mailed_link``)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from oms.auth.enums import UserRole
from tests.factories import PASSWORD, make_user
from tests.mail import mailed_link

pytestmark = pytest.mark.slow

NEW = "brand-new-pass-42"


def test_forgot_password_link_resets_the_password(app_ctx, open_session, web_mail_dir):
    user = make_user(UserRole.CUSTOMER, first_name="Grace")
    visitor = open_session()
    page = visitor.page
    page.goto("/login")
    page.get_by_role("link", name="Forgot password?").click()
    expect(page.get_by_role("heading", name="Reset your password")).to_be_visible()
    page.get_by_label("Email").fill(user.email)
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("status").filter(has_text="If an account exists")).to_be_visible()

    link = mailed_link(web_mail_dir, user.email, "/password-reset")
    page.goto(link)
    expect(page.get_by_label("New password")).to_be_visible()
    assert "token" not in page.url  # taken out of the address bar
    page.get_by_label("New password").fill(NEW)
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_text("Your password is changed")).to_be_visible()

    # the same link a second time is refused in words
    page.goto("/login")
    page.goto(link)
    page.get_by_label("New password").fill("another-pass-77")
    page.get_by_role("button", name="Set the new password").click()
    expect(page.locator("#reset-confirm-form [data-form-error]")).to_contain_text(
        "invalid, used or expired"
    )

    visitor.login(user.email, NEW)
    assert page.url.endswith("/customer")
    assert not visitor.errors


def test_account_page_changes_the_password_and_logs_out_everywhere(app_ctx, open_session):
    user = make_user(UserRole.STAFF)
    here, elsewhere = open_session(), open_session()
    here.login(user.email, PASSWORD)
    elsewhere.login(user.email, PASSWORD)
    page = here.page
    page.get_by_role("link", name="Your account").click()
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    page.get_by_label("Current password").fill("wrong-password-1")
    page.get_by_label("New password").fill(NEW)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("This is not your current password.")).to_be_visible()
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.locator(".toast").filter(has_text="Password changed")).to_be_visible()

    page.goto("/staff")  # this browser stays logged in
    assert page.url.endswith("/staff")
    elsewhere.page.goto("/staff")  # the other one is logged out
    assert "/login" in elsewhere.page.url

    page.goto("/account")
    page.get_by_role("button", name="Log out everywhere").click()
    page.get_by_role("dialog").get_by_role("button", name="Log out everywhere").click()
    page.wait_for_url("**/login")
    page.goto("/staff")
    assert "/login" in page.url
    assert not here.errors
