"""A customer orders and follows the order live; staff see it arrive and ship it; the
customer's open page shows each change without a reload. Roles are kept to their pages."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from oms.auth.enums import UserRole
from tests.factories import PASSWORD, make_product, make_user

pytestmark = pytest.mark.slow


def test_customer_orders_and_staff_ship_it_live(app_ctx, open_session):
    product = make_product(name="Walnut serving board", price="12.50", stock=10)
    customer = make_user(UserRole.CUSTOMER, first_name="Cora")
    staff = make_user(UserRole.STAFF)

    # Staff watch the open-orders queue before the order exists.
    desk = open_session()
    desk.login(staff.email, PASSWORD)
    expect(desk.page).to_have_url(re.compile(r"/staff$"))
    desk.wait_live()
    desk.mark()

    # The customer picks the product (availability shown), sees the running total, orders.
    shopper = open_session()
    shopper.login(customer.email, PASSWORD, next_path="/customer")
    page = shopper.page
    row = page.locator(f'.product-row[data-product-id="{product.id}"]')
    expect(row).to_contain_text("€12.50")
    expect(row).to_contain_text("10 available")
    row.get_by_label(f"Quantity of {product.name}").fill("2")
    expect(page.get_by_test_id("running-total")).to_have_text("€25.00")
    page.get_by_label("Address line 1").fill("1 Harbour Road")
    page.get_by_label("City").fill("Bergen")
    page.get_by_label("Postal code").fill("5003")
    page.get_by_label("Country").select_option("NO")
    page.get_by_test_id("place-order").click()
    page.wait_for_url(re.compile(r"/customer/orders/[0-9a-f-]{36}$"))
    order_id = page.url.rsplit("/", 1)[1]
    shopper.wait_live()
    shopper.mark()

    # The worker reserves the stock: the open page turns "placed" by itself.
    status = page.get_by_test_id("order-status")
    expect(status).to_have_text("Placed")
    expect(page.locator('.timeline li[data-step="placed"]')).to_have_attribute(
        "data-state", "current"
    )

    # The new order appeared in the staff queue without a reload; staff pick and ship it,
    # offered only the allowed next steps each time.
    card = desk.page.locator(f'.order-card[data-order-id="{order_id}"]')
    expect(card.locator(".badge")).to_have_text("Placed")
    expect(card.locator("[data-action]")).to_have_count(2)  # pick, cancel
    expect(card.locator('[data-action="shipped"]')).to_have_count(0)
    card.locator('[data-action="picked"]').click()
    expect(card.locator(".badge")).to_have_text("Picked")
    card.locator('[data-action="shipped"]').click()
    expect(card.locator(".badge")).to_have_text("Shipped")
    expect(card.locator('[data-action="cancelled"]')).to_have_count(0)
    assert desk.still_marked(), "the staff queue reloaded"

    # The customer's page, open all along, now says shipped.
    expect(status).to_have_text("Shipped")
    expect(page.locator('.timeline li[data-step="shipped"]')).to_have_attribute(
        "data-state", "current"
    )
    expect(page.locator('.timeline li[data-step="picked"]')).to_have_attribute("data-state", "done")
    assert shopper.still_marked(), "the customer's order page reloaded"
    assert not desk.errors and not shopper.errors, desk.errors + shopper.errors


def test_customer_cannot_open_staff_or_admin_pages(app_ctx, open_session):
    customer = make_user(UserRole.CUSTOMER)
    visitor = open_session()

    # Logged out: sent to login, and brought back afterwards.
    visitor.page.goto("/staff")
    expect(visitor.page).to_have_url(re.compile(r"/login\?next=(%2F|/)staff$"))

    visitor.login(customer.email, PASSWORD)
    for path in ("/staff", "/admin", "/admin/users", "/staff/products"):
        response = visitor.page.goto(path)
        assert response.status == 403, path
        expect(visitor.page.get_by_role("heading", level=1)).to_have_text(
            "You do not have access to this page"
        )
    # The customer's own pages still open.
    assert visitor.page.goto("/customer").status == 200
