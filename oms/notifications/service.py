"""Tell customers what happened to their orders.

Each notification has a row keyed by what it is about. The row is locked while the message is
sent (``FOR UPDATE SKIP LOCKED``), so two copies of the task never send it twice, and a sent
row is never sent again. A process that dies after the mail server accepted the message but
before the row was marked may send it once more: at least once, never silently lost.
A failing mail server only delays the message; the order was committed long before.
"""

from __future__ import annotations

import logging
import smtplib
import uuid
from email.message import EmailMessage

import sqlalchemy as sa
from flask import current_app

from oms.auth import resets
from oms.auth.models import PasswordReset, User
from oms.db import as_utc, insert_or_ignore, transaction, utcnow
from oms.notifications import mailer
from oms.notifications.models import Notification
from oms.orders.enums import OrderStatus
from oms.orders.models import Order
from workflows.order_lifecycle import NOTIFY_CUSTOMER

log = logging.getLogger("oms.notifications")

# What the customer is told for each status the lifecycle says they hear of (NOTIFY_CUSTOMER).
MESSAGES = {
    OrderStatus.PLACED: "Your order {number} is confirmed",
    OrderStatus.REJECTED: "We could not accept your order {number}",
    OrderStatus.PICKED: "Your order {number} is being packed",
    OrderStatus.SHIPPED: "Your order {number} has shipped",
    OrderStatus.DELIVERED: "Your order {number} was delivered",
    OrderStatus.CANCELLED: "Your order {number} was cancelled",
}


def _body(order: Order, status: OrderStatus) -> str:
    note = next((h.notes for h in reversed(order.history) if h.new_status == status), None)
    lines = [
        f"Hello {order.customer.first_name},",
        "",
        MESSAGES[status].format(number=order.number) + ".",
    ]
    if note and status in (OrderStatus.REJECTED, OrderStatus.CANCELLED):
        lines += ["", f"Reason: {note}"]
    lines += ["", "Items:"]
    currency = current_app.config["OMS_CURRENCY"]
    lines += [f"  {i.quantity} x {i.product.name}  {currency} {i.total_price}" for i in order.items]
    lines += [f"Total: {currency} {order.total_amount}", "", "Thank you for your order."]
    return "\n".join(lines)


def notify_order_status(*, order_id: uuid.UUID, status: OrderStatus) -> str:
    """Email the customer that their order reached ``status``; returns what happened
    ("sent", "already sent", "in progress", "skipped")."""
    status = OrderStatus(status)
    key = f"order-status:{order_id}:{status.value}"
    with transaction() as session:
        order = session.get(Order, order_id)
        if order is None or status not in NOTIFY_CUSTOMER:
            return "skipped"
        subject = MESSAGES[status].format(number=order.number)
        session.execute(
            insert_or_ignore(Notification)
            .values(
                id=uuid.uuid4(),
                dedupe_key=key,
                order_id=order.id,
                recipient=order.customer.email,
                subject=subject,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
        )
        notification = session.scalars(
            sa.select(Notification)
            .where(Notification.dedupe_key == key)
            .with_for_update(skip_locked=True)
        ).one_or_none()
        if notification is None:
            return "in progress"  # another copy of the task holds it
        if notification.sent_at is not None:
            return "already sent"
        message = EmailMessage()
        message["From"] = current_app.config["OMS_MAIL_FROM"]
        message["To"] = notification.recipient
        message["Subject"] = subject
        message["X-OMS-Key"] = key
        message.set_content(_body(order, status))
        notification.attempts += 1
        failure = None
        try:
            mailer.send(message)
            notification.sent_at = utcnow()
            notification.last_error = None
        except (smtplib.SMTPException, OSError) as exc:
            # keep the attempt on record (committed below), then let the task retry
            notification.last_error = f"{exc.__class__.__name__}: {exc}"[:500]
            failure = exc
    if failure is not None:
        log.warning("notification not sent", extra={"key": key, "error": str(failure)})
        raise failure
    return "sent"


def notify_password_reset(*, reset_id: uuid.UUID) -> str:
    """Email the reset link of ``reset_id`` to its user, once (a ``notifications`` row keyed
    ``password-reset:<id>``); a reset already used, replaced or expired is not sent."""
    key = f"password-reset:{reset_id}"
    with transaction() as session:
        reset = session.get(PasswordReset, reset_id)
        if reset is None or reset.used_at is not None or as_utc(reset.expires_at) <= utcnow():
            return "skipped"
        user = session.get(User, reset.user_id)
        if user is None:
            return "skipped"
        subject = "Reset your password"
        session.execute(
            insert_or_ignore(Notification)
            .values(
                id=uuid.uuid4(),
                dedupe_key=key,
                recipient=user.email,
                subject=subject,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
        )
        notification = session.scalars(
            sa.select(Notification)
            .where(Notification.dedupe_key == key)
            .with_for_update(skip_locked=True)
        ).one_or_none()
        if notification is None:
            return "in progress"
        if notification.sent_at is not None:
            return "already sent"
        minutes = current_app.config["OMS_PASSWORD_RESET_MINUTES"]
        message = EmailMessage()
        message["From"] = current_app.config["OMS_MAIL_FROM"]
        message["To"] = user.email
        message["Subject"] = subject
        message["X-OMS-Key"] = key
        message.set_content(
            "\n".join(
                [
                    f"Hello {user.first_name or user.email},",
                    "",
                    "Someone asked to reset the password of your account. To choose a new",
                    f"password, open this link within {minutes} minutes (it works once):",
                    "",
                    resets.reset_url(reset.id),
                    "",
                    "If it was not you, ignore this email: your password stays as it is.",
                ]
            )
        )
        notification.attempts += 1
        failure = None
        try:
            mailer.send(message)
            notification.sent_at = utcnow()
            notification.last_error = None
        except (smtplib.SMTPException, OSError) as exc:
            notification.last_error = f"{exc.__class__.__name__}: {exc}"[:500]
            failure = exc
    if failure is not None:
        log.warning("password reset email not sent", extra={"key": key, "error": str(failure)})
        raise failure
    return "sent"
