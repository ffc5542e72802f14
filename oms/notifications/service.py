"""Tell customers what happened to their orders.

Each notification has a row keyed by what it is about, written in the transaction of the
change it tells of (:func:`queue_order_status`), so it exists even when its task is lost: the
row is the task's outbox (no ``outbox_messages`` row records it a second time). A
task first claims the row (a lease, committed), then sends, then marks it sent: while the
lease holds no other copy sends, a sent row is never sent again, and a mark that fails after
the mail server accepted is retried as a mark alone (``sent=True``), never as a second send.
The acceptance is also noted in Redis (:func:`_note_mailed`), so a database that stays away
longer than the lease does not make the sweep's copy send again: it finds the note and marks.
The beat sweep (:func:`resend_unsent`, every ``OMS_NOTIFICATION_SWEEP_SECONDS``) queues again
the rows left unsent and unclaimed that were never tried (a task lost between the commit and
the broker) or not for ``OMS_NOTIFICATION_RESEND_MINUTES`` (a killed worker, a Redis restarted
without persistence). Only a process killed between the mail server's acceptance and the note, or
PostgreSQL and Redis both gone at that moment, can send one message twice; the ``X-OMS-Key``
header names it for the receiver.
A failing mail server only delays the message; the order was committed long before.
"""

from __future__ import annotations

import logging
import smtplib
import uuid
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage

import redis
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload, selectinload

from oms import tasks
from oms.auth import resets
from oms.auth.models import PasswordReset, TokenPurpose, User
from oms.customers.models import Customer
from oms.db import as_utc, insert_or_ignore, rowcount, transaction, utcnow
from oms.extensions import db
from oms.notifications import mailer
from oms.notifications.models import Notification
from oms.orders import carriers
from oms.orders.enums import OrderStatus
from oms.orders.models import Order, OrderItem
from oms.outbox import service as outbox
from oms.redis_store import redis_client, redis_key
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


# The statuses whose message gives the reason (the history row's notes).
WITH_REASON = frozenset({OrderStatus.REJECTED, OrderStatus.CANCELLED})

# The last line of each message: thanks for an order that goes on, none for one that ended
# without being sent.
CLOSINGS = {
    OrderStatus.PLACED: "Thank you for your order.",
    OrderStatus.REJECTED: "We are sorry. Nothing will be sent for this order.",
    OrderStatus.PICKED: "Thank you for your order.",
    OrderStatus.SHIPPED: "Thank you for your order.",
    OrderStatus.DELIVERED: "Thank you for shopping with us.",
    OrderStatus.CANCELLED: "Nothing will be sent for this order.",
}


def order_url(order_id: uuid.UUID | str) -> str:
    """The customer's page of the order, at the site's public address."""
    return f"{current_app.config['OMS_PUBLIC_URL']}/customer/orders/{order_id}"


def _order_context(order: Order, status: OrderStatus) -> dict:
    """What an order's email shows (templates/email/order_status.*)."""
    context: dict = {
        "first_name": order.customer.first_name,
        "number": order.number,
        "headline": MESSAGES[status].format(number=order.number),
        "reason": None,
        "carrier": None,
        "currency": current_app.config["OMS_CURRENCY"],
        "items": [
            {"quantity": i.quantity, "name": i.product.name, "total": i.total_price}
            for i in order.items
        ],
        "total": order.total_amount,
        "order_url": order_url(order.id),
        "closing": CLOSINGS[status],
    }
    if status in WITH_REASON:
        context["reason"] = next(
            (h.notes for h in reversed(order.history) if h.new_status == status), None
        )
    if status == OrderStatus.SHIPPED and (order.carrier or order.tracking_number):
        context["carrier"] = carriers.name_of(order.carrier) or "not given"
        context["tracking_number"] = order.tracking_number
        context["tracking_url"] = carriers.tracking_url(order.carrier, order.tracking_number)
    return context


def _key(order_id: uuid.UUID | str, status: OrderStatus) -> str:
    return f"order-status:{order_id}:{status.value}"


