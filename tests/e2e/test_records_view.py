"""Issue 13 defect 8 in the browser: the history's "By" names the person and role ("System"
for the worker), times carry seconds, money carries the currency, a customer's own cards do
not repeat their name, and the address forms offer a country select."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from oms.auth.enums import UserRole
from tests.factories import PASSWORD, make_order, make_product, make_user

pytestmark = pytest.mark.slow
WITH_SECONDS = re.compile(r"\d{1,2}:\d{2}:\d{2}")


def test_staff_order_history_names_people_with_seconds_and_currency(app_ctx, open_session):
    customer = make_user(UserRole.CUSTOMER, first_name="Ada", last_name="Lovelace")
    staff = make_user(UserRole.STAFF, first_name="Sam", last_name="Picker")
    board = make_product(name="Oak board", price="12.50", stock=5)
    order = make_order(customer, [(board, 2)], status="picked", staff=staff)
    session = open_session()
    session.login(staff.email, PASSWORD)
    page = session.page
    page.goto(f"/staff/orders/{order.id}")
    rows = page.locator("[data-role=history] tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0).locator("td").nth(2)).to_have_text("Ada Lovelace (customer)")
    expect(rows.nth(1).locator("td").nth(2)).to_have_text("System")
    expect(rows.nth(2).locator("td").nth(2)).to_have_text("Sam Picker (staff)")
    expect(rows.nth(2).locator("td").nth(0)).to_have_text(WITH_SECONDS)
    expect(page.locator("[data-role=total]")).to_have_text("€25.00")
    expect(page.locator("[data-role=items]")).to_contain_text("€12.50")
    assert not session.errors


def test_my_orders_cards_do_not_repeat_the_customers_name(app_ctx, open_session):
    customer = make_user(UserRole.CUSTOMER, first_name="Ada", last_name="Lovelace")
    board = make_product(name="Oak board", price="9.00", stock=5)
    make_order(customer, [(board, 1)])
    make_order(customer, [(board, 1)])
    session = open_session()
    session.login(customer.email, PASSWORD, next_path="/customer")
    page = session.page
    cards = page.locator("#my-orders .order-card")
    expect(cards).to_have_count(2)
    expect(page.locator("#my-orders")).not_to_contain_text("Lovelace")
    expect(cards.first).to_contain_text("€9.00")
    country = page.get_by_label("Country")
    assert country.evaluate("node => node.tagName") == "SELECT"
    country.select_option("NO")
    expect(country.locator("option:checked")).to_have_text("Norway")
