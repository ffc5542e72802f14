"""The live order table (/staff/orders, /admin): staff pick 50 selected orders in one action
and see the result per order; an admin sees an order placed by another client appear, and a
row's status change in place, without a reload; selection by shift-click and "all matching";
keyboard shortcuts; axe and the phone layout with a selection and a bulk result open."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from oms.auth.enums import UserRole
from oms.extensions import db
from oms.orders.enums import OrderStatus
from oms.orders.models import Order
from tests.e2e.checks import DESKTOP, PHONE, axe_violations, box, within_width
from tests.factories import ADDRESS, PASSWORD, make_order, make_product, make_user

pytestmark = pytest.mark.slow


def _statuses() -> dict[str, str]:
    db.session.remove()
    return {str(i): s.value for i, s in db.session.execute(sa.select(Order.id, Order.status))}


def _api_login(context, email: str) -> dict:
    """Another client of the HTTP API (no browser page): its Bearer headers."""
    answer = context.request.post("/api/v1/auth/login", data={"email": email, "password": PASSWORD})
    assert answer.ok, answer.text()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@pytest.fixture
def warehouse(app_ctx):
    staff = make_user(UserRole.STAFF)
    admin = make_user(UserRole.ADMIN)
    customer = make_user(UserRole.CUSTOMER, first_name="Ingrid")
    mug = make_product(name="Stoneware mug", price="8.00", stock=1000)
    return {"staff": staff, "admin": admin, "customer": customer, "mug": mug}


def test_staff_pick_fifty_selected_orders_in_one_action(warehouse, open_session):
    customer, mug = warehouse["customer"], warehouse["mug"]
    placed = [str(make_order(customer, [(mug, 1)]).id) for _ in range(50)]
    shipped = str(make_order(customer, [(mug, 1)], status=OrderStatus.SHIPPED).id)
    desk = open_session()
    desk.login(
        warehouse["staff"].email, PASSWORD, next_path=quote("/staff/orders?view=to-pick&limit=50")
    )
    page = desk.page
    rows = page.locator("#orders tr[data-order-id]")
    expect(rows).to_have_count(50)
    expect(page.locator("#orders-summary")).to_have_text("1-50 of 50 orders to pick")
    expect(page.get_by_role("link", name="To pick")).to_have_attribute("aria-current", "page")
    desk.wait_live()
    desk.mark()

    page.get_by_label("Select every order on this page").check()
    expect(page.locator("#bulk-count")).to_have_text("50 selected")
    page.locator("#bulk-bar").get_by_role("button", name="Pick", exact=True).click()
    result = page.get_by_test_id("bulk-summary")
    # 50 transactions one after another on a loaded machine: wait for the answer, not a time
    expect(result).to_have_text("Picked: 50 of 50 orders.", timeout=120_000)
    expect(page.locator("#bulk-bar")).to_be_hidden()
    expect(rows.locator(".badge").filter(has_text="Picked")).to_have_count(50)
    statuses = _statuses()
    assert [statuses[i] for i in placed] == ["picked"] * 50
    assert statuses[shipped] == "shipped"
    assert desk.still_marked(), "the table reloaded"
    assert not desk.errors, desk.errors


def test_a_refused_order_is_shown_with_its_reason(warehouse, open_session):
    customer, mug = warehouse["customer"], warehouse["mug"]
    orders = [make_order(customer, [(mug, 1)], status=OrderStatus.PICKED) for _ in range(4)]
    orders.append(make_order(customer, [(mug, 1)]))  # placed: cannot ship yet
    desk = open_session()
    desk.login(warehouse["staff"].email, PASSWORD, next_path="/staff/orders")
    page = desk.page
    rows = page.locator("#orders tr[data-order-id]")
    expect(rows).to_have_count(5)
    # the newest first: a click on the first box and a shift-click on the last selects all five
    rows.nth(0).locator(".row-select").click()
    rows.nth(4).locator(".row-select").click(modifiers=["Shift"])
    expect(page.locator("#bulk-count")).to_have_text("5 selected")
    page.locator("#bulk-bar").get_by_role("button", name="Ship", exact=True).click()
    expect(page.get_by_test_id("bulk-summary")).to_contain_text("Shipped: 4 of 5 orders. 1 refused")
    refused = page.locator("#bulk-result [data-slot=refused] li")
    expect(refused).to_have_count(1)
    expect(refused).to_contain_text(f"{orders[4].number}: Order {orders[4].number} is placed")
    expect(page.locator("#bulk-count")).to_have_text("1 selected")  # the refused one stays
    statuses = _statuses()
    assert sorted(statuses.values()) == ["placed", "shipped", "shipped", "shipped", "shipped"]


def test_select_all_matching_goes_past_the_page(warehouse, open_session):
    customer, mug = warehouse["customer"], warehouse["mug"]
    for _ in range(7):
        make_order(customer, [(mug, 1)])
    desk = open_session()
    desk.login(warehouse["staff"].email, PASSWORD, next_path=quote("/staff/orders?limit=5"))
    page = desk.page
    expect(page.locator("#orders tr[data-order-id]")).to_have_count(5)
    expect(page.locator("#orders-summary")).to_have_text("1-5 of 7 orders")
    page.get_by_label("Select every order on this page").check()
    page.get_by_role("button", name="Select all 7 matching orders").click()
    expect(page.locator("#bulk-count")).to_have_text("All 7 matching orders selected")
    page.locator("#bulk-bar").get_by_role("button", name="Pick", exact=True).click()
    expect(page.get_by_test_id("bulk-summary")).to_have_text("Picked: 7 of 7 orders.")
    assert set(_statuses().values()) == {"picked"}
    page.get_by_role("button", name="Next page").click()
    expect(page.locator("#orders-summary")).to_have_text("6-7 of 7 orders")


def test_admin_sees_a_new_order_and_a_status_change_live(warehouse, open_session, browser, web):
    customer, mug = warehouse["customer"], warehouse["mug"]
    existing = make_order(customer, [(mug, 1)])
    desk = open_session()
    desk.login(warehouse["admin"].email, PASSWORD, next_path="/admin")
    page = desk.page
    rows = page.locator("#orders tr[data-order-id]")
    expect(rows).to_have_count(1)
    expect(page.locator("#orders-summary")).to_have_text("1-1 of 1 orders")
    desk.wait_live()
    desk.mark()

    other = browser.new_context(base_url=web)
    try:
        buyer = _api_login(other, customer.email)
        answer = other.request.post(
            "/api/v1/orders",
            data={
                "items": [{"product_id": str(mug.id), "quantity": 3}],
                "shipping_address": ADDRESS,
            },
            headers=buyer,
        )
        assert answer.status == 202, answer.text()
        new_id = answer.json()["id"]
        new_row = page.locator(f'#orders tr[data-order-id="{new_id}"]')
        expect(new_row).to_be_visible()
        expect(rows.first).to_have_attribute("data-order-id", new_id)  # newest first
        expect(new_row.locator(".badge")).to_have_text("Placed")  # the worker reserved it
        expect(new_row.locator("[data-cell=items]")).to_have_text("3")
        expect(page.locator("#orders-summary")).to_have_text("1-2 of 2 orders")

        clerk = _api_login(other, warehouse["staff"].email)
        moved = other.request.patch(
            f"/api/v1/orders/{existing.id}/status", data={"status": "picked"}, headers=clerk
        )
        assert moved.ok, moved.text()
        old_row = page.locator(f'#orders tr[data-order-id="{existing.id}"]')
        expect(old_row.locator(".badge")).to_have_text("Picked")
    finally:
        other.close()
    assert desk.still_marked(), "the admin table reloaded"
    assert not desk.errors, desk.errors


def test_keyboard_shortcuts(warehouse, open_session):
    customer, mug = warehouse["customer"], warehouse["mug"]
    orders = [make_order(customer, [(mug, 1)]) for _ in range(3)]
    newest_first = [str(o.id) for o in reversed(orders)]
    desk = open_session()
    desk.login(warehouse["staff"].email, PASSWORD, next_path="/staff/orders")
    page = desk.page
    rows = page.locator("#orders tr[data-order-id]")
    expect(rows).to_have_count(3)

    page.keyboard.press("?")
    help_dialog = page.locator("#shortcuts-dialog")
    expect(help_dialog).to_be_visible()
    expect(help_dialog).to_contain_text("Pick it")
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()

    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(rows.nth(1)).to_have_class(re.compile(r"\bis-focused\b"))
    page.keyboard.press("k")
    expect(rows.nth(0)).to_have_class(re.compile(r"\bis-focused\b"))
    page.keyboard.press("x")
    expect(page.locator("#bulk-count")).to_have_text("1 selected")
    expect(rows.nth(0).locator(".row-select")).to_be_checked()
    page.keyboard.press("p")
    expect(rows.nth(0).locator(".badge")).to_have_text("Picked")
    page.keyboard.press("s")
    expect(rows.nth(0).locator(".badge")).to_have_text("Shipped")
    page.keyboard.press("j")
    page.keyboard.press("s")  # placed: the server refuses, in words
    expect(page.locator("#toasts")).to_contain_text("cannot become shipped")
    expect(rows.nth(1).locator(".badge")).to_have_text("Placed")

    # typing in the search field is typing, not shortcuts
    page.keyboard.press("/")
    search = page.get_by_role("searchbox", name="Search orders")
    expect(search).to_be_focused()
    page.keyboard.type("jkxps")
    expect(search).to_have_value("jkxps")
    expect(rows.nth(1)).to_have_class(re.compile(r"\bis-focused\b"))
    statuses = _statuses()
    assert [statuses[i] for i in newest_first] == ["shipped", "placed", "placed"]

    search.fill("")
    page.locator("main h1").click()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/staff/orders/{newest_first[1]}")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
@pytest.mark.parametrize(("role", "path"), [("staff", "/staff/orders"), ("admin", "/admin")])
def test_axe_and_layout_with_a_selection_and_a_result(
    warehouse, open_session, viewport, role, path
):
    customer, mug = warehouse["customer"], warehouse["mug"]
    for _ in range(3):
        make_order(customer, [(mug, 2)])
    make_order(customer, [(mug, 1)], status=OrderStatus.SHIPPED)
    width = viewport["width"]
    session = open_session()
    session.login(warehouse[role].email, PASSWORD, next_path=path)
    page = session.page
    page.set_viewport_size(viewport)
    rows = page.locator("#orders tr[data-order-id]")
    expect(rows).to_have_count(4)
    row = rows.first
    assert box(row)["y"] + 40 <= viewport["height"], f"{path}: no row above the fold"
    for locator in (row.locator(".row-select"), row.locator(".badge"), row.locator("a")):
        assert within_width(locator, width), f"{path}: a key cell is cut off"
    for cell in ("total", "age", "customer"):
        assert within_width(row.locator(f"[data-cell={cell}]"), width), f"{path}: {cell}"
    page.get_by_label("Select every order on this page").check()
    bar = page.locator("#bulk-bar")
    for name in ("Pick", "Ship", "Cancel orders"):
        assert within_width(bar.get_by_role("button", name=name, exact=True), width)
    found = axe_violations(page)
    bar.get_by_role("button", name="Pick", exact=True).click()
    expect(page.get_by_test_id("bulk-summary")).to_contain_text("1 refused")
    found += axe_violations(page)
    page.locator("main h1").click()
    page.keyboard.press("?")
    expect(page.locator("#shortcuts-dialog")).to_be_visible()
    found += axe_violations(page)
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{path}: the page scrolls sideways ({scroll} px)"
    assert not found, "\n".join(found)


def test_the_bulk_bar_prints_a_pick_list_of_the_selection(warehouse, open_session):
    customer = warehouse["customer"]
    kettle = make_product(name="Copper kettle", price="30.00", stock=50)
    first = make_order(customer, [(kettle, 2)])
    second = make_order(customer, [(kettle, 3)])
    make_order(customer, [(warehouse["mug"], 1)])  # newest, not selected
    desk = open_session()
    desk.login(warehouse["staff"].email, PASSWORD, next_path="/staff/orders")
    page = desk.page
    rows = page.locator("#orders tr[data-order-id]")
    expect(rows).to_have_count(3)
    rows.nth(1).locator(".row-select").check()
    rows.nth(2).locator(".row-select").check()
    link = page.get_by_role("button", name="Print pick list")
    expect(link).to_have_attribute("href", re.compile(f"ids=({second.id},{first.id})$"))
    with desk.context.expect_page() as opened:
        link.click()
    sheet = opened.value
    sheet.wait_for_load_state()
    expect(sheet.locator("body")).to_contain_text("Copper kettle")
    expect(sheet.locator("body")).not_to_contain_text("Stoneware mug")


def test_admin_exports_the_selection_through_an_export_job(warehouse, open_session):
    customer, mug = warehouse["customer"], warehouse["mug"]
    orders = [make_order(customer, [(mug, 1)]) for _ in range(4)]
    wanted = {o.number for o in orders[-2:]}  # the two newest: the first two rows
    desk = open_session()
    desk.login(warehouse["admin"].email, PASSWORD, next_path="/admin")
    page = desk.page
    rows = page.locator("#orders tr[data-order-id]")
    expect(rows).to_have_count(4)
    rows.nth(0).locator(".row-select").check()
    rows.nth(1).locator(".row-select").check()
    page.locator("#bulk-bar").get_by_role("button", name="Export CSV").click()
    job = page.get_by_test_id("export-job").first
    expect(job.get_by_test_id("export-status")).to_have_text("Finished", timeout=60_000)
    expect(job).to_contain_text("2 of 2 rows")
    with page.expect_download() as download_info:
        job.get_by_test_id("export-download").click()
    with open(download_info.value.path(), encoding="utf-8-sig") as handle:
        numbers = {line.split(",")[0] for line in handle.read().splitlines()[1:]}
    assert numbers == wanted