def _row_values(order: Order, status: OrderStatus) -> dict:
    return {
        "id": uuid.uuid4(),
        "dedupe_key": _key(order.id, status),
        "order_id": order.id,
        "recipient": sa.select(Customer.email)
        .where(Customer.id == order.customer_id)
        .scalar_subquery(),
        "subject": MESSAGES[status].format(number=order.number),
        "created_at": utcnow(),
    }


def queue_order_status(order: Order, status: OrderStatus) -> None:
    """In the caller's transaction: record that the customer is to hear of ``status``, and
    have the task that tells them sent after the commit. The row is the task's outbox: one
    whose task is lost (a process dying after the commit, a broker down) is queued again by
    :func:`resend_unsent`, which takes every row unsent and never tried."""
    db.session.flush()  # the order row first: the notification refers to it
    db.session.execute(
        insert_or_ignore(Notification)
        .values(**_row_values(order, status))
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
    )
    outbox.send_after_commit(tasks.SEND_ORDER_STATUS, order_id=str(order.id), status=status.value)


MAILED_NOTE_SECONDS = 7 * 24 * 3600  # longer than any mark retry or sweep


def _note_mailed(key: str) -> None:
    """The mail server accepted ``key``: note it in Redis before the row is marked, for the
    case where the mark cannot reach the database until after the lease ran out."""
    client = redis_client()
    if client is None:
        return
    try:
        client.set(redis_key("notifications", "mailed", key), 1, ex=MAILED_NOTE_SECONDS)
    except redis.RedisError:
        log.warning("mailed note not stored in Redis", extra={"key": key})


def _was_mailed(key: str) -> bool:
    """Whether an earlier attempt's acceptance was noted (:func:`_note_mailed`)."""
    client = redis_client()
    if client is None:
        return False
    try:
        return bool(client.exists(redis_key("notifications", "mailed", key)))
    except redis.RedisError:
        return False


class MarkNotSaved(Exception):
    """The mail server accepted the message but the row could not be marked sent: retry
    the mark alone (``sent=True``), never the send."""


@dataclass(frozen=True)
class _Claimed:
    notification_id: uuid.UUID
    message: EmailMessage
    order_number: str


def _claim(order_id: uuid.UUID, status: OrderStatus, lease: timedelta) -> _Claimed | str:
    """Take the lease on the row (committed before anything is sent), or say why not."""
    key = _key(order_id, status)
    with transaction() as session:
        # what the message shows, in two queries (not one per line's product), three when it
        # gives the reason from the history
        shows = [
            joinedload(Order.customer),
            selectinload(Order.items).joinedload(OrderItem.product),
        ]
        if status in WITH_REASON:
            shows.append(selectinload(Order.history))
        order = session.get(Order, order_id, options=shows)
        if order is None or status not in NOTIFY_CUSTOMER:
            return "skipped"
        locked = (
            sa.select(Notification)
            .where(Notification.dedupe_key == key)
            .with_for_update(skip_locked=True)
        )
        notification = session.scalars(locked).one_or_none()
        if notification is None:
            # a row queued before rows were written with the change (or by hand) is made here;
            # if it exists and another copy holds its lock, nothing is inserted
            session.execute(
                insert_or_ignore(Notification)
                .values(**_row_values(order, status))
                .on_conflict_do_nothing(index_elements=["dedupe_key"])
            )
            notification = session.scalars(locked).one_or_none()
        now = utcnow()
        if notification is None:
            return "in progress"  # another copy is claiming it right now
        if notification.sent_at is not None:
            return "already sent"
        if notification.claimed_until is not None and notification.claimed_until > now:
            return "in progress"  # another copy holds the lease
        if notification.attempts and _was_mailed(key):  # accepted; only the mark was lost
            notification.sent_at, notification.claimed_until = now, None
            return "already sent"
        notification.claimed_until = now + lease
        notification.last_attempt_at = now
        notification.attempts += 1
        message = mailer.compose(
            to=notification.recipient,
            subject=notification.subject,
            key=key,
            message_id=str(notification.id),
            template="order_status",
            **_order_context(order, status),
        )
        return _Claimed(notification_id=notification.id, message=message, order_number=order.number)


