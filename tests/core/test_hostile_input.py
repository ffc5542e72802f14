"""Hostile input gets a 4xx with the error envelope, never a 500 (issue 10, findings 1 and 2)."""

from __future__ import annotations

import base64
import io
import json
import uuid

import pytest
from flask_jwt_extended import create_access_token

from oms import create_app
from oms.auth.enums import UserRole
from oms.extensions import socketio
from tests.conftest import make_test_config
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


# --- finding 2: each input seen to give a 500


def test_offsets_postgresql_cannot_store_are_not_a_500(client, admin_headers):
    for value in ("2024-01-01T00:00:00+16:00", "2024-01-01T00:00:00-23:59"):
        response = client.get(
            "/api/v1/orders", query_string={"created_from": value}, headers=admin_headers
        )
        assert response.status_code == 200, (value, response.get_json())
    for value in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"):
        response = client.get(
            "/api/v1/orders", query_string={"created_to": value}, headers=admin_headers
        )
        assert response.status_code in (200, 422), (value, response.get_json())
        if response.status_code == 422:
            assert "created_to" in response.get_json()["error"]["details"]


def test_absurd_decimal_filters_are_a_422(client, admin_headers):
    for value in ("1E-999999999", "1E+999999999", "NaN", "Infinity"):
        response = client.get(
            "/api/v1/orders", query_string={"total_min": value}, headers=admin_headers
        )
        assert "total_min" in _error(response, 422)["details"], value


def _cursor(payload) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


def test_crafted_cursors_are_a_422(client, admin_headers):
    crafted = [
        ("total_amount", _cursor({"s": "total_amount", "v": ["1E+999999999", str(uuid.uuid4())]})),
        ("total_amount", _cursor({"s": "total_amount", "v": ["1E-999999999", str(uuid.uuid4())]})),
        ("number", _cursor({"s": "number", "v": ["ORD-\u0000", str(uuid.uuid4())]})),
        ("number", _cursor({"s": "number", "v": [f"ORD-{LONE}", str(uuid.uuid4())]})),
        ("number", base64.urlsafe_b64encode(b'{"s": "number", "v": ["a\x00", "b"]}').decode()),
        ("number", base64.urlsafe_b64encode(b"\x00\xff").decode()),
    ]
    for sort, cursor in crafted:
        response = client.get(
            "/api/v1/orders", query_string={"sort": sort, "cursor": cursor}, headers=admin_headers
        )
        assert list(_error(response, 422)["details"]) == ["cursor"], (sort, cursor)
    # an offset PostgreSQL cannot take is still an instant: the page after it
    cursor = _cursor({"s": "created_at", "v": ["2024-01-01T00:00:00+16:00", str(uuid.uuid4())]})
    response = client.get(
        "/api/v1/orders",
        query_string={"sort": "created_at", "cursor": cursor},
        headers=admin_headers,
    )
    assert response.status_code == 200, response.get_json()


def test_a_restock_past_the_integer_range_is_a_422(client, staff_headers):
    product = make_product(stock=2**31 - 10)
    response = client.put(
        f"/api/v1/products/{product.id}", json={"add_units": 100}, headers=staff_headers
    )
    assert "add_units" in _error(response, 422)["details"]
    response = client.put(
        f"/api/v1/products/{product.id}", json={"add_units": 9}, headers=staff_headers
    )
    assert response.status_code == 200 and response.get_json()["inventory_count"] == 2**31 - 1


@pytest.mark.usefixtures("_database")
def test_a_token_whose_subject_is_not_a_uuid_is_a_401(app, app_ctx, client):
    user = make_user(UserRole.ADMIN)
    claims = {"sid": "s1", "role": "admin", "ep": 0}
    # Socket.IO's test client needs an app without the Redis message queue
    embedded = create_app(make_test_config(OMS_REDIS_URL=None, RATELIMIT_STORAGE_URI="memory://"))
    for subject in ("not-a-uuid", "1" * 100):
        token = create_access_token(identity=subject, additional_claims=claims)
        response = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert _error(response, 401)["code"] == "authentication_error", subject
        with embedded.app_context():
            assert not socketio.test_client(embedded, auth={"token": token}).is_connected()
    with embedded.app_context():
        good = create_access_token(identity=str(user.id), additional_claims=claims)
        socket = socketio.test_client(embedded, auth={"token": good})
        assert socket.is_connected()
        socket.disconnect()


def test_a_chunked_body_over_the_limit_is_a_413(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1000)
    body = b'{"email": "a@example.test", "password": "' + b"x" * 2000 + b'"}'
    # no Content-Length; the server ends the stream itself, as werkzeug and gunicorn do for
    # a chunked body (wsgi.input_terminated)
    response = client.post(
        "/api/v1/auth/login",
        input_stream=io.BytesIO(body),
        headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert _error(response, 413)["code"] == "payload_too_large"


def test_a_url_over_the_limit_is_a_414_with_the_envelope(client):
    response = client.get("/api/v1/products?q=" + "a" * 9000)
    assert _error(response, 414)["code"] == "uri_too_long"
