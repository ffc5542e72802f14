"""What the products domain publishes: a product's stock and availability, after the commit.

The stock arithmetic (oms.inventory) and the catalogue use cases (oms.products.service) both
announce stock through :func:`publish_stock`; it imports no other domain, so either may use it.
"""

from __future__ import annotations

from flask import current_app

from oms import events
from oms.products.models import Product


def low_stock_threshold() -> int:
    """Units available at or below which a product counts as low on stock."""
    return current_app.config["OMS_LOW_STOCK_THRESHOLD"]


def is_low_stock(product: Product) -> bool:
    """Whether the product's available units are at or below the low-stock threshold."""
    return product.available <= low_stock_threshold()


def publish_stock(product: Product, *, was_active: bool = False) -> None:
    """Publish the product's stock after the current commit: ``product.stock_changed`` with the
    counters (staff), ``inventory.low_stock`` when due (staff), and ``product.availability``
    (everyone logged in: the order form) for a product on sale, or one just taken off sale.

    Call it inside the transaction that changed the stock, after the change: the values are
    read now, and the events leave only if that transaction commits."""
    events.publish(
        "product.stock_changed",
        product_id=str(product.id),
        name=product.name,
        inventory_count=product.inventory_count,
        reserved_count=product.reserved_count,
        available=product.available,
        active=product.active,
    )
    if is_low_stock(product):
        events.publish(
            "inventory.low_stock",
            product_id=str(product.id),
            name=product.name,
            available=product.available,
        )
    if product.active or was_active:
        events.publish(
            "product.availability",
            product_id=str(product.id),
            name=product.name,
            available=product.available,
            active=product.active,
        )
