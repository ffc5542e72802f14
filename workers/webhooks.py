"""Webhook deliveries (queue ``webhooks``)."""

from __future__ import annotations

from celery import shared_task

from oms import tasks
from oms.webhooks import service


@shared_task(name=tasks.SEND_WEBHOOK)
def send_delivery(delivery_id: int) -> str:
    """POST one delivery if it is due and first in its line (safe to run twice)."""
    return service.send(delivery_id=delivery_id)


@shared_task(name=tasks.SEND_DUE_WEBHOOKS)
def send_due_deliveries() -> int:
    """Beat: retries that are due, and deliveries whose worker died mid-attempt."""
    return service.send_due()
