"""One audit entry per change or login attempt. Rows are only ever inserted: on PostgreSQL a
trigger (migration 0010_audit_log) refuses UPDATE and DELETE of this table."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from oms.db import UUIDPrimaryKey, utcnow
from oms.orm import Model


class AuditEntry(UUIDPrimaryKey, Model):
    """``action`` is ``<entity>.<verb>`` (``product.updated``, ``login.failed``). The actor
    and entity are plain ids, not foreign keys: an entry outlives the rows it names, and the
    actor's email is kept as it was then."""

    __tablename__ = "audit_log"
    __table_args__ = (
        sa.Index("ix_audit_log_at", "at", "id"),
        sa.Index("ix_audit_log_entity", "entity_type", "entity_id", "at", "id"),
        sa.Index("ix_audit_log_actor", "actor_id", "at", "id"),
    )

    at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), nullable=False, default=utcnow, server_default=sa.func.now()
    )
    actor_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    actor_email: Mapped[str | None] = mapped_column(sa.String(255))
    action: Mapped[str] = mapped_column(sa.String(60), nullable=False)
    entity_type: Mapped[str] = mapped_column(sa.String(30), nullable=False)
    entity_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    before: Mapped[dict | None] = mapped_column(sa.JSON)
    after: Mapped[dict | None] = mapped_column(sa.JSON)
    request_id: Mapped[str | None] = mapped_column(sa.String(64))
    remote_addr: Mapped[str | None] = mapped_column(sa.String(64))
