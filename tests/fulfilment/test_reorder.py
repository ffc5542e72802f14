"""Issue 13 customers: reorder a past order in one request, through the normal placement path
(its checks, its Idempotency-Key); lines no longer sold or not in stock are explained."""

from __future__ import annotations

import sqlalchemy as sa

from oms.auth.enums import UserRole
from oms.extensions import db
from oms.orders.models import Order
from oms.products.models import Product
from tests.factories import make_order, make_product, make_user


def _reorder(client, tokens, user, order, key=None):
    headers = tokens.headers(user)
    if key:
        headers["Idempotency-Key"] = key
    return client.post(f"/api/v1/orders/{order.id}/reorder", headers=headers)


def _set(product, **values):
    db.session.execute(sa.update(Product).where(Product.id == product.id).values(**values))
    db.session.commit()


def test_reorder_places_the_same_lines_again(app_ctx, client, tokens):
    customer = make_user(UserRole.CUSTOMER)
    board = make_product(name="Oak board", price="20.00", stock=10)
    mug = make_product(name="Ceramic mug", price="8.00", stock=10)
    past = make_order(customer, [(board, 2), (mug, 1)], status="delivered")
    _set(mug, price=9)  # priced from today's catalogue
    response = _reorder(client, tokens, customer, past, key="again-1")
    assert response.status_code == 202, response.get_json()
    new = response.get_json()
    assert new["id"] != str(past.id) and new["status"] == "pending"
    lines = sorted((line["product_name"], line["quantity"]) for line in new["items"])
    assert lines == [("Ceramic mug", 1), ("Oak board", 2)]
    assert new["total_amount"] == "49.00"
    assert new["shipping_address"] == past.shipping_address
    # the same key replays the first answer: still one new order
    again = _reorder(client, tokens, customer, past, key="again-1")
    assert again.status_code == 202 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == new["id"]
    count = db.session.scalar(
        sa.select(sa.func.count()).where(Order.customer_id == past.customer_id)
    )
    assert count == 2


def test_inactive_and_out_of_stock_lines_are_explained(app_ctx, client, tokens):
    customer = make_user(UserRole.CUSTOMER)
    board = make_product(name="Oak board", stock=10)
    mug = make_product(name="Ceramic mug", stock=10)
    kettle = make_product(name="Kettle", stock=10)
    past = make_order(customer, [(board, 3), (mug, 1), (kettle, 1)], status="delivered")
    _set(board, inventory_count=2)
    _set(mug, active=False)
    response = _reorder(client, tokens, customer, past)
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "reorder_unavailable"
    lines = {line["product_name"]: line for line in error["details"]["lines"]}
    assert set(lines) == {"Oak board", "Ceramic mug"}
    assert lines["Oak board"]["reason"] == "out_of_stock"
    assert (lines["Oak board"]["wanted"], lines["Oak board"]["available"]) == (3, 2)
    assert lines["Oak board"]["message"] == "Only 2 Oak board available; the order had 3."
    assert lines["Ceramic mug"]["reason"] == "inactive"
    assert lines["Ceramic mug"]["message"] == "Ceramic mug is no longer sold."
    # nothing was placed, and a retry with a key is not blocked by a claim
    count = db.session.scalar(
        sa.select(sa.func.count()).where(Order.customer_id == past.customer_id)
    )
    assert count == 1


def test_another_customers_order_cannot_be_reordered(app_ctx, client, tokens):
    owner, other = make_user(UserRole.CUSTOMER), make_user(UserRole.CUSTOMER)
    past = make_order(owner, [(make_product(stock=5), 1)], status="delivered")
    assert _reorder(client, tokens, other, past).status_code == 404


def test_staff_reorder_for_the_orders_customer(app_ctx, client, tokens):
    customer = make_user(UserRole.CUSTOMER)
    staff = make_user(UserRole.STAFF)
    past = make_order(customer, [(make_product(stock=5), 1)], status="delivered")
    response = _reorder(client, tokens, staff, past)
    assert response.status_code == 202
    assert response.get_json()["customer_id"] == str(past.customer_id)
