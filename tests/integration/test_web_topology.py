"""The production web tier as the Procfile runs it: API processes (gunicorn, no Socket.IO) and
separate Socket.IO processes (gevent), sharing events through Redis."""

from __future__ import annotations

import pytest
import socketio as sio

from oms.auth.enums import UserRole
from tests.conftest import TEST_BROKER_URL, TEST_DATABASE_URL, TEST_REDIS_URL
from tests.factories import ADDRESS, make_product, make_user
from tests.integration.conftest import http
from tests.integration.test_realtime import Listener, _login
from tests.processes import free_port, stack_env, start_procfile, wait_for

pytestmark = pytest.mark.slow

WEBSOCKET = ["websocket"]


@pytest.fixture
def tier(worker, tmp_path):
    """Two API processes and two Socket.IO processes, each on its own port: their URLs."""
    env = stack_env(
        database_url=TEST_DATABASE_URL,
        redis_url=TEST_REDIS_URL,
        broker_url=TEST_BROKER_URL,
        OMS_WEB_WORKERS="1",
    )
    processes, urls = [], {"api": [], "socket": []}
    try:
        for kind in ("web", "socket"):
            for n in range(2):
                port = free_port()
                processes.append(start_procfile(kind, env, tmp_path / f"{kind}{n}.log", port))
                urls["api" if kind == "web" else "socket"].append(f"http://127.0.0.1:{port}")
        yield urls
    finally:
        for process in processes:
            process.stop()


def _order(api: str, token: str, product) -> dict:
    body = {"items": [{"product_id": str(product.id), "quantity": 1}], "shipping_address": ADDRESS}
    status, order = http("POST", f"{api}/api/v1/orders", body, token)
    assert status == 202, order
    return order


def test_live_updates_reach_every_client_across_api_and_socket_processes(app_ctx, tier):
    (api_a, api_b), (socket_a, socket_b) = tier["api"], tier["socket"]
    customer, staff = make_user(UserRole.CUSTOMER), make_user(UserRole.STAFF)
    customer_token, staff_token = _login(api_a, customer), _login(api_b, staff)
    product = make_product(stock=10)
    listeners = [
        Listener(url, token, transports=WEBSOCKET)
        for url in (socket_a, socket_b)
        for token in (customer_token, staff_token, staff_token)
    ]
    try:
        orders = [_order(api_a, customer_token, product), _order(api_b, customer_token, product)]
        for listener in listeners:
            for order in orders:
                # order.created from the API process that took it, placed from the worker
                assert wait_for(
                    lambda listener=listener, order=order: listener.of(
                        "order.status_changed", order_id=order["id"], new_status="placed"
                    ),
                    30,
                ), listener.events
                assert len(listener.of("order.created", order_id=order["id"])) == 1
    finally:
        for listener in listeners:
            listener.close()


def test_api_processes_serve_no_socketio_and_socket_processes_every_transport(app_ctx, tier):
    token = _login(tier["api"][0], make_user(UserRole.STAFF))
    for api in tier["api"]:
        with pytest.raises(sio.exceptions.ConnectionError):
            Listener(api, token, transports=WEBSOCKET)
        with pytest.raises(sio.exceptions.ConnectionError):
            Listener(api, token, transports=["polling"])
    for socket_url in tier["socket"]:
        # long polling too: a client at its defaults starts with it (the proxy keeps each
        # client on one socket process, tests/ops/test_proxy.py)
        Listener(socket_url, token, transports=["polling"]).close()
        Listener(socket_url, token, transports=WEBSOCKET).close()


def test_the_api_keeps_answering_while_a_hundred_clients_are_connected(app_ctx, tier):
    (api_a, api_b), sockets = tier["api"], tier["socket"]
    tokens = [_login(api_a, make_user(UserRole.STAFF)) for _ in range(5)]
    listeners = []
    try:
        for n in range(100):
            listeners.append(
                Listener(sockets[n % 2], tokens[n % len(tokens)], transports=WEBSOCKET)
            )
        # every API call answers with all hundred connected (a WebSocket holds no API thread)
        customer = make_user(UserRole.CUSTOMER)
        customer_token = _login(api_b, customer)
        product = make_product(stock=5)
        for api in (api_a, api_b):
            status, body = http("GET", f"{api}/api/v1/orders?limit=5", None, tokens[0])
            assert status == 200, body
            status, body = http("GET", f"{api}/api/v1/products?limit=5", None, customer_token)
            assert status == 200, body
        order = _order(api_a, customer_token, product)
        assert all(listener.client.connected for listener in listeners)
        for listener in listeners:
            assert wait_for(
                lambda listener=listener: listener.of(
                    "order.status_changed", order_id=order["id"], new_status="placed"
                ),
                30,
            ), listener.events
    finally:
        for listener in listeners:
            listener.close()
