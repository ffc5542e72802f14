"""RabbitMQ as the broker, graceful worker shutdown, and /metrics."""

from __future__ import annotations

import signal

import pytest
from kombu import Connection

from oms import create_app
from oms.auth.enums import UserRole
from oms.orders.enums import OrderStatus
from tests.conftest import TEST_DATABASE_URL, TEST_REDIS_URL, make_test_config
from tests.factories import ADDRESS, PASSWORD, make_product, make_user
from tests.integration.conftest import order_statuses, submit_orders, wait_until_decided
from tests.needs import RABBITMQ_URL
from tests.processes import PrivateRedis, stack_env, start_worker, wait_for

pytestmark = pytest.mark.slow

QUEUES = ("orders", "notifications", "reports", "maintenance")


@pytest.mark.needs("rabbitmq")
def test_rabbitmq_broker_works_like_redis(app_ctx, tmp_path):
    with Connection(RABBITMQ_URL, connect_timeout=5) as connection:
        channel = connection.channel()
        for queue in QUEUES:  # start from empty queues
            try:
                channel.queue_purge(queue)
            except Exception:
                channel = connection.channel()
    app = create_app(
        make_test_config(
            CELERY={"broker_url": RABBITMQ_URL, "result_backend": None, "task_always_eager": False}
        )
    )
    env = stack_env(
        database_url=TEST_DATABASE_URL, redis_url=TEST_REDIS_URL, broker_url=RABBITMQ_URL
    )
    worker = start_worker(env, tmp_path / "worker.log", concurrency=2, name="rabbit")
    try:
        product = make_product(stock=20)
        submit_orders(app, 8, product.id)
        assert wait_until_decided(60) == 0, worker.log()[-3000:]
    finally:
        worker.stop()
    assert order_statuses() == {OrderStatus.PLACED: 8}
    assert Connection(RABBITMQ_URL).as_uri() in worker.log()  # it really used RabbitMQ


def test_sigterm_lets_the_worker_finish_and_loses_nothing(app_ctx, tmp_path):
    broker = PrivateRedis()
    broker.start()
    try:
        env = stack_env(
            database_url=TEST_DATABASE_URL,
            redis_url=TEST_REDIS_URL,
            broker_url=broker.url,
            OMS_LOG_LEVEL="INFO",  # the worker's "warm shutdown" line (oms.logging)
        )
        app = create_app(
            make_test_config(
                CELERY={
                    "broker_url": broker.url,
                    "result_backend": None,
                    "task_always_eager": False,
                }
            )
        )
        product = make_product(stock=200)
        submit_orders(app, 120, product.id)
        worker = start_worker(env, tmp_path / "worker1.log", concurrency=1, name="first")
        wait_for(lambda: order_statuses().get(OrderStatus.PLACED, 0) >= 5, 60)
        worker.popen.send_signal(signal.SIGTERM)  # warm shutdown: finish the task in hand
        worker.popen.wait(60)
        log = worker.log()
        worker.stop()
        assert "warm shutdown" in log.lower(), log[-2000:]
        left = order_statuses().get(OrderStatus.PENDING, 0)
        assert left > 0, "the worker finished everything before the signal"
        # no sweeper, no relay: the queue itself still holds every unfinished task
        second = start_worker(env, tmp_path / "worker2.log", concurrency=2, name="second")
        try:
            assert wait_until_decided(90) == 0, second.log()[-3000:]
        finally:
            second.stop()
        assert order_statuses() == {OrderStatus.PLACED: 120}
    finally:
        broker.stop()


def test_metrics_are_scraped(app_ctx, client, auth):
    customer = make_user(UserRole.CUSTOMER)
    product = make_product(stock=5)
    headers = auth.headers(customer.email, PASSWORD)
    body = {"items": [{"product_id": str(product.id), "quantity": 1}], "shipping_address": ADDRESS}
    assert client.post("/api/v1/orders", json=body, headers=headers).status_code == 202
    client.get("/api/v1/orders/not-a-uuid", headers=headers)
    text = client.get("/metrics").get_data(as_text=True)
    assert 'oms_http_requests_total{method="POST",route="/api/v1/orders",status="202"}' in text
    assert 'oms_http_request_duration_seconds_count{method="POST",route="/api/v1/orders"}' in text
    assert 'oms_orders{status="placed"} 1.0' in text
    assert 'oms_queue_depth{queue="orders"}' in text
    assert 'oms_celery_tasks_total{state="succeeded",task="inventory.reserve_order"}' in text


def test_metrics_token_when_configured(app, client):
    app.config["OMS_METRICS_TOKEN"] = "scrape-me"
    try:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
        assert (
            client.get("/metrics", headers={"Authorization": "Bearer scrape-me"}).status_code == 200
        )
    finally:
        app.config["OMS_METRICS_TOKEN"] = None
