"""Finding 4: a notification whose task was lost (worker SIGKILLed mid-send, Redis restarted
without persistence) is found again by the beat sweep and sent, once."""

from __future__ import annotations

import email.policy
import socket
import threading
from email import message_from_bytes

import pytest
import redis
import sqlalchemy as sa

from oms import create_app
from oms.auth.enums import UserRole
from oms.extensions import db
from oms.notifications.models import Notification
from oms.orders import actions
from oms.orders.models import Order
from tests.conftest import TEST_DATABASE_URL, TEST_REDIS_URL, make_test_config
from tests.factories import make_product, make_user
from tests.integration.conftest import submit_orders
from tests.mail import text_of
from tests.processes import PrivateRedis, stack_env, start_beat, start_worker, wait_for

pytestmark = pytest.mark.slow

SWEEP = {  # the sweep runs every second and takes rows untried for 3 s
    "OMS_NOTIFICATION_RESEND_MINUTES": "0.05",
    "OMS_NOTIFICATION_SWEEP_SECONDS": "1",
    "OMS_NOTIFICATION_LEASE_SECONDS": "3",
    "OMS_OUTBOX_RELAY_SECONDS": "1",
    "OMS_PENDING_SWEEP_SECONDS": "2",
}


class SilentSmtp:
    """A mail server that accepts connections and never answers: a send hangs in it."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.port = self.listener.getsockname()[1]
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections.append(connection)

    def close(self):
        for connection in self.connections:
            connection.close()
        self.listener.close()


@pytest.fixture
def broker():
    server = PrivateRedis()
    server.start()
    yield server
    server.stop()


def _app(broker):
    return create_app(
        make_test_config(
            CELERY={"broker_url": broker.url, "result_backend": None, "task_always_eager": False}
        )
    )


def _env(broker, **extra):
    return stack_env(
        database_url=TEST_DATABASE_URL, redis_url=TEST_REDIS_URL, broker_url=broker.url, **extra
    )


def _notification(key: str) -> Notification | None:
    db.session.remove()
    return db.session.scalars(sa.select(Notification).where(Notification.dedupe_key == key)).first()


def _mails(folder, key: str) -> list:
    if not folder.exists():
        return []
    found = [
        message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in sorted(folder.glob("*.eml"))
    ]
    return [m for m in found if m["X-OMS-Key"] == key]


def test_a_notification_stranded_by_a_killed_worker_is_sent_once(app_ctx, broker, tmp_path):
    product = make_product(stock=5)
    submit_orders(_app(broker), 1, product.id)
    order_id = db.session.scalars(
        sa.select(Order.id).where(Order.items.any(product_id=product.id))
    ).one()
    key = f"order-status:{order_id}:placed"
    smtp = SilentSmtp()
    victim = start_worker(
        _env(broker, OMS_SMTP_URL=f"smtp://127.0.0.1:{smtp.port}", OMS_SMTP_TIMEOUT="120", **SWEEP),
        tmp_path / "victim.log",
        concurrency=1,
        name="victim",
    )
    try:
        # the order is placed and its email is on its way, stuck in the mail server
        assert wait_for(lambda: smtp.connections, 60), victim.log()[-3000:]
        claimed = _notification(key)
        assert claimed is not None and claimed.sent_at is None and claimed.attempts == 1
    finally:
        victim.kill()  # SIGKILL mid-send: its task stays unacknowledged in Redis for hours
        smtp.close()

    mail_dir = tmp_path / "mail"
    env = _env(broker, OMS_MAIL_DIR=str(mail_dir), **SWEEP)
    worker = start_worker(env, tmp_path / "worker.log", concurrency=1, name="survivor")
    beat = start_beat(env, tmp_path / "beat.log")
    try:
        assert wait_for(lambda: (_notification(key) or claimed).sent_at is not None, 60), (
            worker.log()[-3000:]
        )
        # more sweeps find nothing left to send
        wait_for(lambda: False, 4)
    finally:
        beat.stop()
        worker.stop()
    sent = _notification(key)
    assert sent is not None and sent.attempts == 2 and sent.claimed_until is None
    assert len(_mails(mail_dir, key)) == 1


def test_a_notification_lost_with_redis_restarted_empty_is_sent_once(app_ctx, broker, tmp_path):
    staff = make_user(UserRole.STAFF)
    product = make_product(stock=5)
    app = _app(broker)
    submit_orders(app, 1, product.id)
    with app.app_context():
        order_id = db.session.scalars(
            sa.select(Order.id).where(Order.items.any(product_id=product.id))
        ).one()
        actions.cancel_order(order_id=order_id, actor=staff, notes="customer called")
    key = f"order-status:{order_id}:cancelled"
    assert (
        redis.Redis.from_url(broker.url).llen("notifications") == 1
    )  # the task reached the broker
    broker.stop()  # no persistence: every queued task is gone
    broker.start()
    assert redis.Redis.from_url(broker.url).llen("notifications") == 0

    mail_dir = tmp_path / "mail"
    env = _env(broker, OMS_MAIL_DIR=str(mail_dir), **SWEEP)
    worker = start_worker(env, tmp_path / "worker.log", concurrency=1, name="after-restart")
    beat = start_beat(env, tmp_path / "beat.log")
    try:
        assert wait_for(lambda: _notification(key).sent_at is not None, 60), worker.log()[-3000:]
        wait_for(lambda: False, 4)  # more sweeps find nothing left to send
    finally:
        beat.stop()
        worker.stop()
    assert _notification(key).attempts == 1
    mails = _mails(mail_dir, key)
    assert len(mails) == 1 and "customer called" in text_of(mails[0])
