"""A web-form order submission whose response is lost (the server created the order, the browser
never heard back) and that the user submits again creates one order, not two: the customer
order form and the staff new-order form keep the Idempotency-Key until a definite answer."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from oms.auth.enums import UserRole
from oms.customers.models import Customer
from oms.extensions import db
from oms.orders.models import Order
from oms.products.models import Product
from tests.factories import ADDRESS, PASSWORD, make_customer, make_product, make_user

pytestmark = pytest.mark.slow


class _FirstPost:
    """A ``page.route`` handler for ``POST /api/v1/orders`` that does something to the first
    request (``first``) and lets later ones through; records every request's Idempotency-Key."""

    def __init__(self):
        self.keys: list[str | None] = []  # the Idempotency-Key of every POST, in order

    def __call__(self, route) -> None:
        if route.request.method != "POST":
            route.fallback()
            return
        self.keys.append(route.request.headers.get("idempotency-key"))
        if len(self.keys) == 1:
            self.first(route)
        else:
            route.fallback()

    def first(self, route) -> None:
        raise NotImplementedError


class DropFirstResponse(_FirstPost):
    """The first request reaches the server and is fully processed (``route.fetch``), but its
    response is dropped, as when the connection breaks on the way back."""

    def __init__(self):
        super().__init__()
        self.first_status: int | None = None

    def first(self, route) -> None:
        self.first_status = route.fetch().status
        route.abort("connectionreset")


class AnswerFirstWith(_FirstPost):
    """The first request is answered with ``status`` without reaching the server (an
    overloaded proxy, a rate limit)."""

    def __init__(self, status: int):
        super().__init__()
        self.status = status

    def first(self, route) -> None:
        code = "rate_limited" if self.status == 429 else "service_unavailable"
        route.fulfill(
            status=self.status,
            json={"error": {"code": code, "message": "Try again in a moment."}},
        )


def _orders_of(customer_id) -> list[Order]:
    db.session.remove()
    return list(db.session.scalars(sa.select(Order).where(Order.customer_id == customer_id)))


def _retry_after_lost_response(page, dropper: DropFirstResponse, submit_button) -> None:
    """Submit, see the error of the lost response, submit again."""
    submit_button.click()
    expect(page.locator("#toasts .toast[data-kind=error]")).to_contain_text("cannot be reached")
    assert dropper.first_status == 202, "the first submission did not reach the server"
    expect(submit_button).to_be_enabled()
    submit_button.click()


def _customer_with_form(open_session, *, quantity: int, stock: int = 10):
    """A logged-in customer on the portal with one product line and the address filled in."""
    product = make_product(name=f"Oak chopping board {stock}", price="20.00", stock=stock)
    user = make_user(UserRole.CUSTOMER)
    customer_id = db.session.scalar(sa.select(Customer.id).where(Customer.user_id == user.id))
    shopper = open_session()
    shopper.login(user.email, PASSWORD, next_path="/customer")
    page = shopper.page
    quantity_field = page.locator(f'.product-row[data-product-id="{product.id}"]').get_by_label(
        f"Quantity of {product.name}"
    )
    quantity_field.fill(str(quantity))
    page.get_by_label("Address line 1").fill("1 Harbour Road")
    page.get_by_label("City").fill("Bergen")
    page.get_by_label("Postal code").fill("5003")
    page.get_by_label("Country").select_option("NO")
    return shopper, product, customer_id, quantity_field


def test_customer_form_resubmitted_after_a_lost_response_makes_one_order(app_ctx, open_session):
    shopper, _, customer_id, _ = _customer_with_form(open_session, quantity=2)
    page = shopper.page
    dropper = DropFirstResponse()
    page.route("**/api/v1/orders", dropper)

    _retry_after_lost_response(page, dropper, page.get_by_test_id("place-order"))

    page.wait_for_url(re.compile(r"/customer/orders/[0-9a-f-]{36}$"))
    expect(page.get_by_test_id("order-status")).to_have_text(re.compile("Pending|Placed"))
    orders = _orders_of(customer_id)
    assert len(orders) == 1, f"{len(orders)} orders from one submission"
    assert page.url.endswith(f"/customer/orders/{orders[0].id}")
    assert len(dropper.keys) == 2 and dropper.keys[0] and dropper.keys[0] == dropper.keys[1]
    assert not shopper.errors, shopper.errors


