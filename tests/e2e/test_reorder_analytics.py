"""Issue 13 in the browser: a customer reorders a past order in one click (and is told which
lines cannot be ordered again); the analytics page compares with the previous period, takes a
date range (a bad one marked on its field) and says why its charts are empty. axe clean."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from oms.auth.enums import UserRole
from oms.extensions import db
from oms.products.models import Product
from tests.e2e.checks import DESKTOP, PHONE, axe_violations
from tests.factories import PASSWORD, make_order, make_product, make_user
from tests.web.test_analytics import _shift

pytestmark = pytest.mark.slow


def test_reorder_in_one_click_and_the_lines_that_cannot_be(app_ctx, open_session):
    customer = make_user(UserRole.CUSTOMER)
    board = make_product(name="Oak board", price="20.00", stock=10)
    mug = make_product(name="Ceramic mug", price="8.00", stock=10)
    past = make_order(customer, [(board, 2), (mug, 1)], status="delivered")
    session = open_session()
    session.login(customer.email, PASSWORD, next_path="/customer")
    page = session.page
    card = page.locator(f'#my-orders [data-order-id="{past.id}"]')
    card.get_by_role("button", name=f"Reorder {past.number}").click()
    page.wait_for_url(re.compile(r"/customer/orders/[0-9a-f-]{36}$"))
    assert str(past.id) not in page.url
    rows = page.locator("[data-role=items] tr")
    expect(rows).to_have_count(2)
    expect(page.locator("[data-role=total]")).to_have_text("€48.00")

    # the mug is no longer sold: the reorder says so, line by line, and places nothing
    db.session.execute(sa.update(Product).where(Product.id == mug.id).values(active=False))
    db.session.commit()
    page.goto(f"/customer/orders/{past.id}")
    page.get_by_role("button", name=f"Reorder {past.number}").click()
    dialog = page.locator("#reorder-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("[data-slot=lines] li")).to_have_text(["Ceramic mug is no longer sold."])
    found = axe_violations(page)
    assert not found, "\n".join(found)
    dialog.get_by_role("button", name="Close").click()
    expect(page).to_have_url(re.compile(f"/customer/orders/{past.id}$"))
    assert not session.errors


def test_analytics_compare_range_and_empty_state(app_ctx, open_session):
    buyer = make_user(UserRole.CUSTOMER)
    grinder = make_product(name="Burr grinder", price="100.00", stock=50)
    make_order(buyer, [(grinder, 1)])
    before = make_order(buyer, [(grinder, 2)])
    _shift(before, days=8)
    admin = make_user(UserRole.ADMIN)
    session = open_session()
    session.login(admin.email, PASSWORD)
    page = session.page
    page.goto("/admin/analytics?days=7")
    expect(page.locator("[data-stat=orders]")).to_have_text("1")
    expect(page.locator("[data-delta=orders]")).to_have_text(re.compile(r"^0% vs 1$|^±?0% vs 1$"))
    expect(page.locator("[data-delta=revenue]")).to_have_text("-50% vs €200.00")
    expect(page.locator("[data-delta=revenue]")).to_have_attribute("data-trend", "down")
    expect(page.locator("#analytics-empty")).to_be_hidden()
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        found = axe_violations(page)
        assert not found, "\n".join(found)
    page.set_viewport_size(DESKTOP)

    # a range with no orders says why
    today = datetime.now(UTC).date()
    page.get_by_label("Period", exact=True).select_option("custom")
    page.get_by_label("From", exact=True).fill(str(today - timedelta(days=40)))
    page.get_by_label("To", exact=True).fill(str(today - timedelta(days=35)))
    page.get_by_role("button", name="Show").click()
    empty = page.locator("#analytics-empty")
    expect(empty).to_be_visible()
    expect(empty).to_contain_text("The first order came on")
    expect(page).to_have_url(re.compile(r"from=.*&to="))
    found = axe_violations(page)
    assert not found, "\n".join(found)

    # a reversed range: the server's words on the field
    page.get_by_label("To", exact=True).fill(str(today - timedelta(days=50)))
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#range-form")).to_contain_text("Must be on or after from.")
    expect(page.locator("#range-to")).to_have_attribute("aria-invalid", "true")
    assert not session.errors
