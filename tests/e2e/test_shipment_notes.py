"""Issue 13 fulfilment details in the browser: staff ship with a carrier and tracking number
and write internal notes on the order's timeline; the customer's page shows the tracking link
and never a note. axe finds nothing serious on either page, at both widths."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from oms.auth.enums import UserRole
from tests.e2e.checks import DESKTOP, PHONE, axe_violations
from tests.factories import PASSWORD, make_order, make_product, make_user

pytestmark = pytest.mark.slow
NOTE = "Gift wrap, no invoice in the box."


def test_staff_ship_with_tracking_and_note_the_customer_sees_only_tracking(app_ctx, open_session):
    customer = make_user(UserRole.CUSTOMER)
    staff = make_user(UserRole.STAFF, first_name="Sam", last_name="Picker")
    board = make_product(name="Oak board", price="20.00", stock=5)
    order = make_order(customer, [(board, 1)], status="picked")
    session = open_session()
    session.login(staff.email, PASSWORD)
    page = session.page
    page.goto(f"/staff/orders/{order.id}")
    expect(page.locator("[data-role=shipment-panel]")).to_be_hidden()

    # an internal note, on the timeline with its author
    page.get_by_label("Internal note").fill(NOTE)
    page.get_by_role("button", name="Add note").click()
    note_row = page.locator("[data-role=history] tr[data-kind=note]")
    expect(note_row).to_have_count(1)
    expect(note_row).to_contain_text(NOTE)
    expect(note_row).to_contain_text("Sam Picker (staff)")
    expect(page.get_by_label("Internal note")).to_have_value("")

    # ship: the dialog asks for the carrier and tracking number
    page.get_by_role("button", name=f"Ship order {order.number}").click()
    dialog = page.locator("#ship-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Carrier").select_option("ups")
    dialog.get_by_label("Tracking number").fill("1Z999AA10123456784")
    dialog.get_by_role("button", name="Ship order").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("order-status")).to_have_text("Shipped")
    expect(page.get_by_test_id("carrier")).to_have_text("UPS")
    link = page.get_by_test_id("tracking-link")
    expect(link).to_have_attribute("href", "https://www.ups.com/track?tracknum=1Z999AA10123456784")
    expect(note_row).to_have_count(1)  # the note stays on the timeline after the change
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        found = axe_violations(page)
        assert not found, "\n".join(found)
    assert not session.errors

    shopper = open_session()
    shopper.login(customer.email, PASSWORD, next_path=f"/customer/orders/{order.id}")
    mine = shopper.page
    expect(mine.get_by_test_id("carrier")).to_have_text("UPS")
    expect(mine.get_by_test_id("tracking-link")).to_contain_text("1Z999AA10123456784")
    expect(mine.locator("main")).not_to_contain_text("Gift wrap")
    assert "Gift wrap" not in mine.content()
    for viewport in (DESKTOP, PHONE):
        mine.set_viewport_size(viewport)
        found = axe_violations(mine)
        assert not found, "\n".join(found)


def test_a_bad_carrier_answer_lands_in_the_ship_dialog(app_ctx, open_session):
    customer = make_user(UserRole.CUSTOMER)
    staff = make_user(UserRole.STAFF)
    order = make_order(customer, [(make_product(stock=5), 1)], status="picked")
    session = open_session()
    session.login(staff.email, PASSWORD)
    page = session.page
    page.goto(f"/staff/orders/{order.id}")

    def answer_422(route):
        route.fulfill(
            status=422,
            json={
                "error": {
                    "code": "validation_error",
                    "message": "Unknown carrier.",
                    "details": {"carrier": ["Not a carrier of this shop; use one of ups."]},
                }
            },
        )

    page.route("**/status", answer_422)
    page.get_by_role("button", name=f"Ship order {order.number}").click()
    dialog = page.locator("#ship-dialog")
    dialog.get_by_label("Carrier").select_option("dhl")
    dialog.get_by_role("button", name="Ship order").click()
    expect(dialog).to_contain_text("Not a carrier of this shop")
    expect(dialog).to_be_visible()
