"""POST /api/v1/orders: validation, catalogue pricing, mass assignment, stock refusal."""

from __future__ import annotations

import re
import uuid

import pytest
import sqlalchemy as sa

from oms.auth.enums import UserRole
from oms.extensions import db
from oms.orders.models import Order, OrderItem, OrderStatusHistory
from oms.orders.schemas import MAX_LINES, MAX_QUANTITY
from oms.outbox.models import OutboxMessage
from oms.products.models import Product
from tests.factories import ADDRESS, PASSWORD, make_customer, make_order, make_product, make_user
from tests.mail import register_and_confirm

URL = "/api/v1/orders"


def floats_in(value, path="$") -> list[str]:
    """Paths of every float in a JSON document (money must always be a decimal string)."""
    if isinstance(value, float):
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in floats_in(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in floats_in(v, f"{path}[{i}]")]
    return []


def stock(product) -> tuple[int, int]:
    db.session.expire_all()
    p = db.session.get(Product, product.id)
    return p.inventory_count, p.reserved_count


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def written_rows() -> dict[str, int]:
    return {
        "orders": count(Order),
        "items": count(OrderItem),
        "history": count(OrderStatusHistory),
        "outbox": count(OutboxMessage),
    }


def line(product, quantity) -> dict:
    return {"product_id": str(product.id), "quantity": quantity}


def headers_of(auth, user) -> dict:
    return auth.headers(user.email, PASSWORD)


def test_order_is_priced_from_catalogue_accepted_pending_then_placed(app_ctx, client, auth):
    customer = make_user(UserRole.CUSTOMER)
    beans = make_product(name="Espresso beans", price="12.50", stock=10)
    filters = make_product(name="Paper filters", price="0.10", stock=100)
    headers = headers_of(auth, customer)

    response = client.post(
        URL,
        json={"items": [line(beans, 3), line(filters, 3)], "shipping_address": ADDRESS},
        headers=headers,
    )

    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert re.fullmatch(r"ORD-\d{6}", body["number"])
    assert body["status"] == "pending"
    assert body["total_amount"] == "37.80"  # 3 x 12.50 + 3 x 0.10, exact
    assert body["customer_id"] == str(customer.customer.id)
    assert body["created_by_user_id"] == str(customer.id)
    assert body["shipping_address"] == ADDRESS
    assert body["payment_collected"] is False
    assert body["item_count"] == 6
    lines = {item["product_id"]: item for item in body["items"]}
    assert set(lines) == {str(beans.id), str(filters.id)}
    assert lines[str(beans.id)]["quantity"] == 3
    assert lines[str(beans.id)]["unit_price"] == "12.50"
    assert lines[str(beans.id)]["total_price"] == "37.50"
    assert lines[str(beans.id)]["product_name"] == "Espresso beans"
    assert lines[str(filters.id)]["unit_price"] == "0.10"
    assert lines[str(filters.id)]["total_price"] == "0.30"
    assert [(h["old_status"], h["new_status"]) for h in body["history"]] == [(None, "pending")]
    assert body["history"][0]["changed_by_user_id"] == str(customer.id)
    assert floats_in(body) == []

    read = client.get(f"{URL}/{body['id']}", headers=headers)
    assert read.status_code == 200
    order = read.get_json()
    assert order["status"] == "placed"
    assert order["number"] == body["number"]
    assert order["total_amount"] == "37.80"
    assert [(h["old_status"], h["new_status"]) for h in order["history"]] == [
        (None, "pending"),
        ("pending", "placed"),
    ]
    assert floats_in(order) == []
    assert stock(beans) == (10, 3)
    assert stock(filters) == (100, 3)


def test_order_numbers_are_unique_and_readable(app_ctx, client, auth):
    customer = make_user(UserRole.CUSTOMER)
    product = make_product(stock=10)
    headers = headers_of(auth, customer)
    numbers = [
        client.post(
            URL, json={"items": [line(product, 1)], "shipping_address": ADDRESS}, headers=headers
        ).get_json()["number"]
        for _ in range(3)
    ]
    assert all(re.fullmatch(r"ORD-\d{6}", n) for n in numbers), numbers
    assert len(set(numbers)) == 3
    assert sorted(numbers) == numbers  # issued in ascending order


def test_duplicate_lines_for_one_product_are_merged(app_ctx, client, auth):
    customer = make_user(UserRole.CUSTOMER)
    product = make_product(price="2.25", stock=10)
    other = make_product(price="1.00", stock=10)
    response = client.post(
        URL,
        json={
            "items": [line(product, 2), line(other, 1), line(product, 3)],
            "shipping_address": ADDRESS,
        },
        headers=headers_of(auth, customer),
    )
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    merged = [item for item in body["items"] if item["product_id"] == str(product.id)]
    assert len(body["items"]) == 2
    assert len(merged) == 1
    assert merged[0]["quantity"] == 5
    assert merged[0]["total_price"] == "11.25"
    assert body["total_amount"] == "12.25"
    assert stock(product) == (10, 5)
    assert stock(other) == (10, 1)


