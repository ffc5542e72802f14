"""Products with their stock: ``inventory_count`` on hand, ``reserved_count`` promised."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from oms.db import Money, Timestamps, UUIDPrimaryKey
from oms.orm import Model


class Product(UUIDPrimaryKey, Timestamps, Model):
    """A sellable product. The check constraints are the last line of defence for stock;
    the inventory service refuses bad changes before they reach them."""

    __tablename__ = "products"
    __table_args__ = (
        sa.CheckConstraint("price >= 0", name="price_not_negative"),
        sa.CheckConstraint("inventory_count >= 0", name="inventory_not_negative"),
        sa.CheckConstraint("reserved_count >= 0", name="reserved_not_negative"),
        sa.CheckConstraint("reserved_count <= inventory_count", name="reserved_within_inventory"),
        # keyset pagination of the catalogue by name
        sa.Index("ix_products_name_id", "name", "id"),
        sa.Index(
            "ix_products_name_fts",
            sa.text("to_tsvector('simple', name)"),
            postgresql_using="gin",
        ).ddl_if(dialect="postgresql"),
    )

    name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(sa.Text)
    price: Mapped[Decimal] = mapped_column(Money, nullable=False)
    inventory_count: Mapped[int] = mapped_column(
        sa.Integer, nullable=False, default=0, server_default="0"
    )
    reserved_count: Mapped[int] = mapped_column(
        sa.Integer, nullable=False, default=0, server_default="0"
    )
    active: Mapped[bool] = mapped_column(
        sa.Boolean, nullable=False, default=True, server_default=sa.true()
    )

    @property
    def available(self) -> int:
        """Units that can still be promised to a new order."""
        return self.inventory_count - self.reserved_count
