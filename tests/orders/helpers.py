"""Shared set-up for order tests."""

from __future__ import annotations

from oms.auth.enums import UserRole
from oms.extensions import db
from oms.orders import actions
from oms.orders.enums import OrderStatus
from oms.products.models import Product
from tests.factories import make_order, make_user


def order_in(status: OrderStatus, customer_user, product, quantity: int = 2):
    """An order of ``customer_user`` for ``quantity`` of ``product`` that went through the real
    flow to ``status`` (a rejection comes from stock vanishing before the reservation)."""
    if status == OrderStatus.REJECTED:
        order = make_order(customer_user, [(product, quantity)], status=OrderStatus.PENDING)
        db.session.execute(
            db.update(Product)
            .where(Product.id == product.id)
            .values(inventory_count=Product.reserved_count)
        )
        db.session.commit()
        actions.reserve_orders(order_ids=[order.id])
        db.session.refresh(order)
        assert order.status == OrderStatus.REJECTED
        return order
    return make_order(customer_user, [(product, quantity)], status=status)


def customer_pair():
    """Two customers with logins: the owner and someone else."""
    return make_user(UserRole.CUSTOMER), make_user(UserRole.CUSTOMER)
