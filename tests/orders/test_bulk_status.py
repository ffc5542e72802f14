"""POST /api/v1/orders/bulk-status: many orders, one status command each, each order in its own
transaction with the lifecycle's rules; the answer says per order what happened."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from oms.auth.enums import UserRole
from oms.extensions import db
from oms.orders.actions import MAX_BULK_ORDERS
from oms.orders.enums import OrderStatus
from oms.orders.models import Order, OrderStatusHistory
from oms.products.models import Product
from tests.factories import PASSWORD, make_order, make_product, make_user

URL = "/api/v1/orders/bulk-status"


def statuses(ids) -> dict[str, str]:
    db.session.expire_all()
    rows = db.session.execute(
        sa.select(Order.id, Order.status).where(Order.id.in_([uuid.UUID(i) for i in ids]))
    )
    return {str(i): s.value for i, s in rows}


@pytest.fixture
def desk(app_ctx, auth):
    staff = make_user(UserRole.STAFF)
    customer = make_user(UserRole.CUSTOMER)
    product = make_product(stock=500)
    return staff, customer, product, auth.headers(staff.email, PASSWORD)


def test_needs_a_login_and_a_staff_role(desk, client, auth):
    _, customer, product, _ = desk
    order = make_order(customer, [(product, 1)])
    body = {"order_ids": [str(order.id)], "status": "picked"}
    assert client.post(URL, json=body).status_code == 401
    response = client.post(URL, json=body, headers=auth.headers(customer.email, PASSWORD))
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "authorization_error"
    assert statuses([str(order.id)]) == {str(order.id): "placed"}


def test_admins_may_use_it(desk, client, auth):
    _, customer, product, _ = desk
    admin = make_user(UserRole.ADMIN)
    order = make_order(customer, [(product, 1)])
    response = client.post(
        URL,
        json={"order_ids": [str(order.id)], "status": "picked"},
        headers=auth.headers(admin.email, PASSWORD),
    )
    assert response.status_code == 200
    assert response.get_json() == {
        "results": [{"order_id": str(order.id), "ok": True, "status": "picked"}]
    }


def test_fifty_orders_are_picked_in_one_request(desk, client):
    staff, customer, product, headers = desk
    ids = [str(make_order(customer, [(product, 1)]).id) for _ in range(50)]
    response = client.post(
        URL, json={"order_ids": ids, "status": "picked", "notes": "wave 7"}, headers=headers
    )
    assert response.status_code == 200, response.get_json()
    results = response.get_json()["results"]
    assert [r["order_id"] for r in results] == ids
    assert all(r == {"order_id": r["order_id"], "ok": True, "status": "picked"} for r in results)
    assert set(statuses(ids).values()) == {"picked"}
    notes = db.session.scalars(
        sa.select(OrderStatusHistory.notes).where(
            OrderStatusHistory.new_status == OrderStatus.PICKED,
            OrderStatusHistory.changed_by_user_id == staff.id,
        )
    ).all()
    assert notes == ["wave 7"] * 50


def test_mixed_results_and_a_refusal_rolls_back_only_its_own_order(desk, client):
    _, customer, product, headers = desk
    picked = make_order(customer, [(product, 2)], status=OrderStatus.PICKED)
    placed = make_order(customer, [(product, 1)])  # cannot be shipped before it is picked
    picked_too = make_order(customer, [(product, 3)], status=OrderStatus.PICKED)
    missing = str(uuid.uuid4())
    ids = [str(picked.id), str(placed.id), missing, str(picked_too.id)]
    before = db.session.get(Product, product.id).inventory_count

    response = client.post(URL, json={"order_ids": ids, "status": "shipped"}, headers=headers)
    assert response.status_code == 200, response.get_json()
    results = {r["order_id"]: r for r in response.get_json()["results"]}
    assert [r["order_id"] for r in response.get_json()["results"]] == ids
    assert results[str(picked.id)] == {"order_id": str(picked.id), "ok": True, "status": "shipped"}
    assert results[str(picked_too.id)]["ok"] is True
    refused = results[str(placed.id)]
    assert refused["ok"] is False
    assert refused["error"]["code"] == "transition_not_allowed"
    assert "placed" in refused["error"]["message"]
    assert results[missing] == {
        "order_id": missing,
        "ok": False,
        "error": {"code": "not_found", "message": "No such order."},
    }
    # the refused one changed nothing; the two others are shipped and their units left stock
    assert statuses(ids) == {
        str(picked.id): "shipped",
        str(placed.id): "placed",
        str(picked_too.id): "shipped",
    }
    db.session.expire_all()
    assert db.session.get(Product, product.id).inventory_count == before - 5


def test_duplicates_are_done_once_and_answered_once(desk, client):
    _, customer, product, headers = desk
    a = str(make_order(customer, [(product, 1)]).id)
    b = str(make_order(customer, [(product, 1)]).id)
    response = client.post(
        URL, json={"order_ids": [a, b, a, a], "status": "picked"}, headers=headers
    )
    assert response.status_code == 200
    assert [r["order_id"] for r in response.get_json()["results"]] == [a, b]
    assert all(r["ok"] for r in response.get_json()["results"])
    history = db.session.scalar(
        sa.select(sa.func.count()).where(OrderStatusHistory.new_status == OrderStatus.PICKED)
    )
    assert history == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "picked"}, "order_ids"),
        ({"order_ids": [], "status": "picked"}, "order_ids"),
        ({"order_ids": ["not-a-uuid"], "status": "picked"}, "order_ids"),
        ({"order_ids": [str(uuid.uuid4())]}, "status"),
        ({"order_ids": [str(uuid.uuid4())], "status": "lost"}, "status"),
        ({"order_ids": [str(uuid.uuid4())], "status": "picked", "notes": "x" * 1001}, "notes"),
        ({"order_ids": [str(uuid.uuid4())], "status": "picked", "carrier_pigeon": 1}, None),
        # a carrier and tracking number name one parcel: not part of a bulk command (once a 500)
        ({"order_ids": [str(uuid.uuid4())], "status": "shipped", "carrier": "dhl"}, "carrier"),
        (
            {"order_ids": [str(uuid.uuid4())], "status": "shipped", "tracking_number": "1Z9"},
            "tracking_number",
        ),
    ],
)
def test_bad_bodies_are_a_422_naming_the_field(desk, client, body, field):
    response = client.post(URL, json=body, headers=desk[3])
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    if field:
        assert field in error["details"]


def test_more_than_the_maximum_is_a_422(desk, client):
    ids = [str(uuid.uuid4()) for _ in range(MAX_BULK_ORDERS + 1)]
    response = client.post(URL, json={"order_ids": ids, "status": "picked"}, headers=desk[3])
    assert response.status_code == 422
    assert str(MAX_BULK_ORDERS) in response.get_json()["error"]["details"]["order_ids"][0]
    # exactly the maximum is accepted (every id unknown: each answered not_found)
    response = client.post(
        URL, json={"order_ids": ids[:MAX_BULK_ORDERS], "status": "picked"}, headers=desk[3]
    )
    assert response.status_code == 200
    assert len(response.get_json()["results"]) == MAX_BULK_ORDERS
