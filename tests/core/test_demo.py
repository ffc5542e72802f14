"""The demo data of ``make run`` (``oms.demo.load``), on PostgreSQL and on the embedded SQLite
default: a month of orders in every status with consistent history and stock, customers with
addresses, low-stock products, loaded once. The CLI wrapper is tested in test_cli.py."""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from oms import create_app, demo
from oms.analytics import service as analytics
from oms.auth import service as auth_service
from oms.auth.enums import UserRole
from oms.auth.models import User
from oms.customers.models import Customer
from oms.db import as_utc, utcnow
from oms.extensions import db
from oms.notifications.models import Notification
from oms.orders import actions as order_actions
from oms.orders.enums import OrderStatus
from oms.orders.models import Order, OrderItem, OrderStatusHistory
from oms.outbox.models import OutboxMessage
from oms.products import service as products_service
from oms.products.models import Product
from tests.conftest import make_test_config, stock_invariant_violations
from workflows.order_lifecycle import EVENT_FOR_STATUS, apply

SYSTEM_STATUSES = {OrderStatus.PLACED, OrderStatus.REJECTED}


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _counts() -> dict[str, int]:
    return {
        m.__tablename__: _count(m)
        for m in (User, Customer, Product, Order, OrderItem, OrderStatusHistory)
    }


def _check_orders(now) -> list[Order]:
    orders = db.session.scalars(sa.select(Order).order_by(Order.created_at)).all()
    assert len(orders) >= 200
    assert {o.status for o in orders} == set(OrderStatus)
    created = [as_utc(o.created_at) for o in orders]
    assert all(now - timedelta(days=30) < c <= now for c in created)
    assert len({c.date() for c in created}) >= 25
    numbers = [o.number for o in orders]
    assert all(re.fullmatch(r"ORD-\d{6}", n) for n in numbers)
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    # every page that lists orders by status has some: a few of each open status at least
    per_status = defaultdict(int)
    for o in orders:
        per_status[o.status] += 1
    assert min(per_status.values()) >= 3, per_status
    return orders


def _check_lines_and_addresses(orders: list[Order]) -> None:
    prices = {p.id: p.price for p in db.session.scalars(sa.select(Product))}
    items = defaultdict(list)
    for item in db.session.scalars(sa.select(OrderItem)):
        items[item.order_id].append(item)
    for order in orders:
        lines = items[order.id]
        assert lines, order.number
        for line in lines:
            assert line.quantity > 0
            assert line.unit_price == prices[line.product_id]
            assert line.total_price == line.unit_price * line.quantity
        assert order.total_amount == sum((line.total_price for line in lines), Decimal("0"))
        address = order.shipping_address
        assert address["name"] and address["line1"] and address["city"]
        assert address["postal_code"] and len(address["country"]) == 2


def _check_history(orders: list[Order]) -> None:
    users = {u.id: u for u in db.session.scalars(sa.select(User))}
    owners = {c.id: c.user_id for c in db.session.scalars(sa.select(Customer))}
    rows = defaultdict(list)
    for row in db.session.scalars(sa.select(OrderStatusHistory)):
        rows[row.order_id].append(row)
    for order in orders:
        history = sorted(rows[order.id], key=lambda h: as_utc(h.created_at))
        first = history[0]
        assert first.old_status is None and first.new_status == OrderStatus.PENDING
        assert first.changed_by_user_id == order.created_by_user_id is not None
        assert as_utc(first.created_at) == as_utc(order.created_at)
        for before, row in itertools.pairwise(history):
            assert row.old_status == before.new_status, order.number
            assert as_utc(row.created_at) > as_utc(before.created_at), order.number
            actor = users.get(row.changed_by_user_id)
            if row.new_status in SYSTEM_STATUSES:
                assert actor is None, order.number
            else:
                assert actor is not None and (
                    actor.role.is_staff or actor.id == owners[order.customer_id]
                ), order.number
            owner = actor is not None and actor.id == owners[order.customer_id]
            event = EVENT_FOR_STATUS[row.new_status]
            role = actor.role if actor else None
            assert apply(row.old_status, event, actor_role=role, is_owner=owner) == row.new_status
            if row.new_status == OrderStatus.REJECTED:
                assert row.notes.startswith("Not enough stock for ")
        last = history[-1]
        assert last.new_status == order.status, order.number
        assert as_utc(order.status_updated_at) == as_utc(last.created_at)
        assert order.status_updated_by == last.changed_by_user_id


def _check_customers() -> None:
    customers = db.session.scalars(sa.select(Customer)).all()
    assert len(customers) >= 15
    for customer in customers:
        address = customer.address or {}
        assert address.get("line1") and address.get("city") and address.get("postal_code")
        assert len(address.get("country", "")) == 2 and customer.phone
    assert len({c.address["country"] for c in customers}) >= 4
    login = auth_service.get_by_email(email="customer@example.com").customer
    assert login is not None and login.address["city"]
    mine = db.session.scalar(
        sa.select(sa.func.count()).select_from(Order).where(Order.customer_id == login.id)
    )
    assert mine >= 3  # the customer portal shows some orders


