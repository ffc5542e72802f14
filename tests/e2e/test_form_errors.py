"""Form errors in the browser: each message on its own field, once, inside the field's grid
cell; the running total counts valid lines only; the server's details in words on their fields
(a conflict names the problem, not the value; a bad admin filter marks that filter); a price
may be typed with a decimal comma."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from oms.auth.enums import UserRole
from oms.extensions import db
from oms.products.models import Product
from tests.e2e.checks import DESKTOP, PHONE, box
from tests.factories import PASSWORD, make_product, make_user

pytestmark = pytest.mark.slow


def _text_fits(input_locator) -> bool:
    """Whether the input shows its whole value (nothing scrolled out of its box)."""
    return input_locator.evaluate(
        """(input) => {
            const style = getComputedStyle(input);
            const probe = document.createElement("span");
            probe.style.font = style.font;
            probe.style.whiteSpace = "pre";
            probe.textContent = input.value;
            document.body.append(probe);
            const text = probe.getBoundingClientRect().width;
            probe.remove();
            const room = input.clientWidth - parseFloat(style.paddingLeft)
                - parseFloat(style.paddingRight) - 20;  // the spin buttons
            return text <= room;
        }"""
    )


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_quantity_errors_show_once_and_the_total_counts_valid_lines(
    app_ctx, open_session, viewport
):
    board = make_product(name="Oak board", price="9.00", stock=10)
    cup = make_product(name="Cup", price="4.50", stock=10)
    customer = make_user(UserRole.CUSTOMER)
    session = open_session()
    session.login(customer.email, PASSWORD, next_path="/customer")
    page = session.page
    page.set_viewport_size(viewport)
    board_row = page.locator(f'.product-row[data-product-id="{board.id}"]')
    cup_row = page.locator(f'.product-row[data-product-id="{cup.id}"]')
    board_qty = board_row.get_by_role("spinbutton", name="Quantity of Oak board")
    cup_qty = cup_row.get_by_role("spinbutton", name="Quantity of Cup")
    count = page.locator(".order-summary [data-role=count]")
    total = page.get_by_test_id("running-total")

    cup_qty.fill("2")
    expect(total).to_have_text("€9.00")
    board_qty.fill("1.5")
    expect(board_row).to_contain_text("Enter a whole number")
    expect(count).to_have_text("2")
    expect(total).to_have_text("€9.00")
    board_qty.fill("99999")
    expect(board_row).to_contain_text("Only 10 available; you asked for 99999.")
    expect(count).to_have_text("2")
    expect(total).to_have_text("€9.00")
    assert _text_fits(board_qty), "the quantity input cuts off 99999"

    # submitting shows the line's message once, and the input keeps its width
    width_before = box(board_qty)["width"]
    page.get_by_test_id("place-order").click()
    expect(board_qty).to_be_focused()
    expect(board_row.get_by_text("Only 10 available; you asked for 99999.")).to_have_count(1)
    expect(board_row.locator(".field-error")).to_have_count(0)
    assert box(board_qty)["width"] == width_before
    assert _text_fits(board_qty)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_address_errors_stay_with_their_fields(app_ctx, open_session, viewport):
    board = make_product(name="Oak board", price="9.00", stock=10)
    customer = make_user(UserRole.CUSTOMER)
    session = open_session()
    session.login(customer.email, PASSWORD, next_path="/customer")
    page = session.page
    page.set_viewport_size(viewport)
    page.get_by_label("Quantity of Oak board").fill("1")
    fields = {
        name: page.get_by_label(name, exact=False) for name in ("City", "Postal code", "Country")
    }
    fields["City"].fill("")
    fields["Postal code"].fill("")
    fields["Country"].select_option("")
    before = {name: box(field) for name, field in fields.items()}

    page.get_by_test_id("place-order").click()
    for name, field in fields.items():
        # each field's cell: its label, or (the country select) the cell with its own label
        label = page.locator("fieldset.address").locator("label, .field-cell").filter(has=field)
        error = label.locator(".field-error")
        expect(error).to_have_count(1)
        expect(field).to_have_attribute("aria-invalid", "true")
        here, mine = box(field), box(error)
        # the field stays in its grid cell; its message sits right under it, in the same column
        assert here["x"] == before[name]["x"], f"{name} moved to another cell"
        assert mine["x"] >= here["x"] - 1 and mine["x"] < here["x"] + here["width"], name
        assert 0 <= mine["y"] - (here["y"] + here["height"]) < 24, name

    # the server's details land on their fields too, and a detail with no input of its own
    # lands on the address, saying in words which part it is about
    def answer_422(route):
        if route.request.method != "POST":
            route.fallback()
            return
        route.fulfill(
            status=422,
            json={
                "error": {
                    "code": "validation_error",
                    "message": "The request body or query did not validate.",
                    "details": {
                        "shipping_address": {
                            "postal_code": ["Longer than maximum length 20."],
                            "region": ["Not a valid string."],
                        },
                        "items": {"0": {"quantity": ["Must be at most 10."]}},
                    },
                }
            },
        )

    page.route("**/api/v1/orders", answer_422)
    fields["City"].fill("Oslo")
    fields["Postal code"].fill("0150")
    fields["Country"].select_option("NO")
    page.get_by_label("Address line 1").fill("1 Main Street")
    page.get_by_test_id("place-order").click()
    postal = page.locator("fieldset.address label").filter(has=fields["Postal code"])
    expect(postal.locator(".field-error")).to_have_text("Longer than maximum length 20.")
    expect(page.locator("fieldset.address > .field-error")).to_have_text(
        "Region: Not a valid string."
    )
    row = page.locator(f'.product-row[data-product-id="{board.id}"]')
    expect(row.locator("[data-slot=error]")).to_have_text("Must be at most 10.")
    expect(page.locator("#order-form [data-form-error]")).to_have_text(
        "Please correct the marked fields."
    )


def test_a_bad_admin_filter_is_marked_on_its_field(app_ctx, open_session):
    admin = make_user(UserRole.ADMIN)
    session = open_session()
    session.login(admin.email, PASSWORD)
    page = session.page
    api = page.request.get("/api/v1/orders?total_min=lots").json()["error"]
    server_words = " ".join(api["details"]["total_min"])

    page.goto("/admin?total_min=lots")
    field = page.locator("#filters").get_by_label("Total at least")
    expect(field).to_have_attribute("aria-invalid", "true")
    label = page.locator("#filters label").filter(has=page.get_by_label("Total at least"))
    expect(label.locator(".field-error")).to_have_text(server_words)
    expect(page.locator("#filter-box")).to_have_attribute("open", "")
    expect(page.locator("main")).not_to_contain_text("did not validate")

    # typed in the form: checked in words before it is sent; a decimal comma is fine
    field.fill("ten")
    page.get_by_role("button", name="Apply filters").click()
    expect(label.locator(".field-error")).to_have_text("An amount in numbers, like 10 or 10.50")
    field.fill("12,5")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"total_min=12\.5(&|$)"))
    expect(page.locator("#orders-summary")).to_contain_text(" orders")


def test_a_price_with_a_decimal_comma_is_accepted(app_ctx, open_session):
    staff = make_user(UserRole.STAFF)
    session = open_session()
    session.login(staff.email, PASSWORD, next_path="/staff/products")
    page = session.page
    page.get_by_role("button", name="New product").click()
    dialog = page.locator("#product-dialog")
    dialog.get_by_label("Name").fill("Linen towel")
    price = dialog.get_by_label("Price")
    price.fill("twelve")
    dialog.get_by_role("button", name="Save").click()
    message = dialog.locator("label").filter(has=page.get_by_label("Price")).locator(".field-error")
    expect(message).to_contain_text("like 12.50")
    expect(dialog).not_to_contain_text("requested format")
    price.fill("12,50")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#products")).to_contain_text("Linen towel")
    db.session.remove()
    product = db.session.scalar(sa.select(Product).where(Product.name == "Linen towel"))
    assert product.price == Decimal("12.50")
