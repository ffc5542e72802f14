"""Product service: stock events after commit (and never on failure), and the row lock."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import psycopg2.errors
import pytest
import sqlalchemy as sa

from oms import events
from oms.auth.enums import UserRole
from oms.db import transaction
from oms.errors import ConflictError
from oms.extensions import db
from oms.orders.enums import OrderStatus
from oms.products import service
from oms.products.models import Product
from tests.factories import (
    PASSWORD,
    insert_order,
    make_customer,
    make_product,
    make_user,
    reserve_stock,
)


@pytest.fixture
def delivered(app_ctx) -> Iterator[list[dict]]:
    """Every event delivered during the test, each with the committed stock at delivery."""
    seen: list[dict] = []

    def listener(event: dict) -> None:
        committed = None
        if "product_id" in event:
            # a separate connection sees only committed rows
            with db.engine.connect() as conn:
                committed = conn.scalar(
                    sa.select(Product.inventory_count).where(Product.id == event["product_id"])
                )
        seen.append({**event, "committed_inventory_count": committed})

    unsubscribe = events.subscribe(listener)
    try:
        yield seen
    finally:
        unsubscribe()


def types(seen: list[dict]) -> list[str]:
    return [event["type"] for event in seen]


def test_create_publishes_the_stock_after_commit(app, delivered):
    product = service.create(name="Kettle", price="39.00", inventory_count=20)
    assert types(delivered) == ["product.stock_changed", "product.availability"]
    event = delivered[0]
    assert {k: event[k] for k in ("product_id", "name", "inventory_count", "reserved_count")} == {
        "product_id": str(product.id),
        "name": "Kettle",
        "inventory_count": 20,
        "reserved_count": 0,
    }
    assert event["available"] == 20
    assert event["committed_inventory_count"] == 20  # the row was committed when it left
    assert event["version"] == 1 and event["at"]


def test_low_stock_is_published_at_or_below_the_threshold(app, delivered):
    threshold = app.config["OMS_LOW_STOCK_THRESHOLD"]
    product = service.create(name="Tumbler", price="22.00", inventory_count=threshold + 1)
    assert types(delivered) == ["product.stock_changed", "product.availability"]
    delivered.clear()
    service.update(product_id=product.id, inventory_count=threshold)
    assert types(delivered) == [
        "product.stock_changed",
        "inventory.low_stock",
        "product.availability",
    ]
    low = delivered[1]
    assert (low["product_id"], low["name"], low["available"]) == (
        str(product.id),
        "Tumbler",
        threshold,
    )


def test_stock_change_through_the_api_publishes_the_new_counts(app, client, auth, delivered):
    product = make_product(stock=10)
    reserve_stock(product, 4)
    staff = make_user(UserRole.STAFF)
    response = client.put(
        f"/api/v1/products/{product.id}",
        json={"inventory_count": 30},
        headers=auth.headers(staff.email, PASSWORD),
    )
    assert response.status_code == 200
    stock = [e for e in delivered if e["type"] == "product.stock_changed"]
    assert len(stock) == 1
    assert (stock[0]["inventory_count"], stock[0]["reserved_count"], stock[0]["available"]) == (
        30,
        4,
        26,
    )
    assert stock[0]["committed_inventory_count"] == 30


def test_changes_that_leave_the_stock_alone_publish_nothing(app, delivered):
    product = make_product(stock=50)
    service.update(product_id=product.id, name="Renamed", price="1.00", description="d")
    service.update(product_id=product.id, inventory_count=50)  # the same stock
    assert delivered == []


def test_deactivation_publishes_the_stock(app, delivered):
    product = make_product(stock=50)
    service.update(product_id=product.id, active=False)
    assert types(delivered) == ["product.stock_changed", "product.availability"]
    assert delivered[1]["active"] is False  # customers' order forms drop it
    delivered.clear()
    ordered = make_product(stock=50)
    insert_order(make_customer(), status=OrderStatus.SHIPPED, lines=[(ordered, 1)])
    assert service.delete(product_id=ordered.id).active is False
    assert types(delivered) == ["product.stock_changed", "product.availability"]
    assert delivered[0]["product_id"] == str(ordered.id)


def test_products_never_on_sale_stay_out_of_customers_sight(app, delivered):
    from oms.realtime.rooms import CATALOGUE_ROOM, rooms_for_event

    hidden = service.create(name="Secret grinder", price="9.00", inventory_count=5, active=False)
    service.update(product_id=hidden.id, inventory_count=7)
    assert "product.availability" not in types(delivered)
    # the counters themselves only ever go to staff
    assert all(CATALOGUE_ROOM not in rooms_for_event(e) for e in delivered)


def test_refused_stock_change_publishes_nothing(app, delivered):
    product = make_product(stock=10)
    reserve_stock(product, 8)
    with pytest.raises(ConflictError) as raised:
        service.update(product_id=product.id, inventory_count=7, name="Renamed")
    assert raised.value.details == {"reserved_count": 8, "requested": 7}
    assert delivered == []
    db.session.expire_all()
    assert db.session.get(Product, product.id).name != "Renamed"


def test_a_rolled_back_transaction_publishes_nothing(app, delivered):
    product = make_product(stock=3)

    def publish_then_fail() -> None:
        with transaction():
            product.inventory_count = 1
            service.publish_stock(product)
            raise RuntimeError("the use case failed after publishing")

    with pytest.raises(RuntimeError):
        publish_then_fail()
    assert delivered == []
    db.session.expire_all()
    assert db.session.get(Product, product.id).inventory_count == 3
    # the dropped events do not leak into the next transaction that commits
    service.update(product_id=product.id, name="Next")
    assert delivered == []


def test_a_database_failure_publishes_nothing(app, delivered):
    with pytest.raises(sa.exc.IntegrityError):
        service.create(name="Broken", price="-1.00", inventory_count=1)  # CHECK price >= 0
    assert delivered == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Product)) == 0


def test_update_holds_a_row_lock_until_commit(app_ctx):
    product = make_product(stock=10)
    with transaction():
        service.update(product_id=product.id, inventory_count=12)  # joins this transaction
        with db.engine.connect() as other, pytest.raises(sa.exc.OperationalError) as raised:
            other.execute(
                sa.select(Product.id).where(Product.id == product.id).with_for_update(nowait=True)
            )
        assert isinstance(raised.value.orig, psycopg2.errors.LockNotAvailable)


def test_update_waits_for_a_concurrent_reservation_then_refuses(app):
    with app.app_context():
        product = make_product(stock=10)
        product_id = product.id
        # the order whose reservation is in flight below (so the stock invariant holds after)
        insert_order(make_customer(), status=OrderStatus.PLACED, lines=[(product, 8)])
    outcome: dict = {}

    def set_stock() -> None:
        with app.app_context():
            try:
                service.update(product_id=product_id, inventory_count=5)
                outcome["result"] = "updated"
            except ConflictError as exc:
                outcome["result"] = exc.details
            finally:
                db.session.remove()

    with app.app_context(), db.engine.connect() as reservation:
        # an uncommitted reservation of 8 units holds the row
        reservation.execute(
            sa.update(Product).where(Product.id == product_id).values(reserved_count=8)
        )
        worker = threading.Thread(target=set_stock)
        worker.start()
        worker.join(0.5)
        assert worker.is_alive(), "the update did not wait for the row lock"
        reservation.commit()
    worker.join(10)
    assert outcome["result"] == {"reserved_count": 8, "requested": 5}
    with app.app_context():
        stored = db.session.get(Product, product_id)
        assert (stored.inventory_count, stored.reserved_count) == (10, 8)
        db.session.remove()


def test_delete_publishes_nothing_when_the_product_is_removed(app, delivered):
    product = make_product(stock=1)
    assert service.delete(product_id=product.id) is None
    assert delivered == []
    assert db.session.get(Product, product.id) is None
