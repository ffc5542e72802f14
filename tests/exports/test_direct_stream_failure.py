"""A direct export that fails after its headers were sent ends in a way the client detects
(issue 10, finding 2): the body ends with the failure line and the chunked transfer is
aborted, so the client sees an incomplete body, never a clean 200 that looks complete.

Over real HTTP against gunicorn (the production server; the test client buffers), with the
web process's database connection cut half-way through the stream.
"""

from __future__ import annotations

import http.client
import socket

import pytest
import sqlalchemy as sa

from oms.auth.enums import UserRole
from oms.exports.streaming import FAILED_LINE
from tests.conftest import TEST_BROKER_URL, TEST_DATABASE_URL, TEST_REDIS_URL
from tests.exports.helpers import load_orders
from tests.factories import PASSWORD, make_user
from tests.integration.conftest import http as http_json
from tests.processes import BIN, Process, TcpRelay, free_port, stack_env, wait_for

pytestmark = pytest.mark.slow

URL = "/api/v1/reports/orders/export"


class SlowReader(http.client.HTTPConnection):
    """A client with a small receive buffer, so the server cannot run far ahead of it."""

    def connect(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
        self.sock.settimeout(60)
        self.sock.connect((self.host, self.port))


@pytest.fixture
def gunicorn_via_relay(tmp_path):
    """gunicorn (as in the Procfile) whose database connections go through a relay."""
    url = sa.make_url(TEST_DATABASE_URL)
    relay = TcpRelay((url.host or "127.0.0.1", url.port or 5432))
    port = free_port()
    env = stack_env(
        database_url=url.set(port=relay.port).render_as_string(hide_password=False),
        redis_url=TEST_REDIS_URL,
        broker_url=TEST_BROKER_URL,
    )
    args = [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--worker-class", "gthread"]
    web = Process(
        [*args, "--workers", "1", "--threads", "4", "wsgi:app"], env, tmp_path / "web.log"
    )

    def up() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            return web.popen.poll() is not None

    assert wait_for(up, 30) and web.popen.poll() is None, web.log()
    yield port, relay, web
    web.stop()
    relay.cut()


def test_a_direct_export_cut_half_way_is_seen_as_incomplete(app_ctx, gunicorn_via_relay):
    port, relay, web = gunicorn_via_relay
    load_orders(20_000)  # ten server-side cursor batches
    admin = make_user(UserRole.ADMIN)
    status, login = http_json(
        "POST",
        f"http://127.0.0.1:{port}/api/v1/auth/login",
        {"email": admin.email, "password": PASSWORD},
    )
    assert status == 200, login
    connection = SlowReader("127.0.0.1", port)
    connection.request("GET", URL, headers={"Authorization": f"Bearer {login['access_token']}"})
    response = connection.getresponse()
    assert response.status == 200
    assert response.getheader("Transfer-Encoding") == "chunked"
    first = response.read(4096)
    relay.cut()  # the database goes away with most rows still to be read

    with pytest.raises(http.client.IncompleteRead) as incomplete:
        response.read()
    body = first + incomplete.value.partial
    assert body.endswith(FAILED_LINE)
    assert body.count(b"\nORD-") < 20_000
    connection.close()
    assert wait_for(lambda: "direct export failed part-way" in web.log(), 10), web.log()[-3000:]
