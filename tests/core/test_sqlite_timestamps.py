"""Regression: on SQLite (the embedded default) timestamps came back naive, so the API served
history ``created_at`` without an offset, which the documented ``date-time`` refuses (found
by the contract check in test_fifty_customers_submit_at_the_same_moment[sqlite])."""

from __future__ import annotations

from flask_migrate import upgrade

from oms.auth.enums import UserRole
from tests.conftest import sqlite_app
from tests.factories import ADDRESS, make_product, make_user


def test_timestamps_read_back_from_sqlite_carry_their_offset(tmp_path, tokens):
    app = sqlite_app(tmp_path / "embedded.sqlite3")
    with app.app_context():
        upgrade()
        customer = make_user(UserRole.CUSTOMER)
        product_id = str(make_product().id)
        headers = tokens.headers(customer)
    client = app.test_client()  # checks the response against the document (tests/contract.py)
    body = {"items": [{"product_id": product_id, "quantity": 1}], "shipping_address": ADDRESS}
    created = client.post("/api/v1/orders", json=body, headers=headers)
    assert created.status_code == 202
    order = client.get(f"/api/v1/orders/{created.get_json()['id']}", headers=headers).get_json()
    stamps = [order["created_at"], order["updated_at"]] + [
        h["created_at"] for h in order["history"]
    ]
    assert all(stamp.endswith("+00:00") for stamp in stamps), stamps
