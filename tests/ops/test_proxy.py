"""Compose's one address (deploy/nginx.conf, the `proxy` service) with Debian's nginx in front
of the Procfile's API and socket processes: pages and API through it, and the live connection
through its /socket.io/ route (WebSocket upgrade) to the socket process."""

from __future__ import annotations

import subprocess

import pytest

from oms.auth.enums import UserRole
from tests import needs
from tests.conftest import TEST_BROKER_URL, TEST_DATABASE_URL, TEST_REDIS_URL
from tests.factories import ADDRESS, make_product, make_user
from tests.integration.conftest import http
from tests.integration.test_realtime import Listener, _login
from tests.processes import (
    ROOT,
    Process,
    free_port,
    stack_env,
    start_procfile,
    wait_for,
)

pytestmark = pytest.mark.slow


def _nginx() -> str:
    found = needs.nginx_path()
    assert found, needs.nginx_problem()
    return found


def start_proxy(tmp_path, api_port: int, socket_port: int, port: int) -> Process:
    """deploy/nginx.conf as compose runs it, its upstreams and port moved onto loopback."""
    site = (ROOT / "deploy" / "nginx.conf").read_text()
    for compose_name, local in (
        ("server web:5000;", f"server 127.0.0.1:{api_port};"),
        ("server socket:5001;", f"server 127.0.0.1:{socket_port};"),
        ("listen 8080;", f"listen 127.0.0.1:{port};"),
    ):
        assert compose_name in site, compose_name
        site = site.replace(compose_name, local)
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\n"
        f"error_log {tmp_path}/error.log;\n"
        "events {}\n"
        "http {\n"
        f"  access_log off;\n  client_body_temp_path {tmp_path}/body;\n"
        f"  proxy_temp_path {tmp_path}/proxy;\n"
        f"  include {tmp_path}/site.conf;\n"
        "}\n"
    )
    check = subprocess.run(
        [_nginx(), "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr
    proxy = Process(
        [_nginx(), "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;"],
        {},
        tmp_path / "nginx.log",
    )
    assert wait_for(
        lambda: (
            _status(f"http://127.0.0.1:{port}/healthz") == 200 or proxy.popen.poll() is not None
        ),
        30,
    ), proxy.log()
    return proxy


def _status(url: str) -> int | None:
    try:
        return http("GET", url)[0]
    except OSError:
        return None


@pytest.mark.needs("nginx")
def test_one_address_routes_the_api_and_socketio(app_ctx, worker, tmp_path):
    env = stack_env(
        database_url=TEST_DATABASE_URL,
        redis_url=TEST_REDIS_URL,
        broker_url=TEST_BROKER_URL,
        OMS_WEB_WORKERS="2",
        OMS_PROXY_HOPS="1",
    )
    api_port, socket_port, port = free_port(), free_port(), free_port()
    processes = [
        start_procfile("web", env, tmp_path / "web.log", api_port),
        start_procfile("socket", env, tmp_path / "socket.log", socket_port),
    ]
    listener = None
    try:
        processes.append(start_proxy(tmp_path, api_port, socket_port, port))
        base = f"http://127.0.0.1:{port}"
        customer = make_user(UserRole.CUSTOMER)
        token = _login(base, customer)
        # the page's origin is the proxy's: the socket process takes it as its own
        listener = Listener(base, token, transports=["websocket"])
        body = {
            "items": [{"product_id": str(make_product(stock=3).id), "quantity": 1}],
            "shipping_address": ADDRESS,
        }
        status, order = http("POST", f"{base}/api/v1/orders", body, token)
        assert status == 202, order
        assert wait_for(
            lambda: listener.of("order.status_changed", order_id=order["id"], new_status="placed"),
            30,
        ), listener.events
    finally:
        if listener is not None:
            listener.close()
        for process in reversed(processes):
            process.stop()
