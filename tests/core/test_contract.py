"""The contract check that every test client runs (tests/contract.py) can fail."""

from __future__ import annotations

import json
import uuid

import pytest

from oms.auth.enums import UserRole
from tests.contract import ContractError, contract_of
from tests.factories import make_user

ENVELOPE = json.dumps(
    {"error": {"code": "not_found", "message": "x", "details": {}, "request_id": None}}
).encode()


def test_an_undocumented_status_is_refused(app):
    contract = contract_of(app)
    problems = contract.problems("GET", "/api/v1/orders", 418, "application/json", ENVELOPE)
    assert problems and "status not documented" in problems[0]
    with pytest.raises(ContractError):
        contract.check("GET", "/api/v1/orders", 500, "application/json", ENVELOPE)


def test_a_body_that_does_not_match_its_schema_is_refused(app):
    contract = contract_of(app)
    order_id = uuid.uuid4()
    wrong = json.dumps({"id": str(order_id), "total_amount": 12.5}).encode()  # money as number
    problems = contract.problems(
        "GET", f"/api/v1/orders/{order_id}", 200, "application/json", wrong
    )
    assert any("total_amount" in p for p in problems), problems
    bare_error = json.dumps({"message": "nope"}).encode()
    assert contract.problems("GET", "/api/v1/orders", 401, "application/json", bare_error)
    assert contract.problems("GET", "/api/v1/orders", 401, "text/html", ENVELOPE)


def test_unknown_routes_must_answer_with_the_envelope(app):
    contract = contract_of(app)
    assert contract.problems("GET", "/api/v1/nope", 404, "application/json", ENVELOPE) == []
    assert contract.problems("GET", "/api/v1/orders/not-a-uuid", 404, "application/json", b"{}")
    assert contract.problems("GET", "/api/v1/nope", 200, "application/json", b"{}")
    assert contract.problems("GET", "/staff", 200, "text/html", b"<html>") == []  # pages


def test_the_test_client_checks_every_response(app, client, tokens, app_ctx):
    admin = make_user(UserRole.ADMIN)
    response = client.get("/api/v1/users", headers=tokens.headers(admin))
    assert response.status_code == 200  # it conformed, or the client would have raised
    assert type(client).__name__ == "ContractClient"
    assert type(app.test_client()).__name__ == "ContractClient"
