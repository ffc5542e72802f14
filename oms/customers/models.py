"""The customer record (contact details and default address)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from oms.db import Timestamps, UUIDPrimaryKey
from oms.orm import Model


class Customer(UUIDPrimaryKey, Timestamps, Model):
    """A customer. ``user_id`` links the record to the login of a self-registered customer
    (staff may create customers who never log in); it is an addition to the design document."""

    __tablename__ = "customers"
    __table_args__ = (
        # keyset pagination of the customer list, newest first
        sa.Index("ix_customers_created_id", "created_at", "id"),
        sa.Index(
            "ix_customers_name_fts",
            # written as PostgreSQL prints it back, so autogenerate sees no drift
            sa.text(
                "to_tsvector('simple'::regconfig, "
                "(first_name::text || ' '::text) || last_name::text)"
            ),
            postgresql_using="gin",
        ).ddl_if(dialect="postgresql"),
    )

    user_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), unique=True, nullable=True
    )
    email: Mapped[str] = mapped_column(sa.String(255), unique=True, nullable=False)
    first_name: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    last_name: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    phone: Mapped[str | None] = mapped_column(sa.String(40))
    address: Mapped[dict | None] = mapped_column(sa.JSON)

    user = relationship("User", overlaps="customer")

    @property
    def full_name(self) -> str:
        """First and last name, as shown on pages and in emails."""
        return f"{self.first_name} {self.last_name}".strip()
