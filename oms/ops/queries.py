"""What counts as stuck, per kind: one query each, read by the list and by the replay (which
locks the row through the same query, so only stuck work is replayed)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from oms.exports.enums import ExportStatus
from oms.exports.models import ExportJob
from oms.notifications.models import Notification
from oms.ops.enums import ProblemKind
from oms.ops.models import DeadLetter
from oms.orders.enums import OrderStatus
from oms.orders.models import Order
from oms.outbox.models import OutboxMessage
from oms.webhooks.enums import DeliveryState
from oms.webhooks.models import WebhookDelivery


@dataclass(frozen=True)
class Thresholds:
    """How long each kind of work may take before it is a problem (from the settings)."""

    now: datetime
    pending: timedelta
    outbox: timedelta
    notification: timedelta
    export_stale: timedelta
    export_queued: timedelta


@dataclass(frozen=True)
class Problem:
    """One stuck thing: its kind and id, why it is listed, since when, and a few details."""

    kind: ProblemKind
    id: str
    reason: str
    since: datetime
    details: dict


def _minutes(since: datetime, now: datetime) -> int:
    return max(0, int((now - since).total_seconds() // 60))


def pending_orders(t: Thresholds) -> sa.Select:
    """Orders still pending after ``t.pending``."""
    return sa.select(Order).where(
        Order.status == OrderStatus.PENDING, Order.created_at < t.now - t.pending
    )


def _order(order: Order, t: Thresholds) -> Problem:
    minutes = _minutes(order.created_at, t.now)
    return Problem(
        ProblemKind.PENDING_ORDER,
        str(order.id),
        f"Pending for {minutes} min: its stock was never reserved or rejected.",
        order.created_at,
        {"number": order.number},
    )


def unsent_outbox(t: Thresholds) -> sa.Select:
    """Outbox rows the broker has not accepted after ``t.outbox``."""
    return sa.select(OutboxMessage).where(
        OutboxMessage.sent_at.is_(None), OutboxMessage.created_at < t.now - t.outbox
    )


def _outbox(message: OutboxMessage, t: Thresholds) -> Problem:
    why = f": {message.last_error}" if message.last_error else ""
    return Problem(
        ProblemKind.OUTBOX_MESSAGE,
        str(message.id),
        f"Task {message.task} not handed to the broker after {message.attempts} attempt(s){why}",
        message.created_at,
        {"task": message.task, "attempts": message.attempts},
    )


def unsent_notifications(t: Thresholds) -> sa.Select:
    """Emails not sent that failed, or stayed unsent past their resend window; one a task
    holds the lease of right now is being sent, not stuck."""
    return sa.select(Notification).where(
        Notification.sent_at.is_(None),
        sa.or_(
            Notification.last_error.is_not(None),
            Notification.created_at < t.now - t.notification,
        ),
        sa.or_(Notification.claimed_until.is_(None), Notification.claimed_until < t.now),
    )


def _notification(notification: Notification, t: Thresholds) -> Problem:
    if notification.last_error:
        reason = f"Not sent ({notification.attempts} attempt(s)): {notification.last_error}"
    else:
        minutes = _minutes(notification.created_at, t.now)
        reason = f"Not sent after {minutes} min ({notification.attempts} attempt(s))."
    return Problem(
        ProblemKind.NOTIFICATION,
        str(notification.id),
        reason,
        notification.created_at,
        {"subject": notification.subject, "recipient": notification.recipient},
    )


def stuck_exports(t: Thresholds) -> sa.Select:
    """Exports that failed, runs whose heartbeat stopped, and queued jobs no run took."""
    return sa.select(ExportJob).where(
        sa.or_(
            ExportJob.status == ExportStatus.FAILED,
            sa.and_(
                ExportJob.status == ExportStatus.RUNNING,
                sa.or_(
                    ExportJob.heartbeat_at.is_(None),
                    ExportJob.heartbeat_at < t.now - t.export_stale,
                ),
            ),
            sa.and_(
                ExportJob.status == ExportStatus.QUEUED,
                ExportJob.heartbeat_at < t.now - t.export_queued,
            ),
        )
    )


def _export(job: ExportJob, t: Thresholds) -> Problem:
    if job.status == ExportStatus.FAILED:
        reason, since = f"Failed: {job.error or 'no reason given'}", job.finished_at
    elif job.status == ExportStatus.RUNNING:
        reason, since = "Running, but its worker stopped reporting progress.", job.heartbeat_at
    else:
        reason, since = "Queued, but no worker started it.", job.heartbeat_at
    return Problem(
        ProblemKind.EXPORT,
        str(job.id),
        reason,
        since or job.created_at,
        {"status": job.status.value, "attempts": job.attempts},
    )


def exhausted_deliveries(t: Thresholds) -> sa.Select:
    """Webhook deliveries that failed for good and were not resent."""
    resent = aliased(WebhookDelivery)
    return sa.select(WebhookDelivery).where(
        WebhookDelivery.state == DeliveryState.FAILED,
        ~sa.exists().where(resent.resent_from == WebhookDelivery.id),
    )


def _delivery(delivery: WebhookDelivery, t: Thresholds) -> Problem:
    if delivery.last_status_code is not None:
        answer = f"HTTP {delivery.last_status_code}"
    else:
        answer = delivery.last_error or "no answer"
    return Problem(
        ProblemKind.WEBHOOK_DELIVERY,
        str(delivery.id),
        f"Delivery of {delivery.event_type} failed after {delivery.attempts} attempt(s): {answer}",
        delivery.created_at,
        {"endpoint_id": str(delivery.endpoint_id), "event_type": delivery.event_type},
    )


def unreplayed_dead_letters(t: Thresholds) -> sa.Select:
    """Tasks that failed for good and were not replayed."""
    return sa.select(DeadLetter).where(DeadLetter.replayed_at.is_(None))


def _dead_letter(letter: DeadLetter, t: Thresholds) -> Problem:
    return Problem(
        ProblemKind.DEAD_LETTER,
        str(letter.id),
        f"Task {letter.task} failed for good: {letter.error}",
        letter.failed_at,
        {"task": letter.task, "worker": letter.worker},
    )


@dataclass(frozen=True)
class Kind:
    """How to find one kind of problem: the model, its stuck query, its row as a Problem,
    the column it is listed by and the type of its id."""

    model: Any
    stuck: Callable[[Thresholds], sa.Select]
    present: Callable[[Any, Thresholds], Problem]
    since: Any
    parse_id: Callable[[str], Any]


KINDS: dict[ProblemKind, Kind] = {
    ProblemKind.PENDING_ORDER: Kind(Order, pending_orders, _order, Order.created_at, uuid.UUID),
    ProblemKind.OUTBOX_MESSAGE: Kind(
        OutboxMessage, unsent_outbox, _outbox, OutboxMessage.created_at, int
    ),
    ProblemKind.NOTIFICATION: Kind(
        Notification, unsent_notifications, _notification, Notification.created_at, uuid.UUID
    ),
    ProblemKind.EXPORT: Kind(ExportJob, stuck_exports, _export, ExportJob.created_at, uuid.UUID),
    ProblemKind.WEBHOOK_DELIVERY: Kind(
        WebhookDelivery, exhausted_deliveries, _delivery, WebhookDelivery.created_at, int
    ),
    ProblemKind.DEAD_LETTER: Kind(
        DeadLetter, unreplayed_dead_letters, _dead_letter, DeadLetter.failed_at, int
    ),
}
