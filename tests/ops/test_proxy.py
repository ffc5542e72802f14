"""Compose's one address (deploy/nginx.conf, the `proxy` service) with Debian's nginx in front
of the Procfile's API and socket processes (tests/proxy.py): pages and API through it over
HTTPS, the live connection through its /socket.io/ route (WebSocket upgrade, wss) to the socket
process; plain HTTP redirects; HSTS, compression and buffering as the proxy promises."""

from __future__ import annotations

import base64
import gzip
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import urllib.error
import urllib.request
from collections import defaultdict
from http.client import HTTPConnection, HTTPResponse, HTTPSConnection
from pathlib import Path

import pytest
import yaml

from oms.auth.enums import UserRole
from oms.exports.enums import ExportStatus
from oms.exports.models import ExportJob
from oms.extensions import db
from tests.conftest import TEST_BROKER_URL, TEST_DATABASE_URL, TEST_REDIS_URL
from tests.factories import ADDRESS, PASSWORD, make_product, make_user
from tests.integration.conftest import http
from tests.integration.test_realtime import Listener, _login
from tests.processes import BIN, ROOT, Process, free_port, stack_env, start_procfile, wait_for
from tests.proxy import start_proxy

pytestmark = [pytest.mark.slow, pytest.mark.needs("nginx")]  # the shipped proxy (tests/proxy.py)


def test_one_address_routes_the_api_and_socketio(app_ctx, worker, tmp_path, monkeypatch):
    env = stack_env(
        database_url=TEST_DATABASE_URL,
        redis_url=TEST_REDIS_URL,
        broker_url=TEST_BROKER_URL,
        OMS_WEB_WORKERS="2",
        OMS_PROXY_HOPS="1",
    )
    api_port, socket_port = free_port(), free_port()
    processes = [
        start_procfile("web", env, tmp_path / "web.log", api_port),
        start_procfile("socket", env, tmp_path / "socket.log", socket_port),
    ]
    listener = None
    try:
        proxy = start_proxy(tmp_path, api_port, socket_port)
        processes.append(proxy)
        # the clients (urllib, python-socketio's websocket) trust the proxy's certificate
        monkeypatch.setenv("SSL_CERT_FILE", str(proxy.certificate))
        base = proxy.url()
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


@pytest.fixture(scope="module")
def behind_proxy(app, tmp_path_factory):
    """One API and one socket process behind the shipped proxy, with their own export folder."""
    folder = tmp_path_factory.mktemp("proxy")
    exports = folder / "exports"
    exports.mkdir()
    env = stack_env(
        database_url=TEST_DATABASE_URL,
        redis_url=TEST_REDIS_URL,
        broker_url=TEST_BROKER_URL,
        OMS_WEB_WORKERS="1",
        OMS_PROXY_HOPS="1",
        OMS_EXPORT_DIR=str(exports),
    )
    api_port, socket_port = free_port(), free_port()
    processes = [
        start_procfile("web", env, folder / "web.log", api_port),
        start_procfile("socket", env, folder / "socket.log", socket_port),
    ]
    try:
        proxy = start_proxy(folder, api_port, socket_port)
        processes.append(proxy)
        yield proxy, api_port, exports
    finally:
        for process in reversed(processes):
            process.stop()


def _get(proxy, path: str, headers: dict | None = None) -> HTTPResponse:
    connection = HTTPSConnection(
        "127.0.0.1", proxy.https_port, context=proxy.tls_context(), timeout=30
    )
    connection.request(
        "GET", path, headers={"Host": f"oms.test:{proxy.https_port}", **(headers or {})}
    )
    return connection.getresponse()


def test_plain_http_redirects_to_https(behind_proxy):
    proxy, _, _ = behind_proxy
    connection = HTTPConnection("127.0.0.1", proxy.http_port, timeout=30)
    connection.request("GET", "/login?next=/staff", headers={"Host": f"oms.test:{proxy.http_port}"})
    answer = connection.getresponse()
    assert answer.status == 301
    assert answer.getheader("Location") == f"https://oms.test:{proxy.https_port}/login?next=/staff"
    assert "self-signed" in proxy.entrypoint_log.lower()


