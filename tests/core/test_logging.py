"""One structured log line per request."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from oms.auth.enums import UserRole
from oms.logging import JsonFormatter
from tests.factories import PASSWORD, make_user


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines: list[dict] = []

    def emit(self, record):
        self.lines.append(json.loads(JsonFormatter().format(record)))


@contextmanager
def request_log() -> Iterator[list[dict]]:
    """The request log lines written inside the block."""
    collector = _Collect()
    logger = logging.getLogger("oms.request")
    logger.addHandler(collector)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield collector.lines
    finally:
        logger.removeHandler(collector)
        logger.setLevel(level)


def test_request_log_line_has_the_fields(app_ctx, client, auth):
    user = make_user(UserRole.STAFF)
    headers = auth.headers(user.email, PASSWORD)
    with request_log() as lines:
        client.get("/api/v1/auth/me", headers={**headers, "X-Request-ID": "trace-42"})
    [line] = lines
    assert line["method"] == "GET"
    assert line["path"] == "/api/v1/auth/me"
    assert line["status"] == 200
    assert line["user_id"] == str(user.id)
    assert line["request_id"] == "trace-42"
    assert isinstance(line["duration_ms"], float)
    assert line["level"] == "info" and line["msg"] == "request"


def _logged_client_address(app, remote: str, forwarded: str | None) -> str:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    with request_log() as lines:
        app.test_client().get("/healthz", headers=headers, environ_base={"REMOTE_ADDR": remote})
    return [line for line in lines if line.get("path") == "/healthz"][-1]["remote_addr"]


def test_behind_a_trusted_proxy_the_client_is_the_forwarded_address():
    from oms import create_app
    from tests.conftest import make_test_config

    behind = create_app(make_test_config(OMS_PROXY_HOPS=1))
    assert _logged_client_address(behind, "10.0.0.2", "203.0.113.9") == "203.0.113.9"
    # one hop trusted: an address the client put in front of the proxy's is not believed
    assert _logged_client_address(behind, "10.0.0.2", "198.51.100.1, 203.0.113.9") == (
        "203.0.113.9"
    )


def test_without_a_proxy_setting_forwarded_headers_are_ignored():
    from oms import create_app
    from tests.conftest import make_test_config

    direct = create_app(make_test_config())
    assert _logged_client_address(direct, "10.0.0.2", "203.0.113.9") == "10.0.0.2"
