"""The problems page in the browser: an admin sees an order pending too long with its reason,
replays it (confirmed in the dialog), and the real worker places the order: the row is gone."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from oms.auth.enums import UserRole
from oms.db import transaction, utcnow
from oms.extensions import db
from oms.orders.enums import OrderStatus
from oms.orders.models import Order
from tests.e2e.checks import axe_violations
from tests.factories import PASSWORD, make_order, make_product, make_user
from tests.processes import wait_for

pytestmark = pytest.mark.slow


def test_an_admin_replays_a_stuck_order(app_ctx, open_session):
    admin = make_user(UserRole.ADMIN)
    order = make_order(make_user(), [(make_product(stock=5), 1)], status=OrderStatus.PENDING)
    order_id, number = order.id, order.number
    with transaction() as session:
        session.execute(
            sa.update(Order)
            .where(Order.id == order_id)
            .values(created_at=utcnow() - timedelta(hours=1))
        )
    session = open_session()
    session.login(admin.email, PASSWORD, next_path="/admin/problems")
    page = session.page
    expect(page.get_by_role("heading", name="Problems", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Problems")).to_have_attribute("aria-current", "page")
    row = page.locator(f'#problems tr[data-problem-id="{order_id}"]')
    expect(row).to_contain_text(number)
    expect(row.locator("[data-cell=reason]")).to_contain_text("Pending for 60 min")
    assert axe_violations(page) == []

    row.get_by_role("button", name=f"Replay Order pending {number}").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Pending for 60 min")
    dialog.get_by_role("button", name="Replay").click()
    expect(page.locator("#toasts .toast").first).to_contain_text("reservation queued again")

    def placed() -> bool:
        db.session.expire_all()
        return db.session.get(Order, order_id).status == OrderStatus.PLACED

    assert wait_for(placed, 30)
    page.get_by_role("button", name="Refresh").click()
    expect(page.locator("#problems")).to_contain_text("No problems")
    assert not session.errors
