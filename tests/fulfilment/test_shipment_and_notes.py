"""Issue 13 fulfilment details (API): shipping records a carrier and tracking number (link,
email, event), staff write internal notes that customers never see."""

from __future__ import annotations

import pytest

from oms import events
from oms.auth.enums import UserRole
from oms.config import ConfigurationError, load_config
from oms.orders.enums import OrderStatus
from tests.factories import make_order, make_product, make_user
from tests.mail import text_of
from tests.notifications.test_notifications import smtp  # noqa: F401  (the fixture)


@pytest.fixture
def picked(app_ctx):
    customer = make_user(UserRole.CUSTOMER)
    staff = make_user(UserRole.STAFF, first_name="Sam", last_name="Picker")
    order = make_order(customer, [(make_product(name="Oak board", stock=5), 1)], status="picked")
    return customer, staff, order


def _ship(client, tokens, user, order, **fields):
    return client.patch(
        f"/api/v1/orders/{order.id}/status",
        json={"status": "shipped", **fields},
        headers=tokens.headers(user),
    )


def test_shipping_records_carrier_tracking_and_its_link(client, tokens, picked, smtp):  # noqa: F811
    customer, staff, order = picked
    seen: list[dict] = []
    unsubscribe = events.subscribe(seen.append)
    try:
        response = _ship(client, tokens, staff, order, carrier="ups", tracking_number="1Z 99/9")
    finally:
        unsubscribe()
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["carrier"] == "ups" and body["carrier_name"] == "UPS"
    assert body["tracking_number"] == "1Z 99/9"
    assert body["tracking_url"] == "https://www.ups.com/track?tracknum=1Z%2099%2F9"
    # the customer sees it too
    mine = client.get(f"/api/v1/orders/{order.id}", headers=tokens.headers(customer)).get_json()
    assert mine["tracking_url"] == body["tracking_url"]
    # the event carries it
    [event] = [e for e in seen if e["type"] == "order.status_changed"]
    assert event["carrier"] == "ups" and event["tracking_number"] == "1Z 99/9"
    assert event["tracking_url"] == body["tracking_url"]
    # and the customer's shipped email
    shipped = [m for m in smtp.messages if "has shipped" in m["Subject"]]
    content = text_of(shipped[0])
    assert "Carrier: UPS" in content and "Tracking number: 1Z 99/9" in content
    assert body["tracking_url"] in content


def test_shipping_without_details_still_works(client, tokens, picked):
    _, staff, order = picked
    response = _ship(client, tokens, staff, order)
    assert response.status_code == 200
    body = response.get_json()
    assert body["carrier"] is None and body["tracking_number"] is None
    assert body["tracking_url"] is None


def test_an_unknown_carrier_is_a_422_and_nothing_ships(client, tokens, picked):
    _, staff, order = picked
    response = _ship(client, tokens, staff, order, carrier="pigeon", tracking_number="1")
    assert response.status_code == 422
    assert list(response.get_json()["error"]["details"]) == ["carrier"]
    again = client.get(f"/api/v1/orders/{order.id}", headers=tokens.headers(staff)).get_json()
    assert again["status"] == "picked"


@pytest.mark.parametrize("status", ["picked", "delivered", "cancelled"])
def test_carrier_and_tracking_are_refused_with_another_status(app_ctx, client, tokens, status):
    customer = make_user(UserRole.CUSTOMER)
    staff = make_user(UserRole.STAFF)
    order = make_order(customer, [(make_product(stock=5), 1)], status="placed")
    response = client.patch(
        f"/api/v1/orders/{order.id}/status",
        json={"status": status, "carrier": "ups", "tracking_number": "1Z"},
        headers=tokens.headers(staff),
    )
    assert response.status_code == 422
    assert set(response.get_json()["error"]["details"]) == {"carrier", "tracking_number"}


