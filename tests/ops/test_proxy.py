"""Compose's one address (deploy/nginx.conf, the `proxy` service) with Debian's nginx in front
of the Procfile's API and socket processes: pages and API through it, and the live connection
through its /socket.io/ route to the socket processes, for clients at their defaults too (long
polling first, kept on one socket process by the proxy)."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections import defaultdict

import pytest

from oms.auth.enums import UserRole
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
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    assert found, "nginx is not installed (.ci/run installs Debian's nginx)"
    return found


def start_proxy(tmp_path, api_port: int, socket_ports: list[int], port: int) -> Process:
    """deploy/nginx.conf as compose runs it, its upstreams and port moved onto loopback (one
    server per socket process, as compose's `--scale socket=N` gives). Its access log
    (``access.log``) has each request's client address, upstream and URI."""
    site = (ROOT / "deploy" / "nginx.conf").read_text()
    sockets = " ".join(f"server 127.0.0.1:{socket_port};" for socket_port in socket_ports)
    for compose_name, local in (
        ("server web:5000;", f"server 127.0.0.1:{api_port};"),
        ("server socket:5001;", sockets),
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
        "  log_format routes '$remote_addr $upstream_addr $request_uri';\n"
        f"  access_log {tmp_path}/access.log routes;\n"
        f"  client_body_temp_path {tmp_path}/body;\n"
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
        processes.append(start_proxy(tmp_path, api_port, [socket_port], port))
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


CLIENT = ROOT / "tests" / "ops" / "socketio_client"


class NodeClient:
    """The npm socket.io-client at its defaults (tests/ops/socketio_client/listen.js), from
    ``local_address`` (another loopback address stands for another client machine)."""

    def __init__(self, url: str, token: str, local_address: str = ""):
        node = shutil.which("node")
        assert node, "node is not installed"
        assert (CLIENT / "node_modules" / "socket.io-client").is_dir(), (
            "socket.io-client is not installed: npm ci --prefix tests/ops/socketio_client"
        )
        self.local_address = local_address or "127.0.0.1"
        self.lines: list[dict] = []
        self.popen = subprocess.Popen(
            [node, str(CLIENT / "listen.js"), url, token, local_address],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            try:
                self.lines.append(json.loads(line))
            except ValueError:
                self.lines.append({"event": "output", "text": line})

    def of(self, event: str) -> list[dict]:
        return [line for line in self.lines if line["event"] == event]

    def close(self) -> None:
        self.popen.terminate()
        try:
            self.popen.wait(10)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(10)


def test_default_clients_connect_through_the_proxy_to_two_socket_processes(
    app_ctx, worker, tmp_path
):
    """Socket.IO clients with no options (long polling first, then the WebSocket upgrade)
    connect through the one address to either of two socket processes: each client's requests
    all reach one process (a polling session lives there), and clients spread over both."""
    env = stack_env(
        database_url=TEST_DATABASE_URL,
        redis_url=TEST_REDIS_URL,
        broker_url=TEST_BROKER_URL,
        OMS_WEB_WORKERS="1",
        OMS_PROXY_HOPS="1",
    )
    api_port, port = free_port(), free_port()
    socket_ports = [free_port(), free_port()]
    processes = [start_procfile("web", env, tmp_path / "web.log", api_port)]
    processes += [
        start_procfile("socket", env, tmp_path / f"socket{n}.log", socket_port)
        for n, socket_port in enumerate(socket_ports)
    ]
    clients: list[NodeClient] = []
    listener = None
    try:
        processes.append(start_proxy(tmp_path, api_port, socket_ports, port))
        base = f"http://127.0.0.1:{port}"
        token = _login(base, make_user(UserRole.STAFF))
        # one client from the proxy's own address, eight from other machines
        clients = [NodeClient(base, token)]
        clients += [NodeClient(base, token, f"127.0.0.{n}") for n in range(2, 10)]
        listener = Listener(base, token)  # python-socketio at its defaults too
        for client in clients:
            assert wait_for(
                lambda client=client: client.of("upgrade") or client.of("connect_error"), 30
            ), client.lines
            assert client.of("connect_error") == [], client.lines
            assert client.of("open") == [{"event": "open", "transport": "polling"}], client.lines
            assert wait_for(lambda client=client: client.of("connect"), 10), client.lines
            assert client.of("upgrade") == [{"event": "upgrade", "transport": "websocket"}]
        assert wait_for(lambda: listener.client.transport() == "websocket", 10)

        body = {
            "items": [{"product_id": str(make_product(stock=3).id), "quantity": 1}],
            "shipping_address": ADDRESS,
        }
        customer_token = _login(base, make_user(UserRole.CUSTOMER))
        status, order = http("POST", f"{base}/api/v1/orders", body, customer_token)
        assert status == 202, order

        def placed(lines: list[dict]) -> bool:
            return any(
                line["event"] == "order.status_changed"
                and line["data"]["order_id"] == order["id"]
                and line["data"]["new_status"] == "placed"
                for line in lines
            )

        for client in clients:
            assert wait_for(lambda client=client: placed(client.lines), 30), client.lines
        assert wait_for(
            lambda: listener.of("order.status_changed", order_id=order["id"], new_status="placed"),
            30,
        ), listener.events
        assert all(client.of("disconnect") == [] for client in clients)

        upstreams: dict[str, set[str]] = defaultdict(set)
        for line in (tmp_path / "access.log").read_text().splitlines():
            address, upstream, uri = line.split(" ", 2)
            if uri.startswith("/socket.io/"):
                upstreams[address].add(upstream)
        assert set(upstreams) == {client.local_address for client in clients}
        assert all(len(used) == 1 for used in upstreams.values()), upstreams
        assert set().union(*upstreams.values()) == {f"127.0.0.1:{p}" for p in socket_ports}
    finally:
        for client in clients:
            client.close()
        if listener is not None:
            listener.close()
        for process in reversed(processes):
            process.stop()
