"""No order is lost when the worker dies mid-reservation or the broker is down."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from oms import create_app, events
from oms.extensions import db
from oms.orders.enums import OrderStatus
from oms.outbox.models import OutboxMessage
from tests.conftest import TEST_DATABASE_URL, TEST_REDIS_URL, make_test_config
from tests.factories import make_product
from tests.integration.conftest import order_statuses, submit_orders, wait_until_decided
from tests.processes import PrivateRedis, stack_env, start_beat, start_worker, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def broker():
    """A Redis of this test's own as the broker, so the test may kill it and its worker."""
    server = PrivateRedis()
    server.start()
    yield server
    server.stop()


def _stack(broker, tmp_path):
    env = stack_env(
        database_url=TEST_DATABASE_URL,
        redis_url=TEST_REDIS_URL,
        broker_url=broker.url,
        OMS_OUTBOX_RELAY_SECONDS="1",
        OMS_PENDING_SWEEP_SECONDS="2",
    )
    app = create_app(
        make_test_config(
            CELERY={"broker_url": broker.url, "result_backend": None, "task_always_eager": False}
        )
    )
    return env, app


def test_worker_killed_mid_reservation_loses_no_order(app_ctx, broker, tmp_path):
    env, app = _stack(broker, tmp_path)
    product = make_product(stock=60)
    product_id = product.id
    submit_orders(app, 150, product_id)  # queued: the worker is not running yet
    worker = start_worker(env, tmp_path / "worker1.log", concurrency=1, name="victim")
    wait_for(lambda: order_statuses().get(OrderStatus.PLACED, 0) >= 5, 60)
    worker.kill()  # SIGKILL in the middle of the backlog
    pending_at_kill = order_statuses().get(OrderStatus.PENDING, 0)
    assert pending_at_kill > 0, "the worker finished before it could be killed"

    worker = start_worker(env, tmp_path / "worker2.log", concurrency=1, name="survivor")
    beat = start_beat(env, tmp_path / "beat.log")
    try:
        assert wait_until_decided(120) == 0, worker.log()[-3000:]
    finally:
        beat.stop()
        worker.stop()
    statuses = order_statuses()
    assert statuses[OrderStatus.PLACED] == 60
    assert statuses[OrderStatus.PLACED] + statuses.get(OrderStatus.REJECTED, 0) == 150


def test_broker_down_while_orders_arrive_only_delays_them(app_ctx, broker, tmp_path):
    env, app = _stack(broker, tmp_path)
    product = make_product(stock=100)
    worker = start_worker(env, tmp_path / "worker.log", concurrency=2, name="steady")
    try:
        broker.stop()
        started = time.monotonic()
        submit_orders(app, 20, product.id)  # accepted (202) with the broker down
        assert time.monotonic() - started < 30, "submissions waited on the dead broker"
        assert order_statuses() == {OrderStatus.PENDING: 20}
        unsent = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.sent_at.is_(None), OutboxMessage.task != events.OUTBOX_TASK)
        )
        assert unsent == 20  # the reservations (events' rows are stored by the relay)

        broker.start()
        beat = start_beat(env, tmp_path / "beat.log")
        try:
            assert wait_until_decided(120) == 0, worker.log()[-3000:]
        finally:
            beat.stop()
    finally:
        worker.stop()
    assert order_statuses() == {OrderStatus.PLACED: 20}
    db.session.remove()
    unsent = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.sent_at.is_(None), OutboxMessage.task != events.OUTBOX_TASK)
    )
    assert unsent == 0
