"""``/api/v1/webhooks``: admins register endpoints (secret shown once, rotatable), the event
catalogue is served, and URLs that reach this system or private addresses are refused."""

from __future__ import annotations

import pytest

from oms.auth.enums import UserRole
from oms.event_catalogue import CATALOGUE, WEBHOOK_TYPES
from tests.factories import make_user

BASE = "/api/v1/webhooks"


@pytest.fixture
def admin(app_ctx, tokens):
    return tokens.headers(make_user(UserRole.ADMIN))


def _create(client, admin, **body):
    body = {"url": "https://hooks.example.com/oms", "event_types": ["order.created"], **body}
    return client.post(BASE, json=body, headers=admin)


@pytest.fixture(autouse=True)
def _public_dns(monkeypatch):
    """hooks.example.com resolves to a public address, without asking a DNS server."""
    import socket

    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        if host == "hooks.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]
        if host == "internal.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)


def test_create_shows_the_secret_once_and_rotation_replaces_it(client, admin):
    created = _create(client, admin, description="warehouse robot")
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["secret"].startswith("whsec_") and body["active"] is True
    assert body["state"] == "active" and body["event_types"] == ["order.created"]
    shown = client.get(f"{BASE}/{body['id']}", headers=admin).get_json()
    assert "secret" not in shown and shown["description"] == "warehouse robot"
    listed = client.get(BASE, headers=admin).get_json()
    assert [e["id"] for e in listed["items"]] == [body["id"]] and "secret" not in listed["items"][0]
    rotated = client.post(f"{BASE}/{body['id']}/rotate-secret", headers=admin)
    assert rotated.status_code == 200
    assert rotated.get_json()["secret"] not in (None, body["secret"])


def test_update_and_delete(client, admin):
    endpoint = _create(client, admin).get_json()
    changed = client.patch(
        f"{BASE}/{endpoint['id']}",
        json={"active": False, "event_types": ["order.status_changed", "product.stock_changed"]},
        headers=admin,
    )
    assert changed.status_code == 200
    assert changed.get_json()["state"] == "inactive"
    assert changed.get_json()["event_types"] == ["order.status_changed", "product.stock_changed"]
    assert client.delete(f"{BASE}/{endpoint['id']}", headers=admin).status_code == 204
    missing = client.get(f"{BASE}/{endpoint['id']}", headers=admin)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"


def test_event_types_are_the_catalogue(client, admin):
    body = client.get(f"{BASE}/event-types", headers=admin).get_json()
    assert [item["type"] for item in body["items"]] == [entry.name for entry in CATALOGUE]
    assert {"id", "type", "version", "at"} <= set(body["envelope"])
    created = next(item for item in body["items"] if item["type"] == "order.created")
    assert created["version"] == 1 and {"name": "order_id"}.items() <= created["fields"][0].items()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"event_types": ["order.teleported"]}, "event_types"),
        ({"event_types": []}, "event_types"),
        ({"event_types": ["export.progress"]}, "event_types"),  # not for webhooks
        ({"url": "ftp://hooks.example.com/x"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"secret": "mine"}, "secret"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(client, admin, body, field):
    response = _create(client, admin, **body)
    assert response.status_code == 422
    assert field in str(response.get_json()["error"]["details"])


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9000/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://10.0.0.7/hook",
        "http://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "https://internal.example.com/hook",
        "https://user:pw@hooks.example.com/hook",
        "https://no-such-host.invalid/hook",
    ],
)
def test_private_and_unresolvable_addresses_are_refused(client, admin, url):
    response = _create(client, admin, url=url)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    # a form the URL validator already refuses is a validation_error on the same field
    assert error["code"] in ("webhook_url_refused", "validation_error") and error["details"]["url"]


def test_private_addresses_allowed_by_the_setting_but_never_the_system_itself(
    client, admin, monkeypatch, app
):
    monkeypatch.setitem(app.config, "OMS_WEBHOOKS_ALLOW_PRIVATE", True)
    assert _create(client, admin, url="http://127.0.0.1:9000/hook").status_code == 201
    own = _create(client, admin, url="http://localhost/api/v1/orders")  # the test client's host
    assert own.status_code == 422
    assert "this system" in own.get_json()["error"]["details"]["url"][0]
    patched = client.patch(
        f"{BASE}/{_create(client, admin).get_json()['id']}",
        json={"url": "http://localhost/x"},
        headers=admin,
    )
    assert patched.status_code == 422


def test_only_admins(client, app_ctx, tokens):
    staff = tokens.headers(make_user(UserRole.STAFF))
    assert client.get(BASE, headers=staff).status_code == 403
    assert client.get(f"{BASE}/event-types", headers=staff).status_code == 403
    assert client.get(BASE).status_code == 401


def test_every_webhook_type_can_be_subscribed(client, admin):
    response = _create(client, admin, event_types=list(WEBHOOK_TYPES))
    assert response.status_code == 201
