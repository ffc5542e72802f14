"""GET /api/v1/orders and /api/v1/customers/:id/orders: envelope, keyset pages, filters,
search, and who may see which orders."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from oms.auth.enums import UserRole
from oms.extensions import db
from oms.orders import actions as orders
from oms.orders.enums import OrderStatus
from oms.orders.models import Order
from oms.products.models import Product
from tests.factories import ADDRESS, PASSWORD, make_order, make_product, make_user

URL = "/api/v1/orders"


def floats_in(value) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(floats_in(v) for v in value.values())
    if isinstance(value, list):
        return any(floats_in(v) for v in value)
    return False


def set_created_at(order_id, when: datetime) -> None:
    db.session.execute(sa.update(Order).where(Order.id == order_id).values(created_at=when))
    db.session.commit()


@pytest.fixture
def shop(app_ctx, auth):
    """Two customers with two orders each, in several statuses, months apart."""
    staff = make_user(UserRole.STAFF)
    alice = make_user(UserRole.CUSTOMER, first_name="Alice", last_name="Lindqvist")
    bob = make_user(UserRole.CUSTOMER, first_name="Bob", last_name="Haugen")
    grinder = make_product(name="Burr grinder", price="120.00", stock=50)
    kettle = make_product(name="Gooseneck kettle", price="45.50", stock=50)
    a1 = make_order(alice, [(grinder, 1)])  # placed, 120.00
    a2 = make_order(alice, [(kettle, 2)], status=OrderStatus.CANCELLED, staff=staff)  # 91.00
    b1 = make_order(bob, [(kettle, 1)], status=OrderStatus.PICKED, staff=staff)  # 45.50
    b2 = make_order(bob, [(grinder, 1), (kettle, 1)])  # placed, 165.50
    orders.update_order(order_id=b2.id, actor=staff, payment_collected=True)
    for order, month in ((a1, 1), (a2, 2), (b1, 3), (b2, 4)):
        set_created_at(order.id, datetime(2024, month, 10, tzinfo=UTC))
    return SimpleNamespace(
        staff=auth.headers(staff.email, PASSWORD),
        alice=auth.headers(alice.email, PASSWORD),
        bob=auth.headers(bob.email, PASSWORD),
        alice_customer=str(alice.customer.id),
        bob_customer=str(bob.customer.id),
        grinder=str(grinder.id),
        kettle=str(kettle.id),
        kettle_product=kettle,
        a1=str(a1.id),
        a2=str(a2.id),
        b1=str(b1.id),
        b2=str(b2.id),
        numbers={str(o.id): o.number for o in (a1, a2, b1, b2)},
    )


def listed(client, headers, query=None, url=URL) -> list[str]:
    response = client.get(url, query_string=query or {}, headers=headers)
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


def test_list_envelope_and_default_newest_first(shop, client):
    response = client.get(URL, headers=shop.staff)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert set(body) == {"items", "limit", "next_cursor", "has_more", "count", "count_capped"}
    assert body["limit"] == 25
    assert body["next_cursor"] is None
    assert body["has_more"] is False
    assert [o["id"] for o in body["items"]] == [shop.b2, shop.b1, shop.a2, shop.a1]
    assert not floats_in(body)
    by_id = {o["id"]: o for o in body["items"]}
    assert by_id[shop.b2]["total_amount"] == "165.50"
    assert by_id[shop.b2]["payment_collected"] is True
    assert by_id[shop.a2]["status"] == "cancelled"
    assert {i["unit_price"] for i in by_id[shop.b2]["items"]} == {"120.00", "45.50"}

    first = client.get(URL, query_string={"limit": 3}, headers=shop.staff).get_json()
    assert first["limit"] == 3
    assert first["has_more"] is True
    assert isinstance(first["next_cursor"], str)
    assert len(first["items"]) == 3


@pytest.mark.parametrize("limit", [0, 201, "many"])
def test_limit_out_of_range_is_422(shop, client, limit):
    response = client.get(URL, query_string={"limit": limit}, headers=shop.staff)
    assert response.status_code == 422
    assert "limit" in response.get_json()["error"]["details"]


@pytest.fixture
def many_orders(app_ctx, auth):
    """Eleven orders with tied totals and tied creation times, to walk page by page."""
    staff = make_user(UserRole.STAFF)
    customer = make_user(UserRole.CUSTOMER)
    ten = make_product(price="10.00", stock=100)
    twenty_five = make_product(price="25.00", stock=100)
    plan = [(ten, 1), (ten, 1), (twenty_five, 1), (ten, 3), (twenty_five, 1), (ten, 1)]
    plan += [(twenty_five, 2), (ten, 5), (ten, 1), (twenty_five, 2), (ten, 3)]
    made = [make_order(customer, [line]) for line in plan]
    tie = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    for order in made[2:7]:
        set_created_at(order.id, tie)
    db.session.expire_all()
    return auth.headers(staff.email, PASSWORD), [o.id for o in made]


def walk(client, headers, sort, limit, extra=None) -> list[str]:
    ids, cursor = [], None
    for _ in range(100):
        query = {"sort": sort, "limit": limit, **(extra or {})}
        if cursor:
            query["cursor"] = cursor
        response = client.get(URL, query_string=query, headers=headers)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        ids += [item["id"] for item in body["items"]]
        assert body["has_more"] is (body["next_cursor"] is not None)
        if not body["has_more"]:
            return ids
        assert len(body["items"]) == limit
        cursor = body["next_cursor"]
    raise AssertionError("pagination never ended")


@pytest.mark.parametrize(
    "sort",
    [
        "-created_at",
        "created_at",
        "total_amount",
        "-total_amount",
        "number",
        "-number",
        "status_updated_at",
    ],
)
@pytest.mark.parametrize("limit", [1, 3, 4])
def test_keyset_pages_walk_every_order_once_in_order(many_orders, client, sort, limit):
    headers, ids = many_orders
    name = sort.lstrip("-")
    rows = db.session.execute(sa.select(Order.id, getattr(Order, name))).all()
    expected = [
        str(row[0])
        for row in sorted(rows, key=lambda r: (r[1], r[0]), reverse=sort.startswith("-"))
    ]
    assert len(expected) == len(ids) == 11

    walked = walk(client, headers, sort, limit)

    assert len(walked) == len(set(walked)), "an order came twice"
    assert walked == expected


def test_keyset_pages_respect_filters(many_orders, client):
    headers, _ids = many_orders
    walked = walk(client, headers, "total_amount", 2, {"total_min": "25.00"})
    assert len(walked) == len(set(walked))
    db.session.expire_all()
    expected = {
        str(o.id) for o in db.session.scalars(sa.select(Order).where(Order.total_amount >= 25))
    }
    assert len(expected) == 7
    assert set(walked) == expected


def test_cursor_of_another_sort_is_422(many_orders, client):
    headers, _ = many_orders
    page = client.get(URL, query_string={"sort": "total_amount", "limit": 2}, headers=headers)
    cursor = page.get_json()["next_cursor"]
    assert cursor
    same = client.get(
        URL, query_string={"sort": "total_amount", "limit": 2, "cursor": cursor}, headers=headers
    )
    assert same.status_code == 200
    for other in ("-created_at", "-total_amount", "number"):
        response = client.get(
            URL, query_string={"sort": other, "limit": 2, "cursor": cursor}, headers=headers
        )
        assert response.status_code == 422, (other, response.get_json())
        assert "cursor" in response.get_json()["error"]["details"]
    default_sort = client.get(URL, query_string={"cursor": cursor}, headers=headers)
    assert default_sort.status_code == 422
    garbage = client.get(URL, query_string={"cursor": "not-a-cursor"}, headers=headers)
    assert garbage.status_code == 422
    unknown_sort = client.get(URL, query_string={"sort": "price"}, headers=headers)
    assert unknown_sort.status_code == 422
    assert "sort" in unknown_sort.get_json()["error"]["details"]


def test_filter_by_status(shop, client):
    assert set(listed(client, shop.staff, {"status": "placed"})) == {shop.a1, shop.b2}
    assert set(listed(client, shop.staff, [("status", "placed"), ("status", "cancelled")])) == {
        shop.a1,
        shop.b2,
        shop.a2,
    }
    assert listed(client, shop.staff, {"status": "shipped"}) == []
    bad = client.get(URL, query_string={"status": "lost"}, headers=shop.staff)
    assert bad.status_code == 422
    assert "status" in bad.get_json()["error"]["details"]


def test_filter_by_customer_and_product(shop, client):
    assert set(listed(client, shop.staff, {"customer_id": shop.bob_customer})) == {
        shop.b1,
        shop.b2,
    }
    assert set(listed(client, shop.staff, {"product_id": shop.grinder})) == {shop.a1, shop.b2}
    assert set(listed(client, shop.staff, {"product_id": shop.kettle})) == {
        shop.a2,
        shop.b1,
        shop.b2,
    }
    assert set(
        listed(client, shop.staff, {"product_id": shop.grinder, "customer_id": shop.bob_customer})
    ) == {shop.b2}
    assert listed(client, shop.staff, {"customer_id": str(uuid.uuid4())}) == []
    bad = client.get(URL, query_string={"customer_id": "bob"}, headers=shop.staff)
    assert bad.status_code == 422


def test_filter_by_creation_time(shop, client):
    def created(**query):
        return set(listed(client, shop.staff, query))

    assert created(created_from="2024-02-10T00:00:00Z") == {shop.a2, shop.b1, shop.b2}
    assert created(created_from="2024-02-10T01:00:00+01:00") == {shop.a2, shop.b1, shop.b2}
    assert created(created_to="2024-03-01T00:00:00Z") == {shop.a1, shop.a2}
    assert created(created_from="2024-02-01T00:00:00Z", created_to="2024-04-01T00:00:00Z") == {
        shop.a2,
        shop.b1,
    }
    assert created(created_from="2025-01-01T00:00:00Z") == set()
    bad = client.get(URL, query_string={"created_from": "yesterday"}, headers=shop.staff)
    assert bad.status_code == 422


def test_filter_by_total_and_payment(shop, client):
    def total(**query):
        return set(listed(client, shop.staff, query))

    assert total(total_min="91.00") == {shop.a1, shop.a2, shop.b2}
    assert total(total_max="120") == {shop.a1, shop.a2, shop.b1}
    assert total(total_min="91", total_max="120.00") == {shop.a1, shop.a2}
    assert total(total_min="165.51") == set()
    assert total(payment_collected="true") == {shop.b2}
    assert total(payment_collected="false") == {shop.a1, shop.a2, shop.b1}
    for bad in ({"total_min": "abc"}, {"total_max": "-1"}, {"payment_collected": "maybe"}):
        response = client.get(URL, query_string=bad, headers=shop.staff)
        assert response.status_code == 422, bad


def test_search(shop, client):
    def search(q, headers=None):
        return set(listed(client, headers or shop.staff, {"q": q}))

    assert search("burr") == {shop.a1, shop.b2}
    assert search("Burr grinder") == {shop.a1, shop.b2}
    assert search("gooseneck") == {shop.a2, shop.b1, shop.b2}
    assert search("lindq") == {shop.a1, shop.a2}
    assert search("Bob Haugen") == {shop.b1, shop.b2}
    assert search(shop.numbers[shop.b1]) == {shop.b1}
    assert search(shop.numbers[shop.b1].lower()) == {shop.b1}
    assert search("espresso") == set()
    # a customer's search stays within their own orders
    assert search("burr", shop.alice) == {shop.a1}
    assert search(shop.numbers[shop.b1], shop.alice) == set()


def test_search_by_number_start_digits_and_city(shop, client):
    def search(q):
        return set(listed(client, shop.staff, {"q": q}))

    number = shop.numbers[shop.b1]  # ORD-000123
    assert shop.b1 in search(number[:-1])  # the start of a number
    assert all(shop.numbers[o].startswith(number[:-1]) for o in search(number[:-1]))
    assert search(number.removeprefix("ORD-")) == {shop.b1}  # the digits
    assert search(str(int(number.removeprefix("ORD-")))) == {shop.b1}  # without the zeros
    assert search("ORD-9" + number[-6:]) == set()
    db.session.execute(
        sa.update(Order)
        .where(Order.id == uuid.UUID(shop.b2))
        .values(shipping_address={**ADDRESS, "city": "Bergen"})
    )
    db.session.commit()
    assert search("bergen") == {shop.b2}
    assert search("Oslo") == {shop.a1, shop.a2, shop.b1}


def test_unknown_query_parameter_is_422(shop, client):
    for query in ({"colour": "red"}, {"customer": shop.bob_customer}, {"status": "placed", "x": 1}):
        response = client.get(URL, query_string=query, headers=shop.staff)
        assert response.status_code == 422, query
        assert response.get_json()["error"]["code"] == "validation_error"


def test_customer_lists_only_their_own_orders(shop, client):
    assert set(listed(client, shop.alice)) == {shop.a1, shop.a2}
    assert set(listed(client, shop.bob)) == {shop.b1, shop.b2}
    assert listed(client, shop.alice, {"customer_id": shop.bob_customer}) == []
    assert listed(client, shop.alice, {"product_id": shop.kettle}) == [shop.a2]


@pytest.mark.parametrize("role", [UserRole.STAFF, UserRole.ADMIN])
def test_staff_see_all_orders(shop, client, auth, role):
    user = make_user(role)
    everyone = set(listed(client, auth.headers(user.email, PASSWORD)))
    assert everyone == {shop.a1, shop.a2, shop.b1, shop.b2}


def test_another_customers_order_does_not_exist(shop, client):
    def reserved():
        db.session.expire_all()
        return db.session.get(Product, shop.kettle_product.id).reserved_count

    before = reserved()
    nowhere = str(uuid.uuid4())
    for order_id in (shop.b1, shop.b2, nowhere):
        read = client.get(f"{URL}/{order_id}", headers=shop.alice)
        assert read.status_code == 404, read.get_json()
        assert read.get_json()["error"]["code"] == "not_found"
        put = client.put(
            f"{URL}/{order_id}",
            json={
                "shipping_address": {"line1": "x", "city": "y", "postal_code": "1", "country": "SE"}
            },
            headers=shop.alice,
        )
        assert put.status_code == 404, put.get_json()
        # b2 is placed: its owner could cancel it, so only ownership refuses this
        patch = client.patch(
            f"{URL}/{order_id}/status", json={"status": "cancelled"}, headers=shop.alice
        )
        assert patch.status_code == 404, patch.get_json()
    db.session.expire_all()
    b2 = db.session.get(Order, uuid.UUID(shop.b2))
    assert b2.status == OrderStatus.PLACED
    assert b2.shipping_address["city"] != "y"
    assert reserved() == before
    # the owner does see them
    assert client.get(f"{URL}/{shop.b2}", headers=shop.bob).status_code == 200


def test_customer_order_history_for_staff(shop, client):
    url = f"/api/v1/customers/{shop.bob_customer}/orders"
    response = client.get(url, headers=shop.staff)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert set(body) == {"items", "limit", "next_cursor", "has_more"}
    assert [o["id"] for o in body["items"]] == [shop.b2, shop.b1]
    assert all(o["customer_id"] == shop.bob_customer for o in body["items"])

    first = client.get(url, query_string={"limit": 1}, headers=shop.staff).get_json()
    assert [o["id"] for o in first["items"]] == [shop.b2]
    second = client.get(
        url, query_string={"limit": 1, "cursor": first["next_cursor"]}, headers=shop.staff
    ).get_json()
    assert [o["id"] for o in second["items"]] == [shop.b1]
    assert second["has_more"] is False


def test_customer_order_history_refusals(shop, client):
    unknown = client.get(f"/api/v1/customers/{uuid.uuid4()}/orders", headers=shop.staff)
    assert unknown.status_code == 404
    assert unknown.get_json()["error"]["code"] == "not_found"
    for customer in (shop.alice_customer, shop.bob_customer):
        refused = client.get(f"/api/v1/customers/{customer}/orders", headers=shop.alice)
        assert refused.status_code == 403, refused.get_json()
        assert refused.get_json()["error"]["code"] == "authorization_error"
    unknown_param = client.get(
        f"/api/v1/customers/{shop.bob_customer}/orders",
        query_string={"status": "placed"},
        headers=shop.staff,
    )
    assert unknown_param.status_code == 422
