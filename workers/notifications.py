"""Customer notification tasks (queue ``notifications``)."""

from __future__ import annotations

import smtplib
import uuid

from celery import shared_task

from oms.notifications import service


@shared_task(
    name="notifications.order_status",
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=True,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=12,
)
def order_status(order_id: str, status: str) -> str:
    """Email the customer about their order's new status; a second run sends nothing."""
    return service.notify_order_status(order_id=uuid.UUID(order_id), status=status)
