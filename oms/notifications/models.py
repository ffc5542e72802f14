"""A record per notification, so each one is sent once however often its task runs."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from oms.db import CreatedAt, UUIDPrimaryKey
from oms.orm import Model


class Notification(UUIDPrimaryKey, CreatedAt, Model):
    """One message to a customer; ``dedupe_key`` names what it is about
    (``order-status:<order id>:<status>``), and ``sent_at`` is set once it left."""

    __tablename__ = "notifications"

    dedupe_key: Mapped[str] = mapped_column(sa.String(200), unique=True, nullable=False)
    order_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    recipient: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    subject: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    sent_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