def _check_stock_and_analytics() -> None:
    assert stock_invariant_violations() == []
    threshold = products_service.low_stock_threshold()
    low = [
        p
        for p in db.session.scalars(sa.select(Product).where(Product.active))
        if p.available <= threshold
    ]
    assert len(low) >= 2
    summary = analytics.summary(days=30)
    assert all(n > 0 for n in summary["by_status"].values()), summary["by_status"]
    assert sum(1 for day in summary["per_day"] if day["orders"]) >= 25
    assert summary["placed_to_delivered"]["orders"] > 0
    assert summary["top_products"] and summary["low_stock"]


def check_demo_data() -> None:
    """Everything the demo data promises, on the current app's database."""
    now = utcnow()
    orders = _check_orders(now)
    _check_lines_and_addresses(orders)
    _check_history(orders)
    _check_customers()
    _check_stock_and_analytics()
    # seed data sends nothing: no task or email is waiting to go out
    assert _count(OutboxMessage) == 0 and _count(Notification) == 0


def _load_and_check() -> None:
    assert demo.load() is True
    check_demo_data()
    before = _counts()
    stock = db.session.execute(
        sa.select(Product.id, Product.inventory_count, Product.reserved_count).order_by(Product.id)
    ).all()
    db.session.remove()
    assert demo.load() is False
    assert _counts() == before
    after = db.session.execute(
        sa.select(Product.id, Product.inventory_count, Product.reserved_count).order_by(Product.id)
    ).all()
    assert after == stock


def _new_order_follows_the_demo_numbers() -> None:
    """Numbers handed out by the demo leave the next order a fresh one (on PostgreSQL the
    sequence moved past them)."""
    last = db.session.scalar(sa.select(sa.func.max(Order.number)))
    customer = auth_service.get_by_email(email="customer@example.com")
    product = db.session.scalar(sa.select(Product).where(Product.name == "Espresso beans 1 kg"))
    order = order_actions.place_order(
        actor=customer, items=[{"product_id": product.id, "quantity": 1}]
    ).order
    assert order.number > last


def test_demo_data_on_postgresql(app_ctx):
    _load_and_check()
    _new_order_follows_the_demo_numbers()


@pytest.fixture
def sqlite_app(tmp_path):
    """An app on a SQLite file, as ``make run`` starts it, migrated to head."""

    def build(name: str):
        app = create_app(
            make_test_config(
                SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / name}",
                OMS_REDIS_URL=None,
                OMS_MAIL_DIR=str(tmp_path / "mail"),
            )
        )
        with app.app_context():
            upgrade()
        return app

    built = []
    yield lambda name="demo.sqlite3": built.append(build(name)) or built[-1]
    for app in built:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_demo_data_on_sqlite(sqlite_app):
    with sqlite_app().app_context():
        _load_and_check()
        _new_order_follows_the_demo_numbers()


def _signature() -> list[tuple]:
    rows = db.session.execute(
        sa.select(Order.number, Order.status, Order.total_amount, Customer.email)
        .join(Customer, Customer.id == Order.customer_id)
        .order_by(Order.number)
    ).all()
    stock = db.session.execute(
        sa.select(Product.name, Product.inventory_count, Product.reserved_count).order_by(
            Product.name
        )
    ).all()
    return [tuple(r) for r in rows] + [tuple(s) for s in stock]


def test_demo_data_is_the_same_every_time(sqlite_app):
    signatures = []
    for name in ("first.sqlite3", "second.sqlite3"):
        with sqlite_app(name).app_context():
            demo.load()
            signatures.append(_signature())
    assert signatures[0] == signatures[1]
    assert len(signatures[0]) > 200


def test_only_the_login_customer_places_its_own_orders(app_ctx):
    """Customers without a login get their orders from staff; the login customer submits its
    own, so its portal shows orders it made."""
    demo.load()
    casey = auth_service.get_by_email(email="customer@example.com")
    creators = db.session.execute(
        sa.select(Order.customer_id, User.role, User.id).join(
            User, User.id == Order.created_by_user_id
        )
    ).all()
    for customer_id, role, user_id in creators:
        if customer_id == casey.customer.id:
            assert user_id == casey.id
        else:
            assert role in (UserRole.STAFF, UserRole.ADMIN)


def test_order_numbers_on_sqlite_keep_counting_past_six_digits(sqlite_app):
    from oms.orders.actions import next_number

    with sqlite_app("numbers.sqlite3").app_context():
        demo.load()
        first, second = db.session.scalars(sa.select(Order).order_by(Order.number).limit(2))
        first.number = "ORD-999999"
        db.session.commit()
        assert next_number() == "ORD-1000000"
        second.number = "ORD-1000000"
        db.session.commit()
        assert next_number() == "ORD-1000001"
        db.session.rollback()
