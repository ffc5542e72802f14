"""The audit log in the browser: an admin follows a product's "History" link from the
products page and reads who changed its price, before and after; the filters are links."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from oms.auth.enums import UserRole
from oms.products import service as products
from tests.factories import PASSWORD, make_product, make_user

pytestmark = pytest.mark.slow


def test_a_products_history_shows_the_change(app_ctx, open_session):
    admin = make_user(UserRole.ADMIN)
    kettle = make_product(name="Audit kettle", price="30.00", stock=3)
    make_product(name="Other thing", price="5.00", stock=3)
    products.update(product_id=kettle.id, price=Decimal("31.50"))
    session = open_session()
    session.login(admin.email, PASSWORD)
    page = session.page
    page.goto("/staff/products")
    page.get_by_role("link", name="History of Audit kettle").click()
    page.wait_for_url(f"**/admin/audit?entity_type=product&entity_id={kettle.id}")
    rows = page.locator("#audit-rows tr[data-audit-id]")
    expect(rows).to_have_count(1)  # the price (the factory writes the product without the service)
    first = rows.first
    expect(first).to_contain_text("product.updated")
    expect(first.locator("del")).to_have_text("30.00")
    expect(first.locator("ins")).to_have_text("31.50")
    expect(page.locator("select[name=entity_type]")).to_have_value("product")

    page.goto("/admin/audit?entity_type=user")
    expect(page.locator("#audit-rows")).to_contain_text("login.succeeded")
    expect(page.locator("#audit-rows")).to_contain_text(admin.email)
    page.goto("/admin/audit?entity_id=not-a-uuid")
    expect(
        page.locator("#audit-filters [data-form-error], #audit-filters [aria-invalid=true]").first
    ).to_be_visible()
    assert not session.errors
