"""Aggregates for the admin dashboard, computed by the database (PostgreSQL or SQLite alike).

Every figure is one ``GROUP BY`` query over the orders created in a period of UTC calendar
days (the last ``days`` days, today included, or ``start`` to ``end`` inclusive), and the
period's totals are set beside those of the period of the same length just before it.
Revenue counts the orders that still stand: rejected and cancelled orders are counted as
orders but bring no revenue. The time from placed to delivered is the average over the orders
delivered in the period, from their status history.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import sqlalchemy as sa

from oms.db import is_postgresql, utcnow
from oms.errors import ValidationError
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


def per_day(*, since: datetime, until: datetime, first_day: date, days: int) -> list[dict]:
    """Orders and revenue for each day of the period, days without orders included."""
    day = _day(Order.created_at).label("day")
    revenue = sa.func.sum(
        sa.case((Order.status.in_(NOT_REVENUE), 0), else_=Order.total_amount)
    ).label("revenue")
    rows = db.session.execute(
        sa.select(day, sa.func.count().label("orders"), revenue)
        .where(Order.created_at >= since, Order.created_at < until)
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


def by_status(*, since: datetime, until: datetime) -> dict[str, int]:
    """How many of the period's orders are in each status now (every status listed)."""
    counts = dict(
        db.session.execute(
            sa.select(Order.status, sa.func.count())
            .where(Order.created_at >= since, Order.created_at < until)
            .group_by(Order.status)
        ).all()
    )
    return {status.value: counts.get(status, 0) for status in OrderStatus}


def placed_to_delivered(*, since: datetime, until: datetime) -> dict:
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
        .having(delivered_at >= since, delivered_at < until)
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


def top_products(*, since: datetime, until: datetime, limit: int = TOP_PRODUCTS) -> list[dict]:
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
        .where(
            Order.created_at >= since,
            Order.created_at < until,
            Order.status.not_in(NOT_REVENUE),
        )
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


def period(
    *,
    days: int | None = None,
    start: date | None = None,
    end: date | None = None,
    today: date,
) -> tuple[date, date]:
    """The period's first and last UTC day: the last ``days`` days (today included), or
    ``start`` to ``end``. A range that is reversed, longer than ``MAX_DAYS``, half given, given
    with ``days`` or starting after today is a 422 naming the parameter."""
    if start is None and end is None:
        count = 30 if days is None else days
        if not 1 <= count <= MAX_DAYS:
            raise ValidationError(
                "Choose another period.", details={"days": [f"Between 1 and {MAX_DAYS}."]}
            )
        return today - timedelta(days=count - 1), today
    if days is not None:
        raise ValidationError(
            "Give either days or a date range, not both.",
            details={"days": ["Leave this out when giving from and to."]},
        )
    if start is None or end is None:
        missing = "from" if start is None else "to"
        raise ValidationError(
            "A date range needs both ends.", details={missing: ["Give both from and to."]}
        )
    if end < start:
        raise ValidationError(
            "The range ends before it starts.", details={"to": ["Must be on or after from."]}
        )
    if start > today:
        raise ValidationError(
            "The range starts in the future.", details={"from": ["Must be today or earlier."]}
        )
    if (end - start).days + 1 > MAX_DAYS:
        raise ValidationError(
            "The range is too long.", details={"to": [f"At most {MAX_DAYS} days after from."]}
        )
    return start, end


def _bounds(first_day: date, last_day: date, tz) -> tuple[datetime, datetime]:
    return (
        datetime.combine(first_day, time.min, tzinfo=tz),
        datetime.combine(last_day + timedelta(days=1), time.min, tzinfo=tz),
    )


def _totals(series: list[dict], statuses: dict[str, int]) -> dict:
    orders = sum(statuses.values())
    revenue = sum((Decimal(day["revenue"]) for day in series), Decimal("0"))
    standing = orders - sum(statuses[s.value] for s in NOT_REVENUE)
    return {
        "orders": orders,
        "revenue": _money(revenue),
        "average_order_value": _money(revenue / standing) if standing else _money(0),
    }


def _change(now: str | int, before: str | int) -> float | None:
    """Percent change from ``before`` to ``now`` (one decimal); None when before is zero."""
    old, new = Decimal(str(before)), Decimal(str(now))
    if old == 0:
        return None
    return float(round((new - old) / old * 100, 1))


def first_order_day() -> date | None:
    """The UTC day of the first order ever (None: no orders yet), so an empty period can say
    why it is empty."""
    first = db.session.scalar(sa.select(sa.func.min(Order.created_at)))
    if first is None:
        return None
    if isinstance(first, datetime):  # SQLite hands back naive UTC, PostgreSQL an aware time
        return (first.astimezone(UTC) if first.tzinfo else first).date()
    return _as_date(first)


def summary(
    *,
    days: int | None = None,
    start: date | None = None,
    end: date | None = None,
    now: datetime | None = None,
) -> dict:
    """Everything the analytics page draws for the period (see :func:`period`), with the
    previous period of the same length beside it (``previous`` and ``change`` in percent)."""
    now = now or utcnow()
    first_day, last_day = period(days=days, start=start, end=end, today=now.date())
    count = (last_day - first_day).days + 1
    since, until = _bounds(first_day, last_day, now.tzinfo)
    series = per_day(since=since, until=until, first_day=first_day, days=count)
    statuses = by_status(since=since, until=until)
    totals = _totals(series, statuses)

    prev_first, prev_last = first_day - timedelta(days=count), first_day - timedelta(days=1)
    prev_since, prev_until = _bounds(prev_first, prev_last, now.tzinfo)
    prev_series = per_day(since=prev_since, until=prev_until, first_day=prev_first, days=count)
    prev_totals = _totals(prev_series, by_status(since=prev_since, until=prev_until))
    first = first_order_day()
    return {
        "days": count,
        "from": first_day.isoformat(),
        "to": last_day.isoformat(),
        "totals": totals,
        "previous": {
            "from": prev_first.isoformat(),
            "to": prev_last.isoformat(),
            "totals": prev_totals,
            "per_day": prev_series,
        },
        "change": {key: _change(totals[key], prev_totals[key]) for key in totals},
        "first_order_date": first.isoformat() if first else None,
        "per_day": series,
        "by_status": statuses,
        "placed_to_delivered": placed_to_delivered(since=since, until=until),
        "top_products": top_products(since=since, until=until),
        "low_stock": low_stock(),
        "low_stock_threshold": products.low_stock_threshold(),
    }
