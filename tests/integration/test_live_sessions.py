"""A session that ends ends on every open socket at once (issue 24, item 5): after a logout, a
logout everywhere, a password change, a deactivation or a demotion, the API refused at once
but an open socket kept hearing events until its process's next periodic re-check (10 s by
default; a demoted staff member heard other customers' orders meanwhile). Here the socket
processes re-check every 10 minutes: only the re-check the API process publishes can end
those connections in time."""

from __future__ import annotations

import pytest

from oms.auth.enums import UserRole
from tests.conftest import TEST_BROKER_URL, TEST_DATABASE_URL, TEST_REDIS_URL
from tests.factories import ADDRESS, PASSWORD, make_product, make_user
from tests.integration.conftest import http
from tests.integration.test_realtime import Listener, _login
from tests.processes import free_port, stack_env, start_procfile, wait_for

pytestmark = pytest.mark.slow

AT_ONCE = 5  # seconds: the API's commit, one Redis message, one query in the socket process


@pytest.fixture
def tier(worker, tmp_path):
    """One API process and two Socket.IO processes as the Procfile runs them: their URLs."""
    env = stack_env(
        database_url=TEST_DATABASE_URL,
        redis_url=TEST_REDIS_URL,
        broker_url=TEST_BROKER_URL,
        OMS_WEB_WORKERS="1",
        OMS_SOCKET_RECHECK_SECONDS="600",
    )
    processes, urls = [], {}
    try:
        for kind in ("web", "socket", "socket"):
            port = free_port()
            log = tmp_path / f"{kind}{len(processes)}.log"
            processes.append(start_procfile(kind, env, log, port))
            urls.setdefault(kind, []).append(f"http://127.0.0.1:{port}")
        yield urls["web"][0], urls["socket"]
    finally:
        for process in processes:
            process.stop()


def test_every_way_a_session_ends_drops_its_open_sockets_at_once(app_ctx, tier):
    api, sockets = tier
    admin_token = _login(api, make_user(UserRole.ADMIN))
    users = {name: make_user(UserRole.STAFF) for name in ("logout", "everywhere", "password")}
    users |= {name: make_user(UserRole.STAFF) for name in ("deactivated", "demoted")}
    tokens = {name: _login(api, user) for name, user in users.items()}
    listeners = {
        name: [Listener(url, tokens[name], transports=["websocket"]) for url in sockets]
        for name in users
    }
    bystander = Listener(
        sockets[0], _login(api, make_user(UserRole.STAFF)), transports=["websocket"]
    )
    try:
        changes = {
            "logout": ("POST", "/api/v1/auth/logout", {}, tokens["logout"]),
            "everywhere": ("POST", "/api/v1/auth/logout-all", {}, tokens["everywhere"]),
            "password": (
                "POST",
                "/api/v1/auth/password",
                {"current_password": PASSWORD, "new_password": "another-long-pass"},
                tokens["password"],
            ),
            "deactivated": (
                "PATCH",
                f"/api/v1/users/{users['deactivated'].id}",
                {"is_active": False},
                admin_token,
            ),
            "demoted": (
                "PATCH",
                f"/api/v1/users/{users['demoted'].id}",
                {"role": "customer"},
                admin_token,
            ),
        }
        for name, (method, path, body, token) in changes.items():
            status, answer = http(method, f"{api}{path}", body, token)
            assert status == 200, (name, answer)
            for listener in listeners[name]:
                assert wait_for(lambda listener=listener: not listener.client.connected, AT_ONCE), (
                    name
                )

        # the demoted member hears nothing of the orders placed after the demotion
        customer_token = _login(api, make_user(UserRole.CUSTOMER))
        order = {
            "items": [{"product_id": str(make_product(stock=5).id), "quantity": 1}],
            "shipping_address": ADDRESS,
        }
        status, placed = http("POST", f"{api}/api/v1/orders", order, customer_token)
        assert status == 202, placed
        assert wait_for(lambda: bystander.of("order.created", order_id=placed["id"]), 20)
        for listener in listeners["demoted"]:
            assert listener.of("order.created", order_id=placed["id"]) == []
        assert bystander.client.connected
    finally:
        for listener in [*(x for group in listeners.values() for x in group), bystander]:
            if listener.client.connected:
                listener.close()