def test_https_answers_carry_hsts_once_and_are_compressed(behind_proxy):
    proxy, _, _ = behind_proxy
    page = _get(proxy, "/login", {"Accept-Encoding": "gzip"})
    body = gzip.decompress(page.read()).decode()
    assert page.status == 200
    assert page.getheader("Content-Encoding") == "gzip"
    assert [v for k, v in page.getheaders() if k.lower() == "strict-transport-security"] == [
        "max-age=63072000; includeSubDomains"
    ]
    script = re.search(r'src="(/static/[^"]+\.js)"', body)
    assert script, body
    asset = _get(proxy, script.group(1), {"Accept-Encoding": "gzip"})
    assert asset.status == 200
    assert asset.getheader("Content-Encoding") == "gzip"
    assert "immutable" in asset.getheader("Cache-Control")
    assert gzip.decompress(asset.read())
    errors = _get(proxy, "/api/v1/auth/me", {"Accept-Encoding": "gzip"})
    assert errors.status == 401
    assert errors.getheader("Strict-Transport-Security")


def _unbufferable_size() -> int:
    """More bytes than the kernel's socket buffers between the app and a client that reads
    nothing can hold (the app's send buffer, the proxy's receive and send buffers), so the
    app can only be done early if the proxy itself took the answer."""
    receive = int(Path("/proc/sys/net/ipv4/tcp_rmem").read_text().split()[2])
    send = int(Path("/proc/sys/net/ipv4/tcp_wmem").read_text().split()[2])
    return 2 * (receive + 2 * send)


def _connections_to(port: int) -> int:
    """Established TCP connections to 127.0.0.1:``port`` (from /proc/net/tcp)."""
    target = f"0100007F:{port:04X}"
    with open("/proc/net/tcp") as table:
        rows = [line.split() for line in table.readlines()[1:]]
    return sum(1 for row in rows if row[2] == target and row[3] == "01")


