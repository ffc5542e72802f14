"""The stock reconciler: every product's ``reserved_count`` against the units its placed and
picked orders hold (the invariant of ARCHITECTURE.md), drift reported and, when allowed,
repaired.

It lives in ``oms.ops`` because it reads order tables, which the inventory package may not.
The scan is one statement, so counters and order statuses come from one snapshot (every
transaction that moves an order's stock changes both in one commit): a product it lists has
really drifted. A repair locks the product row (the inventory service's lock, the one every
reservation, release and shipment takes) and counts the units again under it, so it writes
the true figure even while orders are reserved at the same moment, never a stale one.

``inventory_count`` has no stock movements to compare with (none are kept); its bounds
(``0 <= reserved_count <= inventory_count``) are check constraints the database enforces.
A drift whose true reservation exceeds the stock on hand is reported and never repaired:
that needs a person to count the shelf.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass

import sqlalchemy as sa
from flask import current_app

from oms import events
from oms.audit import service as audit
from oms.db import transaction
from oms.extensions import db
from oms.inventory import service as inventory
from oms.orders.enums import OrderStatus
from oms.orders.models import Order, OrderItem
from oms.products.models import Product
from oms.redis_store import redis_client, redis_key

HOLDING = (OrderStatus.PLACED, OrderStatus.PICKED)
_local_state: dict = {}  # embedded default: no Redis


@dataclass(frozen=True)
class Drift:
    """One product whose counter differs from the units its orders hold."""

    product_id: str
    name: str
    reserved_count: int
    expected: int
    inventory_count: int
    repaired: bool = False

    @property
    def units(self) -> int:
        """How far off the counter is, either way."""
        return abs(self.reserved_count - self.expected)


def _held_units(product_ids: list[uuid.UUID] | None = None) -> sa.Select:
    query = (
        sa.select(OrderItem.product_id, sa.func.sum(OrderItem.quantity).label("units"))
        .join(Order, Order.id == OrderItem.order_id)
        .where(Order.status.in_(HOLDING))
        .group_by(OrderItem.product_id)
    )
    if product_ids is not None:
        query = query.where(OrderItem.product_id.in_(product_ids))
    return query


def find_drift() -> list[Drift]:
    """Every product whose ``reserved_count`` is not the units of its placed and picked orders
    (one statement: one snapshot)."""
    held = _held_units().subquery()
    expected = sa.func.coalesce(held.c.units, 0)
    rows = db.session.execute(
        sa.select(
            Product.id, Product.name, Product.reserved_count, expected, Product.inventory_count
        )
        .outerjoin(held, held.c.product_id == Product.id)
        .where(Product.reserved_count != expected)
        .order_by(Product.id)
    ).all()
    return [
        Drift(str(pid), name, reserved, int(units), stock)
        for pid, name, reserved, units, stock in rows
    ]


def _repair_one(product_id: uuid.UUID) -> Drift | None:
    """Set one product's counter to the units its orders hold, under its row lock, with an
    audit entry in the same transaction; None when it is right by now."""
    with transaction():
        product = inventory.lock_products([product_id]).get(product_id)
        if product is None:
            return None
        units = db.session.execute(_held_units([product_id])).one_or_none()
        expected = int(units.units) if units else 0
        drift = Drift(
            str(product.id), product.name, product.reserved_count, expected, product.inventory_count
        )
        if product.reserved_count == expected:
            return None
        if expected > product.inventory_count:
            return drift  # a repair would break the stock bounds: a person counts the shelf
        before = {"reserved_count": product.reserved_count}
        product.reserved_count = expected
        audit.record(
            "stock.reconciled",
            entity_type="product",
            entity_id=product.id,
            before=before,
            after={"reserved_count": expected},
        )
        inventory.publish_changed([product])
        _alert(drift, repaired=True)
        return Drift(**{**asdict(drift), "repaired": True})


def _alert(drift: Drift, *, repaired: bool) -> None:
    events.publish(
        "ops.stock_drift",
        product_id=drift.product_id,
        name=drift.name,
        reserved_count=drift.reserved_count,
        expected_reserved=drift.expected,
        inventory_count=drift.inventory_count,
        repaired=repaired,
    )


def reconcile(*, repair: bool | None = None) -> dict:
    """Find drift, alert admins about drift not reported by the last run, repair it when
    ``repair`` (default: the ``OMS_RECONCILE_REPAIR`` setting), and keep the figures for
    ``/metrics``."""
    if repair is None:
        repair = current_app.config["OMS_RECONCILE_REPAIR"]
    found = find_drift()
    if repair:
        repaired = [_repair_one(uuid.UUID(d.product_id)) for d in found]
        found = [d for d in repaired if d is not None]
    previous = last_run().get("drift", {})
    with transaction():
        for d in found:
            if not d.repaired and previous.get(d.product_id) != [d.reserved_count, d.expected]:
                _alert(d, repaired=False)
    result = {
        "checked_at": time.time(),
        "products": sum(1 for d in found if not d.repaired),
        "units": sum(d.units for d in found if not d.repaired),
        "repaired": sum(1 for d in found if d.repaired),
        "drift": {d.product_id: [d.reserved_count, d.expected] for d in found if not d.repaired},
    }
    _remember(result)
    return {**result, "items": [asdict(d) | {"units": d.units} for d in found]}


def _remember(result: dict) -> None:
    client = redis_client()
    if client is None:
        _local_state["last"] = result
        _local_state["repairs"] = _local_state.get("repairs", 0) + result["repaired"]
        return
    pipe = client.pipeline()
    pipe.set(redis_key("ops", "stock_drift"), json.dumps(result))
    pipe.incrby(redis_key("ops", "stock_repairs"), result["repaired"])
    pipe.execute()


def last_run() -> dict:
    """The figures of the last reconcile (empty before the first), and the repairs so far."""
    client = redis_client()
    if client is None:
        return {**_local_state.get("last", {}), "repairs_total": _local_state.get("repairs", 0)}
    raw, repairs = client.mget(redis_key("ops", "stock_drift"), redis_key("ops", "stock_repairs"))
    return {**(json.loads(raw) if raw else {}), "repairs_total": int(repairs or 0)}