def test_staff_form_resubmitted_after_a_lost_response_makes_one_order(app_ctx, open_session):
    product = make_product(name="Birch spoon set", price="9.00", stock=10)
    customer = make_customer(first_name="Ragnhild", last_name="Retryson", address=ADDRESS)
    staff = make_user(UserRole.STAFF)

    desk = open_session()
    desk.login(staff.email, PASSWORD, next_path="/staff/orders/new")
    page = desk.page
    dropper = DropFirstResponse()
    page.route("**/api/v1/orders", dropper)

    page.get_by_label("Find a customer").fill("Retryson")
    page.get_by_label(re.compile("Ragnhild Retryson")).check()
    expect(page.get_by_label("City")).to_have_value(ADDRESS["city"])
    row = page.locator(f'.product-row[data-product-id="{product.id}"]')
    row.get_by_label(f"Quantity of {product.name}").fill("3")

    _retry_after_lost_response(page, dropper, page.get_by_role("button", name="Create order"))

    page.wait_for_url(re.compile(r"/staff/orders/[0-9a-f-]{36}$"))
    expect(page.get_by_test_id("order-status")).to_have_text(re.compile("Pending|Placed"))
    orders = _orders_of(customer.id)
    assert len(orders) == 1, f"{len(orders)} orders from one submission"
    assert page.url.endswith(f"/staff/orders/{orders[0].id}")
    assert len(dropper.keys) == 2 and dropper.keys[0] and dropper.keys[0] == dropper.keys[1]
    assert not desk.errors, desk.errors


@pytest.mark.parametrize("status", [503, 429])
def test_a_retryable_answer_keeps_the_key(app_ctx, open_session, status):
    shopper, _, customer_id, _ = _customer_with_form(open_session, quantity=1)
    page = shopper.page
    answer = AnswerFirstWith(status)
    page.route("**/api/v1/orders", answer)
    submit = page.get_by_test_id("place-order")

    submit.click()
    expect(page.locator("#toasts .toast[data-kind=error]")).to_contain_text("Try again")
    expect(submit).to_be_enabled()
    submit.click()

    page.wait_for_url(re.compile(r"/customer/orders/[0-9a-f-]{36}$"))
    assert len(_orders_of(customer_id)) == 1
    assert len(answer.keys) == 2 and answer.keys[0] and answer.keys[0] == answer.keys[1]


def test_a_stock_conflict_lets_the_customer_correct_the_form(app_ctx, open_session):
    """A 409 insufficient_stock is a definite answer: the corrected form is sent under a new
    key (the old key with the new body would be refused) and becomes the one order."""
    shopper, product, customer_id, quantity_field = _customer_with_form(open_session, quantity=5)
    page = shopper.page

    def stale_catalogue(route) -> None:
        """The page goes on believing 10 are there, however often it refetches the catalogue
        (a catch-up that is not complete makes it refetch)."""
        response = route.fetch()
        body = response.json()
        for item in body.get("items", []):
            if item["id"] == str(product.id):
                item["available"] = 10
        route.fulfill(response=response, json=body)

    page.route("**/api/v1/products*", stale_catalogue)
    # Stock drops behind the page's back (no event), so the browser's check lets 5 through.
    db.session.execute(sa.update(Product).where(Product.id == product.id).values(inventory_count=2))
    db.session.commit()
    keys: list[str | None] = []

    def record(route) -> None:
        if route.request.method == "POST":
            keys.append(route.request.headers.get("idempotency-key"))
        route.fallback()

    page.route("**/api/v1/orders", record)
    submit = page.get_by_test_id("place-order")
    submit.click()
    expect(page.locator(f'.product-row[data-product-id="{product.id}"]')).to_contain_text(
        "Only 2 available; you asked for 5."
    )
    assert _orders_of(customer_id) == []

    quantity_field.fill("2")
    submit.click()

    page.wait_for_url(re.compile(r"/customer/orders/[0-9a-f-]{36}$"))
    orders = _orders_of(customer_id)
    assert len(orders) == 1 and page.url.endswith(str(orders[0].id))
    assert len(keys) == 2 and keys[0] and keys[1] and keys[0] != keys[1]
    assert not shopper.errors, shopper.errors
