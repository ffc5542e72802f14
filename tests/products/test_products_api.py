"""The products API: roles, visibility by role, validation, stock rules, delete, lists."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from oms.auth.enums import UserRole
from oms.extensions import db
from oms.orders.enums import OrderStatus
from oms.products.models import Product
from tests.factories import (
    PASSWORD,
    insert_order,
    make_customer,
    make_product,
    make_user,
    reserve_stock,
)

PUBLIC_FIELDS = {"id", "name", "description", "price", "available", "active"}
STAFF_FIELDS = PUBLIC_FIELDS | {
    "inventory_count",
    "reserved_count",
    "low_stock",
    "created_at",
    "updated_at",
}
MISSING_ID = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def headers(app_ctx, auth):
    """Bearer headers per role, each for a fresh user."""

    def for_role(role: UserRole) -> dict:
        return auth.headers(make_user(role).email, PASSWORD)

    return for_role


def all_pages(client, url: str, headers: dict) -> list[dict]:
    items, cursor = [], None
    while True:
        sep = "&" if "?" in url else "?"
        page_url = url + (f"{sep}cursor={cursor}" if cursor else "")
        response = client.get(page_url, headers=headers)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        items += body["items"]
        cursor = body["next_cursor"]
        assert body["has_more"] is (cursor is not None)
        if not cursor:
            return items


# --- roles -------------------------------------------------------------------------------


def test_anonymous_gets_401_everywhere(app_ctx, client):
    product = make_product()
    assert client.get("/api/v1/products").status_code == 401
    assert client.get(f"/api/v1/products/{product.id}").status_code == 401
    assert client.post("/api/v1/products", json={"name": "x", "price": "1"}).status_code == 401
    assert client.put(f"/api/v1/products/{product.id}", json={}).status_code == 401
    assert client.delete(f"/api/v1/products/{product.id}").status_code == 401


def test_customer_may_not_write_products(client, headers):
    product = make_product(stock=4)
    h = headers(UserRole.CUSTOMER)
    create = client.post("/api/v1/products", json={"name": "Kettle", "price": "5"}, headers=h)
    update = client.put(f"/api/v1/products/{product.id}", json={"name": "X"}, headers=h)
    delete = client.delete(f"/api/v1/products/{product.id}", headers=h)
    for response in (create, update, delete):
        assert response.status_code == 403
        assert response.get_json()["error"]["code"] == "authorization_error"
    db.session.expire_all()
    assert db.session.get(Product, product.id).name == product.name
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Product)) == 1


def test_staff_may_not_delete_products(client, headers):
    product = make_product()
    response = client.delete(f"/api/v1/products/{product.id}", headers=headers(UserRole.STAFF))
    assert response.status_code == 403
    assert response.get_json()["error"]["details"]["required"] == ["admin"]
    assert db.session.get(Product, product.id) is not None


# --- visibility --------------------------------------------------------------------------


def test_customer_sees_only_active_products_without_stock_counts(client, headers):
    make_product(name="Visible mug", stock=7)
    make_product(name="Retired mug", active=False)
    body = client.get("/api/v1/products", headers=headers(UserRole.CUSTOMER)).get_json()
    assert [p["name"] for p in body["items"]] == ["Visible mug"]
    assert set(body["items"][0]) == PUBLIC_FIELDS
    assert body["items"][0]["available"] == 7


def test_customer_asking_for_inactive_products_gets_none(client, headers):
    make_product(name="Retired mug", active=False)
    response = client.get("/api/v1/products?active=false", headers=headers(UserRole.CUSTOMER))
    assert response.status_code == 200
    assert response.get_json()["items"] == []


def test_staff_see_inactive_products_and_every_field(client, headers):
    make_product(name="Visible mug")
    make_product(name="Retired mug", active=False)
    body = client.get("/api/v1/products", headers=headers(UserRole.STAFF)).get_json()
    assert [p["name"] for p in body["items"]] == ["Retired mug", "Visible mug"]
    assert all(set(p) == STAFF_FIELDS for p in body["items"])
    inactive = client.get("/api/v1/products?active=false", headers=headers(UserRole.ADMIN))
    assert [p["name"] for p in inactive.get_json()["items"]] == ["Retired mug"]


def test_get_one_product_by_role(client, headers):
    product = make_product(name="Grinder", price="129.5", stock=12)
    reserve_stock(product, 3)
    as_customer = client.get(f"/api/v1/products/{product.id}", headers=headers(UserRole.CUSTOMER))
    assert as_customer.status_code == 200
    assert as_customer.get_json() == {
        "id": str(product.id),
        "name": "Grinder",
        "description": None,
        "price": "129.50",
        "available": 9,
        "active": True,
    }
    as_staff = client.get(f"/api/v1/products/{product.id}", headers=headers(UserRole.STAFF))
    body = as_staff.get_json()
    assert set(body) == STAFF_FIELDS
    assert (body["inventory_count"], body["reserved_count"], body["available"]) == (12, 3, 9)
    assert body["low_stock"] is False


def test_inactive_product_is_404_for_customers_only(client, headers):
    product = make_product(active=False)
    url = f"/api/v1/products/{product.id}"
    response = client.get(url, headers=headers(UserRole.CUSTOMER))
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    assert client.get(url, headers=headers(UserRole.STAFF)).status_code == 200


def test_unknown_product_is_404(client, headers):
    h = headers(UserRole.ADMIN)
    assert client.get(f"/api/v1/products/{MISSING_ID}", headers=h).status_code == 404
    put = client.put(f"/api/v1/products/{MISSING_ID}", json={"name": "x"}, headers=h)
    assert put.status_code == 404
    assert client.delete(f"/api/v1/products/{MISSING_ID}", headers=h).status_code == 404


# --- create ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [UserRole.STAFF, UserRole.ADMIN])
def test_staff_and_admin_create_a_product(client, headers, role):
    response = client.post(
        "/api/v1/products",
        json={
            "name": " Burr grinder ",
            "description": "Conical",
            "price": 129.5,
            "inventory_count": 12,
        },
        headers=headers(role),
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert set(body) == STAFF_FIELDS
    assert body["name"] == "Burr grinder"
    assert body["price"] == "129.50"
    assert (body["inventory_count"], body["reserved_count"], body["available"]) == (12, 0, 12)
    assert body["active"] is True
    stored = db.session.get(Product, body["id"])
    assert stored.price == Decimal("129.50") and stored.inventory_count == 12


def test_create_defaults_stock_to_zero_and_accepts_inactive(client, headers):
    response = client.post(
        "/api/v1/products",
        json={"name": "Teapot", "price": "0", "active": False},
        headers=headers(UserRole.STAFF),
    )
    assert response.status_code == 201
    body = response.get_json()
    assert (body["price"], body["inventory_count"], body["active"]) == ("0.00", 0, False)
    assert body["low_stock"] is True


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("reserved_count", 3),
        ("id", "00000000-0000-0000-0000-000000000001"),
        ("created_at", "2024-01-01T00:00:00Z"),
        ("available", 3),
    ],
)
def test_create_refuses_unknown_fields(client, headers, field, value):
    response = client.post(
        "/api/v1/products",
        json={"name": "Kettle", "price": "10.00", field: value},
        headers=headers(UserRole.STAFF),
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["details"] == {field: ["Unknown field."]}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Product)) == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Kettle", "price": "-0.01"}, "price"),
        ({"name": "Kettle", "price": -5}, "price"),
        ({"name": "Kettle", "price": "12.345"}, "price"),
        ({"name": "Kettle", "price": 12.345}, "price"),
        ({"name": "Kettle", "price": "twelve"}, "price"),
        ({"name": "Kettle", "price": "NaN"}, "price"),
        ({"name": "Kettle", "price": True}, "price"),
        ({"name": "Kettle", "price": "10000000000.00"}, "price"),
        ({"name": "Kettle"}, "price"),
        ({"price": "1.00"}, "name"),
        ({"name": "   ", "price": "1.00"}, "name"),
        ({"name": "x" * 201, "price": "1.00"}, "name"),
        ({"name": "Kettle", "price": "1", "inventory_count": -1}, "inventory_count"),
        ({"name": "Kettle", "price": "1", "inventory_count": 1.5}, "inventory_count"),
        ({"name": "Kettle", "price": "1", "inventory_count": "3"}, "inventory_count"),
        ({"name": "Kettle", "price": "1", "active": "maybe"}, "active"),
    ],
)
def test_create_refuses_invalid_values(client, headers, body, field):
    response = client.post("/api/v1/products", json=body, headers=headers(UserRole.STAFF))
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    assert set(error["details"]) == {field}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Product)) == 0


@pytest.mark.parametrize(
    ("sent", "shown"), [("12.5", "12.50"), (12, "12.00"), ("0.10", "0.10"), (0.1, "0.10")]
)
def test_prices_are_decimal_strings_with_two_places(client, headers, sent, shown):
    response = client.post(
        "/api/v1/products", json={"name": "Mug", "price": sent}, headers=headers(UserRole.STAFF)
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["price"] == shown


# --- update ------------------------------------------------------------------------------


def test_staff_update_some_fields(client, headers):
    product = make_product(name="Mug", price="9.00", stock=5)
    response = client.put(
        f"/api/v1/products/{product.id}",
        json={"price": "9.95", "inventory_count": 40, "description": "350 ml"},
        headers=headers(UserRole.STAFF),
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["name"], body["price"], body["inventory_count"]) == ("Mug", "9.95", 40)
    assert body["description"] == "350 ml"
    cleared = client.put(
        f"/api/v1/products/{product.id}",
        json={"description": None, "active": False},
        headers=headers(UserRole.ADMIN),
    ).get_json()
    assert (cleared["description"], cleared["active"], cleared["price"]) == (None, False, "9.95")


def test_update_refuses_unknown_and_invalid_fields(client, headers):
    product = make_product(price="9.00", stock=5)
    h = headers(UserRole.STAFF)
    url = f"/api/v1/products/{product.id}"
    for body, field in (
        ({"reserved_count": 0}, "reserved_count"),
        ({"id": MISSING_ID}, "id"),
        ({"price": "-1"}, "price"),
        ({"price": "1.001"}, "price"),
        ({"price": None}, "price"),
        ({"inventory_count": -3}, "inventory_count"),
        ({"name": ""}, "name"),
    ):
        response = client.put(url, json=body, headers=h)
        assert response.status_code == 422, body
        assert set(response.get_json()["error"]["details"]) == {field}
    db.session.expire_all()
    stored = db.session.get(Product, product.id)
    assert (stored.price, stored.inventory_count) == (Decimal("9.00"), 5)


def test_stock_cannot_fall_below_reserved(client, headers):
    product = make_product(stock=10)
    reserve_stock(product, 6)
    url = f"/api/v1/products/{product.id}"
    h = headers(UserRole.STAFF)
    response = client.put(url, json={"inventory_count": 5, "name": "Renamed"}, headers=h)
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "stock_below_reserved"
    assert error["details"] == {"reserved_count": 6, "requested": 5}
    db.session.expire_all()
    stored = db.session.get(Product, product.id)
    assert (stored.inventory_count, stored.name) == (10, product.name)
    exactly_reserved = client.put(url, json={"inventory_count": 6}, headers=h)
    assert exactly_reserved.status_code == 200
    assert exactly_reserved.get_json()["available"] == 0


# --- delete ------------------------------------------------------------------------------


def test_admin_deletes_a_product_never_ordered(client, headers):
    product = make_product()
    response = client.delete(f"/api/v1/products/{product.id}", headers=headers(UserRole.ADMIN))
    assert response.status_code == 204
    assert response.get_data() == b""
    db.session.expire_all()
    assert db.session.get(Product, product.id) is None


def test_deleting_a_product_on_an_order_deactivates_it(client, headers):
    product = make_product(name="Ordered kettle", price="39.00", stock=5)
    other = make_product(name="Spare kettle")
    insert_order(
        make_customer(), status=OrderStatus.DELIVERED, lines=[(product, 2)], number="ORD-900001"
    )
    admin = headers(UserRole.ADMIN)
    response = client.delete(f"/api/v1/products/{product.id}", headers=admin)
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == STAFF_FIELDS
    assert (body["id"], body["active"]) == (str(product.id), False)
    db.session.expire_all()
    assert db.session.get(Product, product.id).active is False
    # the product is now hidden from customers; the unordered one is untouched
    customer_view = client.get("/api/v1/products", headers=headers(UserRole.CUSTOMER)).get_json()
    assert [p["id"] for p in customer_view["items"]] == [str(other.id)]
    # deleting it again keeps it (still on the order) and still answers 200
    assert client.delete(f"/api/v1/products/{product.id}", headers=admin).status_code == 200


# --- lists ----------------------------------------------------------------------------------


def test_pages_cover_every_product_once_in_each_sort(client, headers):
    for n in range(7):
        make_product(name=f"Item {n}", price=f"{(n * 37) % 11}.00")
    h = headers(UserRole.STAFF)
    for sort in ("name", "-name", "price", "-price", "created_at", "-created_at"):
        items = all_pages(client, f"/api/v1/products?limit=3&sort={sort}", h)
        ids = [p["id"] for p in items]
        assert len(ids) == len(set(ids)) == 7, sort
        key, reverse = sort.lstrip("-"), sort.startswith("-")
        values = [Decimal(p[key]) if key == "price" else p[key] for p in items]
        assert values == sorted(values, reverse=reverse), sort


def test_customer_pages_stay_public(client, headers):
    for n in range(5):
        make_product(name=f"Item {n}", active=n % 2 == 0)
    items = all_pages(client, "/api/v1/products?limit=2", headers(UserRole.CUSTOMER))
    assert [p["name"] for p in items] == ["Item 0", "Item 2", "Item 4"]
    assert all(set(p) == PUBLIC_FIELDS for p in items)


def test_list_refuses_bad_sort_cursor_and_unknown_arguments(client, headers):
    h = headers(UserRole.STAFF)
    for url, field in (
        ("/api/v1/products?sort=inventory_count", "sort"),
        ("/api/v1/products?cursor=not-a-cursor", "cursor"),
        ("/api/v1/products?reserved_count=1", "reserved_count"),
        ("/api/v1/products?low_stock=perhaps", "low_stock"),
        ("/api/v1/products?limit=0", "limit"),
    ):
        response = client.get(url, headers=h)
        assert response.status_code == 422, url
        assert set(response.get_json()["error"]["details"]) == {field}, url


@pytest.mark.parametrize("q", ["burr", "grind", "BURR grind", "Burr grinder"])
def test_search_finds_products_by_name_words(client, headers, q):
    make_product(name="Burr grinder")
    make_product(name="Ceramic mug")
    make_product(name="Blade grinder stand", active=False)
    response = client.get(f"/api/v1/products?q={q}", headers=headers(UserRole.CUSTOMER))
    assert [p["name"] for p in response.get_json()["items"]] == ["Burr grinder"]


def test_search_needs_every_word_and_sees_inactive_for_staff(client, headers):
    make_product(name="Burr grinder")
    make_product(name="Blade grinder", active=False)
    h = headers(UserRole.STAFF)

    def names(q: str) -> list[str]:
        response = client.get(f"/api/v1/products?q={q}", headers=h)
        return [p["name"] for p in response.get_json()["items"]]

    assert names("grinder") == ["Blade grinder", "Burr grinder"]
    assert names("burr mug") == []
    assert names("urr") == []  # words match from their start


def test_low_stock_filter_and_flag(app, client, headers):
    threshold = app.config["OMS_LOW_STOCK_THRESHOLD"]
    at_threshold = make_product(name="At threshold", stock=threshold)
    make_product(name="Plenty", stock=threshold + 10)
    reserved_down = make_product(name="Reserved down", stock=threshold + 2)
    reserve_stock(reserved_down, 2)
    h = headers(UserRole.STAFF)
    low = client.get("/api/v1/products?low_stock=true", headers=h).get_json()["items"]
    assert [p["name"] for p in low] == ["At threshold", "Reserved down"]
    assert all(p["low_stock"] is True for p in low)
    assert low[0]["id"] == str(at_threshold.id)
    not_low = client.get("/api/v1/products?low_stock=false", headers=h).get_json()["items"]
    assert [(p["name"], p["low_stock"]) for p in not_low] == [("Plenty", False)]


def test_concurrent_restocks_both_count(app, client, auth):
    """Two staff restock the same product at the same moment: neither delivery is lost."""
    import threading

    with app.app_context():
        product_id = make_product(stock=10).id
        staff = make_user(UserRole.STAFF)
        headers = auth.headers(staff.email, PASSWORD)
    barrier = threading.Barrier(2)
    statuses = []

    def restock():
        c = app.test_client()
        barrier.wait()
        r = c.put(f"/api/v1/products/{product_id}", json={"add_units": 5}, headers=headers)
        statuses.append(r.status_code)

    threads = [threading.Thread(target=restock) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200, 200]
    body = client.get(f"/api/v1/products/{product_id}", headers=headers).get_json()
    assert body["inventory_count"] == 20
    both = client.put(
        f"/api/v1/products/{product_id}",
        json={"add_units": 1, "inventory_count": 3},
        headers=headers,
    )
    assert both.status_code == 422
    zero = client.put(f"/api/v1/products/{product_id}", json={"add_units": 0}, headers=headers)
    assert zero.status_code == 422
