"""Tables and the header at phone (375 px) and desktop (1280 px) width: what matters in every
row is on the screen (stacked cards at phone width, no clipped columns), the header stays
short, and the admin list shows orders above the fold."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from oms.auth.enums import UserRole
from tests.e2e.checks import DESKTOP, PHONE, box, within_width
from tests.factories import PASSWORD, make_order, make_product, make_user

pytestmark = pytest.mark.slow

PAGES = ["/staff", "/staff/orders", "/staff/customers", "/staff/products", "/admin", "/admin/users"]


@pytest.fixture
def admin_desk(app_ctx, open_session):
    buyer = make_user(UserRole.CUSTOMER, first_name="Margarethe", last_name="Vandenberghe-Olsen")
    make_user(UserRole.STAFF, first_name="Bartholomew", last_name="Featherstonehaugh")
    board = make_product(name="Hand-carved walnut serving board, large", price="1249.50", stock=50)
    for _ in range(3):
        make_order(buyer, [(board, 2)])
    admin = make_user(UserRole.ADMIN)
    session = open_session()
    session.login(admin.email, PASSWORD)
    return session


def _no_page_scroll(page, width):
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"the page scrolls sideways: {scroll} px in {width} px"


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_header_is_short(admin_desk, viewport):
    page = admin_desk.page
    page.set_viewport_size(viewport)
    limit = 100 if viewport is PHONE else 70
    for path in PAGES:
        page.goto(path)
        header = box(page.locator("header.site-header"))
        assert header["height"] <= limit, f"{path}: header {header['height']} px high"
        # every navigation link can be reached: on the screen or in the scrolling nav strip
        for link in page.locator("header nav a").all():
            expect(link).to_be_visible()
        expect(page.get_by_role("button", name="Log out")).to_be_in_viewport()
        _no_page_scroll(page, viewport["width"])


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_tables_keep_what_matters_on_screen(admin_desk, viewport):
    page = admin_desk.page
    page.set_viewport_size(viewport)
    width = viewport["width"]

    page.goto("/staff/products")
    row = page.locator("#products tr[data-product-id]").first
    expect(row).to_be_visible()
    for name in ("Edit", "Restock", "Deactivate"):
        button = row.get_by_role("button", name=name, exact=False)
        assert within_width(button, width), f"products: {name} is cut off"
    for cell in ("available",):
        assert within_width(row.locator(f"[data-cell={cell}]"), width)
    _no_page_scroll(page, width)

    page.goto("/admin/users")
    row = page.locator("#users tr[data-user-id]").filter(has_text="Featherstonehaugh")
    expect(row).to_be_visible()
    assert within_width(row.get_by_label("Role of", exact=False), width), "users: role cut off"
    assert within_width(row.get_by_text("Active", exact=True), width), "users: status cut off"
    assert within_width(row.get_by_role("button", name="Deactivate", exact=False), width)
    _no_page_scroll(page, width)

    page.goto("/staff/customers")
    row = page.locator("#customers tr[data-customer-id]").first
    expect(row).to_be_visible()
    assert within_width(row.get_by_role("button", name="Edit", exact=False), width)
    assert within_width(row.get_by_role("link", name="Orders of", exact=False), width)
    _no_page_scroll(page, width)

    page.goto("/admin")
    row = page.locator("#orders tr[data-order-id]").first
    expect(row).to_be_visible()
    for locator in (row.locator(".badge"), row.locator("[data-cell=total]"), row.locator("a")):
        assert within_width(locator, width)
    top = box(row)["y"]
    assert top + 40 <= viewport["height"], f"admin list: the first row starts at {top} px"
    _no_page_scroll(page, width)