def test_stored_address_is_used_when_none_is_sent(app_ctx, client, auth, outbox_mail):
    stored = {"line1": "7 Storgata", "city": "Bergen", "postal_code": "5003", "country": "NO"}
    registered = register_and_confirm(
        client,
        outbox_mail,
        {
            "email": "registered@example.test",
            "password": PASSWORD,
            "first_name": "Rita",
            "last_name": "Registered",
            "address": stored,
        },
    )
    headers = {"Authorization": f"Bearer {registered['access_token']}"}
    product = make_product(stock=5)

    response = client.post(URL, json={"items": [line(product, 1)]}, headers=headers)
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["shipping_address"] == stored

    explicit = client.post(
        URL, json={"items": [line(product, 1)], "shipping_address": ADDRESS}, headers=headers
    )
    assert explicit.status_code == 202, explicit.get_json()
    assert explicit.get_json()["shipping_address"] == ADDRESS


def test_no_address_anywhere_is_422(app_ctx, client, auth):
    customer = make_user(UserRole.CUSTOMER)  # no stored address
    product = make_product(stock=5)
    before = written_rows()
    response = client.post(
        URL, json={"items": [line(product, 1)]}, headers=headers_of(auth, customer)
    )
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    assert "shipping_address" in error["details"]
    assert written_rows() == before
    assert stock(product) == (5, 0)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"total_amount": "0.01"}, "total_amount"),
        ({"status": "shipped"}, "status"),
        ({"id": "00000000-0000-0000-0000-000000000001"}, "id"),
        ({"number": "ORD-999999"}, "number"),
        ({"created_by_user_id": "00000000-0000-0000-0000-000000000001"}, "created_by_user_id"),
    ],
)
def test_order_level_fields_the_client_may_not_set_are_422(app_ctx, client, auth, extra, field):
    customer = make_user(UserRole.CUSTOMER)
    product = make_product(price="10.00", stock=5)
    before = written_rows()
    response = client.post(
        URL,
        json={"items": [line(product, 1)], "shipping_address": ADDRESS, **extra},
        headers=headers_of(auth, customer),
    )
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["details"], error
    assert written_rows() == before


@pytest.mark.parametrize("field", ["price", "unit_price", "total_price"])
def test_line_prices_from_the_client_are_422(app_ctx, client, auth, field):
    customer = make_user(UserRole.CUSTOMER)
    product = make_product(price="10.00", stock=5)
    before = written_rows()
    response = client.post(
        URL,
        json={
            "items": [line(product, 1), {**line(product, 1), field: "0.01"}],
            "shipping_address": ADDRESS,
        },
        headers=headers_of(auth, customer),
    )
    assert response.status_code == 422, response.get_json()
    details = response.get_json()["error"]["details"]
    assert field in details["items"]["1"], details
    assert "0" not in details["items"]
    assert written_rows() == before


@pytest.mark.parametrize(
    "field", ["payment_collected_true", "payment_collected_false", "customer_id"]
)
def test_customer_may_not_set_staff_fields(app_ctx, client, auth, field):
    customer = make_user(UserRole.CUSTOMER)
    someone_else = make_customer()
    extra = {
        "payment_collected_true": {"payment_collected": True},
        "payment_collected_false": {"payment_collected": False},
        "customer_id": {"customer_id": str(someone_else.id)},
    }[field]
    product = make_product(stock=5)
    before = written_rows()
    response = client.post(
        URL,
        json={"items": [line(product, 1)], "shipping_address": ADDRESS, **extra},
        headers=headers_of(auth, customer),
    )
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    assert set(extra) <= set(error["details"]), error
    assert written_rows() == before
    assert stock(product) == (5, 0)


@pytest.mark.parametrize("role", [UserRole.STAFF, UserRole.ADMIN])
def test_staff_must_name_the_customer(app_ctx, client, auth, role):
    staff = make_user(role)
    product = make_product(stock=5)
    before = written_rows()
    response = client.post(
        URL,
        json={"items": [line(product, 1)], "shipping_address": ADDRESS},
        headers=headers_of(auth, staff),
    )
    assert response.status_code == 422, response.get_json()
    assert "customer_id" in response.get_json()["error"]["details"]
    unknown = client.post(
        URL,
        json={
            "items": [line(product, 1)],
            "shipping_address": ADDRESS,
            "customer_id": str(uuid.uuid4()),
        },
        headers=headers_of(auth, staff),
    )
    assert unknown.status_code == 422, unknown.get_json()
    assert "customer_id" in unknown.get_json()["error"]["details"]
    assert written_rows() == before


@pytest.mark.parametrize("role", [UserRole.STAFF, UserRole.ADMIN])
def test_staff_orders_for_a_customer(app_ctx, client, auth, role):
    staff = make_user(role)
    customer = make_user(UserRole.CUSTOMER)
    customer_id = str(customer.customer.id)
    product = make_product(price="4.99", stock=5)
    response = client.post(
        URL,
        json={
            "items": [line(product, 2)],
            "shipping_address": ADDRESS,
            "customer_id": customer_id,
            "payment_collected": True,
        },
        headers=headers_of(auth, staff),
    )
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert body["customer_id"] == customer_id
    assert body["created_by_user_id"] == str(staff.id)
    assert body["payment_collected"] is True
    assert body["total_amount"] == "9.98"
    # the customer sees it as their own order
    own = client.get(f"{URL}/{body['id']}", headers=headers_of(auth, customer))
    assert own.status_code == 200
    assert own.get_json()["status"] == "placed"
    assert own.get_json()["created_by_user_id"] == str(staff.id)
    assert stock(product) == (5, 2)


