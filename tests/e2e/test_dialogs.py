"""One dialog component everywhere: cancelling from a list, changing a role, deactivating a user
and deleting a customer ask in a styled <dialog> (never the browser's confirm()), and every
dialog's buttons sit side by side on one row, at desktop and phone width."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from oms.auth.enums import UserRole
from oms.auth.models import User
from oms.extensions import db
from oms.orders.enums import OrderStatus
from oms.orders.models import Order
from tests.e2e.checks import DESKTOP, PHONE, axe_violations, box
from tests.factories import PASSWORD, make_customer, make_order, make_product, make_user

pytestmark = pytest.mark.slow


def _no_native_dialogs(session) -> list[str]:
    """Record (and dismiss) every alert/confirm/prompt the page opens."""
    seen: list[str] = []

    def on_dialog(dialog):
        seen.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    session.page.on("dialog", on_dialog)
    return seen


def assert_buttons_on_one_row(dialog, width: int) -> None:
    buttons = dialog.locator(".dialog-actions button")
    expect(buttons).to_have_count(2)
    first, second = box(buttons.nth(0)), box(buttons.nth(1))
    assert abs(first["y"] - second["y"]) < 2, f"buttons stacked: {first} / {second}"
    assert first["x"] + first["width"] <= second["x"], "buttons overlap"
    assert second["x"] + second["width"] <= width, "a button is off the screen"


def _user(email: str) -> User:
    db.session.remove()
    return db.session.scalar(sa.select(User).where(User.email == email))


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_admin_confirms_in_the_dialog_component(app_ctx, open_session, viewport):
    admin = make_user(UserRole.ADMIN)
    clerk = make_user(UserRole.STAFF, first_name="Clerk")
    record = make_customer(first_name="Delia")
    clerk_id, clerk_email, record_id = clerk.id, clerk.email, record.id
    session = open_session()
    native = _no_native_dialogs(session)
    session.login(admin.email, PASSWORD, next_path="/admin/users")
    page = session.page
    page.set_viewport_size(viewport)
    width = viewport["width"]
    confirm = page.locator("#confirm-dialog")

    row = page.locator(f'#users tr[data-user-id="{clerk_id}"]')
    row.get_by_label("Role of", exact=False).select_option("admin")
    expect(confirm).to_be_visible()
    expect(confirm.get_by_role("heading")).to_contain_text(f"Make {clerk_email} an admin?")
    assert_buttons_on_one_row(confirm, width)
    assert axe_violations(page) == [], "the open dialog has serious accessibility problems"
    confirm.get_by_role("button", name="Cancel").click()
    expect(confirm).to_be_hidden()
    expect(row.get_by_label("Role of", exact=False)).to_have_value("staff")
    assert _user(clerk_email).role == UserRole.STAFF

    row.get_by_label("Role of", exact=False).select_option("admin")
    confirm.get_by_role("button", name="Make an admin").click()
    expect(page.locator("#toasts")).to_contain_text(f"{clerk_email} is now an admin")
    assert _user(clerk_email).role == UserRole.ADMIN

    row = page.locator(f'#users tr[data-user-id="{clerk_id}"]')
    row.get_by_role("button", name="Deactivate", exact=False).click()
    expect(confirm).to_be_visible()
    assert_buttons_on_one_row(confirm, width)
    page.keyboard.press("Escape")
    expect(confirm).to_be_hidden()
    assert _user(clerk_email).is_active
    row.get_by_role("button", name="Deactivate", exact=False).click()
    confirm.get_by_role("button", name="Deactivate").click()
    expect(row.get_by_text("Deactivated")).to_be_visible()
    assert not _user(clerk_email).is_active

    page.goto("/staff/customers")
    row = page.locator(f'#customers tr[data-customer-id="{record_id}"]')
    row.get_by_role("button", name="Delete", exact=False).click()
    expect(confirm).to_be_visible()
    expect(confirm.get_by_role("heading")).to_contain_text("Delete Delia")
    assert_buttons_on_one_row(confirm, width)
    confirm.get_by_role("button", name="Cancel").click()
    expect(row).to_be_visible()

    # the form dialogs are the same component, buttons side by side too
    page.get_by_role("button", name="New customer").click()
    form_dialog = page.locator("#customer-dialog")
    expect(form_dialog).to_be_visible()
    assert_buttons_on_one_row(form_dialog, width)
    form_dialog.get_by_role("button", name="Close").click()

    page.goto("/staff/products")
    page.get_by_role("button", name="New product").click()
    assert_buttons_on_one_row(page.locator("#product-dialog"), width)
    assert native == [], native


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_cancelling_from_lists_uses_the_cancel_dialog(app_ctx, open_session, viewport):
    customer = make_user(UserRole.CUSTOMER)
    staff = make_user(UserRole.STAFF)
    mug = make_product(name="Mug", price="5.00", stock=10)
    mine = make_order(customer, [(mug, 1)])
    theirs = make_order(customer, [(mug, 1)])
    mine_id, mine_number, theirs_id, theirs_number = mine.id, mine.number, theirs.id, theirs.number
    width = viewport["width"]

    shopper = open_session()
    native = _no_native_dialogs(shopper)
    shopper.login(customer.email, PASSWORD, next_path="/customer")
    page = shopper.page
    page.set_viewport_size(viewport)
    card = page.locator(f'.order-card[data-order-id="{mine_id}"]')
    card.locator('[data-action="cancelled"]').click()
    dialog = page.locator("#cancel-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_have_text(f"Cancel order {mine_number}?")
    assert_buttons_on_one_row(dialog, width)
    assert axe_violations(page) == [], "the open dialog has serious accessibility problems"
    dialog.get_by_label("Reason").fill("Ordered twice")
    dialog.get_by_role("button", name="Cancel order").click()
    expect(card.locator(".badge")).to_have_text("Cancelled")
    assert native == [], native

    desk = open_session()
    desk.login(staff.email, PASSWORD)
    desk.page.set_viewport_size(viewport)
    card = desk.page.locator(f'.order-card[data-order-id="{theirs_id}"]')
    card.locator('[data-action="cancelled"]').click()
    dialog = desk.page.locator("#cancel-dialog")
    expect(dialog.get_by_role("heading")).to_have_text(f"Cancel order {theirs_number}?")
    assert_buttons_on_one_row(dialog, width)
    dialog.get_by_role("button", name="Keep the order").click()
    expect(dialog).to_be_hidden()

    db.session.remove()
    assert db.session.get(Order, mine_id).status == OrderStatus.CANCELLED
    assert db.session.get(Order, theirs_id).status == OrderStatus.PLACED
