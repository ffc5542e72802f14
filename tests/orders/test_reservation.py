"""The reservation, the outbox and the events, against the real database and Redis."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from oms import events
from oms.auth.enums import UserRole
from oms.db import transaction, utcnow
from oms.extensions import db
from oms.orders import actions as orders
from oms.orders.enums import OrderStatus
from oms.orders.models import Order, OrderStatusHistory
from oms.outbox import service as outbox
from oms.outbox.models import OutboxMessage
from oms.products.models import Product
from tests.factories import ADDRESS, make_order, make_product, make_user


@pytest.fixture
def received():
    """Events delivered in this process during the test."""
    seen: list[dict] = []
    unsubscribe = events.subscribe(seen.append)
    yield seen
    unsubscribe()


def test_placing_publishes_after_commit_and_stores_events_in_redis(app_ctx, received):
    customer = make_user(UserRole.CUSTOMER)
    product = make_product(stock=5)
    order = make_order(customer, [(product, 2)])
    types = [e["type"] for e in received]
    assert "order.created" in types
    changed = [e for e in received if e["type"] == "order.status_changed"]
    assert changed and changed[-1]["new_status"] == "placed" and changed[-1]["actor"] == "system"
    assert changed[-1]["order_id"] == str(order.id) and changed[-1]["version"] == 1
    stored = events.read_since(None)
    assert [e["type"] for e in stored] == types
    assert all(e["seq"] for e in stored)
    assert events.read_since(stored[0]["seq"]) == stored[1:]


def test_refused_order_writes_and_publishes_nothing(app_ctx, received):
    from oms.inventory.errors import InsufficientStock

    customer = make_user(UserRole.CUSTOMER)
    product = make_product(stock=1)
    with pytest.raises(InsufficientStock):
        orders.place_order(
            actor=customer,
            items=[{"product_id": product.id, "quantity": 2}],
            shipping_address=ADDRESS,
        )
    assert received == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


def test_rolled_back_transaction_sends_no_task_and_no_event(app_ctx, received):
    customer = make_user(UserRole.CUSTOMER)
    order = make_order(customer, [(make_product(stock=3), 1)], status=OrderStatus.PENDING)
    with pytest.raises(RuntimeError), transaction():  # noqa: PT012 (the raise is the rollback)
        outbox.enqueue("inventory.reserve_order", order_id=str(order.id))
        events.publish(
            "inventory.low_stock", product_id=str(order.items[0].product_id), name="x", available=0
        )
        raise RuntimeError("boom")
    assert received == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == OrderStatus.PENDING


def test_relay_sends_what_was_never_dispatched(app_ctx):
    customer = make_user(UserRole.CUSTOMER)
    order = make_order(customer, [(make_product(stock=3), 1)], status=OrderStatus.PENDING)
    with transaction() as session:
        message = OutboxMessage(task="inventory.reserve_order", kwargs={"order_id": str(order.id)})
        session.add(message)
    assert outbox.relay(min_age_seconds=60) == 0  # too fresh: its own dispatch may still come
    db.session.execute(sa.update(OutboxMessage).values(created_at=utcnow() - timedelta(minutes=5)))
    db.session.commit()
    assert outbox.relay() == 1
    db.session.expire_all()
    assert db.session.get(Order, order.id).status == OrderStatus.PLACED
    assert db.session.get(OutboxMessage, message.id).sent_at is not None
    assert outbox.relay() == 0


def test_reservation_is_idempotent(app_ctx):
    customer = make_user(UserRole.CUSTOMER)
    product = make_product(stock=10)
    order = make_order(customer, [(product, 4)], status=OrderStatus.PENDING)
    assert orders.reserve_orders(order_ids=[order.id]) == [(order.id, OrderStatus.PLACED)]
    assert orders.reserve_orders(order_ids=[order.id]) == []
    reserve_order = app_ctx.extensions["celery"].tasks["inventory.reserve_order"]
    assert reserve_order.apply(kwargs={"order_id": str(order.id)}).get() == "placed"
    db.session.expire_all()
    assert db.session.get(Product, product.id).reserved_count == 4
    history = db.session.scalars(
        sa.select(OrderStatusHistory.new_status).where(OrderStatusHistory.order_id == order.id)
    ).all()
    assert history.count(OrderStatus.PLACED) == 1


def test_all_or_nothing_per_order_with_the_reason(app_ctx):
    customer = make_user(UserRole.CUSTOMER)
    plenty, scarce = make_product(name="Plenty", stock=10), make_product(name="Scarce", stock=2)
    order = make_order(customer, [(plenty, 3), (scarce, 2)], status=OrderStatus.PENDING)
    db.session.execute(sa.update(Product).where(Product.id == scarce.id).values(inventory_count=1))
    db.session.commit()
    assert orders.reserve_orders(order_ids=[order.id]) == [(order.id, OrderStatus.REJECTED)]
    db.session.expire_all()
    assert db.session.get(Product, plenty.id).reserved_count == 0  # nothing half-reserved
    notes = db.session.scalars(
        sa.select(OrderStatusHistory.notes).where(
            OrderStatusHistory.new_status == OrderStatus.REJECTED
        )
    ).one()
    assert notes == "Not enough stock for Scarce: 2 wanted, 1 available."


def test_one_transaction_takes_a_batch_first_come_first_served(app_ctx):
    customers = [make_user(UserRole.CUSTOMER) for _ in range(3)]
    product = make_product(stock=30)
    pending = [
        make_order(customers[i % 3], [(product, 1)], status=OrderStatus.PENDING) for i in range(30)
    ]
    db.session.execute(
        sa.update(Product).where(Product.id == product.id).values(inventory_count=10)
    )
    db.session.commit()
    decided = orders.reserve_orders(limit=100)
    assert len(decided) == 30
    outcome = dict(decided)
    by_age = sorted(pending, key=lambda o: (o.created_at, o.id))
    assert [outcome[o.id] for o in by_age] == [OrderStatus.PLACED] * 10 + [
        OrderStatus.REJECTED
    ] * 20
    db.session.expire_all()
    assert db.session.get(Product, product.id).reserved_count == 10


def test_sweep_task_reserves_every_pending_order(app_ctx):
    reserve_pending = app_ctx.extensions["celery"].tasks["inventory.reserve_pending_orders"]
    customer = make_user(UserRole.CUSTOMER)
    product = make_product(stock=100)
    for _ in range(7):
        make_order(customer, [(product, 1)], status=OrderStatus.PENDING)
    assert reserve_pending.apply(kwargs={"batch_size": 3}).get() == 7
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Order).where(Order.status == OrderStatus.PENDING)
        )
        == 0
    )
