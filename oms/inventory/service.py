"""Stock effects of the order lifecycle: reserve (worker), release (cancel), take out (ship).

Locking discipline, the same everywhere so transactions never wait on each other in a cycle:
order rows first, then product rows in ascending id order, all with ``FOR NO KEY UPDATE``.
That mode does not conflict with the key-share locks PostgreSQL takes when a new order line
references a product, so submissions (whose lines come in any order) never queue behind, or
deadlock with, a reservation. The
reservation claims pending orders with ``SKIP LOCKED``, so several workers share a backlog
without blocking each other, and one transaction can take a whole batch (flash sales).
The check constraint ``reserved_count <= inventory_count`` is the last line of defence; the
checks here refuse first.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from oms.db import retry_on_conflict, transaction
from oms.errors import ConflictError
from oms.extensions import db
from oms.orders import lifecycle
from oms.orders.enums import OrderStatus
from oms.orders.models import Order, OrderItem
from oms.products.models import Product


@dataclass(frozen=True)
class Shortage:
    """Why a line cannot be reserved."""

    product_id: uuid.UUID
    name: str
    wanted: int
    available: int

    def describe(self) -> str:
        return (
            f"Not enough stock for {self.name}: {self.wanted} wanted, {self.available} available."
        )

    def as_dict(self) -> dict:
        return {
            "product_id": str(self.product_id),
            "name": self.name,
            "wanted": self.wanted,
            "available": self.available,
        }


class InsufficientStockError(ConflictError):
    """Some lines ask for more than is available; details list each shortage."""

    code = "insufficient_stock"

    def __init__(self, shortages: list[Shortage]):
        super().__init__(
            " ".join(s.describe() for s in shortages),
            details={"shortages": [s.as_dict() for s in shortages]},
        )
        self.shortages = shortages


def publish_changed(products: Iterable[Product]) -> None:
    """Announce the new stock of these products after the commit."""
    from oms.products.service import publish_stock

    for product in products:
        publish_stock(product)


def units_by_product(items: Iterable[OrderItem]) -> dict[uuid.UUID, int]:
    units: dict[uuid.UUID, int] = defaultdict(int)
    for item in items:
        units[item.product_id] += item.quantity
    return dict(units)


def lock_products(product_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Product]:
    """Lock these product rows in ascending id order (the order every transaction uses)."""
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    rows = db.session.scalars(
        sa.select(Product)
        .where(Product.id.in_(ids))
        .order_by(Product.id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).all()
    return {p.id: p for p in rows}


def find_shortages(
    units: dict[uuid.UUID, int], products: dict[uuid.UUID, Product]
) -> list[Shortage]:
    return [
        Shortage(
            product_id=pid, name=products[pid].name, wanted=n, available=products[pid].available
        )
        for pid, n in sorted(units.items())
        if products[pid].available < n
    ]


def reserve(units: dict[uuid.UUID, int], products: dict[uuid.UUID, Product]) -> None:
    """Raise ``reserved_count`` for every line; the caller checked there is no shortage."""
    for pid, n in units.items():
        products[pid].reserved_count += n


def release(units: dict[uuid.UUID, int], products: dict[uuid.UUID, Product]) -> None:
    """Give a reservation back (cancel, or lines changed)."""
    for pid, n in units.items():
        products[pid].reserved_count -= n


def take_out(units: dict[uuid.UUID, int], products: dict[uuid.UUID, Product]) -> None:
    """The units leave the building (ship): on-hand and reserved both fall."""
    for pid, n in units.items():
        products[pid].reserved_count -= n
        products[pid].inventory_count -= n


@retry_on_conflict
def reserve_pending_orders(
    *, order_ids: list[uuid.UUID] | None = None, limit: int = 100
) -> list[tuple[uuid.UUID, OrderStatus]]:
    """Reserve stock for pending orders in one transaction: each order all-or-nothing, placed
    when every line fits, rejected (with the reason) otherwise. Orders locked by another
    worker are skipped; orders no longer pending are ignored, so running twice changes
    nothing. Returns (order id, new status) for each order decided."""
    with transaction() as session:
        query = (
            sa.select(Order)
            .where(Order.status == OrderStatus.PENDING)
            .order_by(Order.created_at, Order.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=Order, key_share=True)
            .execution_options(populate_existing=True)
        )
        if order_ids is not None:
            query = query.where(Order.id.in_(order_ids))
        orders = session.scalars(query).all()
        if not orders:
            return []
        items = session.scalars(
            sa.select(OrderItem).where(OrderItem.order_id.in_([o.id for o in orders]))
        ).all()
        lines: dict[uuid.UUID, list[OrderItem]] = defaultdict(list)
        for item in items:
            lines[item.order_id].append(item)
        products = lock_products(item.product_id for item in items)
        decided = []
        changed: dict[uuid.UUID, Product] = {}
        for order in orders:  # first come, first served
            units = units_by_product(lines[order.id])
            shortages = find_shortages(units, products)
            if shortages:
                reason = " ".join(s.describe() for s in shortages)
                lifecycle.transition(order, "reject", actor=None, notes=reason)
            else:
                reserve(units, products)
                changed.update({pid: products[pid] for pid in units})
                lifecycle.transition(order, "reserve", actor=None, notes=None)
            decided.append((order.id, order.status))
        publish_changed(changed.values())
    return decided
