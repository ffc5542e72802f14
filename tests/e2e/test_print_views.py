"""Issue 13 packing slips and pick lists: a print view per order and one pick list for a
selection (units grouped by product, with their orders), linked from the staff order page,
styled for paper, axe clean at both widths."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from oms.auth.enums import UserRole
from tests.e2e.checks import DESKTOP, PHONE, axe_violations
from tests.factories import PASSWORD, make_order, make_product, make_user

pytestmark = pytest.mark.slow


@pytest.fixture
def warehouse(app_ctx):
    customer = make_user(UserRole.CUSTOMER, first_name="Ada", last_name="Lovelace")
    staff = make_user(UserRole.STAFF)
    board = make_product(name="Oak board", price="20.00", stock=20)
    mug = make_product(name="Ceramic mug", price="8.00", stock=20)
    first = make_order(customer, [(board, 2), (mug, 1)])
    second = make_order(customer, [(board, 3)])
    shipped = make_order(customer, [(mug, 1)], status="shipped", staff=staff)
    return {"staff": staff, "orders": [first, second, shipped], "board": board, "mug": mug}


def test_packing_slip_from_the_order_page(warehouse, open_session):
    first = warehouse["orders"][0]
    session = open_session()
    session.login(warehouse["staff"].email, PASSWORD)
    page = session.page
    page.goto(f"/staff/orders/{first.id}")
    page.get_by_test_id("packing-slip-link").click()
    page.wait_for_url(f"**/staff/orders/{first.id}/packing-slip")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Order {first.number}")
    expect(page.get_by_test_id("ship-to")).to_contain_text("1 Main Street")
    rows = page.get_by_test_id("slip-lines").locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Ceramic mug")  # by product name
    expect(rows.nth(1)).to_contain_text("Oak board")
    # no prices on a slip (it may travel with a gift)
    expect(page.locator(".paper")).not_to_contain_text("20.00")
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        found = axe_violations(page)
        assert not found, "\n".join(found)
    # on paper: no site header, no toolbar
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator("[data-print-tools]")).to_be_hidden()
    expect(page.get_by_test_id("slip-lines")).to_be_visible()
    assert not session.errors


def test_pick_list_groups_units_by_product_with_their_orders(warehouse, open_session):
    first, second, shipped = warehouse["orders"]
    session = open_session()
    session.login(warehouse["staff"].email, PASSWORD)
    page = session.page
    ids = ",".join(str(o.id) for o in (first, second, shipped))
    page.goto(f"/staff/pick-list?ids={ids},00000000-0000-0000-0000-000000000000")
    expect(page.get_by_role("heading", level=1)).to_have_text("6 units for 2 orders")
    board = page.locator(f'tr[data-product-id="{warehouse["board"].id}"]')
    expect(board.locator("td").nth(2)).to_have_text("5")
    expect(board.locator("td").nth(3)).to_have_text(f"{first.number} × 2, {second.number} × 3")  # noqa: RUF001
    mug = page.locator(f'tr[data-product-id="{warehouse["mug"].id}"]')
    expect(mug.locator("td").nth(2)).to_have_text("1")
    left_out = page.get_by_test_id("pick-left-out")
    expect(left_out).to_contain_text(f"{shipped.number}: shipped")
    expect(left_out).to_contain_text("1 order not found")
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        found = axe_violations(page)
        assert not found, "\n".join(found)
    assert not session.errors

    # linked from the order page, for that order
    page.goto(f"/staff/orders/{first.id}")
    page.get_by_test_id("pick-list-link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("3 units for 1 order")


def test_pick_list_with_bad_ids_is_a_422_page(warehouse, client):
    client.post(
        "/api/v1/auth/login", json={"email": warehouse["staff"].email, "password": PASSWORD}
    )
    for query in ("", "?ids=", "?ids=not-a-uuid", "?ids=" + ",".join(["x"] * 3)):
        response = client.get(f"/staff/pick-list{query}")
        assert response.status_code == 422, query
        assert "<html" in response.get_data(as_text=True)


def test_print_views_are_for_staff_only(warehouse, client):
    customer = make_user(UserRole.CUSTOMER)
    client.post("/api/v1/auth/login", json={"email": customer.email, "password": PASSWORD})
    order = warehouse["orders"][0]
    assert client.get(f"/staff/orders/{order.id}/packing-slip").status_code == 403
    assert client.get(f"/staff/pick-list?ids={order.id}").status_code == 403
