"""Webhooks through real worker and beat processes on a broker of the test's own: the
``webhooks`` queue delivers, beat retries after a 500, a rolled-back change sends nothing, and
a worker SIGKILLed mid-delivery leaves exactly one answered delivery per event."""

from __future__ import annotations

from collections import Counter

import pytest
import sqlalchemy as sa

from oms import create_app
from oms.auth.enums import UserRole
from oms.auth.models import User
from oms.db import transaction
from oms.extensions import db
from oms.orders import actions as orders
from oms.webhooks import service
from oms.webhooks.enums import AttemptOutcome, DeliveryState
from oms.webhooks.models import WebhookDelivery
from tests.conftest import TEST_DATABASE_URL, TEST_REDIS_URL, make_test_config
from tests.factories import ADDRESS, make_product, make_user
from tests.processes import PrivateRedis, stack_env, start_beat, start_worker, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def broker():
    server = PrivateRedis()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def stack(broker, tmp_path):
    """The env of worker and beat processes, and an app sending to the same broker."""
    env = stack_env(
        database_url=TEST_DATABASE_URL,
        redis_url=TEST_REDIS_URL,
        broker_url=broker.url,
        OMS_WEBHOOKS_ALLOW_PRIVATE="true",
        OMS_WEBHOOKS_RETRY_BASE_SECONDS="0.2",
        OMS_WEBHOOKS_SWEEP_SECONDS="0.5",
        OMS_WEBHOOKS_STALE_SECONDS="3",
    )
    web = create_app(
        make_test_config(
            CELERY={"broker_url": broker.url, "result_backend": None, "task_always_eager": False},
            OMS_WEBHOOKS_ALLOW_PRIVATE=True,
        )
    )
    return env, web


def _register(receiver, *types: str) -> None:
    endpoint = service.create(url=receiver.url, event_types=list(types))
    receiver.secret(endpoint.secret)


def _place(customer_id, product_id) -> str:
    customer = db.session.get(User, customer_id)
    items = [{"product_id": product_id, "quantity": 1}]
    return str(orders.place_order(actor=customer, items=items, shipping_address=ADDRESS).order.id)


def _deliveries() -> list[WebhookDelivery]:
    db.session.remove()
    return list(db.session.scalars(sa.select(WebhookDelivery).order_by(WebhookDelivery.id)))


def test_worker_delivers_retries_and_sends_nothing_for_a_rollback(
    app_ctx, stack, receiver, tmp_path
):
    env, web = stack
    worker = start_worker(env, tmp_path / "worker.log", concurrency=1)
    beat = start_beat(env, tmp_path / "beat.log")
    try:
        with web.app_context():
            _register(receiver, "order.created")
            customer, product = make_user(UserRole.CUSTOMER).id, make_product(stock=10).id
            with pytest.raises(RuntimeError), transaction():  # noqa: PT012
                _place(customer, product)
                raise RuntimeError("rolled back")
            assert _deliveries() == []
            receiver.rules(fail=2)
            order_id = _place(customer, product)
            delivered = wait_for(
                lambda: [d.state for d in _deliveries()] == [DeliveryState.DELIVERED], 60
            )
            assert delivered, worker.log()[-3000:] + beat.log()[-2000:]
    finally:
        beat.stop()
        worker.stop()
    requests = receiver.requests()
    assert [r["status"] for r in requests] == [500, 500, 200]
    assert {r["body"]["order_id"] for r in requests} == {order_id}
    assert all(r["valid"] for r in requests)
    assert "webhooks.send_delivery" in worker.log()


def test_worker_killed_mid_delivery_one_answered_delivery_per_event(
    app_ctx, stack, receiver, tmp_path
):
    env, web = stack
    with web.app_context():
        _register(receiver, "order.created")
        customer, product = make_user(UserRole.CUSTOMER).id, make_product(stock=10).id
        receiver.rules(hang=True)  # holds the POST open until the worker dies
        order_ids = [_place(customer, product) for _ in range(3)]
    victim = start_worker(env, tmp_path / "victim.log", concurrency=1, name="victim")
    try:
        assert wait_for(lambda: len(receiver.requests()) == 1, 60), victim.log()[-3000:]
    finally:
        victim.kill()
    receiver.rules()
    with web.app_context():
        assert DeliveryState.SENDING in [d.state for d in _deliveries()]
        survivor = start_worker(env, tmp_path / "survivor.log", concurrency=1, name="survivor")
        beat = start_beat(env, tmp_path / "beat.log")
        try:
            done = wait_for(
                lambda: {d.state for d in _deliveries()} == {DeliveryState.DELIVERED}, 90
            )
            assert done, survivor.log()[-3000:]
        finally:
            beat.stop()
            survivor.stop()
        interrupted = [d for d in _deliveries() if d.attempts == 2]
        assert len(interrupted) == 1
        outcomes = [a.outcome for a in interrupted[0].attempt_log]
        assert outcomes == [AttemptOutcome.INTERRUPTED, AttemptOutcome.DELIVERED]
    answered = Counter(r["body"]["order_id"] for r in receiver.requests() if r["status"] == 200)
    assert answered == Counter(order_ids)  # every event answered once, none lost
    assert len({r["headers"]["X-OMS-Event-Id"] for r in receiver.requests()}) == 3
