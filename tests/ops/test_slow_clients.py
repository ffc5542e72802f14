"""The API process as the Procfile (and so `make stack`) runs it, with no proxy in front: 100
clients that stall mid-headers or mid-body hold none of its 2 x 16 threads (oms.http_worker),
and are dropped once OMS_REQUEST_SECONDS have passed."""

from __future__ import annotations

import contextlib
import json
import socket
import time
import urllib.request

import pytest

from oms.auth.enums import UserRole
from tests.conftest import TEST_BROKER_URL, TEST_DATABASE_URL, TEST_REDIS_URL
from tests.factories import ADDRESS, make_product, make_user
from tests.integration.conftest import http
from tests.integration.test_realtime import _login
from tests.processes import free_port, stack_env, start_procfile, wait_for

pytestmark = pytest.mark.slow  # a web process

REQUEST_SECONDS = 10


def _timed(request: urllib.request.Request) -> tuple[int, float]:
    """The answer's status and how long it took (a request that waits 5 s fails)."""
    started = time.monotonic()
    with urllib.request.urlopen(request, timeout=5) as response:
        response.read()
        return response.status, time.monotonic() - started


def _closed_by_server(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def test_stalled_clients_hold_no_thread_and_are_dropped_in_time(app_ctx, tmp_path):
    env = stack_env(
        database_url=TEST_DATABASE_URL,
        redis_url=TEST_REDIS_URL,
        broker_url=TEST_BROKER_URL,
        OMS_WEB_WORKERS="2",  # with the default 16 threads each, as on this 2-core machine
        OMS_REQUEST_SECONDS=str(REQUEST_SECONDS),
    )
    port = free_port()
    web = start_procfile("web", env, tmp_path / "web.log", port)
    base = f"http://127.0.0.1:{port}"
    stalled: list[socket.socket] = []
    try:
        token = _login(base, make_user(UserRole.CUSTOMER))
        order = json.dumps(
            {
                "items": [{"product_id": str(make_product(stock=1000).id), "quantity": 1}],
                "shipping_address": ADDRESS,
            }
        ).encode()
        order_head = (
            f"POST /api/v1/orders HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(order)}\r\n\r\n"
        ).encode()
        started = time.monotonic()
        for n in range(100):
            sock = socket.create_connection(("127.0.0.1", port))
            if n % 2:  # mid-headers
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            else:  # mid-body: an authenticated order whose body stops halfway
                sock.sendall(order_head + order[: len(order) // 2])
            stalled.append(sock)

        def order_request() -> urllib.request.Request:
            request = urllib.request.Request(f"{base}/api/v1/orders", data=order, method="POST")
            request.add_header("Authorization", f"Bearer {token}")
            request.add_header("Content-Type", "application/json")
            return request

        # while they stall, every request of others is answered within a second
        timings = []
        while time.monotonic() - started < REQUEST_SECONDS / 2:
            timings.append(("healthz", *_timed(urllib.request.Request(f"{base}/healthz"))))
            timings.append(("order", *_timed(order_request())))
        assert all(status in (200, 202) for _, status, _ in timings), timings
        assert max(took for _, _, took in timings) < 1, timings
        assert len(timings) >= 10, timings

        # a stalled client that finishes in time is answered
        late_header, late_order = stalled.pop(1), stalled.pop(0)
        late_header.sendall(b"1\r\nConnection: close\r\n\r\n")
        late_order.sendall(order[len(order) // 2 :])
        assert late_header.makefile("rb").readline().startswith(b"HTTP/1.1 200")
        assert late_order.makefile("rb").readline().startswith(b"HTTP/1.1 202")
        # a client that waits for "100 Continue" before its body gets it, then its answer
        expecting = socket.create_connection(("127.0.0.1", port), timeout=5)
        expecting.sendall(order_head.replace(b"\r\n\r\n", b"\r\nExpect: 100-continue\r\n\r\n"))
        answer = expecting.makefile("rb")
        assert answer.readline() == b"HTTP/1.1 100 Continue\r\n"
        expecting.sendall(order)
        assert wait_for(lambda: answer.readline().startswith(b"HTTP/1.1 202"), 5)
        expecting.close()
        # the others are dropped once their time is up
        assert wait_for(lambda: all(_closed_by_server(s) for s in stalled), REQUEST_SECONDS + 10)
        assert time.monotonic() - started > REQUEST_SECONDS - 1  # not before
        status, body = http("GET", f"{base}/healthz")
        assert status == 200, body
    finally:
        for sock in stalled:
            with contextlib.suppress(OSError):
                sock.close()
        web.stop()
