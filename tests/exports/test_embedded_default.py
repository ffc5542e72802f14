"""The embedded default (SQLite, tasks in-process) exports page by page, with the same
columns and formatting as PostgreSQL's COPY."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from oms.auth.enums import UserRole
from oms.extensions import db
from oms.orders.enums import OrderStatus
from oms.orders.models import Order, OrderItem
from tests.conftest import sqlite_app
from tests.exports.helpers import expected_rows, parse_csv
from tests.factories import (
    PASSWORD,
    insert_order,
    make_customer,
    make_product,
    make_user,
)


@pytest.fixture
def embedded(tmp_path):
    """A SQLite app as ``make run`` starts it, with an admin logged in."""
    app = sqlite_app(tmp_path / "embedded.sqlite3", OMS_EXPORT_DIR=str(tmp_path / "exports"))
    with app.app_context():
        upgrade()
        admin = make_user(UserRole.ADMIN)
        client = app.test_client()
        token = client.post(
            "/api/v1/auth/login", json={"email": admin.email, "password": PASSWORD}
        ).get_json()["access_token"]
        yield SimpleNamespace(app=app, client=client, headers={"Authorization": f"Bearer {token}"})
        db.session.remove()
        db.engine.dispose()


def _export(embedded, body: dict) -> tuple[dict, list]:
    response = embedded.client.post("/api/v1/reports/exports", json=body, headers=embedded.headers)
    job = embedded.client.get(
        f"/api/v1/reports/exports/{response.get_json()['id']}", headers=embedded.headers
    ).get_json()
    assert job["status"] == "finished", job
    _, rows = parse_csv(embedded.client.get(job["download_url"], headers=embedded.headers).data)
    return job, rows


def test_sqlite_export_has_the_same_cells_as_postgresql(embedded):
    mug = make_product(name="=Mug", price="12.50", stock=100)
    kettle = make_product(name="Kettle, steel", price="45.00", stock=100)
    for n in range(30):
        customer = make_customer(first_name=f"Åse{n}", last_name="Ørn")
        status = (OrderStatus.DELIVERED, OrderStatus.SHIPPED, OrderStatus.PENDING)[n % 3]
        insert_order(customer, status=status, lines=[(mug, n % 4 + 1), (kettle, 1)])

    for per_line in (False, True):
        job, rows = _export(embedded, {"per_line": per_line})
        assert job["rows_written"] == job["total_rows"] == (60 if per_line else 30)
        assert rows == expected_rows(per_line=per_line)

    direct = embedded.client.get(
        "/api/v1/reports/orders/export",
        query_string={"status": "pending"},
        headers=embedded.headers,
    )
    _, rows = parse_csv(direct.data)
    assert rows == expected_rows(where=lambda o: o.status == OrderStatus.PENDING)


def test_a_long_sqlite_export_records_progress_as_it_goes(embedded, monkeypatch):
    # SQLite refuses a write while a read is open: pages keep reads short, so the progress
    # written between them (every page here) is never "database is locked"
    monkeypatch.setitem(embedded.app.config, "OMS_EXPORT_PROGRESS_SECONDS", 0)
    customer = make_customer()
    product = make_product(price="2.00", stock=10)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    order_ids = [uuid.uuid4() for _ in range(4500)]
    address = {"line1": "1 Main St", "city": "Oslo", "postal_code": "0150", "country": "NO"}
    db.session.execute(
        sa.insert(Order),
        [
            {
                "id": order_id,
                "number": f"ORD-{n:06d}",
                "customer_id": customer.id,
                "status": OrderStatus.DELIVERED,
                "total_amount": Decimal("2.00"),
                "shipping_address": address,
                # two orders share each second: the pages must not split or repeat them
                "created_at": start + timedelta(seconds=n // 2),
            }
            for n, order_id in enumerate(order_ids)
        ],
    )
    db.session.execute(
        sa.insert(OrderItem),
        [
            {"order_id": order_id, "product_id": product.id, "quantity": 1}
            | {"unit_price": Decimal("2.00"), "total_price": Decimal("2.00")}
            for order_id in order_ids
        ],
    )
    db.session.commit()
    job, rows = _export(embedded, {})
    assert job["rows_written"] == job["total_rows"] == 4500
    assert rows == expected_rows()
