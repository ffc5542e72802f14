"""PUT /api/v1/orders/:id: shipping address, payment_collected, and replacing the lines."""

from __future__ import annotations

import threading
import uuid

import pytest

from oms.auth.enums import UserRole
from oms.extensions import db
from oms.inventory import service as inventory
from oms.orders.enums import OrderStatus
from oms.orders.models import Order
from oms.products.models import Product
from tests.factories import PASSWORD, make_order, make_product, make_user, reserve_stock
from tests.orders.helpers import order_in

URL = "/api/v1/orders"
NEW_ADDRESS = {
    "name": "Front desk",
    "line1": "2 Harbour Road",
    "city": "Trondheim",
    "postal_code": "7010",
    "country": "NO",
}


def floats_in(value) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(floats_in(v) for v in value.values())
    if isinstance(value, list):
        return any(floats_in(v) for v in value)
    return False


def stock(product) -> tuple[int, int]:
    db.session.expire_all()
    p = db.session.get(Product, product.id)
    return p.inventory_count, p.reserved_count


def stored(order_id) -> Order:
    db.session.expire_all()
    return db.session.get(Order, order_id)


def lines_of(order: Order) -> dict[str, int]:
    return {str(i.product_id): i.quantity for i in order.items}


def line(product, quantity) -> dict:
    return {"product_id": str(product.id), "quantity": quantity}


@pytest.fixture
def people(app_ctx, auth):
    owner = make_user(UserRole.CUSTOMER)
    staff = make_user(UserRole.STAFF)
    return {
        "owner": owner,
        "staff": staff,
        "owner_headers": auth.headers(owner.email, PASSWORD),
        "staff_headers": auth.headers(staff.email, PASSWORD),
    }


@pytest.mark.parametrize(
    "status", [OrderStatus.PENDING, OrderStatus.PLACED, OrderStatus.PICKED], ids=str
)
@pytest.mark.parametrize("who", ["owner", "staff"])
def test_shipping_address_changes_until_shipped(people, client, status, who):
    product = make_product(stock=10)
    order = order_in(status, people["owner"], product, quantity=2)
    before = stock(product)

    response = client.put(
        f"{URL}/{order.id}",
        json={"shipping_address": NEW_ADDRESS},
        headers=people[f"{who}_headers"],
    )

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["shipping_address"] == NEW_ADDRESS
    assert body["status"] == status.value
    assert not floats_in(body)
    assert stored(order.id).shipping_address == NEW_ADDRESS
    read = client.get(f"{URL}/{order.id}", headers=people["owner_headers"])
    assert read.get_json()["shipping_address"] == NEW_ADDRESS
    assert stock(product) == before


@pytest.mark.parametrize(
    "status",
    [OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.CANCELLED, OrderStatus.REJECTED],
    ids=str,
)
def test_shipping_address_is_fixed_once_shipped_or_closed(people, client, status):
    product = make_product(stock=10)
    order = order_in(status, people["owner"], product, quantity=2)
    address = dict(stored(order.id).shipping_address)

    response = client.put(
        f"{URL}/{order.id}",
        json={"shipping_address": NEW_ADDRESS},
        headers=people["staff_headers"],
    )

    assert response.status_code == 409, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "order_not_editable"
    assert error["details"]["status"] == status.value
    assert error["details"]["field"] == "shipping_address"
    assert stored(order.id).shipping_address == address


