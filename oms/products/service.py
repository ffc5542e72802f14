"""Product catalogue use cases: list, read, create, update and delete products.

Every change of a product's stock (creation, a new ``inventory_count``, a change of ``active``)
publishes ``product.stock_changed`` after the commit, and ``inventory.low_stock`` when the units
still available are at or below ``OMS_LOW_STOCK_THRESHOLD``: see
:func:`oms.products.events.publish_stock`.

Deleting a product that appears on any order line only deactivates it, because the order lines
must keep pointing at it (``order_items.product_id`` is ``ON DELETE RESTRICT``).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import cast

import sqlalchemy as sa

from oms.audit import service as audit
from oms.db import transaction
from oms.errors import NotFoundError, ValidationError
from oms.extensions import db
from oms.orders.models import OrderItem
from oms.products.errors import StockBelowReserved

# re-exported: callers of the service (schemas, analytics, inventory) reach them here too
from oms.products.events import is_low_stock as is_low_stock
from oms.products.events import low_stock_threshold as low_stock_threshold
from oms.products.events import publish_stock as publish_stock
from oms.products.models import Product
from oms.search import PRODUCT_NAME_TSVECTOR, matches

MAX_UNITS = 2**31 - 1  # products.inventory_count is an INTEGER

# Distinguishes "not given" from an explicit None (which clears a nullable field).
_UNSET: object = object()


def _key(product_id: uuid.UUID | str) -> uuid.UUID:
    try:
        return uuid.UUID(str(product_id))
    except ValueError as exc:
        raise NotFoundError("No such product.") from exc


def get(*, product_id: uuid.UUID | str, active_only: bool = False) -> Product:
    """The product with this id, or NotFoundError (also for an inactive one if ``active_only``)."""
    product = db.session.get(Product, _key(product_id))
    if product is None or (active_only and not product.active):
        raise NotFoundError("No such product.")
    return product


def _get_for_update(product_id: uuid.UUID | str, *, for_delete: bool = False) -> Product:
    """The product row locked until the end of the transaction, with fresh values.

    Changes take ``FOR NO KEY UPDATE`` (new order lines referencing the product go on);
    a delete takes ``FOR UPDATE``, which waits for, and holds off, new order lines."""
    product = db.session.scalar(
        sa.select(Product)
        .where(Product.id == _key(product_id))
        .with_for_update(key_share=not for_delete)
        .execution_options(populate_existing=True)
    )
    if product is None:
        raise NotFoundError("No such product.")
    return product


def get_all(
    *,
    q: str | None = None,
    active: bool | None = None,
    low_stock: bool | None = None,
    active_only: bool = False,
) -> sa.Select:
    """Products matching the filters (a query to page): name search, activity, low stock;
    ``active_only`` limits them to what customers may see, whatever ``active`` says."""
    query = sa.select(Product)
    if active_only:
        query = query.where(Product.active.is_(True))
    if q and q.strip():
        query = query.where(matches(PRODUCT_NAME_TSVECTOR, [Product.name], q))
    if active is not None:
        query = query.where(Product.active.is_(active))
    if low_stock is not None:
        available = Product.inventory_count - Product.reserved_count
        threshold = low_stock_threshold()
        query = query.where(available <= threshold if low_stock else available > threshold)
    return query


def create(
    *,
    name: str,
    price: Decimal,
    description: str | None = None,
    inventory_count: int = 0,
    active: bool = True,
) -> Product:
    """Create a product with its initial stock and publish that stock."""
    with transaction() as session:
        product = Product(
            name=name.strip(),
            description=description,
            price=price,
            inventory_count=inventory_count,
            reserved_count=0,
            active=active,
        )
        session.add(product)
        session.flush()
        audit.record(
            "product.created",
            entity_type="product",
            entity_id=product.id,
            after=audit.snapshot(product, audit.PRODUCT_FIELDS),
        )
        publish_stock(product)
    return product


def update(
    *,
    product_id: uuid.UUID | str,
    name: str | None = None,
    description: str | object | None = _UNSET,
    price: Decimal | None = None,
    inventory_count: int | None = None,
    add_units: int | None = None,
    active: bool | None = None,
) -> Product:
    """Change the given fields. Stock may not fall below what is reserved (StockBelowReserved); the
    row is locked first so a concurrent reservation cannot slip in between check and write.
    ``add_units`` restocks relative to the locked count, so two restocks at once both count."""
    with transaction():
        product = _get_for_update(product_id)
        was_active = product.active
        before = audit.snapshot(product, audit.PRODUCT_FIELDS)
        if add_units is not None:
            inventory_count = product.inventory_count + add_units
            if inventory_count > MAX_UNITS:
                raise ValidationError(
                    "The stock would pass the largest count a product can hold.",
                    details={"add_units": [f"At most {MAX_UNITS - product.inventory_count} more."]},
                )
        if inventory_count is not None and inventory_count < product.reserved_count:
            raise StockBelowReserved(reserved=product.reserved_count, requested=inventory_count)
        stock_changed = (
            inventory_count is not None and inventory_count != product.inventory_count
        ) or (active is not None and active != product.active)
        if name is not None:
            product.name = name.strip()
        if description is not _UNSET:
            product.description = cast("str | None", description)
        if price is not None:
            product.price = price
        if inventory_count is not None:
            product.inventory_count = inventory_count
        if active is not None:
            product.active = active
        audit.record_change(
            "product.updated",
            entity_type="product",
            entity_id=product.id,
            before=before,
            after=audit.snapshot(product, audit.PRODUCT_FIELDS),
        )
        if stock_changed:
            publish_stock(product, was_active=was_active)
    return product


def delete(*, product_id: uuid.UUID | str) -> Product | None:
    """Remove the product, or deactivate it if any order line refers to it.

    Returns the deactivated product, or None when it was removed. The row lock makes a
    concurrent order line for this product wait (its foreign key check needs a share lock),
    so the check below cannot miss one."""
    with transaction() as session:
        product = _get_for_update(product_id, for_delete=True)
        on_orders = session.scalar(sa.select(sa.exists().where(OrderItem.product_id == product.id)))
        before = audit.snapshot(product, audit.PRODUCT_FIELDS)
        if not on_orders:
            audit.record(
                "product.deleted", entity_type="product", entity_id=product.id, before=before
            )
            session.delete(product)
            return None
        if product.active:
            audit.record_change(
                "product.deactivated",
                entity_type="product",
                entity_id=product.id,
                before=before,
                after={**before, "active": False},
            )
            product.active = False
            publish_stock(product, was_active=True)
    return product
