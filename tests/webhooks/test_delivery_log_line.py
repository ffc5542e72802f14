"""Each webhook delivery attempt writes a log line naming its order."""

from __future__ import annotations

import pytest

from oms.auth.enums import UserRole
from tests.factories import make_order, make_product, make_user
from tests.logs import log_lines

pytestmark = pytest.mark.slow  # a receiver process


def test_a_webhook_delivery_logs_its_order_number(app_ctx, client, tokens, receiver, allow_private):
    admin = tokens.headers(make_user(UserRole.ADMIN))
    body = {"url": receiver.url, "event_types": ["order.created"]}
    created = client.post("/api/v1/webhooks", json=body, headers=admin)
    assert created.status_code == 201, created.get_json()
    receiver.secret(created.get_json()["secret"])
    with log_lines("oms.webhooks") as lines:
        order = make_order(make_user(UserRole.CUSTOMER), [(make_product(stock=5), 1)])
    [attempt] = [line for line in lines if line["msg"] == "webhook delivery attempt"]
    assert attempt["order_number"] == order.number
    assert attempt["event_type"] == "order.created"
    assert attempt["outcome"] == "delivered" and attempt["status_code"] == 200
