"""The order list's rows without ORM objects: one Core SELECT of exactly the columns a list
item needs (the order and its customer) and one query for the page's lines, built into the
plain dicts that :class:`oms.orders.schemas.OrderSchema` would dump from the ORM objects.

A list page of 50 orders built ~400 ORM objects (orders, lines, products, customers) and ran
the schema over each of them: most of a list request's time. The JSON is the same, field for
field (``tests/orders/test_list_rows.py`` holds the two together)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import sqlalchemy as sa

from oms.auth.enums import UserRole
from oms.auth.models import User
from oms.customers.models import Customer
from oms.db import is_postgresql
from oms.extensions import db
from oms.orders import carriers
from oms.orders.enums import OrderStatus
from oms.orders.models import Order, OrderItem
from oms.pagination import Column
from oms.products.models import Product
from workflows.order_lifecycle import EVENT_TARGETS, allowed_events

_CENT = Decimal("0.01")


def _uuid_text(column: Column) -> Column:
    """A UUID column as the row builder reads it: on PostgreSQL cast to text in SQL (psycopg2
    would build a ``uuid.UUID`` of every value, only for it to be written back as text; some
    600 a page), elsewhere as stored (the builder writes it with ``str``)."""
    return sa.cast(column, sa.Text).label(str(column.key)) if is_postgresql() else column


def select_rows(query: sa.Select) -> sa.Select:
    """``query`` (a select of orders, filtered) selecting the list item's columns instead,
    labelled as :func:`build` reads them."""
    columns = (
        _uuid_text(Order.id),
        Order.number,
        Order.status,
        _uuid_text(Order.customer_id),
        _uuid_text(Order.created_by_user_id),
        Order.payment_collected,
        Order.total_amount,
        Order.shipping_address,
        Order.created_at,
        Order.updated_at,
        Order.status_updated_at,
        _uuid_text(Order.status_updated_by),
        Order.carrier,
        Order.tracking_number,
        Customer.email.label("customer_email"),
        Customer.first_name.label("customer_first_name"),
        Customer.last_name.label("customer_last_name"),
    )
    return query.with_only_columns(*columns).join(Customer, Customer.id == Order.customer_id)


def _money(value: Decimal) -> str:
    # as marshmallow's Decimal(places=2, as_string=True) writes it
    return format(value.quantize(_CENT, rounding=ROUND_HALF_EVEN), "f")


def _moment(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite's, stored in UTC (as oms.extensions makes ORM objects)
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


def _uuid(value: uuid.UUID | str | None) -> str | None:
    return str(value) if value is not None else None


def _lines_of(order_ids: Sequence[Any]) -> dict[str, list[dict]]:
    """The lines of these orders (ids as the rows hold them) with their product names, in the
    order they were added, by order id as text."""
    lines: dict[str, list[dict]] = {str(order_id): [] for order_id in order_ids}
    if not order_ids:
        return lines
    query = (
        sa.select(
            _uuid_text(OrderItem.order_id),
            _uuid_text(OrderItem.id),
            _uuid_text(OrderItem.product_id),
            Product.name,
            OrderItem.quantity,
            OrderItem.unit_price,
            OrderItem.total_price,
        )
        .join(Product, Product.id == OrderItem.product_id)
        .where(OrderItem.order_id.in_(order_ids))
        .order_by(OrderItem.created_at, OrderItem.id)
    )
    rows = db.session.connection().execute(query).all()
    for order_id, line_id, product_id, name, quantity, unit_price, total_price in rows:
        lines[str(order_id)].append(
            {
                "id": str(line_id),
                "product_id": str(product_id),
                "product_name": name,
                "quantity": quantity,
                "unit_price": _money(unit_price),
                "total_price": _money(total_price),
            }
        )
    return lines


class _AllowedStatuses:
    """``lifecycle.allowed_statuses`` for one actor, computed once per (status, ownership)."""

    def __init__(self, actor: User | None):
        self.role = actor.role if actor else None
        own = actor.customer if actor is not None and self.role == UserRole.CUSTOMER else None
        self.own_customer_id = str(own.id) if own is not None else None
        self.known: dict[tuple[OrderStatus, bool], list[str]] = {}

    def __call__(self, status: OrderStatus, customer_id: str) -> list[str]:
        owner = self.own_customer_id is not None and self.own_customer_id == customer_id
        key = (status, owner)
        if key not in self.known:
            events = allowed_events(status, actor_role=self.role, is_owner=owner)
            self.known[key] = [EVENT_TARGETS[e].value for e in events]
        return list(self.known[key])


def build(rows: Sequence[Any], actor: User | None) -> list[dict]:
    """The list items of ``rows`` (of :func:`select_rows`) as ``actor`` sees them."""
    lines = _lines_of([row.id for row in rows])
    allowed = _AllowedStatuses(actor)
    items = []
    for row in rows:
        order_id, customer_id = str(row.id), str(row.customer_id)
        order_lines = lines[order_id]
        items.append(
            {
                "id": order_id,
                "number": row.number,
                "status": row.status.value,
                "customer": {
                    "id": customer_id,
                    "email": row.customer_email,
                    "name": f"{row.customer_first_name} {row.customer_last_name}".strip(),
                },
                "customer_id": customer_id,
                "created_by_user_id": _uuid(row.created_by_user_id),
                "payment_collected": row.payment_collected,
                "total_amount": _money(row.total_amount),
                "item_count": sum(line["quantity"] for line in order_lines),
                "shipping_address": row.shipping_address,
                "items": order_lines,
                "allowed_statuses": allowed(row.status, customer_id),
                "created_at": _moment(row.created_at),
                "updated_at": _moment(row.updated_at),
                "status_updated_at": _moment(row.status_updated_at),
                "status_updated_by": _uuid(row.status_updated_by),
                "carrier": row.carrier,
                "carrier_name": carriers.name_of(row.carrier),
                "tracking_number": row.tracking_number,
                "tracking_url": carriers.tracking_url(row.carrier, row.tracking_number),
            }
        )
    return items
