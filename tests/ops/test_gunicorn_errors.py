"""What gunicorn itself answers, before the app runs (issue 24, item 7): a request line over
``limit_request_line`` (414), control bytes in a header, both Content-Length and
Transfer-Encoding, a request that is not HTTP (400). Each carries the API's error envelope
with a request id, as JSON, from the Procfile's real web and socket processes."""

from __future__ import annotations

import json
import socket

import pytest

from tests.conftest import TEST_BROKER_URL, TEST_DATABASE_URL, TEST_REDIS_URL
from tests.processes import free_port, stack_env, start_procfile

pytestmark = pytest.mark.slow  # web and socket processes


def _raw(port: int, request: bytes, tls=None) -> tuple[int, dict, bytes]:
    """Send ``request`` as it is (over TLS with the client context ``tls``); the status,
    headers (lower-case names) and body."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as plain:
        conn = tls.wrap_socket(plain, server_hostname="oms.test") if tls else plain
        conn.sendall(request)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


def _envelope(headers: dict, body: bytes, code: str) -> dict:
    assert headers["content-type"] == "application/json", (headers, body)
    error = json.loads(body)["error"]
    assert error["code"] == code
    assert error["message"] and error["details"] == {}
    assert error["request_id"] and error["request_id"] == headers["x-request-id"]
    assert int(headers["content-length"]) == len(body)
    return error


BAD_REQUESTS = {
    "request line over the limit": (
        b"GET /api/v1/products?q=" + b"x" * 8300 + b" HTTP/1.1\r\nHost: oms\r\n\r\n",
        414,
        "uri_too_long",
    ),
    "control byte in a header": (
        b"GET /api/v1/products HTTP/1.1\r\nHost: oms\r\nX-Note: a\x01b\r\n\r\n",
        400,
        "bad_request",
    ),
    "content-length and transfer-encoding": (
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: oms\r\nContent-Type: application/json\r\n"
        b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
        400,
        "bad_request",
    ),
    "not http": (b"HELLO\r\n\r\n", 400, "bad_request"),
}


@pytest.fixture(scope="module", params=["web", "socket"])
def process_port(request, tmp_path_factory):
    env = stack_env(
        database_url=TEST_DATABASE_URL,
        redis_url=TEST_REDIS_URL,
        broker_url=TEST_BROKER_URL,
        OMS_WEB_WORKERS="1",
    )
    port = free_port()
    log = tmp_path_factory.mktemp(request.param) / "gunicorn.log"
    process = start_procfile(request.param, env, log, port)
    yield port
    process.stop()


@pytest.mark.parametrize("case", sorted(BAD_REQUESTS))
def test_gunicorn_refusals_carry_the_envelope(app, process_port, case):
    raw, status, code = BAD_REQUESTS[case]
    got, headers, body = _raw(process_port, raw)
    assert got == status, body
    _envelope(headers, body, code)
    assert headers["connection"] == "close"


@pytest.mark.needs("nginx")
def test_the_proxy_refusals_carry_the_envelope(app, tmp_path):
    """deploy/nginx.conf in front (compose's one address): what nginx answers itself (a body
    over its limit, a URL or headers over its buffers, the API process gone) is the envelope
    too, with nginx's request id; the app's own answers pass through."""
    from tests.proxy import start_proxy

    env = stack_env(
        database_url=TEST_DATABASE_URL,
        redis_url=TEST_REDIS_URL,
        broker_url=TEST_BROKER_URL,
        OMS_WEB_WORKERS="1",
        OMS_PROXY_HOPS="1",
    )
    api_port = free_port()
    web = start_procfile("web", env, tmp_path / "web.log", api_port)
    proxy = start_proxy(tmp_path, api_port, free_port())
    port, tls = proxy.https_port, proxy.tls_context()
    try:
        big = (  # nginx refuses on the Content-Length, before any body is sent
            b"POST /api/v1/auth/login HTTP/1.1\r\nHost: oms\r\nContent-Type: application/json\r\n"
            b"Content-Length: 3145728\r\nConnection: close\r\n\r\n"
        )
        cases = [
            (big, 413, "payload_too_large"),
            (b"GET /api/v1/products?q=" + b"x" * 9000 + b" HTTP/1.1\r\nHost: oms\r\n\r\n", 414,
             "uri_too_long"),
            (b"GET /api/v1/products HTTP/1.1\r\nHost: oms\r\nX-Big: " + b"y" * 9000 + b"\r\n\r\n",
             431, "headers_too_large"),
            (b"GET /api/v1/nowhere HTTP/1.1\r\nHost: oms\r\nConnection: close\r\n\r\n", 404,
             "not_found"),  # the app's own envelope, through the proxy
        ]  # fmt: skip
        for raw, status, code in cases:
            got, headers, answer = _raw(port, raw, tls)
            assert got == status, answer
            _envelope(headers, answer, code)
        web.stop()
        raw = b"GET /api/v1/products HTTP/1.1\r\nHost: oms\r\nConnection: close\r\n\r\n"
        got, headers, answer = _raw(port, raw, tls)
        assert got == 503, answer
        _envelope(headers, answer, "service_unavailable")
        assert headers["retry-after"] == "5"
    finally:
        proxy.stop()
        web.stop()
