"""Aggregates for the admin dashboard, computed by the database (PostgreSQL or SQLite alike).

Every figure is one ``GROUP BY`` query over the orders created in the last ``days`` days (UTC
calendar days, today included). Revenue counts the orders that still stand: rejected and
cancelled orders are counted as orders but bring no revenue. The time from placed to delivered
is the average over the orders delivered in the period, from their status history.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import sqlalchemy as sa

from oms.db import is_postgresql, utcnow
from oms.extensions import db
from oms.orders.enums import OrderStatus
from oms.orders.models import Order, OrderItem, OrderStatusHistory
from oms.products import service as products
from oms.products.models import Product

MAX_DAYS = 366
NOT_REVENUE = (OrderStatus.REJECTED, OrderStatus.CANCELLED)
TOP_PRODUCTS = 10
LOW_STOCK_ROWS = 20


def _day(column: sa.ColumnExpressionArgument[datetime]) -> sa.ColumnElement:
    """The UTC calendar day of a timestamp, as a comparable value."""
    if is_postgresql():
        return sa.cast(sa.func.timezone("UTC", column), sa.Date)
    return sa.func.date(column)


def _seconds_between(start: sa.ColumnElement, end: sa.ColumnElement) -> sa.ColumnElement:
    if is_postgresql():
        return sa.extract("epoch", end - start)
    return (sa.func.julianday(end) - sa.func.julianday(start)) * 86400.0


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _money(value) -> str:
    return str(Decimal(value or 0).quantize(Decimal("0.01")))


def per_day(*, since: datetime, first_day: date, days: int) -> list[dict]:
    """Orders and revenue for each day of the period, days without orders included."""
    day = _day(Order.created_at).label("day")
    revenue = sa.func.sum(
        sa.case((Order.status.in_(NOT_REVENUE), 0), else_=Order.total_amount)
    ).label("revenue")
    rows = db.session.execute(
        sa.select(day, sa.func.count().label("orders"), revenue)
        .where(Order.created_at >= since)
        .group_by(day)
    ).all()
    found = {_as_date(row.day): row for row in rows}
    series = []
    for offset in range(days):
        current = first_day + timedelta(days=offset)
        row = found.get(current)
        series.append(
            {
                "date": current.isoformat(),
                "orders": row.orders if row else 0,
                "revenue": _money(row.revenue if row else 0),
            }
        )
    return series


def by_status(*, since: datetime) -> dict[str, int]:
    """How many of the period's orders are in each status now (every status listed)."""
    counts = dict(
        db.session.execute(
            sa.select(Order.status, sa.func.count())
            .where(Order.created_at >= since)
            .group_by(Order.status)
        ).all()
    )
    return {status.value: counts.get(status, 0) for status in OrderStatus}


def placed_to_delivered(*, since: datetime) -> dict:
    """Average, shortest and longest seconds from placed to delivered, over the orders
    delivered in the period."""
    placed_at = sa.func.min(
        sa.case(
            (OrderStatusHistory.new_status == OrderStatus.PLACED, OrderStatusHistory.created_at)
        )
    )
    delivered_at = sa.func.min(
        sa.case(
            (OrderStatusHistory.new_status == OrderStatus.DELIVERED, OrderStatusHistory.created_at)
        )
    )
    pairs = (
        sa.select(placed_at.label("placed_at"), delivered_at.label("delivered_at"))
        .group_by(OrderStatusHistory.order_id)
        .having(delivered_at >= since)
        .having(placed_at.is_not(None))
        .subquery()
    )
    seconds = _seconds_between(pairs.c.placed_at, pairs.c.delivered_at)
    row = db.session.execute(
        sa.select(
            sa.func.count(), sa.func.avg(seconds), sa.func.min(seconds), sa.func.max(seconds)
        ).select_from(pairs)
    ).one()
    count, average, shortest, longest = row

    def _num(value):
        return None if value is None else round(float(value), 1)

    return {
        "orders": count,
        "average_seconds": _num(average),
        "min_seconds": _num(shortest),
        "max_seconds": _num(longest),
    }


def top_products(*, since: datetime, limit: int = TOP_PRODUCTS) -> list[dict]:
    """The products with the most units on the period's standing orders."""
    units = sa.func.sum(OrderItem.quantity).label("units")
    rows = db.session.execute(
        sa.select(
            Product.id,
            Product.name,
            units,
            sa.func.sum(OrderItem.total_price).label("revenue"),
            sa.func.count(sa.distinct(OrderItem.order_id)).label("orders"),
        )
        .join(OrderItem, OrderItem.product_id == Product.id)
        .join(Order, Order.id == OrderItem.order_id)
        .where(Order.created_at >= since, Order.status.not_in(NOT_REVENUE))
        .group_by(Product.id, Product.name)
        .order_by(units.desc(), Product.name)
        .limit(limit)
    ).all()
    return [
        {
            "product_id": str(row.id),
            "name": row.name,
            "units": int(row.units),
            "revenue": _money(row.revenue),
            "orders": row.orders,
        }
        for row in rows
    ]


def low_stock(*, limit: int = LOW_STOCK_ROWS) -> list[dict]:
    """Active products at or below the low-stock threshold, fewest available first."""
    available = Product.inventory_count - Product.reserved_count
    query = (
        products.get_all(active=True, low_stock=True).order_by(available, Product.name).limit(limit)
    )
    return [
        {
            "product_id": str(p.id),
            "name": p.name,
            "available": p.available,
            "inventory_count": p.inventory_count,
            "reserved_count": p.reserved_count,
        }
        for p in db.session.scalars(query)
    ]


def summary(*, days: int = 30, now: datetime | None = None) -> dict:
    """Everything the analytics page draws, for the last ``days`` days (1 to 366)."""
    days = max(1, min(int(days), MAX_DAYS))
    now = now or utcnow()
    first_day = now.date() - timedelta(days=days - 1)
    since = datetime.combine(first_day, time.min, tzinfo=now.tzinfo)
    series = per_day(since=since, first_day=first_day, days=days)
    statuses = by_status(since=since)
    orders = sum(statuses.values())
    revenue = sum((Decimal(day["revenue"]) for day in series), Decimal("0"))
    standing = orders - sum(statuses[s.value] for s in NOT_REVENUE)
    return {
        "days": days,
        "from": first_day.isoformat(),
        "to": now.date().isoformat(),
        "totals": {
            "orders": orders,
            "revenue": _money(revenue),
            "average_order_value": _money(revenue / standing) if standing else _money(0),
        },
        "per_day": series,
        "by_status": statuses,
        "placed_to_delivered": placed_to_delivered(since=since),
        "top_products": top_products(since=since),
        "low_stock": low_stock(),
        "low_stock_threshold": products.low_stock_threshold(),
    }
