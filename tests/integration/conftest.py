"""Helpers for integration tests against the running stack (the `web` and `worker` fixtures
live in tests/conftest.py, shared with the browser tests)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from email.message import Message

import sqlalchemy as sa

from oms.extensions import db
from oms.orders.enums import OrderStatus
from oms.orders.models import Order
from tests import contract


def http_raw(
    method: str,
    url: str,
    body: dict | None = None,
    token: str | None = None,
    headers: dict | None = None,
) -> tuple[int, bytes, Message]:
    """One request over real HTTP with a JSON body; returns (status, raw body, headers)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, raw, headers = response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        status, raw, headers = error.code, error.read(), error.headers
    _check_contract(method, url, status, headers.get("Content-Type"), raw)
    return status, raw, headers


_CONTRACTS: dict[str, contract.Contract] = {}


def _check_contract(method: str, url: str, status: int, content_type, raw: bytes) -> None:
    """Check the answer against the server's own API document (tests/contract.py)."""
    if not contract.state["enabled"]:
        return
    parts = urllib.parse.urlsplit(url)
    base = f"{parts.scheme}://{parts.netloc}"
    if base not in _CONTRACTS:
        with urllib.request.urlopen(f"{base}/api/v1/openapi.json", timeout=60) as response:
            _CONTRACTS[base] = contract.Contract(json.loads(response.read()))
    _CONTRACTS[base].check(method, parts.path, status, content_type, raw)


def http(
    method: str,
    url: str,
    body: dict | None = None,
    token: str | None = None,
    headers: dict | None = None,
) -> tuple[int, dict]:
    """One JSON request over real HTTP; returns (status, body)."""
    status, raw, _ = http_raw(method, url, body, token, headers)
    return status, json.loads(raw or b"{}")


def wait_until_decided(timeout: float = 120) -> int:
    """Wait until no order is pending; returns how many still are when time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        db.session.remove()
        pending = db.session.scalar(
            sa.select(sa.func.count()).select_from(Order).where(Order.status == OrderStatus.PENDING)
        )
        if pending == 0 or time.monotonic() > deadline:
            return pending
        time.sleep(0.2)


def submit_orders(app, n: int, product_id) -> None:
    """Log a new customer in through ``app`` and submit ``n`` one-unit orders (all 202)."""
    from oms.auth.enums import UserRole
    from tests.factories import ADDRESS, PASSWORD, make_user

    with app.app_context():
        email = make_user(UserRole.CUSTOMER).email
    client = app.test_client()
    login = {"email": email, "password": PASSWORD}
    token = client.post("/api/v1/auth/login", json=login).get_json()["access_token"]
    body = {"items": [{"product_id": str(product_id), "quantity": 1}], "shipping_address": ADDRESS}
    for _ in range(n):
        response = client.post(
            "/api/v1/orders", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 202, response.get_json()


def order_statuses() -> dict:
    """How many orders are in each status, read afresh."""
    db.session.remove()
    rows = db.session.execute(sa.select(Order.status, sa.func.count()).group_by(Order.status))
    return dict(rows.all())
