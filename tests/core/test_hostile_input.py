"""Hostile input gets a 4xx with the error envelope, never a 500 (issue 10, findings 1 and 2)."""

from __future__ import annotations

import json

import pytest

from oms.auth.enums import UserRole
from tests.factories import ADDRESS, PASSWORD, make_order, make_product, make_user

LONE = "\ud800"  # a UTF-16 surrogate without its partner: not a Unicode character


def _error(response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.get_data()[:300])
    body = response.get_json()
    assert set(body) == {"error"} and body["error"]["request_id"], body
    return body["error"]


@pytest.fixture
def staff_headers(app_ctx, auth):
    user = make_user(UserRole.STAFF)
    return auth.headers(user.email, PASSWORD)


@pytest.fixture
def admin_headers(app_ctx, auth):
    user = make_user(UserRole.ADMIN)
    return auth.headers(user.email, PASSWORD)


# --- finding 1: text that is not valid Unicode is refused where JSON enters, naming the field


def test_a_lone_surrogate_in_a_shipping_address_is_a_422_naming_the_field(app_ctx, client, auth):
    customer = make_user(UserRole.CUSTOMER)
    headers = auth.headers(customer.email, PASSWORD)
    product = make_product(stock=5)
    body = {
        "items": [{"product_id": str(product.id), "quantity": 1}],
        "shipping_address": {**ADDRESS, "line1": f"1 Main{LONE} Street"},
    }
    error = _error(client.post("/api/v1/orders", json=body, headers=headers), 422)
    assert error["code"] == "validation_error"
    assert list(error["details"]) == ["shipping_address"]
    assert list(error["details"]["shipping_address"]) == ["line1"]
    # the same bytes sent raw (CESU-8), and a low surrogate alone, are refused alike
    raw = json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")
    error = _error(
        client.post("/api/v1/orders", data=raw, content_type="application/json", headers=headers),
        422,
    )
    assert list(error["details"]["shipping_address"]) == ["line1"]
    body["shipping_address"]["line1"] = "x\udc00"
    assert client.post("/api/v1/orders", json=body, headers=headers).status_code == 422
    # a surrogate pair written as JSON escapes is one real character and is accepted
    body["shipping_address"]["line1"] = "1 Main Street \ud83d\ude00"
    assert client.post("/api/v1/orders", json=body, headers=headers).status_code == 202


def test_nul_and_surrogates_in_lists_and_keys_name_their_place(client, staff_headers):
    product = make_product(stock=5)
    body = {"items": [{"product_id": str(product.id), "quantity": 1, f"k{LONE}": 1}]}
    error = _error(client.post("/api/v1/orders", json=body, headers=staff_headers), 422)
    assert "items" in error["details"], error
    body = {"email": "n@example.test", "first_name": "A", "last_name": "Nu\u0000l"}
    error = _error(client.post("/api/v1/customers", json=body, headers=staff_headers), 422)
    assert list(error["details"]) == ["last_name"], error


def test_lone_surrogates_in_every_text_field_seen_are_a_422(app_ctx, client, auth):
    staff = make_user(UserRole.STAFF)
    staff_headers = auth.headers(staff.email, PASSWORD)
    cases = [
        ("/api/v1/auth/login", {"email": staff.email, "password": f"pw{LONE}"}, {}, "password"),
        (
            "/api/v1/auth/register",
            {"email": "r@example.test", "password": PASSWORD, "first_name": LONE, "last_name": "B"},
            {},
            "first_name",
        ),
        (
            "/api/v1/customers",
            {"email": "c@example.test", "first_name": "A", "last_name": f"B{LONE}"},
            staff_headers,
            "last_name",
        ),
        ("/api/v1/products", {"name": f"Mug{LONE}", "price": "1.00"}, staff_headers, "name"),
    ]
    for url, body, headers, field in cases:
        error = _error(client.post(url, json=body, headers=headers), 422)
        assert list(error["details"]) == [field], (url, error)
    customer = make_user(UserRole.CUSTOMER)
    order = make_order(customer, [(make_product(stock=3), 1)])
    response = client.patch(
        f"/api/v1/orders/{order.id}/status",
        json={"status": "cancelled", "notes": f"no{LONE}"},
        headers=staff_headers,
    )
    assert list(_error(response, 422)["details"]) == ["notes"]
