"""A webhook delivery that ran out of attempts is a problem until it is resent, to a real
receiver process."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from oms.auth.enums import UserRole
from oms.extensions import db
from oms.webhooks import service
from oms.webhooks.enums import DeliveryState
from oms.webhooks.models import WebhookDelivery
from tests.factories import make_order, make_product, make_user

pytestmark = pytest.mark.slow  # a receiver process

BASE = "/api/v1/ops/problems"


def test_an_exhausted_delivery_is_listed_until_resent(
    client,
    app_ctx,
    tokens,
    receiver,
    monkeypatch,
):
    admin = tokens.headers(make_user(UserRole.ADMIN))
    monkeypatch.setitem(app_ctx.config, "OMS_WEBHOOKS_ALLOW_PRIVATE", True)
    endpoint = service.create(url=receiver.url, event_types=["order.created"])
    receiver.secret(endpoint.secret)
    receiver.rules(status=400)
    make_order(make_user(), [(make_product(stock=5), 1)])
    (failed,) = db.session.scalars(sa.select(WebhookDelivery)).all()
    assert failed.state == DeliveryState.FAILED
    response = client.get(BASE, query_string={"kind": "webhook_delivery"}, headers=admin)
    (problem,) = response.get_json()["items"]
    assert problem["id"] == str(failed.id)
    assert problem["reason"].endswith("failed after 1 attempt(s): HTTP 400")
    receiver.rules()
    replay = client.post(f"{BASE}/webhook_delivery/{failed.id}/replay", headers=admin)
    assert replay.status_code == 202, replay.get_json()
    assert [r["status"] for r in receiver.requests()] == [400, 200]
    response = client.get(BASE, query_string={"kind": "webhook_delivery"}, headers=admin)
    assert response.get_json()["items"] == []