def test_staff_set_payment_collected(people, client):
    order = make_order(people["owner"], [(make_product(stock=5), 1)])
    response = client.put(
        f"{URL}/{order.id}", json={"payment_collected": True}, headers=people["staff_headers"]
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["payment_collected"] is True
    assert stored(order.id).payment_collected is True
    back = client.put(
        f"{URL}/{order.id}", json={"payment_collected": False}, headers=people["staff_headers"]
    )
    assert back.status_code == 200
    assert stored(order.id).payment_collected is False


@pytest.mark.parametrize("value", [True, False])
def test_customer_may_not_set_payment_collected(people, client, value):
    order = make_order(people["owner"], [(make_product(stock=5), 1)])
    response = client.put(
        f"{URL}/{order.id}",
        json={"payment_collected": value, "shipping_address": NEW_ADDRESS},
        headers=people["owner_headers"],
    )
    assert response.status_code == 422, response.get_json()
    assert "payment_collected" in response.get_json()["error"]["details"]
    order = stored(order.id)
    assert order.payment_collected is False
    assert order.shipping_address != NEW_ADDRESS  # nothing of the request was applied


@pytest.mark.parametrize("who", ["owner", "staff"])
def test_replacing_lines_of_a_placed_order_moves_the_reservation(people, client, who):
    old = make_product(name="Hand grinder", price="60.00", stock=10)
    new = make_product(name="Milk jug", price="7.25", stock=10)
    order = make_order(people["owner"], [(old, 2)])
    assert stock(old) == (10, 2)

    response = client.put(
        f"{URL}/{order.id}",
        json={"items": [line(new, 3), line(old, 1), line(new, 1)]},
        headers=people[f"{who}_headers"],
    )

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "placed"
    assert body["total_amount"] == "89.00"  # 60.00 + 4 x 7.25
    assert not floats_in(body)
    by_product = {i["product_id"]: i for i in body["items"]}
    assert set(by_product) == {str(old.id), str(new.id)}
    assert by_product[str(new.id)]["quantity"] == 4
    assert by_product[str(new.id)]["unit_price"] == "7.25"
    assert by_product[str(new.id)]["total_price"] == "29.00"
    assert by_product[str(old.id)]["quantity"] == 1
    assert stock(old) == (10, 1)
    assert stock(new) == (10, 4)
    saved = stored(order.id)
    assert lines_of(saved) == {str(old.id): 1, str(new.id): 4}
    assert str(saved.total_amount) == "89.00"


def test_replacing_lines_entirely_releases_the_old_product(people, client):
    old = make_product(price="60.00", stock=10)
    new = make_product(price="5.00", stock=10)
    order = make_order(people["owner"], [(old, 2)])
    response = client.put(
        f"{URL}/{order.id}", json={"items": [line(new, 1)]}, headers=people["owner_headers"]
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["total_amount"] == "5.00"
    assert stock(old) == (10, 0)
    assert stock(new) == (10, 1)


def test_an_orders_own_reservation_counts_as_available(people, client):
    product = make_product(price="3.00", stock=5)
    order = make_order(people["owner"], [(product, 2)])  # 3 left for others
    grow = client.put(
        f"{URL}/{order.id}", json={"items": [line(product, 5)]}, headers=people["owner_headers"]
    )
    assert grow.status_code == 200, grow.get_json()
    assert grow.get_json()["total_amount"] == "15.00"
    assert stock(product) == (5, 5)
    too_big = client.put(
        f"{URL}/{order.id}", json={"items": [line(product, 6)]}, headers=people["owner_headers"]
    )
    assert too_big.status_code == 409, too_big.get_json()
    assert too_big.get_json()["error"]["details"]["shortages"] == [
        {"product_id": str(product.id), "name": product.name, "wanted": 6, "available": 5}
    ]
    assert stock(product) == (5, 5)


def test_replacing_lines_with_more_than_available_changes_nothing(people, client):
    old = make_product(name="Scale", price="30.00", stock=10)
    scarce = make_product(name="Scarce tamper", price="15.00", stock=4)
    order = make_order(people["owner"], [(old, 2)])
    reserve_stock(scarce, 2)  # someone else holds 2 of the 4
    before_old, before_scarce = stock(old), stock(scarce)
    before = stored(order.id)
    before_lines, before_total = lines_of(before), before.total_amount
    before_item_ids = {i.id for i in before.items}

    response = client.put(
        f"{URL}/{order.id}",
        json={"items": [line(scarce, 3)]},
        headers=people["owner_headers"],
    )

    assert response.status_code == 409, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "insufficient_stock"
    assert error["details"]["shortages"] == [
        {"product_id": str(scarce.id), "name": "Scarce tamper", "wanted": 3, "available": 2}
    ]
    after = stored(order.id)
    assert lines_of(after) == before_lines
    assert {i.id for i in after.items} == before_item_ids
    assert after.total_amount == before_total
    assert after.status == OrderStatus.PLACED
    assert stock(old) == before_old == (10, 2)
    assert stock(scarce) == before_scarce == (4, 2)


def test_replacing_lines_of_a_pending_order_reserves_nothing_yet(people, client):
    old = make_product(price="2.00", stock=10)
    new = make_product(price="3.50", stock=10)
    order = make_order(people["owner"], [(old, 2)], status=OrderStatus.PENDING)
    response = client.put(
        f"{URL}/{order.id}", json={"items": [line(new, 2)]}, headers=people["owner_headers"]
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "pending"
    assert response.get_json()["total_amount"] == "7.00"
    assert stock(old) == (10, 0)
    assert stock(new) == (10, 0)
    # an obvious shortage is still refused at once
    too_many = client.put(
        f"{URL}/{order.id}", json={"items": [line(new, 11)]}, headers=people["owner_headers"]
    )
    assert too_many.status_code == 409
    assert lines_of(stored(order.id)) == {str(new.id): 2}


@pytest.mark.parametrize(
    "status",
    [OrderStatus.PICKED, OrderStatus.SHIPPED, OrderStatus.CANCELLED, OrderStatus.REJECTED],
    ids=str,
)
def test_lines_are_fixed_once_picked(people, client, status):
    product = make_product(stock=10)
    other = make_product(stock=10)
    order = order_in(status, people["owner"], product, quantity=2)
    before_lines = lines_of(stored(order.id))
    before = stock(product), stock(other)

    response = client.put(
        f"{URL}/{order.id}", json={"items": [line(other, 1)]}, headers=people["staff_headers"]
    )

    assert response.status_code == 409, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "order_not_editable"
    assert error["details"]["field"] == "items"
    assert error["details"]["status"] == status.value
    assert lines_of(stored(order.id)) == before_lines
    assert (stock(product), stock(other)) == before


def test_a_refused_line_change_leaves_the_address_too(people, client):
    product = make_product(stock=10)
    order = order_in(OrderStatus.PICKED, people["owner"], product)
    address = dict(stored(order.id).shipping_address)
    response = client.put(
        f"{URL}/{order.id}",
        json={"shipping_address": NEW_ADDRESS, "items": [line(product, 1)]},
        headers=people["staff_headers"],
    )
    assert response.status_code == 409
    assert stored(order.id).shipping_address == address


@pytest.mark.parametrize(
    "make_body",
    [
        lambda product: {},
        lambda product: {"colour": "red"},
        lambda product: {"status": "shipped"},
        lambda product: {"total_amount": "1.00"},
        lambda product: {"customer_id": str(uuid.uuid4())},
        lambda product: {"items": []},
        lambda product: {"items": [line(product, 0)]},
        lambda product: {"items": [line(product, "2")]},
        lambda product: {"shipping_address": {"line1": "no city"}},
    ],
    ids=[
        "empty",
        "unknown",
        "status",
        "total_amount",
        "customer_id",
        "no_items",
        "quantity_0",
        "quantity_str",
        "bad_address",
    ],
)
def test_bad_update_bodies_are_422(people, client, make_body):
    product = make_product(price="9.00", stock=10)
    order = make_order(people["owner"], [(product, 1)])
    body = make_body(product)
    before = stored(order.id)
    snapshot = (lines_of(before), before.total_amount, dict(before.shipping_address))
    response = client.put(f"{URL}/{order.id}", json=body, headers=people["staff_headers"])
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    assert set(body or {"_schema": None}) <= set(error["details"]), error
    after = stored(order.id)
    assert (lines_of(after), after.total_amount, dict(after.shipping_address)) == snapshot
    assert stock(product) == (10, 1)


def test_line_prices_from_the_client_are_ignored_never_accepted(people, client):
    product = make_product(price="9.00", stock=10)
    order = make_order(people["owner"], [(product, 1)])
    response = client.put(
        f"{URL}/{order.id}",
        json={"items": [{**line(product, 2), "unit_price": "0.01"}]},
        headers=people["owner_headers"],
    )
    assert response.status_code == 422
    assert "unit_price" in response.get_json()["error"]["details"]["items"]["0"]
    assert str(stored(order.id).total_amount) == "9.00"


def test_unknown_product_in_new_lines_is_422(people, client):
    product = make_product(stock=10)
    order = make_order(people["owner"], [(product, 1)])
    response = client.put(
        f"{URL}/{order.id}",
        json={"items": [line(product, 1), {"product_id": str(uuid.uuid4()), "quantity": 1}]},
        headers=people["owner_headers"],
    )
    assert response.status_code == 422
    assert set(response.get_json()["error"]["details"]["items"]) == {"1"}
    assert stock(product) == (10, 1)


def test_unknown_order_is_404(people, client):
    response = client.put(
        f"{URL}/{uuid.uuid4()}",
        json={"shipping_address": NEW_ADDRESS},
        headers=people["staff_headers"],
    )
    assert response.status_code == 404


def test_line_change_does_not_lose_a_reservation_committed_meanwhile(
    app, people, client, monkeypatch
):
    """Another transaction reserves the new product after the update read it but before the
    update locked it: the update must build on the committed count, not on what it read."""
    old = make_product(price="1.00", stock=10)
    new = make_product(price="1.00", stock=10)
    new_id = new.id
    order = make_order(people["owner"], [(old, 1)])
    original = inventory.lock_products

    def lock_after_a_concurrent_reservation(product_ids):
        def reserve_elsewhere():
            with app.app_context():  # a session and transaction of its own
                reserve_stock(db.session.get(Product, new_id), 3)
                db.session.remove()

        thread = threading.Thread(target=reserve_elsewhere)
        thread.start()
        thread.join(timeout=30)
        assert not thread.is_alive()
        return original(product_ids)

    body = {"items": [{"product_id": str(new_id), "quantity": 2}]}
    url = f"{URL}/{order.id}"
    db.session.commit()  # the request must not inherit rows this test session has loaded
    monkeypatch.setattr(inventory, "lock_products", lock_after_a_concurrent_reservation)
    response = client.put(url, json=body, headers=people["owner_headers"])
    monkeypatch.undo()

    assert response.status_code == 200, response.get_json()
    assert stock(old) == (10, 0)
    assert stock(new) == (10, 5)  # 3 reserved meanwhile + 2 of this order
