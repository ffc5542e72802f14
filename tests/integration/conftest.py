"""The running stack for integration tests: a real web server process and worker process."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest
import sqlalchemy as sa

from oms.extensions import db
from oms.orders.enums import OrderStatus
from oms.orders.models import Order
from tests.conftest import TEST_BROKER_URL, TEST_DATABASE_URL, TEST_REDIS_URL
from tests.processes import free_port, stack_env, start_web


@pytest.fixture(scope="session")
def web(worker, tmp_path_factory):
    """A threaded web server process on the test database and broker; yields its base URL."""
    port = free_port()
    process = start_web(
        stack_env(
            database_url=TEST_DATABASE_URL, redis_url=TEST_REDIS_URL, broker_url=TEST_BROKER_URL
        ),
        tmp_path_factory.mktemp("web") / "web.log",
        port,
    )
    yield f"http://127.0.0.1:{port}"
    process.stop()


def http(
    method: str, url: str, body: dict | None = None, token: str | None = None
) -> tuple[int, dict]:
    """One JSON request over real HTTP; returns (status, body)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


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