def test_a_slow_client_holds_no_app_thread(behind_proxy, app_ctx):
    """The proxy buffers answers: it takes a large download from the app at once (the app's
    connection closes) while the client has not read a byte yet."""
    proxy, api_port, exports = behind_proxy
    admin = make_user(UserRole.ADMIN)
    job = ExportJob(
        user_id=admin.id,
        status=ExportStatus.FINISHED,
        filters={},
        file_name="orders.csv",
        file_size=0,
    )
    db.session.add(job)
    db.session.commit()
    line = b"ORD-1,placed,2026-01-01T00:00:00Z,Ada Lovelace,12.50\n"
    size = _unbufferable_size() // len(line) * len(line)
    (exports / f"{job.id}.csv").write_bytes(line * (size // len(line)))
    status, tokens = proxy.request(
        "POST", "/api/v1/auth/login", {"email": admin.email, "password": PASSWORD}
    )
    assert status == 200, tokens

    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect(("127.0.0.1", proxy.https_port))
    client = proxy.tls_context().wrap_socket(raw, server_hostname="127.0.0.1")
    client.sendall(
        (
            f"GET /api/v1/reports/exports/{job.id}/download HTTP/1.1\r\n"
            f"Host: oms.test:{proxy.https_port}\r\n"
            f"Authorization: Bearer {tokens['access_token']}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
    )
    try:
        # the proxy has the whole answer and let go of the app before the client read any of it
        assert wait_for(lambda: _connections_to(api_port) == 0, 30), "the app still sends"
        received = 0
        while chunk := client.recv(1 << 16):
            received += len(chunk)
    finally:
        client.close()
    assert received > size
    assert received > size


def test_the_streaming_export_asks_the_proxy_not_to_buffer_it(app_ctx, client, auth):
    admin = make_user(UserRole.ADMIN)
    answer = client.get(
        "/api/v1/reports/orders/export", headers=auth.headers(admin.email, PASSWORD)
    )
    assert answer.status_code == 200
    assert answer.headers["X-Accel-Buffering"] == "no"


def start_flower(env: dict, log_path, port: int) -> Process:
    """Compose's flower command line, on a loopback port."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    command = compose["services"]["flower"]["command"]
    assert command[0] == "celery" and "--port=5555" in command, command
    args = [str(BIN / "celery"), *command[1:], "--address=127.0.0.1"]
    return Process([f"--port={port}" if a == "--port=5555" else a for a in args], env, log_path)


def _page(url: str, context, auth: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url)
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""
    except OSError:
        return 0, ""


def test_flower_is_served_under_flower_behind_its_login(app_ctx, tmp_path):
    env = stack_env(
        database_url=TEST_DATABASE_URL, redis_url=TEST_REDIS_URL, broker_url=TEST_BROKER_URL
    )
    api_port, socket_port, flower_port = free_port(), free_port(), free_port()
    processes = [
        start_procfile("web", env, tmp_path / "web.log", api_port),
        start_flower(
            {**env, "FLOWER_BASIC_AUTH": "ops:flower-pass"}, tmp_path / "flower.log", flower_port
        ),
    ]
    try:
        proxy = start_proxy(tmp_path, api_port, socket_port, flower_port=flower_port)
        processes.append(proxy)
        base, context = proxy.url(), proxy.tls_context()
        assert wait_for(
            lambda: _page(f"{base}/flower/", context, "ops:flower-pass")[0] == 200, 60
        ), processes[1].log()[-3000:]
        page = _page(f"{base}/flower/", context, "ops:flower-pass")[1]
        assert "/flower/static/" in page  # its links stay under the prefix
        assert _page(f"{base}/flower/", context)[0] == 401
        assert _page(f"{base}/flower/", context, "ops:wrong")[0] == 401
        # compose's health check of the flower service
        assert _page(f"http://127.0.0.1:{flower_port}/flower/healthcheck", None)[0] == 200
    finally:
        for process in reversed(processes):
            process.stop()


CLIENT = ROOT / "tests" / "ops" / "socketio_client"


class NodeClient:
    """The npm socket.io-client at its defaults (tests/ops/socketio_client/listen.js), from
    ``local_address`` (another loopback address stands for another client machine), trusting
    the proxy's certificate ``ca``."""

    def __init__(self, url: str, token: str, ca: Path, local_address: str = ""):
        node = shutil.which("node")
        assert node is not None
        self.local_address = local_address or "127.0.0.1"
        self.lines: list[dict] = []
        self.popen = subprocess.Popen(
            [node, str(CLIENT / "listen.js"), url, token, local_address],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "NODE_EXTRA_CA_CERTS": str(ca)},
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


@pytest.mark.needs("node")
def test_default_clients_connect_through_the_proxy_to_two_socket_processes(
    app_ctx, worker, tmp_path, monkeypatch
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
    api_port = free_port()
    socket_ports = [free_port(), free_port()]
    processes = [start_procfile("web", env, tmp_path / "web.log", api_port)]
    processes += [
        start_procfile("socket", env, tmp_path / f"socket{n}.log", socket_port)
        for n, socket_port in enumerate(socket_ports)
    ]
    clients: list[NodeClient] = []
    listener = None
    try:
        proxy = start_proxy(tmp_path, api_port, socket_ports)
        processes.append(proxy)
        # urllib and python-socketio (its polling goes through requests) trust the certificate
        monkeypatch.setenv("SSL_CERT_FILE", str(proxy.certificate))
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(proxy.certificate))
        base = proxy.url()
        token = _login(base, make_user(UserRole.STAFF))
        # one client from the proxy's own address, eight from other machines
        clients = [NodeClient(base, token, proxy.certificate)]
        clients += [
            NodeClient(base, token, proxy.certificate, f"127.0.0.{n}") for n in range(2, 10)
        ]
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
        for uri, *_, address, upstream in proxy.access_log():
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