def mark_sent(*, order_id: uuid.UUID, status: OrderStatus | str) -> None:
    """Record that the notification left (and give up its lease)."""
    with transaction() as session:
        session.execute(
            sa.update(Notification)
            .where(Notification.dedupe_key == _key(order_id, OrderStatus(status)))
            .where(Notification.sent_at.is_(None))
            .values(sent_at=utcnow(), claimed_until=None, last_error=None)
        )


def _release(notification_id: uuid.UUID, error: str) -> None:
    with transaction() as session:
        session.execute(
            sa.update(Notification)
            .where(Notification.id == notification_id)
            .values(claimed_until=None, last_error=error[:500])
        )


def notify_order_status(
    *, order_id: uuid.UUID, status: OrderStatus | str, sent: bool = False
) -> str:
    """Email the customer that their order reached ``status``; returns what happened
    ("sent", "already sent", "in progress", "skipped"). ``sent=True``: the message left on
    an earlier try, only the mark is missing."""
    status = OrderStatus(status)
    if sent:
        mark_sent(order_id=order_id, status=status)
        return "sent"
    lease = timedelta(seconds=current_app.config["OMS_NOTIFICATION_LEASE_SECONDS"])
    claimed = _claim(order_id, status, lease)
    if isinstance(claimed, str):
        return claimed
    try:
        mailer.send(claimed.message)
    except (smtplib.SMTPException, OSError) as exc:
        log.warning(
            "notification not sent",
            extra={"key": claimed.message["X-OMS-Key"], "order_number": claimed.order_number},
        )
        _release(claimed.notification_id, f"{exc.__class__.__name__}: {exc}")
        raise
    log.info(
        "order email sent",
        extra={"order_number": claimed.order_number, "order_status": status.value},
    )
    _note_mailed(claimed.message["X-OMS-Key"])
    try:
        mark_sent(order_id=order_id, status=status)
    except Exception as exc:  # the database went away after the mail server accepted
        raise MarkNotSaved(claimed.message["X-OMS-Key"]) from exc
    return "sent"


def _queue_task_of(dedupe_key: str) -> None:
    """Queue (through the outbox) the task that sends the notification keyed ``dedupe_key``."""
    kind, _, about = dedupe_key.partition(":")
    if kind in TokenPurpose.ALL:  # a link that expired meanwhile is skipped by its task
        outbox.enqueue(tasks.SEND_ACCOUNT_EMAIL, token_id=about)
        return
    order_id, status = about.split(":")
    outbox.enqueue(tasks.SEND_ORDER_STATUS, order_id=order_id, status=status)


def resend(*, notification_id: uuid.UUID) -> bool:
    """Queue an unsent notification's task again now (an admin's replay); False when it was
    sent meanwhile. Sending stays once: the task claims the row first."""
    with transaction() as session:
        notification = session.get(Notification, notification_id)
        if notification is None or notification.sent_at is not None:
            return False
        _queue_task_of(notification.dedupe_key)
        return True


