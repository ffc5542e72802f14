"""The admin's webhooks page in Chromium: register an endpoint (the secret shown once, in a
dialog), read its delivery log and resend, and see live when an endpoint failing for a day is
disabled; axe finds no serious problem on the page or in its dialog."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from oms.auth.enums import UserRole
from oms.db import transaction, utcnow
from oms.extensions import db
from oms.webhooks.models import WebhookEndpoint
from tests.e2e.checks import axe_violations
from tests.factories import PASSWORD, make_order, make_product, make_user
from tests.processes import wait_for
from tests.webhooks.conftest import Receiver

pytestmark = pytest.mark.slow


@pytest.fixture
def receiver(tmp_path):
    process = Receiver(tmp_path)
    yield process
    process.stop()


def test_admin_registers_reads_deliveries_resends_and_sees_disabling(
    app, app_ctx, open_session, receiver, monkeypatch
):
    # this process places the orders (in-process tasks) and so delivers to 127.0.0.1
    monkeypatch.setitem(app.config, "OMS_WEBHOOKS_ALLOW_PRIVATE", True)
    admin = make_user(UserRole.ADMIN)
    customer = make_user(UserRole.CUSTOMER)
    product = make_product(stock=20)
    session = open_session()
    session.login(admin.email, PASSWORD, next_path="/admin/webhooks")
    page = session.page
    expect(page.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()
    expect(page.locator("#endpoints")).to_contain_text("No endpoints yet.")
    assert axe_violations(page) == []

    page.get_by_role("button", name="New endpoint").click()
    form = page.locator("#endpoint-dialog")
    form.get_by_label("URL").fill("http://not a url")
    form.get_by_role("button", name="Save endpoint").click()
    expect(form).to_be_visible()  # refused, the dialog stays
    form.get_by_label("URL").fill(receiver.url)
    form.get_by_label("order.created", exact=False).check()
    assert axe_violations(page) == [], "the endpoint dialog has serious accessibility problems"
    form.get_by_role("button", name="Save endpoint").click()
    secret_dialog = page.locator("#secret-dialog")
    expect(secret_dialog).to_be_visible()
    secret = secret_dialog.get_by_label("Secret").input_value()
    assert secret.startswith("whsec_")
    assert axe_violations(page) == [], "the secret dialog has serious accessibility problems"
    secret_dialog.get_by_role("button", name="Done").click()
    row = page.locator("#endpoints tr[data-endpoint-id]")
    expect(row).to_have_count(1)
    expect(row.locator("[data-cell=state]")).to_have_text("Active")
    assert secret not in page.content()  # shown once, never in the list
    receiver.secret(secret)

    session.wait_live()
    make_order(customer, [(product, 1)])
    assert wait_for(lambda: len(receiver.requests()) == 1, 10)
    assert receiver.requests()[0]["valid"] is True

    row.get_by_role("button", name="Deliveries", exact=False).click()
    log = page.locator("#deliveries tr[data-delivery-id]")
    expect(log).to_have_count(1)
    expect(log.first).to_contain_text("order.created")
    expect(log.first.locator("[data-cell=state]")).to_have_text("delivered")
    expect(log.first).to_contain_text("200")
    log.first.get_by_role("button", name="Resend", exact=False).click()
    expect(page.locator("#toasts")).to_contain_text("order.created sent again")
    expect(log).to_have_count(2)
    assert wait_for(lambda: len(receiver.requests()) == 2, 10)
    assert axe_violations(page) == []

    # failing for a day: the worker's next failed attempt (a resend) disables it, and the page
    # hears it live from the worker
    with transaction():
        db.session.execute(
            sa.update(WebhookEndpoint).values(failing_since=utcnow() - timedelta(hours=25))
        )
    receiver.rules(status=500)
    log.first.get_by_role("button", name="Resend", exact=False).click()
    expect(page.locator("#toasts")).to_contain_text("was disabled")
    expect(row.locator("[data-cell=state]")).to_contain_text("Disabled:")
    assert session.errors == []
