"""PATCH /orders/:id/status for every status, target and role, checked against the machine."""

from __future__ import annotations

import itertools
import threading

import pytest
import sqlalchemy as sa

from oms.auth.enums import UserRole
from oms.extensions import db
from oms.orders.enums import OrderStatus
from oms.orders.models import Order, OrderStatusHistory
from oms.products.models import Product
from tests.factories import PASSWORD, make_product, make_user
from tests.orders.helpers import customer_pair, order_in
from workflows.order_lifecycle import EVENT_FOR_STATUS, allowed_events

TARGETS = [
    *sorted(
        (s for s in EVENT_FOR_STATUS if s not in (OrderStatus.PLACED, OrderStatus.REJECTED)),
        key=lambda s: s.value,
    ),
    OrderStatus.PENDING,
    OrderStatus.PLACED,
]
ACTORS = ["owner", "other customer", "staff", "admin"]


def _stock(product) -> tuple[int, int]:
    db.session.expire_all()
    p = db.session.get(Product, product.id)
    return p.inventory_count, p.reserved_count


@pytest.mark.parametrize(
    ("status", "target", "actor"),
    list(itertools.product(OrderStatus, TARGETS, ACTORS)),
    ids=lambda v: v.value if hasattr(v, "value") else v,
)
def test_transition_matrix(app_ctx, client, auth, status, target, actor):
    owner, other = customer_pair()
    users = {
        "owner": owner,
        "other customer": other,
        "staff": make_user(UserRole.STAFF),
        "admin": make_user(UserRole.ADMIN),
    }
    product = make_product(stock=10)
    order = order_in(status, owner, product, quantity=3)
    order_id = order.id
    inventory_before, reserved_before = _stock(product)
    history_before = db.session.scalar(
        sa.select(sa.func.count()).where(OrderStatusHistory.order_id == order_id)
    )
    user = users[actor]
    response = client.patch(
        f"/api/v1/orders/{order_id}/status",
        json={"status": target.value, "notes": "matrix"},
        headers=auth.headers(user.email, PASSWORD),
    )
    body = response.get_json()
    if actor == "other customer":
        assert response.status_code == 404, body  # another customer's order does not exist
        return
    role = user.role
    allowed = allowed_events(status, actor_role=role, is_owner=actor == "owner")
    event = EVENT_FOR_STATUS.get(target)
    history_after = db.session.scalar(
        sa.select(sa.func.count()).where(OrderStatusHistory.order_id == order_id)
    )
    inventory_after, reserved_after = _stock(product)
    if event in allowed:
        assert response.status_code == 200, body
        assert body["status"] == target.value
        assert body["history"][-1]["old_status"] == status.value
        assert body["history"][-1]["new_status"] == target.value
        assert body["history"][-1]["changed_by_user_id"] == str(user.id)
        assert body["history"][-1]["notes"] == "matrix"
        assert history_after == history_before + 1
        if target == OrderStatus.CANCELLED and status in (OrderStatus.PLACED, OrderStatus.PICKED):
            assert (inventory_after, reserved_after) == (inventory_before, reserved_before - 3)
        elif target == OrderStatus.SHIPPED:
            assert (inventory_after, reserved_after) == (inventory_before - 3, reserved_before - 3)
        else:
            assert (inventory_after, reserved_after) == (inventory_before, reserved_before)
    else:
        assert response.status_code == 409, body
        error = body["error"]
        assert error["code"] == "transition_not_allowed"
        assert error["details"]["status"] == status.value
        assert error["details"]["requested"] == target.value
        assert set(error["details"]["allowed"]) == {
            t.value for t, e in EVENT_FOR_STATUS.items() if e in allowed
        }
        assert history_after == history_before
        assert (inventory_after, reserved_after) == (inventory_before, reserved_before)
        assert db.session.get(Order, order_id).status == status


def test_allowed_statuses_are_shown_per_viewer(app_ctx, client, auth):
    owner, _ = customer_pair()
    staff = make_user(UserRole.STAFF)
    order = order_in(OrderStatus.PLACED, owner, make_product(stock=5))
    as_owner = client.get(f"/api/v1/orders/{order.id}", headers=auth.headers(owner.email, PASSWORD))
    as_staff = client.get(f"/api/v1/orders/{order.id}", headers=auth.headers(staff.email, PASSWORD))
    assert as_owner.get_json()["allowed_statuses"] == ["cancelled"]
    assert sorted(as_staff.get_json()["allowed_statuses"]) == ["cancelled", "picked"]


def test_bad_status_bodies_are_422(app_ctx, client, auth):
    owner, _ = customer_pair()
    staff = make_user(UserRole.STAFF)
    order = order_in(OrderStatus.PLACED, owner, make_product(stock=5))
    headers = auth.headers(staff.email, PASSWORD)
    for body in (
        {"status": "lost"},
        {},
        {"status": "picked", "by": "me"},
        {"status": "picked", "notes": "x" * 1001},
    ):
        response = client.patch(f"/api/v1/orders/{order.id}/status", json=body, headers=headers)
        assert response.status_code == 422, body
    missing = client.patch(
        "/api/v1/orders/00000000-0000-0000-0000-000000000000/status",
        json={"status": "picked"},
        headers=headers,
    )
    assert missing.status_code == 404


def test_two_staff_conflicting_commands_exactly_one_wins(app):
    """Ship and cancel a picked order at the same moment, many times: one wins, one gets 409,
    history shows one transition, stock moves once."""
    with app.app_context():
        owner = make_user(UserRole.CUSTOMER)
        staff = [make_user(UserRole.STAFF), make_user(UserRole.STAFF)]
        product = make_product(stock=200)
        orders = [order_in(OrderStatus.PICKED, owner, product, quantity=1) for _ in range(15)]
        order_ids = [o.id for o in orders]
        emails = [s.email for s in staff]
    client = app.test_client()
    tokens = [
        client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD}).get_json()[
            "access_token"
        ]
        for email in emails
    ]
    for order_id in order_ids:
        barrier = threading.Barrier(2)
        results = {}

        def send(i, target, barrier=barrier, order_id=order_id, results=results):
            c = app.test_client()
            barrier.wait()
            r = c.patch(
                f"/api/v1/orders/{order_id}/status",
                json={"status": target},
                headers={"Authorization": f"Bearer {tokens[i]}"},
            )
            results[target] = r.status_code

        threads = [
            threading.Thread(target=send, args=(0, "shipped")),
            threading.Thread(target=send, args=(1, "cancelled")),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results.values()) == [200, 409], results
        with app.app_context():
            history = db.session.scalars(
                sa.select(OrderStatusHistory.new_status)
                .where(OrderStatusHistory.order_id == order_id)
                .order_by(OrderStatusHistory.created_at)
            ).all()
            winner = next(t for t, code in results.items() if code == 200)
            assert history[-1].value == winner
            assert history.count(OrderStatus(winner)) == 1
            assert len(history) == 4  # pending, placed, picked, and the one winner