@pytest.mark.parametrize("quantity", [0, -1, "2", 1.5, 2.0, True, None, MAX_QUANTITY + 1], ids=repr)
def test_bad_quantities_are_422(app_ctx, client, auth, quantity):
    customer = make_user(UserRole.CUSTOMER)
    product = make_product(stock=MAX_QUANTITY + 10)
    before = written_rows()
    response = client.post(
        URL,
        json={"items": [line(product, quantity)], "shipping_address": ADDRESS},
        headers=headers_of(auth, customer),
    )
    assert response.status_code == 422, response.get_json()
    details = response.get_json()["error"]["details"]
    assert "quantity" in details["items"]["0"], details
    assert written_rows() == before


def test_bad_item_lists_are_422(app_ctx, client, auth):
    customer = make_user(UserRole.CUSTOMER)
    product = make_product(stock=1000)
    headers = headers_of(auth, customer)
    before = written_rows()
    for items in ([], None, "everything", [line(product, 1)] * (MAX_LINES + 1)):
        response = client.post(
            URL, json={"items": items, "shipping_address": ADDRESS}, headers=headers
        )
        assert response.status_code == 422, (items, response.get_json())
        assert "items" in response.get_json()["error"]["details"]
    missing = client.post(URL, json={"shipping_address": ADDRESS}, headers=headers)
    assert missing.status_code == 422
    assert "items" in missing.get_json()["error"]["details"]
    assert written_rows() == before
    # the limit itself is fine
    at_limit = client.post(
        URL,
        json={"items": [line(product, 1)] * MAX_LINES, "shipping_address": ADDRESS},
        headers=headers,
    )
    assert at_limit.status_code == 202, at_limit.get_json()
    assert at_limit.get_json()["items"][0]["quantity"] == MAX_LINES


@pytest.mark.parametrize("kind", ["unknown", "inactive"])
def test_unknown_or_inactive_product_is_422_naming_the_line(app_ctx, client, auth, kind):
    customer = make_user(UserRole.CUSTOMER)
    good = make_product(stock=5)
    bad_id = uuid.uuid4() if kind == "unknown" else make_product(stock=5, active=False).id
    before = written_rows()
    response = client.post(
        URL,
        json={
            "items": [line(good, 1), {"product_id": str(bad_id), "quantity": 1}],
            "shipping_address": ADDRESS,
        },
        headers=headers_of(auth, customer),
    )
    assert response.status_code == 422, response.get_json()
    details = response.get_json()["error"]["details"]
    assert set(details["items"]) == {"1"}, details
    assert "product_id" in details["items"]["1"]
    assert written_rows() == before
    assert stock(good) == (5, 0)


def test_more_than_available_is_409_and_nothing_is_written(app_ctx, client, auth):
    customer = make_user(UserRole.CUSTOMER)
    grinder = make_product(name="Burr grinder", price="120.00", stock=5)
    kettle = make_product(name="Kettle", price="30.00", stock=2)
    plenty = make_product(name="Filters", price="1.00", stock=100)
    make_order(customer, [(grinder, 2)])  # 3 grinders left available
    before_rows = written_rows()
    before_stock = [stock(p) for p in (grinder, kettle, plenty)]
    assert before_stock[0] == (5, 2)

    response = client.post(
        URL,
        json={
            # 2 + 2 grinders merged: 4 wanted, 3 available
            "items": [line(grinder, 2), line(plenty, 1), line(kettle, 3), line(grinder, 2)],
            "shipping_address": ADDRESS,
        },
        headers=headers_of(auth, customer),
    )

    assert response.status_code == 409, response.get_json()
    body = response.get_json()
    assert floats_in(body) == []
    error = body["error"]
    assert error["code"] == "insufficient_stock"
    shortages = sorted(error["details"]["shortages"], key=lambda s: s["name"])
    assert shortages == [
        {"product_id": str(grinder.id), "name": "Burr grinder", "wanted": 4, "available": 3},
        {"product_id": str(kettle.id), "name": "Kettle", "wanted": 3, "available": 2},
    ]
    assert written_rows() == before_rows
    assert [stock(p) for p in (grinder, kettle, plenty)] == before_stock


def test_exactly_what_is_available_is_accepted(app_ctx, client, auth):
    customer = make_user(UserRole.CUSTOMER)
    product = make_product(stock=5)
    make_order(customer, [(product, 2)])
    response = client.post(
        URL,
        json={"items": [line(product, 3)], "shipping_address": ADDRESS},
        headers=headers_of(auth, customer),
    )
    assert response.status_code == 202, response.get_json()
    assert stock(product) == (5, 5)
