"""Customer emails: through a real SMTP server, once per status, never blocking an order."""

from __future__ import annotations

import email
import email.policy
import email.utils
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from oms import events
from oms.auth.enums import UserRole
from oms.db import utcnow
from oms.extensions import db
from oms.notifications import service
from oms.notifications.models import Notification
from oms.orders import actions as orders
from oms.orders.enums import OrderStatus
from oms.orders.models import Order
from tests.factories import ADDRESS, make_order, make_product, make_user
from tests.mail import SmtpServer, html_of, link_token, text_of
from tests.processes import free_port


@pytest.fixture
def smtp(app):
    """A real SMTP server on localhost; the app sends to it for the test's duration."""
    server = SmtpServer().start()
    app.config["OMS_SMTP_URL"] = server.url
    yield server
    app.config["OMS_SMTP_URL"] = None
    server.stop()


def test_each_status_change_mails_the_customer_once(app_ctx, smtp):
    customer = make_user(UserRole.CUSTOMER)
    order = make_order(customer, [(make_product(name="Ceramic mug", stock=5), 2)], status="shipped")
    subjects = [m["Subject"] for m in smtp.messages]
    assert subjects == [
        f"Your order {order.number} is confirmed",
        f"Your order {order.number} is being packed",
        f"Your order {order.number} has shipped",
    ]
    assert all(m["To"] == customer.email for m in smtp.messages)
    assert "2 x Ceramic mug" in text_of(smtp.messages[0])
    # the task running again (redelivery) sends nothing more
    assert (
        service.notify_order_status(order_id=order.id, status=OrderStatus.SHIPPED) == "already sent"
    )
    assert len(smtp.messages) == 3


def test_rejection_mail_gives_the_reason(app_ctx, smtp):
    from tests.orders.helpers import order_in

    customer = make_user(UserRole.CUSTOMER)
    order = order_in(OrderStatus.REJECTED, customer, make_product(name="Burr grinder", stock=3), 2)
    [message] = smtp.messages
    assert message["Subject"] == f"We could not accept your order {order.number}"
    assert "Not enough stock for Burr grinder" in text_of(message)


def _parts(message) -> tuple[str, str]:
    assert message.get_content_type() == "multipart/alternative"
    return text_of(message), html_of(message)


def test_an_email_has_date_message_id_text_html_and_the_orders_link(app, app_ctx, smtp):
    app.config["OMS_PUBLIC_URL"] = "https://shop.example.com"
    try:
        customer = make_user(UserRole.CUSTOMER)
        order = make_order(customer, [(make_product(name="Mug <b>bold</b>", stock=5), 2)])
    finally:
        app.config["OMS_PUBLIC_URL"] = "http://127.0.0.1:5000"
    [message] = smtp.messages
    sent_at = email.utils.parsedate_to_datetime(message["Date"])
    assert abs((utcnow() - sent_at).total_seconds()) < 60
    (row,) = db.session.scalars(sa.select(Notification)).all()
    assert message["Message-ID"] == f"<{row.id}@example.com>"  # OMS_MAIL_FROM's domain
    text, html = _parts(message)
    link = f"https://shop.example.com/customer/orders/{order.id}"
    assert f"View your order: {link}" in text and "2 x Mug <b>bold</b>" in text
    assert f'<a href="{link}"' in html and "Mug &lt;b&gt;bold&lt;/b&gt;" in html
    assert "<b>bold</b>" not in html
    assert text.rstrip().endswith("Thank you for your order.")
    # a second attempt at the same message carries the same Message-ID
    _strand(f"order-status:{order.id}:placed", minutes_ago=30)
    assert service.resend_unsent(older_than=timedelta(minutes=10)) == 1
    assert smtp.messages[1]["Message-ID"] == message["Message-ID"]


def test_a_cancellation_email_gives_the_reason_and_no_thanks(app_ctx, smtp):
    from tests.orders.helpers import order_in

    customer = make_user(UserRole.CUSTOMER)
    order = order_in(OrderStatus.CANCELLED, customer, make_product(stock=3), 1)
    [cancelled] = [m for m in smtp.messages if "cancelled" in m["Subject"]]
    text, html = _parts(cancelled)
    assert "Thank you for your order" not in text and "Thank you for your order" not in html
    assert text.rstrip().endswith("Nothing will be sent for this order.")
    assert f"/customer/orders/{order.id}" in text


