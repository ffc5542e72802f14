"""Order, its lines, and the append-only status history."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from oms.db import CreatedAt, Money, Timestamps, UUIDPrimaryKey, str_enum, utcnow
from oms.orders.enums import OrderStatus
from oms.orm import Model

order_status_enum = str_enum(OrderStatus, "order_status")


class Order(UUIDPrimaryKey, Timestamps, Model):
    """An order; ``number`` (``ORD-000123``) is what people read out on the phone."""

    __tablename__ = "orders"
    __table_args__ = (
        sa.CheckConstraint("total_amount >= 0", name="total_not_negative"),
        # Keyset pagination walks (sort column, id) so deep pages stay as fast as the first:
        # one index per sort of the list, and per filter it pages within (a customer, a
        # status), whose id also lets a capped count read the index alone.
        sa.Index("ix_orders_created_id", "created_at", "id"),
        sa.Index("ix_orders_customer_created_id", "customer_id", "created_at", "id"),
        sa.Index("ix_orders_status_created_id", "status", "created_at", "id"),
        sa.Index("ix_orders_total_id", "total_amount", "id"),
        sa.Index("ix_orders_status_updated_id", "status_updated_at", "id"),
        # q=: an order number's start (LIKE 'ORD-12%' needs pattern ops outside the C
        # collation) and the shipping city, as oms.orders.queries writes the condition
        sa.Index(
            "ix_orders_number_pattern", "number", postgresql_ops={"number": "varchar_pattern_ops"}
        ).ddl_if(dialect="postgresql"),
        # (order_city_key: lower(address ->> 'city'), NULL for text PostgreSQL's JSON
        # functions refuse; created by migration 0014)
        sa.Index("ix_orders_city_key", sa.text("order_city_key(shipping_address)")).ddl_if(
            dialect="postgresql"
        ),
    )

    number: Mapped[str] = mapped_column(sa.String(20), unique=True, nullable=False)
    customer_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("customers.id", ondelete="RESTRICT"), nullable=False
    )
    created_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    status: Mapped[OrderStatus] = mapped_column(order_status_enum, nullable=False, index=True)
    payment_collected: Mapped[bool] = mapped_column(
        sa.Boolean, nullable=False, default=False, server_default=sa.false()
    )
    total_amount: Mapped[Decimal] = mapped_column(Money, nullable=False)
    shipping_address: Mapped[dict] = mapped_column(sa.JSON, nullable=False)
    status_updated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), nullable=False, default=utcnow, server_default=sa.func.now()
    )
    status_updated_by: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    # recorded when it ships (both optional): a code of OMS_CARRIERS and the carrier's number
    carrier: Mapped[str | None] = mapped_column(sa.String(40))
    tracking_number: Mapped[str | None] = mapped_column(sa.String(100))

    customer = relationship("Customer")
    items: Mapped[list[OrderItem]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderItem.created_at"
    )
    history: Mapped[list[OrderStatusHistory]] = relationship(
        back_populates="order",
        cascade="all, delete-orphan",
        order_by="OrderStatusHistory.created_at",
    )


# created_at is indexed on its own too (the design document lists it).
sa.Index("ix_orders_created_at", Order.created_at)


class OrderItem(UUIDPrimaryKey, CreatedAt, Model):
    """One line: a product, how many, and the price it was sold at (from the catalogue)."""

    __tablename__ = "order_items"
    __table_args__ = (
        # an order's lines by product (q= on a product's name, the product filter), read from
        # the index alone
        sa.Index("ix_order_items_product_order", "product_id", "order_id"),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
        sa.CheckConstraint("total_price >= 0", name="total_price_not_negative"),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True
    )
    product_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("products.id", ondelete="RESTRICT"), nullable=False
    )
    quantity: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    unit_price: Mapped[Decimal] = mapped_column(Money, nullable=False)
    total_price: Mapped[Decimal] = mapped_column(Money, nullable=False)

    order: Mapped[Order] = relationship(back_populates="items")
    product = relationship("Product")


class OrderStatusHistory(UUIDPrimaryKey, CreatedAt, Model):
    """One transition: old and new status, who made it (NULL: the system), and why."""

    __tablename__ = "order_status_history"
    __table_args__ = (sa.Index("ix_order_status_history_order_created", "order_id", "created_at"),)

    order_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("orders.id", ondelete="CASCADE"), nullable=False
    )
    old_status: Mapped[OrderStatus | None] = mapped_column(order_status_enum)
    new_status: Mapped[OrderStatus] = mapped_column(order_status_enum, nullable=False)
    changed_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    notes: Mapped[str | None] = mapped_column(sa.Text)

    order: Mapped[Order] = relationship(back_populates="history")
    changed_by = relationship("User")


class OrderNote(UUIDPrimaryKey, CreatedAt, Model):
    """An internal note staff wrote on an order: on its timeline for staff, never shown to the
    customer (no relationship on ``Order``, so no schema can dump it by accident)."""

    __tablename__ = "order_notes"
    __table_args__ = (sa.Index("ix_order_notes_order_created", "order_id", "created_at"),)

    order_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("orders.id", ondelete="CASCADE"), nullable=False
    )
    author_user_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    body: Mapped[str] = mapped_column(sa.Text, nullable=False)

    author = relationship("User")


class IdempotencyKey(Model):
    """A client's ``Idempotency-Key`` for ``POST /orders``, per user: the first request's body
    hash and, once it finished, its response to replay."""

    __tablename__ = "idempotency_keys"

    user_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    # NULL while the first request is still running
    response_status: Mapped[int | None] = mapped_column(sa.Integer)
    response_body: Mapped[dict | None] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), nullable=False, default=utcnow, server_default=sa.func.now()
    )
    expires_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), nullable=False, index=True
    )
