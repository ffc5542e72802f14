"""Imports every model so that Alembic and the mappers see the whole schema."""

from oms.auth.models import RevokedToken, User
from oms.customers.models import Customer
from oms.orders.models import Order, OrderItem, OrderStatusHistory
from oms.products.models import Product

__all__ = [
    "Customer",
    "Order",
    "OrderItem",
    "OrderStatusHistory",
    "Product",
    "RevokedToken",
    "User",
]
