"""The API document and the server agree (issue 24, item 6): what the document allows is
accepted, what it forbids is refused. Each test is one disagreement schemathesis found."""

from __future__ import annotations

import json
import re

import pytest

from oms.auth.enums import UserRole
from tests.factories import PASSWORD, make_order, make_product, make_user


@pytest.fixture
def spec(client) -> dict:
    return json.loads(client.get("/api/v1/openapi.json").data)


@pytest.fixture
def admin(app_ctx, auth) -> dict:
    return auth.headers(make_user(UserRole.ADMIN).email, PASSWORD)


def _query_param(spec: dict, path: str, name: str) -> dict:
    [param] = [p for p in spec["paths"][path]["get"]["parameters"] if p["name"] == name]
    return param["schema"]


def test_text_the_server_refuses_is_refused_by_the_document(spec):
    """NUL and lone surrogates are a 422 everywhere (oms.api.content): every plain text field
    says so with a pattern; a field that must not be blank says that too."""
    schemas = spec["components"]["schemas"]
    name = schemas["ProductCreate"]["properties"]["name"]["pattern"]
    description = schemas["ProductCreate"]["properties"]["description"]["pattern"]
    for text, allowed in (("ok", True), ("a\x00b", False), ("   ", False)):
        assert bool(re.fullmatch(name, text)) is allowed, text
    assert re.fullmatch(description, "   ") and not re.fullmatch(description, "\x00")
    assert "pattern" in _query_param(spec, "/api/v1/products", "q")


def test_sorts_are_enums(spec, client, admin):
    assert set(_query_param(spec, "/api/v1/products", "sort")["enum"]) == {
        "name", "-name", "price", "-price", "created_at", "-created_at",
    }  # fmt: skip
    assert "-status_updated_at" in _query_param(spec, "/api/v1/orders", "sort")["enum"]
    assert client.get("/api/v1/products?sort=-price", headers=admin).status_code == 200
    assert client.get("/api/v1/products?sort=stock", headers=admin).status_code == 422


@pytest.mark.parametrize("value", ["yes", 1, "true", 0, None])
def test_a_boolean_in_a_body_is_true_or_false(client, admin, value):
    body = {"name": "Lamp", "price": "5.00", "active": value}
    response = client.post("/api/v1/products", json=body, headers=admin)
    assert response.status_code == 422, response.get_json()
    assert "active" in response.get_json()["error"]["details"]
    body["active"] = False
    assert client.post("/api/v1/products", json=body, headers=admin).status_code == 201


def test_a_boolean_in_a_query_is_the_word_true_or_false(client, admin):
    assert client.get("/api/v1/products?active=yes", headers=admin).status_code == 422
    assert client.get("/api/v1/products?active=1", headers=admin).status_code == 422
    assert client.get("/api/v1/products?active=true", headers=admin).status_code == 200
    assert client.get("/api/v1/orders?payment_collected=false", headers=admin).status_code == 200


def test_a_route_with_a_body_requires_one(client, admin):
    """An empty POST /reports/exports exported every order; the document says the body is
    required, so the server requires it: {} says "every order" on purpose."""
    response = client.post("/api/v1/reports/exports", headers=admin)
    assert response.status_code == 422
    assert "_schema" in response.get_json()["error"]["details"]
    assert client.post("/api/v1/reports/exports", json={}, headers=admin).status_code == 202


def test_a_nullable_address_is_an_address_or_null(spec, client, admin):
    [null, address] = spec["components"]["schemas"]["CustomerCreate"]["properties"]["address"][
        "anyOf"
    ]
    assert null["enum"] == [None] and address == {"$ref": "#/components/schemas/Address"}
    body = {"email": "c@example.test", "first_name": "C", "last_name": "D", "address": None}
    assert client.post("/api/v1/customers", json=body, headers=admin).status_code == 201


def test_money_is_documented_as_what_the_server_reads(spec):
    price = spec["components"]["schemas"]["ProductCreate"]["properties"]["price"]
    number, text = price["anyOf"]
    assert number["multipleOf"] == 0.01 and number["minimum"] == 0
    assert re.fullmatch(text["pattern"], "12.50") and not re.fullmatch(text["pattern"], "١٢")


def test_the_idempotency_key_is_what_the_document_says(spec, client, admin):
    [param] = [
        p for p in spec["paths"]["/api/v1/orders"]["post"]["parameters"]
        if p["name"] == "Idempotency-Key"
    ]  # fmt: skip
    pattern = param["schema"]["pattern"]
    assert re.fullmatch(pattern, "order-2026-12-07 #1") and not re.fullmatch(pattern, "é")
    # "é" is printable, the server took it; the document's pattern (ASCII) refuses it
    order = make_order(make_user(), [(make_product(stock=5), 1)])
    response = client.post(
        f"/api/v1/orders/{order.id}/reorder", headers={**admin, "Idempotency-Key": "é"}
    )
    assert response.status_code == 422
    assert "Idempotency-Key" in response.get_json()["error"]["details"]
