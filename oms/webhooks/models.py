"""Webhook endpoints, their deliveries (one per event and endpoint) and each attempt."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from oms.db import CreatedAt, Timestamps, UUIDPrimaryKey, str_enum
from oms.orm import Model
from oms.webhooks import signing
from oms.webhooks.enums import AttemptOutcome, DeliveryState

BigId = sa.BigInteger().with_variant(sa.Integer, "sqlite")


class WebhookEndpoint(UUIDPrimaryKey, Timestamps, Model):
    """A receiver URL and the event types it wants. ``secret`` signs every delivery (it is
    shown once, on create and rotation); it is stored encrypted (``secret_encrypted``, see
    :mod:`oms.webhooks.signing`), so a database dump does not hand it out. ``failing_since``
    is the first failed attempt since the last success; an endpoint failing for
    OMS_WEBHOOKS_DISABLE_AFTER_SECONDS is switched off (``active`` false, ``disabled_at`` and
    ``disabled_reason`` set)."""

    __tablename__ = "webhook_endpoints"

    url: Mapped[str] = mapped_column(sa.String(2000), nullable=False)
    description: Mapped[str | None] = mapped_column(sa.String(200))
    event_types: Mapped[list] = mapped_column(sa.JSON, nullable=False)
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    secret_encrypted: Mapped[str] = mapped_column(sa.Text, nullable=False)
    failing_since: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    disabled_reason: Mapped[str | None] = mapped_column(sa.Text)

    @property
    def secret(self) -> str:
        """The plain secret (:class:`~oms.webhooks.signing.SecretUnreadable` when no
        configured key decrypts it)."""
        return signing.decrypt(self.secret_encrypted)

    @secret.setter
    def secret(self, value: str) -> None:
        self.secret_encrypted = signing.encrypt(value)


class WebhookDelivery(CreatedAt, Model):
    """One event for one endpoint. The id grows with time: deliveries of one ``ordering_key``
    (an order, a product) to one endpoint go out in id order, each after the one before it
    is delivered or failed."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.Index("ix_webhook_deliveries_endpoint_key", "endpoint_id", "ordering_key", "id"),
        sa.Index("ix_webhook_deliveries_state_due", "state", "next_attempt_at"),
        sa.CheckConstraint("attempts >= 0", name="attempts_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False
    )
    event_id: Mapped[str] = mapped_column(sa.String(36), nullable=False)
    event_type: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    ordering_key: Mapped[str | None] = mapped_column(sa.String(200))
    payload: Mapped[dict] = mapped_column(sa.JSON, nullable=False)
    state: Mapped[DeliveryState] = mapped_column(
        str_enum(DeliveryState, "webhook_delivery_state"), nullable=False
    )
    attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    claimed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    last_status_code: Mapped[int | None] = mapped_column(sa.Integer)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    resent_from: Mapped[int | None] = mapped_column(BigId)

    attempt_log: Mapped[list[WebhookAttempt]] = relationship(
        order_by="WebhookAttempt.number", lazy="selectin", cascade="all, delete-orphan"
    )


class WebhookAttempt(Model):
    """One POST of a delivery: what came back and how long it took. Written before the POST
    (``outcome`` NULL) so a worker that dies mid-attempt leaves a trace."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(
        sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), nullable=False, index=True
    )
    number: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    started_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), nullable=False)
    duration_ms: Mapped[int | None] = mapped_column(sa.Integer)
    status_code: Mapped[int | None] = mapped_column(sa.Integer)
    response_excerpt: Mapped[str | None] = mapped_column(sa.Text)
    error: Mapped[str | None] = mapped_column(sa.Text)
    outcome: Mapped[AttemptOutcome | None] = mapped_column(
        str_enum(AttemptOutcome, "webhook_attempt_outcome")
    )