def test_a_carrier_without_a_tracking_page_has_no_link(client, tokens, picked):
    _, staff, order = picked
    body = _ship(client, tokens, staff, order, carrier="other", tracking_number="AB1").get_json()
    assert body["carrier_name"] == "Other carrier" and body["tracking_url"] is None


def test_oms_carriers_replaces_the_list_and_is_checked_at_start(monkeypatch):
    monkeypatch.setenv(
        "OMS_CARRIERS",
        '[{"code": "bring", "name": "Bring", "tracking_url": "https://b.example/{tracking_number}"}]',
    )
    assert [c["code"] for c in load_config()["OMS_CARRIERS"]] == ["bring"]
    for bad in (
        "not json",
        "[]",
        '[{"code": "Bad Code", "name": "x", "tracking_url": null}]',
        '[{"code": "a", "name": "x", "tracking_url": "https://no-placeholder.example/"}]',
        '[{"code": "a", "name": "x"}, {"code": "a", "name": "y"}]',
    ):
        monkeypatch.setenv("OMS_CARRIERS", bad)
        with pytest.raises(ConfigurationError, match="OMS_CARRIERS"):
            load_config()


def test_staff_add_notes_and_customers_never_see_them(client, tokens, picked):
    customer, staff, order = picked
    response = client.post(
        f"/api/v1/orders/{order.id}/notes",
        json={"body": "Gift wrap, no invoice in the box."},
        headers=tokens.headers(staff),
    )
    assert response.status_code == 201, response.get_json()
    note = response.get_json()
    assert note["body"] == "Gift wrap, no invoice in the box."
    assert note["author"] == {"id": str(staff.id), "name": "Sam Picker", "role": "staff"}
    detail = client.get(f"/api/v1/orders/{order.id}", headers=tokens.headers(staff)).get_json()
    assert [n["body"] for n in detail["notes"]] == ["Gift wrap, no invoice in the box."]

    # the customer: no notes in the order, its list, or the status command's answer
    headers = tokens.headers(customer)
    mine = client.get(f"/api/v1/orders/{order.id}", headers=headers)
    assert "notes" not in mine.get_json()
    assert "Gift wrap" not in mine.get_data(as_text=True)
    listing = client.get("/api/v1/orders", headers=headers).get_data(as_text=True)
    assert "Gift wrap" not in listing
    refused = client.post(
        f"/api/v1/orders/{order.id}/notes", json={"body": "me too"}, headers=headers
    )
    assert refused.status_code == 403
    # nor does the customer's page
    client.post("/api/v1/auth/login", json={"email": customer.email, "password": "correct-horse-1"})
    page = client.get(f"/customer/orders/{order.id}").get_data(as_text=True)
    assert "Gift wrap" not in page


@pytest.mark.parametrize("body", [{}, {"body": ""}, {"body": "   "}, {"body": "x" * 2001}])
def test_a_bad_note_is_a_422(client, tokens, picked, body):
    _, staff, order = picked
    response = client.post(
        f"/api/v1/orders/{order.id}/notes", json=body, headers=tokens.headers(staff)
    )
    assert response.status_code == 422
    assert "body" in response.get_json()["error"]["details"]


def test_a_note_on_an_unknown_order_is_a_404(app_ctx, client, tokens):
    staff = make_user(UserRole.STAFF)
    response = client.post(
        "/api/v1/orders/00000000-0000-0000-0000-000000000000/notes",
        json={"body": "hello"},
        headers=tokens.headers(staff),
    )
    assert response.status_code == 404


def test_the_status_stays_shipped_after_delivery_with_the_shipment(client, tokens, picked):
    _, staff, order = picked
    _ship(client, tokens, staff, order, carrier="dhl", tracking_number="JD0001")
    response = client.patch(
        f"/api/v1/orders/{order.id}/status",
        json={"status": OrderStatus.DELIVERED.value},
        headers=tokens.headers(staff),
    )
    assert response.get_json()["tracking_number"] == "JD0001"