def test_an_account_email_has_both_parts_and_the_link(app_ctx, client, smtp):
    response = client.post(
        "/api/v1/auth/register",
        json={
            "email": "parts@example.test",
            "password": "long-enough-1",
            "first_name": "Pia",
            "last_name": "Parts",
        },
    )
    assert response.status_code == 202, response.get_json()
    [message] = smtp.messages
    assert message["Date"] and message["Message-ID"].endswith("@example.com>")
    text, html = _parts(message)
    token = link_token(message, "/register/confirm")
    link = f"http://127.0.0.1:5000/register/confirm#token={token}"
    assert link in text and f'href="{link}"' in html and "Hello Pia," in text


def test_a_failing_mail_server_never_blocks_or_rolls_back_an_order(app, app_ctx):
    app.config["OMS_SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"  # nothing listens there
    try:
        customer = make_user(UserRole.CUSTOMER)
        product = make_product(stock=5)
        order = orders.place_order(
            actor=customer,
            items=[{"product_id": product.id, "quantity": 1}],
            shipping_address=ADDRESS,
        ).order
        db.session.expire_all()
        assert db.session.get(Order, order.id).status == OrderStatus.PLACED
        failed = db.session.scalars(sa.select(Notification)).one()
        assert failed.sent_at is None and failed.attempts >= 1
        assert "Connection refused" in failed.last_error or "Errno" in failed.last_error
    finally:
        app.config["OMS_SMTP_URL"] = None
    # the mail server is back (here: the development folder); the retry sends it once
    assert service.notify_order_status(order_id=order.id, status=OrderStatus.PLACED) == "sent"
    assert (
        service.notify_order_status(order_id=order.id, status=OrderStatus.PLACED) == "already sent"
    )


def test_development_writes_eml_files(app, app_ctx, tmp_path):
    app.config["OMS_MAIL_DIR"] = str(tmp_path)
    try:
        customer = make_user(UserRole.CUSTOMER)
        order = make_order(customer, [(make_product(stock=5), 1)])
    finally:
        from tests.conftest import TEST_MAIL_DIR

        app.config["OMS_MAIL_DIR"] = TEST_MAIL_DIR
    [path] = list(Path(tmp_path).glob("*.eml"))
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["Subject"] == f"Your order {order.number} is confirmed"
    assert message["To"] == customer.email


def _strand(
    key: str, *, minutes_ago: float, claimed_for: float | None = None, undo_send: bool = True
) -> None:
    """Make the row look as a lost task leaves it: unsent, last tried ``minutes_ago``; with
    ``undo_send`` the mail server never accepted it either (its note in Redis is gone)."""
    from oms.db import utcnow
    from oms.redis_store import redis_client, redis_key

    if undo_send:
        redis_client().delete(redis_key("notifications", "mailed", key))
    then = utcnow() - timedelta(minutes=minutes_ago)
    claimed = utcnow() + timedelta(minutes=claimed_for) if claimed_for else None
    db.session.execute(
        sa.update(Notification)
        .where(Notification.dedupe_key == key)
        .values(sent_at=None, created_at=then, last_attempt_at=then, claimed_until=claimed)
    )
    db.session.commit()


def test_the_sweep_sends_a_stranded_notification_once(app_ctx, smtp):
    customer = make_user(UserRole.CUSTOMER)
    order = make_order(customer, [(make_product(stock=3), 1)])
    key = f"order-status:{order.id}:placed"
    assert len(smtp.messages) == 1
    older_than = timedelta(minutes=10)

    _strand(key, minutes_ago=5)  # too recent: its task may still come
    assert service.resend_unsent(older_than=older_than) == 0
    _strand(key, minutes_ago=30, claimed_for=2)  # a live lease: another task is sending it
    assert service.resend_unsent(older_than=older_than) == 0
    _strand(key, minutes_ago=30)
    assert service.resend_unsent(older_than=older_than) == 1  # the task runs in-process here
    db.session.remove()
    row = db.session.scalars(sa.select(Notification).where(Notification.dedupe_key == key)).one()
    assert row.sent_at is not None and row.claimed_until is None
    assert len(smtp.messages) == 2  # the stranded one, sent again (the first send was undone)
    assert service.resend_unsent(older_than=older_than) == 0  # sent: never again


def _send_with_the_mark_lost(smtp, monkeypatch):
    """A stranded notification sent while the database refuses the mark: (order, its key, the
    number of messages before the send)."""
    customer = make_user(UserRole.CUSTOMER)
    order = make_order(customer, [(make_product(stock=3), 1)])
    key = f"order-status:{order.id}:placed"
    _strand(key, minutes_ago=30)
    before = len(smtp.messages)

    def database_gone(**_kwargs):
        raise sa.exc.OperationalError("UPDATE", {}, Exception("server closed the connection"))

    real_mark = service.mark_sent
    monkeypatch.setattr(service, "mark_sent", database_gone)
    with pytest.raises(service.MarkNotSaved):
        service.notify_order_status(order_id=order.id, status="placed")
    monkeypatch.setattr(service, "mark_sent", real_mark)
    return order, key, before


def test_a_mark_lost_after_the_send_is_retried_as_a_mark_alone(app_ctx, smtp, monkeypatch):
    order, _key, before = _send_with_the_mark_lost(smtp, monkeypatch)
    assert len(smtp.messages) == before + 1
    # the retry of the lease holder only marks; a copy of the task meanwhile sends nothing
    assert service.notify_order_status(order_id=order.id, status="placed") == "in progress"
    assert service.notify_order_status(order_id=order.id, status="placed", sent=True) == "sent"
    assert service.notify_order_status(order_id=order.id, status="placed") == "already sent"
    assert len(smtp.messages) == before + 1


def test_a_mark_still_missing_when_the_lease_runs_out_is_not_sent_again(app_ctx, smtp, monkeypatch):
    """The database stays away longer than the lease: the sweep's copy of the task finds the
    row unsent and unclaimed, but the mail server had accepted it: it marks, never resends."""
    _order, key, before = _send_with_the_mark_lost(smtp, monkeypatch)
    assert len(smtp.messages) == before + 1
    # the lease ran out and the row looks untried for long; the mail server has the message
    _strand(key, minutes_ago=30, undo_send=False)
    assert service.resend_unsent(older_than=timedelta(minutes=10)) == 1  # runs in-process
    assert len(smtp.messages) == before + 1
    row = db.session.scalars(sa.select(Notification).where(Notification.dedupe_key == key)).one()
    assert row.sent_at is not None


def test_a_status_change_email_lost_before_the_broker_is_sent_by_the_sweep(app_ctx, smtp):
    """The notifications row is the email's outbox: a process that dies between the change's
    commit and the broker (played by dropping the after-commit work) leaves only the row, never
    tried, and the next sweep sends it, once."""
    from oms.outbox.models import OutboxMessage
    from tests.outbox import transaction_without_dispatch

    customer = make_user(UserRole.CUSTOMER)
    order = make_order(customer, [(make_product(stock=3), 1)])
    staff = make_user(UserRole.STAFF)
    order_id, number = order.id, order.number
    sent_before = len(smtp.messages)
    with transaction_without_dispatch():
        orders.pick_order(order_id=order_id, actor=staff)
    db.session.remove()
    key = f"order-status:{order_id}:picked"
    row = db.session.scalars(sa.select(Notification).where(Notification.dedupe_key == key)).one()
    assert row.sent_at is None and row.last_attempt_at is None
    assert len(smtp.messages) == sent_before
    unsent = sa.select(sa.func.count()).where(
        OutboxMessage.sent_at.is_(None),
        OutboxMessage.task != events.OUTBOX_TASK,  # the event's
    )
    assert db.session.scalar(unsent) == 0  # no second record of the same email
    assert service.resend_unsent(older_than=timedelta(minutes=10)) == 1  # runs in-process
    assert [m["Subject"] for m in smtp.messages[sent_before:]] == [
        f"Your order {number} is being packed"
    ]
    assert service.resend_unsent(older_than=timedelta(minutes=10)) == 0


def test_a_broker_refusing_a_status_change_email_leaves_it_to_the_sweep(
    app, app_ctx, smtp, monkeypatch
):
    from oms.outbox import service as outbox

    customer = make_user(UserRole.CUSTOMER)
    order = make_order(customer, [(make_product(stock=3), 1)])
    staff = make_user(UserRole.STAFF)
    sent_before = len(smtp.messages)
    refused: list[str] = []
    monkeypatch.setitem(app.extensions["celery"].conf, "task_always_eager", False)
    monkeypatch.setattr(outbox, "_publish", lambda task, kwargs: refused.append(task) or "down")
    picked = orders.pick_order(order_id=order.id, actor=staff)  # the change stands
    assert picked.status == OrderStatus.PICKED
    assert refused == ["notifications.send_order_status"]
    monkeypatch.undo()
    assert len(smtp.messages) == sent_before
    assert service.resend_unsent(older_than=timedelta(minutes=10)) == 1
    assert len(smtp.messages) == sent_before + 1
