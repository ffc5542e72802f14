"""Order statuses. Which transitions are allowed is decided only by workflows.order_lifecycle."""

from enum import StrEnum


class OrderStatus(StrEnum):
    """Where an order is in its lifecycle."""

    PENDING = "pending"  # accepted, waiting for the worker to reserve stock
    PLACED = "placed"  # stock reserved for every line
    PICKED = "picked"  # taken off the shelves, still reserved
    SHIPPED = "shipped"  # left the warehouse; units taken out of stock
    DELIVERED = "delivered"  # arrived (final)
    CANCELLED = "cancelled"  # cancelled before shipping; reservation released (final)
    REJECTED = "rejected"  # stock could not be reserved; nothing held (final)


# Orders that still hold or may still take stock; a customer with one cannot be deleted.
OPEN_STATUSES = frozenset({OrderStatus.PENDING, OrderStatus.PLACED, OrderStatus.PICKED})
