"""Stock arithmetic on products: lock, check, reserve, release, take out.

It knows products and units, never orders: the order use cases (``oms.orders.actions``) decide
which units an order holds and call these in their own transaction.

Locking discipline, the same everywhere so transactions never wait on each other in a cycle:
order rows first (the caller), then product rows in ascending id order, all with
``FOR NO KEY UPDATE``. That mode does not conflict with the key-share locks PostgreSQL takes
when a new order line references a product, so submissions (whose lines come in any order)
never queue behind, or deadlock with, a reservation. The check constraint
``reserved_count <= inventory_count`` is the last line of defence; the checks here refuse first.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from typing import Protocol

import sqlalchemy as sa

from oms.extensions import db
from oms.inventory.errors import InsufficientStock, Shortage
from oms.products.events import publish_stock
from oms.products.models import Product


class Line(Protocol):
    """Anything that holds units of a product (an order line)."""

    product_id: uuid.UUID
    quantity: int


def units_by_product(lines: Iterable[Line]) -> dict[uuid.UUID, int]:
    """Units per product over ``lines`` (a product on two lines counts once, summed)."""
    units: dict[uuid.UUID, int] = defaultdict(int)
    for line in lines:
        units[line.product_id] += line.quantity
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
    """The lines of ``units`` that ask for more than is available now."""
    return [
        Shortage(
            product_id=pid, name=products[pid].name, wanted=n, available=products[pid].available
        )
        for pid, n in sorted(units.items())
        if products[pid].available < n
    ]


def refuse_shortages(units: dict[uuid.UUID, int], products: dict[uuid.UUID, Product]) -> None:
    """Raise :class:`InsufficientStock` if any line does not fit."""
    shortages = find_shortages(units, products)
    if shortages:
        raise InsufficientStock(shortages)


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


def publish_changed(products: Iterable[Product]) -> None:
    """Announce the new stock of these products after the commit."""
    for product in products:
        publish_stock(product)