def resend_unsent(*, older_than: timedelta, limit: int = 500) -> int:
    """Queue again the notifications left unsent, unclaimed and untried for ``older_than``
    (their task was lost); returns how many. Sending stays once: each task claims first."""
    with transaction() as session:
        now = utcnow()
        cutoff = now - older_than
        rows = session.execute(
            sa.select(Notification.id, Notification.dedupe_key)
            .where(Notification.sent_at.is_(None))
            .where(
                sa.or_(
                    Notification.last_attempt_at.is_(None), Notification.last_attempt_at < cutoff
                )
            )
            .where(sa.or_(Notification.claimed_until.is_(None), Notification.claimed_until < now))
            .order_by(Notification.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        for row in rows:
            _queue_task_of(row.dedupe_key)
        if rows:
            # not queued again before another ``older_than`` has passed
            touched = session.execute(
                sa.update(Notification)
                .where(Notification.id.in_([row.id for row in rows]))
                .values(last_attempt_at=now)
            )
            log.warning("stranded notifications queued again", extra={"count": rowcount(touched)})
    return len(rows)


def _account_message(row: PasswordReset, user: User | None) -> tuple[str, dict]:
    """Subject and what an account email (``row.purpose``) shows: paragraphs before and
    after its links (templates/email/account.*)."""
    base = current_app.config["OMS_PUBLIC_URL"]
    hello = f"Hello {user.first_name or user.email}," if user else "Hello,"
    if row.purpose == TokenPurpose.PASSWORD_RESET:
        minutes = current_app.config["OMS_PASSWORD_RESET_MINUTES"]
        return "Reset your password", {
            "hello": hello,
            "before": [
                "Someone asked to reset the password of your account. To choose a new "
                f"password, open this link within {minutes} minutes (it works once):"
            ],
            "links": [("Choose a new password", resets.link(row.id, row.purpose))],
            "after": ["If it was not you, ignore this email: your password stays as it is."],
        }
    if row.purpose == TokenPurpose.EMAIL_CONFIRMATION:
        hours = max(1, current_app.config["OMS_EMAIL_CONFIRMATION_MINUTES"] // 60)
        return "Confirm your email address", {
            "hello": hello,
            "before": [
                "Thank you for registering. To activate your account, open this link "
                f"within {hours} hours (it works once):"
            ],
            "links": [("Confirm your email address", resets.link(row.id, row.purpose))],
            "after": ["If it was not you, ignore this email: the account stays inactive."],
        }
    if row.purpose == TokenPurpose.LOGIN_NOTICE:
        return "Someone is trying to log in to your account", {
            "hello": hello,
            "before": [
                "Someone has entered the wrong password for your account several times. For a "
                "while, logins from devices that never logged in to it wait; a device you "
                "logged in with before still logs in.",
                "If it was you, wait a few minutes, or choose a new password if you forgot it:",
            ],
            "links": [("Reset your password", f"{base}/password-reset")],
            "after": [
                "If it was not you, your password held. An administrator can see and lift the "
                "lock. Choose a long password you use nowhere else if you have not already."
            ],
        }
    return "Someone tried to register with your address", {
        "hello": hello,
        "before": [
            "Someone tried to create an account with this email address, which the shop "
            "already knows. If it was you, log in, or choose a new password if you forgot it:"
        ],
        "links": [("Log in", f"{base}/login"), ("Reset your password", f"{base}/password-reset")],
        "after": [
            "If the shop keeps your customer record but you never had a login, ask the shop "
            "for one. If it was not you, ignore this email: nothing was changed."
        ],
    }


def notify_account_email(*, token_id: uuid.UUID) -> str:
    """Send the account email of ``token_id`` (a password reset, an email confirmation, a
    registration notice), once (a ``notifications`` row keyed ``<purpose>:<id>``); a link
    already used, replaced or expired is not sent."""
    with transaction() as session:
        row = session.get(PasswordReset, token_id)
        if row is None or row.used_at is not None or as_utc(row.expires_at) <= utcnow():
            return "skipped"
        user = session.get(User, row.user_id) if row.user_id else None
        recipient = user.email if user else row.recipient
        if recipient is None:
            return "skipped"
        key = f"{row.purpose}:{row.id}"
        subject, shows = _account_message(row, user)
        session.execute(
            insert_or_ignore(Notification)
            .values(
                id=uuid.uuid4(),
                dedupe_key=key,
                recipient=recipient,
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
        if notification.attempts and _was_mailed(key):  # accepted; the commit was lost
            notification.sent_at = utcnow()
            return "already sent"
        notification.last_attempt_at = utcnow()  # the row stays locked while it is sent
        message = mailer.compose(
            to=recipient,
            subject=subject,
            key=key,
            message_id=str(notification.id),
            template="account",
            **shows,
        )
        notification.attempts += 1
        failure = None
        try:
            mailer.send(message)
            _note_mailed(key)
            notification.sent_at = utcnow()
            notification.last_error = None
        except (smtplib.SMTPException, OSError) as exc:
            notification.last_error = f"{exc.__class__.__name__}: {exc}"[:500]
            failure = exc
    if failure is not None:
        log.warning("account email not sent", extra={"key": key, "error": str(failure)})
        raise failure
    return "sent"
