"""axe-core (vendored, tests/e2e/vendor/) finds no serious or critical violation on any page,
for each role that opens it, at desktop and phone width."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from oms.auth.enums import UserRole
from tests.e2e.checks import DESKTOP, PHONE, axe_violations
from tests.factories import PASSWORD, make_order, make_product, make_user

pytestmark = pytest.mark.slow

STAFF_PAGES = [
    "/staff",
    "/staff/orders",
    "/staff/orders/{order}",
    "/staff/orders/new",
    "/staff/customers",
    "/staff/products",
    "/account",
]
ADMIN_PAGES = [
    "/admin",
    "/admin/analytics",
    "/admin/users",
    "/admin/webhooks",
    "/admin/audit",
    "/admin/problems",
    "/admin/workers",
]


def _scan(session, paths: list[str]) -> list[str]:
    page = session.page
    found = []
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        for path in paths:
            response = page.goto(path)
            assert response.status == 200, path
            page.wait_for_load_state("networkidle")
            expect(page.locator("main [aria-busy=true]")).to_have_count(0)
            found += [f"{path} at {viewport['width']} px: {v}" for v in axe_violations(page)]
    return found


@pytest.fixture
def shop(app_ctx):
    customer = make_user(UserRole.CUSTOMER, first_name="Ada")
    staff = make_user(UserRole.STAFF)
    admin = make_user(UserRole.ADMIN)
    board = make_product(name="Oak board", price="20.00", stock=5)
    order = make_order(customer, [(board, 1)], staff=staff)
    return {"customer": customer, "staff": staff, "admin": admin, "order": str(order.id)}


def test_no_serious_violations_logged_out(shop, open_session):
    visitor = open_session()
    found = _scan(
        visitor,
        [
            "/login",
            "/password-reset",
            "/register",
            "/register/confirm#token=x",
            "/password-reset#token=x",
        ],
    )
    assert not found, "\n".join(found)


def test_no_serious_violations_as_customer(shop, open_session):
    session = open_session()
    session.login(shop["customer"].email, PASSWORD)
    paths = ["/customer", f"/customer/orders/{shop['order']}", "/account"]
    found = _scan(session, paths)
    assert not found, "\n".join(found)


@pytest.mark.parametrize("role", ["staff", "admin"])
def test_no_serious_violations_as_staff_and_admin(shop, open_session, role):
    session = open_session()
    session.login(shop[role].email, PASSWORD)
    paths = [p.format(order=shop["order"]) for p in STAFF_PAGES]
    if role == "admin":
        paths += ADMIN_PAGES
    found = _scan(session, paths)
    assert not found, "\n".join(found)
