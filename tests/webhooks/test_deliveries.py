"""Deliveries to a real receiver process (the embedded default's in-process tasks): signed,
in order per order, retried after a 500, not retried after another 4xx, logged, resendable,
checked against private addresses again at delivery time, and an endpoint failing for a day is
disabled with a notice to admins."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from oms import events
from oms.auth.enums import UserRole
from oms.event_catalogue import BY_NAME
from oms.extensions import db
from oms.webhooks import service
from oms.webhooks.enums import DeliveryState
from oms.webhooks.models import WebhookDelivery
from tests.factories import make_order, make_product, make_user

pytestmark = pytest.mark.slow  # a receiver process

BASE = "/api/v1/webhooks"


@pytest.fixture
def admin(app_ctx, tokens):
    return tokens.headers(make_user(UserRole.ADMIN))


@pytest.fixture
def endpoint(client, admin, receiver, allow_private):
    def register(*types: str) -> dict:
        body = {"url": receiver.url, "event_types": list(types or ["order.created"])}
        response = client.post(BASE, json=body, headers=admin)
        assert response.status_code == 201, response.get_json()
        created = response.get_json()
        receiver.secret(created["secret"])
        return created

    return register


@pytest.fixture
def fast_retries(app, monkeypatch):
    monkeypatch.setitem(app.config, "OMS_WEBHOOKS_RETRY_BASE_SECONDS", 0.01)


def _order():
    return make_order(make_user(UserRole.CUSTOMER), [(make_product(stock=5), 1)])


def _log(client, admin, endpoint_id) -> list[dict]:
    response = client.get(f"{BASE}/{endpoint_id}/deliveries", headers=admin)
    assert response.status_code == 200
    return response.get_json()["items"]


def _retry_due(times: int = 1) -> None:
    for _ in range(times):
        time.sleep(0.05)
        db.session.remove()
        service.send_due()


def test_signed_delivery_with_headers_and_the_catalogue_payload(client, admin, endpoint, receiver):
    hook = endpoint("order.created", "order.status_changed")
    order = _order()
    (created, placed) = receiver.requests()
    assert created["valid"] and created["fresh"] and placed["valid"]
    body = created["body"]
    assert body["type"] == "order.created" and body["order_id"] == str(order.id)
    assert set(body) == {"id", "type", "version", "at", *BY_NAME["order.created"].fields}
    headers = created["headers"]
    assert headers["X-OMS-Event-Id"] == body["id"]
    assert headers["X-OMS-Event-Type"] == "order.created"
    assert headers["X-OMS-Timestamp"].isdigit() and headers["X-OMS-Signature"].startswith("v1=")
    assert created["legacy_valid"] and placed["legacy_valid"]  # the deprecated pair, one release
    assert placed["body"]["new_status"] == "placed"
    log = _log(client, admin, hook["id"])
    assert [d["event_type"] for d in log] == ["order.status_changed", "order.created"]
    (attempt,) = log[1]["attempt_log"]
    assert attempt["status_code"] == 200 and attempt["outcome"] == "delivered"
    assert attempt["response_excerpt"] == "ok" and attempt["duration_ms"] >= 0
    assert log[1]["state"] == "delivered" and log[1]["payload"] == body


def test_the_standardwebhooks_package_verifies_a_real_delivery(client, admin, endpoint, receiver):
    """The receiver verifies with ``standardwebhooks.Webhook(secret).verify``: the secret as
    the API showed it, the body and headers as they came over the wire."""
    hook = endpoint("order.created")
    assert hook["secret"].startswith("whsec_")
    _order()
    (request,) = receiver.requests()
    assert request["valid"] is True and request["status"] == 200
    headers = request["headers"]
    assert headers["webhook-id"] == request["body"]["id"] == headers["X-OMS-Event-Id"]
    assert headers["webhook-timestamp"] == headers["X-OMS-Timestamp"]
    assert headers["webhook-signature"].startswith("v1,")
    # signed with another secret: the package refuses it
    assert client.post(f"{BASE}/{hook['id']}/rotate-secret", headers=admin).status_code == 200
    _order()
    assert receiver.requests()[-1]["valid"] is False


def test_secrets_are_stored_encrypted_and_the_key_rotates(
    app, client, admin, endpoint, receiver, runner, monkeypatch
):
    from cryptography.fernet import Fernet

    hook = endpoint("order.created")
    stored = db.session.execute(sa.text("SELECT * FROM webhook_endpoints")).one()._asdict()
    assert hook["secret"] not in str(stored) and hook["secret"][6:20] not in str(stored)
    old_keys = app.config["OMS_WEBHOOKS_ENCRYPTION_KEYS"]
    decrypted = Fernet(old_keys[0]).decrypt(stored["secret_encrypted"].encode()).decode()
    assert decrypted == hook["secret"]
    # a new key first, the old one still read; re-encrypting moves every secret to the new one
    new_key = Fernet.generate_key().decode()
    monkeypatch.setitem(app.config, "OMS_WEBHOOKS_ENCRYPTION_KEYS", [new_key, *old_keys])
    result = runner.invoke(args=["webhooks", "reencrypt-secrets"])
    assert result.exit_code == 0 and "1 webhook secret(s)" in result.output, result.output
    other = Fernet.generate_key().decode()  # no key that reads them: refused, nothing changed
    monkeypatch.setitem(app.config, "OMS_WEBHOOKS_ENCRYPTION_KEYS", [other])
    result = runner.invoke(args=["webhooks", "reencrypt-secrets"])
    assert result.exit_code == 1 and "no key of OMS_WEBHOOKS_ENCRYPTION_KEYS" in result.output
    monkeypatch.setitem(app.config, "OMS_WEBHOOKS_ENCRYPTION_KEYS", [new_key])
    db.session.remove()
    _order()
    assert receiver.requests()[-1]["valid"] is True
    # without a key that decrypts it, nothing is sent: the attempt fails and is retried
    monkeypatch.setitem(app.config, "OMS_WEBHOOKS_ENCRYPTION_KEYS", old_keys)
    db.session.remove()
    _order()
    assert len(receiver.requests()) == 1
    (latest, _) = _log(client, admin, hook["id"])
    assert latest["state"] == "pending" and "cannot be decrypted" in latest["last_error"]


def test_a_rotated_secret_signs_from_then_on(client, admin, endpoint, receiver):
    hook = endpoint("order.created")
    rotated = client.post(f"{BASE}/{hook['id']}/rotate-secret", headers=admin).get_json()
    _order()
    assert [r["status"] for r in receiver.requests()] == [401]  # the receiver has the old one
    receiver.secret(rotated["secret"])
    _order()
    assert receiver.requests()[-1]["valid"] is True


def test_retried_after_500_until_delivered(client, admin, endpoint, receiver, fast_retries):
    hook = endpoint("order.created")
    receiver.rules(fail=2)
    _order()
    assert [r["status"] for r in receiver.requests()] == [500]
    _retry_due(2)
    requests = receiver.requests()
    assert [r["status"] for r in requests] == [500, 500, 200]
    assert len({r["body"]["id"] for r in requests}) == 1 and all(r["valid"] for r in requests)
    (delivery,) = _log(client, admin, hook["id"])
    assert delivery["state"] == "delivered" and delivery["attempts"] == 3
    outcomes = [(a["status_code"], a["outcome"]) for a in delivery["attempt_log"]]
    assert outcomes == [(500, "retry"), (500, "retry"), (200, "delivered")]
    assert delivery["attempt_log"][0]["response_excerpt"] == "answer 500"


def test_429_and_network_errors_are_retried_other_4xx_are_not(
    client, admin, endpoint, receiver, fast_retries
):
    hook = endpoint("order.created")
    receiver.rules(status=429)
    _order()
    _retry_due()
    assert [r["status"] for r in receiver.requests()] == [429, 429]
    receiver.rules(status=410)
    _retry_due(3)
    assert [r["status"] for r in receiver.requests()] == [429, 429, 410]
    (delivery,) = _log(client, admin, hook["id"])
    assert delivery["state"] == "failed" and delivery["last_status_code"] == 410
    # network error: nobody listens any more
    receiver.stop()
    _order()
    newest = _log(client, admin, hook["id"])[0]
    assert newest["state"] == "pending" and newest["attempt_log"][0]["outcome"] == "retry"
    assert newest["attempt_log"][0]["status_code"] is None and newest["last_error"]


def test_attempts_run_out(app, client, admin, endpoint, receiver, fast_retries, monkeypatch):
    monkeypatch.setitem(app.config, "OMS_WEBHOOKS_MAX_ATTEMPTS", 3)
    hook = endpoint("order.created")
    receiver.rules(status=503)
    _order()
    _retry_due(4)
    assert len(receiver.requests()) == 3
    (delivery,) = _log(client, admin, hook["id"])
    assert delivery["state"] == "failed" and delivery["attempt_log"][-1]["outcome"] == "failed"


def test_admins_resend_any_delivery(client, admin, endpoint, receiver):
    hook = endpoint("order.created")
    receiver.rules(status=400)
    _order()
    (failed,) = _log(client, admin, hook["id"])
    assert failed["state"] == "failed"
    receiver.rules()
    resent = client.post(f"{BASE}/{hook['id']}/deliveries/{failed['id']}/resend", headers=admin)
    assert resent.status_code == 202
    assert resent.get_json()["resent_from"] == failed["id"]
    assert resent.get_json()["event_id"] == failed["event_id"]
    again = client.post(f"{BASE}/{hook['id']}/deliveries/{failed['id']}/resend", headers=admin)
    assert again.status_code == 202  # a delivered one too
    assert [r["status"] for r in receiver.requests()] == [400, 200, 200]
    assert {r["body"]["id"] for r in receiver.requests()} == {failed["event_id"]}
    other = client.post(f"{BASE}/{hook['id']}/deliveries/999999/resend", headers=admin)
    assert other.status_code == 404


def test_one_orders_events_keep_their_order_through_retries(
    client, admin, endpoint, receiver, fast_retries
):
    endpoint("order.created", "order.status_changed")
    receiver.rules(fail=1)
    order_id = str(_order().id)  # order.created fails once; status_changed waits for it
    assert [r["body"]["type"] for r in receiver.requests()] == ["order.created"]
    waiting = db.session.scalars(
        sa.select(WebhookDelivery).where(WebhookDelivery.event_type == "order.status_changed")
    ).one()
    assert waiting.state == DeliveryState.PENDING and waiting.attempts == 0
    _retry_due()
    types = [(r["body"]["type"], r["status"]) for r in receiver.requests()]
    assert types == [("order.created", 500), ("order.created", 200), ("order.status_changed", 200)]
    assert {r["body"]["order_id"] for r in receiver.requests()} == {order_id}


def test_an_endpoint_failing_for_a_day_is_disabled_and_admins_told(
    app, client, admin, endpoint, receiver, monkeypatch
):
    monkeypatch.setitem(app.config, "OMS_WEBHOOKS_DISABLE_AFTER_SECONDS", 0)  # "a day" is now
    hook = endpoint("order.created")
    receiver.rules(status=500)
    told = []
    unsubscribe = events.subscribe(told.append)
    try:
        _order()
    finally:
        unsubscribe()
    (notice,) = [e for e in told if e["type"] == "webhook.endpoint_disabled"]
    assert notice["endpoint_id"] == hook["id"] and notice["url"] == receiver.url
    shown = client.get(f"{BASE}/{hook['id']}", headers=admin).get_json()
    assert shown["state"] == "disabled" and shown["active"] is False and shown["disabled_reason"]
    _order()
    assert len(receiver.requests()) == 1  # nothing more for a disabled endpoint
    enabled = client.patch(f"{BASE}/{hook['id']}", json={"active": True}, headers=admin)
    assert enabled.get_json()["state"] == "active" and enabled.get_json()["failing_since"] is None


def test_private_addresses_are_checked_again_at_delivery(
    app, client, admin, endpoint, receiver, monkeypatch
):
    hook = endpoint("order.created")
    monkeypatch.setitem(app.config, "OMS_WEBHOOKS_ALLOW_PRIVATE", False)
    _order()
    assert receiver.requests() == []
    (delivery,) = _log(client, admin, hook["id"])
    assert delivery["state"] == "failed" and "private" in delivery["last_error"]


def test_unsubscribed_and_inactive_endpoints_get_nothing(client, admin, endpoint, receiver):
    quiet = endpoint("export.finished")
    off = endpoint("order.created")
    client.patch(f"{BASE}/{off['id']}", json={"active": False}, headers=admin)
    _order()
    assert receiver.requests() == []
    assert _log(client, admin, quiet["id"]) == [] and _log(client, admin, off["id"]) == []
