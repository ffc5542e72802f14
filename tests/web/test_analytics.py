"""``GET /api/v1/reports/analytics`` and the SQL aggregates behind it, on PostgreSQL and
SQLite."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from oms.analytics import service
from oms.auth.enums import UserRole
from oms.extensions import db
from oms.orders.enums import OrderStatus
from oms.orders.models import Order, OrderStatusHistory
from tests.factories import PASSWORD, make_order, make_product, make_user


def _shift(order, *, days: float) -> None:
    """Move an order ``days`` into the past (computed here: SQLite has no interval arithmetic)."""
    with db.engine.begin() as conn:
        created = conn.scalar(sa.select(Order.created_at).where(Order.id == order.id))
        conn.execute(
            sa.update(Order)
            .where(Order.id == order.id)
            .values(created_at=created - timedelta(days=days))
        )


def _delivered_after(order, *, hours: float) -> None:
    """Make the order's delivery come ``hours`` after it was placed, by moving the placing back
    (moving the delivery forward would put it past the end of today after 20:00 UTC)."""
    with db.engine.begin() as conn:
        delivered = conn.scalar(
            sa.select(OrderStatusHistory.created_at).where(
                OrderStatusHistory.order_id == order.id,
                OrderStatusHistory.new_status == OrderStatus.DELIVERED,
            )
        )
        conn.execute(
            sa.update(OrderStatusHistory)
            .where(
                OrderStatusHistory.order_id == order.id,
                OrderStatusHistory.new_status == OrderStatus.PLACED,
            )
            .values(created_at=delivered - timedelta(hours=hours))
        )


def _data():
    grinder = make_product(name="Burr grinder", price="100.00", stock=50)
    filters = make_product(name="Paper filters", price="5.00", stock=4)
    buyer = make_user(UserRole.CUSTOMER)
    staff = make_user(UserRole.STAFF)
    delivered = make_order(buyer, [(grinder, 1)], status=OrderStatus.DELIVERED, staff=staff)
    _delivered_after(delivered, hours=2)
    other = make_order(buyer, [(grinder, 2)], status=OrderStatus.DELIVERED, staff=staff)
    _delivered_after(other, hours=4)
    make_order(buyer, [(filters, 3)], status=OrderStatus.PLACED)
    make_order(buyer, [(grinder, 1)], status=OrderStatus.CANCELLED, staff=staff)
    old = make_order(buyer, [(grinder, 5)], status=OrderStatus.PLACED)
    _shift(old, days=3)
    return grinder, filters


def _check(figures: dict, grinder, filters) -> None:
    assert figures["days"] == 7 and len(figures["per_day"]) == 7
    today, three_days_ago = figures["per_day"][-1], figures["per_day"][-4]
    assert today == {"date": figures["to"], "orders": 4, "revenue": "315.00"}  # cancelled: 0
    assert three_days_ago["orders"] == 1 and three_days_ago["revenue"] == "500.00"
    assert sum(day["orders"] for day in figures["per_day"]) == 5
    assert figures["by_status"]["delivered"] == 2
    assert figures["by_status"]["placed"] == 2
    assert figures["by_status"]["cancelled"] == 1
    assert figures["by_status"]["rejected"] == 0
    assert figures["totals"] == {
        "orders": 5,
        "revenue": "815.00",
        "average_order_value": "203.75",
    }
    duration = figures["placed_to_delivered"]
    assert duration["orders"] == 2
    assert abs(duration["average_seconds"] - 3 * 3600) < 5
    assert abs(duration["min_seconds"] - 2 * 3600) < 5
    assert [p["name"] for p in figures["top_products"]] == ["Burr grinder", "Paper filters"]
    assert figures["top_products"][0]["units"] == 8  # 1 + 2 + 5, not the cancelled one
    assert figures["top_products"][0]["revenue"] == "800.00"
    assert [p["name"] for p in figures["low_stock"]] == ["Paper filters"]
    assert figures["low_stock"][0]["available"] == 1


def test_analytics_figures_on_postgresql(app_ctx, client, auth):
    grinder, filters = _data()
    admin = make_user(UserRole.ADMIN)
    response = client.get(
        "/api/v1/reports/analytics?days=7", headers=auth.headers(admin.email, PASSWORD)
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    _check(body, grinder, filters)
    assert body["from"] == (datetime.now(UTC).date() - timedelta(days=6)).isoformat()


def test_analytics_figures_on_sqlite(tmp_path):
    from flask_migrate import upgrade

    from oms import create_app
    from tests.conftest import make_test_config

    app = create_app(
        make_test_config(
            SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'analytics.sqlite3'}",
            OMS_REDIS_URL=None,
            RATELIMIT_STORAGE_URI="memory://",
        )
    )
    with app.app_context():
        upgrade()
        grinder, filters = _data()
        _check(service.summary(days=7), grinder, filters)
        db.session.remove()


def test_analytics_are_for_admins_only(app_ctx, app, client, auth):
    for role in (UserRole.CUSTOMER, UserRole.STAFF):
        user = make_user(role)
        response = client.get(
            "/api/v1/reports/analytics", headers=auth.headers(user.email, PASSWORD)
        )
        assert response.status_code == 403
        assert response.get_json()["error"]["code"] == "authorization_error"
    assert app.test_client().get("/api/v1/reports/analytics").status_code == 401
    admin = make_user(UserRole.ADMIN)
    bad = client.get(
        "/api/v1/reports/analytics?days=0", headers=auth.headers(admin.email, PASSWORD)
    )
    assert bad.status_code == 422 and "days" in bad.get_json()["error"]["details"]
