"""What the order table needs of GET /api/v1/orders: a count exact up to a cap, the `id`
filter (a selection, for exports) and the `problem` view (rejected, or pending too long)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from oms import pagination
from oms.auth.enums import UserRole
from oms.db import utcnow
from oms.extensions import db
from oms.orders.enums import OrderStatus
from oms.orders.models import Order
from oms.orders.queries import PENDING_TOO_LONG
from tests.factories import PASSWORD, make_order, make_product, make_user
from tests.orders.helpers import order_in

URL = "/api/v1/orders"


@pytest.fixture
def desk(app_ctx, auth):
    staff = make_user(UserRole.STAFF)
    customer = make_user(UserRole.CUSTOMER)
    product = make_product(stock=100)
    return customer, product, auth.headers(staff.email, PASSWORD)


def test_count_is_of_every_matching_order_not_the_page(desk, client):
    customer, product, headers = desk
    for _ in range(7):
        make_order(customer, [(product, 1)])
    make_order(customer, [(product, 1)], status=OrderStatus.PICKED)
    page = client.get(URL, query_string={"limit": 3}, headers=headers).get_json()
    assert len(page["items"]) == 3
    assert (page["count"], page["count_capped"]) == (8, False)
    second = client.get(
        URL, query_string={"limit": 3, "cursor": page["next_cursor"]}, headers=headers
    ).get_json()
    assert second["count"] == 8
    picked = client.get(URL, query_string={"status": "picked"}, headers=headers).get_json()
    assert (picked["count"], picked["count_capped"]) == (1, False)


def test_count_stops_at_the_cap(desk, client, monkeypatch):
    customer, product, headers = desk
    for _ in range(4):
        make_order(customer, [(product, 1)])
    monkeypatch.setattr(pagination, "COUNT_CAP", 3)
    page = client.get(URL, headers=headers).get_json()
    assert (page["count"], page["count_capped"]) == (3, True)
    assert len(page["items"]) == 4


def test_id_filter_lists_a_selection(desk, client):
    customer, product, headers = desk
    orders = [make_order(customer, [(product, 1)]) for _ in range(3)]
    wanted = [str(orders[0].id), str(orders[2].id), str(uuid.uuid4())]
    page = client.get(URL, query_string={"id": wanted}, headers=headers).get_json()
    assert {o["id"] for o in page["items"]} == set(wanted[:2])
    bad = client.get(URL, query_string={"id": "nope"}, headers=headers)
    assert bad.status_code == 422
    assert "id" in bad.get_json()["error"]["details"]


def test_problem_view_is_rejected_or_pending_too_long(desk, client):
    customer, product, headers = desk
    make_order(customer, [(product, 1)])  # placed: fine
    rejected = order_in(OrderStatus.REJECTED, customer, make_product(stock=5))
    # last: a reservation task decides the oldest pending orders with its own
    stuck = make_order(customer, [(product, 1)], status=OrderStatus.PENDING)
    fresh = make_order(customer, [(product, 1)], status=OrderStatus.PENDING)
    db.session.execute(
        sa.update(Order)
        .where(Order.id == stuck.id)
        .values(created_at=utcnow() - PENDING_TOO_LONG - timedelta(minutes=1))
    )
    db.session.commit()
    page = client.get(URL, query_string={"problem": "true"}, headers=headers).get_json()
    assert {o["id"] for o in page["items"]} == {str(rejected.id), str(stuck.id)}
    assert page["count"] == 2
    assert str(fresh.id) not in {o["id"] for o in page["items"]}
    others = client.get(URL, query_string={"problem": "false"}, headers=headers).get_json()
    assert others["count"] == 2
