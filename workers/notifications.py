"""Customer notification tasks (queue ``notifications``) and the sweep that finds the lost ones."""

from __future__ import annotations

import random
import smtplib
import uuid
from datetime import timedelta

from celery import shared_task
from flask import current_app

from oms import tasks
from oms.notifications import service


@shared_task(name=tasks.SEND_ORDER_STATUS, bind=True, max_retries=12)
def send_order_status(self, order_id: str, status: str, sent: bool = False) -> str:
    """Email the customer about their order's new status; a second run sends nothing.

    A mail server that fails is retried with exponential backoff (up to about an hour apart).
    A mark that fails after the mail server accepted is retried as a mark alone (``sent``).
    In the embedded default the task runs inside the web request, with nobody to retry it
    later: it gets one attempt there, so a dead mail server never holds an order up."""
    try:
        return service.notify_order_status(order_id=uuid.UUID(order_id), status=status, sent=sent)
    except service.MarkNotSaved as exc:
        if self.request.is_eager:
            raise
        countdown = min(300, 2 * 2**self.request.retries)
        kwargs = {"order_id": order_id, "status": status, "sent": True}
        raise self.retry(exc=exc, countdown=countdown, kwargs=kwargs) from exc
    except (smtplib.SMTPException, OSError) as exc:
        if self.request.is_eager:
            raise
        countdown = min(3600, 5 * 2**self.request.retries) * random.uniform(0.8, 1.2)
        raise self.retry(exc=exc, countdown=countdown) from exc


@shared_task(name=tasks.RESEND_UNSENT)
def resend_unsent() -> int:
    """Beat: queue again notifications whose task was lost (OMS_NOTIFICATION_RESEND_MINUTES)."""
    minutes = current_app.config["OMS_NOTIFICATION_RESEND_MINUTES"]
    return service.resend_unsent(older_than=timedelta(minutes=minutes))


@shared_task(name=tasks.SEND_ACCOUNT_EMAIL, bind=True, max_retries=6)
def send_account_email(self, token_id: str) -> str:
    """Email a password reset link, a registration's confirmation link or a registration
    notice; a second run sends nothing. Retried like the order emails, but briefly: a link
    that expired meanwhile is not sent anyway."""
    try:
        return service.notify_account_email(token_id=uuid.UUID(token_id))
    except (smtplib.SMTPException, OSError) as exc:
        if self.request.is_eager:
            raise
        raise self.retry(exc=exc, countdown=min(300, 5 * 2**self.request.retries)) from exc
