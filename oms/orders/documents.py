"""The paper the warehouse works from: a packing slip per order and a pick list for a
selection of orders (units grouped by product, with the orders each unit is for). Read-only;
the print views render what these return."""

from __future__ import annotations

import uuid
from collections import defaultdict

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from oms.auth.models import User
from oms.errors import ValidationError
from oms.extensions import db
from oms.orders import carriers, queries
from oms.orders.enums import OrderStatus
from oms.orders.models import Order, OrderItem

MAX_PICK_ORDERS = 500
# orders whose units are still to be taken from the shelves
TO_PICK = frozenset({OrderStatus.PLACED})


def packing_slip(*, order_id: uuid.UUID, actor: User) -> dict:
    """What goes in the box: the order, where it goes, its lines (no prices: a slip may travel
    with a gift) and the shipment if it is recorded. Internal notes never appear on it."""
    order = queries.get(order_id=order_id, actor=actor)
    return {
        "order": order,
        "lines": sorted(order.items, key=lambda item: item.product.name.lower()),
        "units": sum(item.quantity for item in order.items),
        "carrier_name": carriers.name_of(order.carrier),
    }


def parse_ids(raw: str | None) -> list[uuid.UUID]:
    """``"id,id,..."`` (``?ids=``) as order ids, duplicates dropped; a 422 naming ``ids`` when
    empty, malformed or too many."""
    parts = [part.strip() for part in (raw or "").split(",") if part.strip()]
    if not parts:
        raise ValidationError(
            "Choose the orders for the pick list.",
            details={"ids": ["Give one or more order ids, separated by commas."]},
        )
    try:
        ids = list(dict.fromkeys(uuid.UUID(part) for part in parts))
    except ValueError as exc:
        raise ValidationError(
            "The pick list names an order id that is not one.",
            details={"ids": ["Each id must be an order id (a UUID)."]},
        ) from exc
    if len(ids) > MAX_PICK_ORDERS:
        raise ValidationError(
            "Too many orders for one pick list.",
            details={"ids": [f"At most {MAX_PICK_ORDERS} orders at a time."]},
        )
    return ids


def pick_list(*, order_ids: list[uuid.UUID]) -> dict:
    """Units to pick for the placed orders among ``order_ids``, one row per product (by name)
    with the orders that need it; orders not waiting to be picked are listed apart with their
    status, and ids that match no order are counted."""
    orders = list(
        db.session.scalars(
            sa.select(Order)
            .where(Order.id.in_(order_ids))
            .options(
                selectinload(Order.items).selectinload(OrderItem.product),
                selectinload(Order.customer),
            )
            .order_by(Order.number)
        )
    )
    to_pick = [o for o in orders if o.status in TO_PICK]
    rows: dict[uuid.UUID, dict] = {}
    for order in to_pick:
        for item in order.items:
            row = rows.setdefault(
                item.product_id,
                {"product": item.product, "units": 0, "orders": defaultdict(int)},
            )
            row["units"] += item.quantity
            row["orders"][order.number] += item.quantity
    products = sorted(rows.values(), key=lambda row: row["product"].name.lower())
    for row in products:
        row["orders"] = sorted(row["orders"].items())
    return {
        "products": products,
        "orders": to_pick,
        "left_out": [o for o in orders if o.status not in TO_PICK],
        "missing": len(order_ids) - len(orders),
        "units": sum(row["units"] for row in products),
    }
