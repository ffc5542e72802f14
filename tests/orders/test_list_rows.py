"""The order list's rows (``oms.orders.listing``, built from a Core SELECT) are what
``OrderSchema`` dumps from the ORM objects, field for field, for every kind of order and every
role: the two can never drift apart."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from oms.auth.enums import UserRole
from oms.customers.models import Customer
from oms.extensions import db
from oms.orders import actions, listing, queries
from oms.orders.enums import OrderStatus
from oms.orders.models import Order, OrderItem
from oms.orders.schemas import OrderSchema
from tests.factories import ADDRESS, PASSWORD, make_order, make_product, make_user
from tests.orders.helpers import order_in


def _varied():
    """Orders in every status, shipped with and without carrier and tracking, several lines
    at odd prices, an order staff placed for a customer with payment collected, a customer
    with no first name, a carrier code since removed from the configuration."""
    staff = make_user(UserRole.STAFF)
    alice = make_user(UserRole.CUSTOMER, first_name="Alice", last_name="Lindqvist")
    bob = make_user(UserRole.CUSTOMER, first_name="Bob", last_name="Haugen")
    grinder = make_product(name="Burr grinder", price="120.00", stock=500)
    kettle = make_product(name="Gooseneck kettle", price="45.05", stock=500)
    filters = make_product(name='Paper filters "V60", 100', price="0.10", stock=500)
    scarce = make_product(name="Scarce", price="9.99", stock=500)
    make_order(alice, [(grinder, 1), (kettle, 3), (filters, 7)])
    make_order(alice, [(kettle, 2)], status=OrderStatus.PICKED, staff=staff)
    make_order(bob, [(filters, 1)], status=OrderStatus.CANCELLED, staff=staff)
    make_order(bob, [(grinder, 2), (filters, 3)], status=OrderStatus.DELIVERED, staff=staff)
    order_in(OrderStatus.REJECTED, alice, scarce)
    for carrier, tracking in (("ups", "1Z 999/AA?1"), ("dhl", None), (None, None)):
        order = make_order(alice, [(grinder, 1)], status=OrderStatus.PICKED, staff=staff)
        actions.change_status(
            order_id=order.id,
            actor=staff,
            status=OrderStatus.SHIPPED,
            carrier=carrier,
            tracking_number=tracking,
        )
    gone = make_order(bob, [(kettle, 1)], status=OrderStatus.SHIPPED, staff=staff)
    db.session.execute(
        sa.update(Order)
        .where(Order.id == gone.id)
        .values(carrier="pigeon-post", tracking_number="P-1")
    )
    actions.place_order(
        actor=staff,
        customer_id=bob.customer.id,
        items=[{"product_id": grinder.id, "quantity": 1}, {"product_id": kettle.id, "quantity": 4}],
        shipping_address={**ADDRESS, "line2": "Flat 3", "region": "Viken"},
        payment_collected=True,
    )
    # last: a reservation (eager in the tests) takes every pending order in its batch
    make_order(bob, [(kettle, 1)], status=OrderStatus.PENDING)
    db.session.execute(
        sa.update(Customer).where(Customer.id == bob.customer.id).values(first_name="")
    )
    db.session.commit()
    return {"staff": staff, "admin": make_user(UserRole.ADMIN), "alice": alice, "bob": bob}


@pytest.fixture
def varied(app_ctx):
    return _varied()


def schema_dumps(actor) -> dict[str, dict]:
    """Every order ``actor`` may list, as OrderSchema dumps it from the ORM objects."""
    db.session.expire_all()
    orders = db.session.scalars(
        queries.get_all(actor=actor).options(
            selectinload(Order.items).selectinload(OrderItem.product), selectinload(Order.customer)
        )
    )
    return {str(o.id): OrderSchema().dump(queries.present(o, actor)) for o in orders}


def fast_rows(actor) -> dict[str, dict]:
    """The same orders as the list builds them from rows."""
    rows = db.session.execute(listing.select_rows(queries.get_all(actor=actor))).all()
    return {item["id"]: item for item in listing.build(rows, actor)}


@pytest.mark.parametrize("who", ["staff", "admin", "alice", "bob"])
def test_rows_equal_the_schema_dump_field_for_field(varied, who):
    actor = varied[who]
    expected, built = schema_dumps(actor), fast_rows(actor)
    assert expected, "the fixture gives every role orders to see"
    assert built.keys() == expected.keys()
    for order_id, dump in expected.items():
        assert built[order_id].keys() == dump.keys()
        for field, value in dump.items():
            assert built[order_id][field] == value, (order_id, field)
        # and as JSON, types and all (no Decimal or UUID left to the encoder)
        assert json.dumps(built[order_id], sort_keys=True) == json.dumps(dump, sort_keys=True)


def test_the_fixture_covers_what_the_rows_carry(varied):
    items = fast_rows(varied["staff"]).values()
    assert {i["status"] for i in items} == {s.value for s in OrderStatus}
    assert {i["carrier_name"] for i in items} >= {"UPS", "DHL Express", "pigeon-post", None}
    assert any(i["tracking_url"] for i in items)
    assert any(i["created_by_user_id"] for i in items)
    assert any(i["payment_collected"] for i in items)
    assert any(len(i["items"]) == 3 for i in items)
    assert any(i["customer"]["name"] == "Haugen" for i in items)


def test_the_api_answers_the_schema_dump(varied, client, auth):
    for who in ("staff", "alice"):
        headers = auth.headers(varied[who].email, PASSWORD)
        body = client.get("/api/v1/orders", query_string={"limit": 200}, headers=headers)
        assert body.status_code == 200
        listed = {item["id"]: item for item in body.get_json()["items"]}
        assert listed == json.loads(json.dumps(schema_dumps(varied[who])))


def test_rows_equal_the_schema_dump_on_sqlite(embedded_app):
    assert db.engine.dialect.name == "sqlite"
    people = _varied()
    for who in ("staff", "bob"):
        expected, built = schema_dumps(people[who]), fast_rows(people[who])
        assert expected and built == expected
        assert all(item["created_at"].endswith("+00:00") for item in built.values())
