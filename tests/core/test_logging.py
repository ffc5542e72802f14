"""One structured log line per request."""

from __future__ import annotations

import json
import logging

from oms.auth.enums import UserRole
from oms.logging import JsonFormatter
from tests.factories import PASSWORD, make_user


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines: list[dict] = []

    def emit(self, record):
        self.lines.append(json.loads(JsonFormatter().format(record)))


def test_request_log_line_has_the_fields(app_ctx, client, auth):
    user = make_user(UserRole.STAFF)
    headers = auth.headers(user.email, PASSWORD)
    collector = _Collect()
    logger = logging.getLogger("oms.request")
    logger.addHandler(collector)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        client.get("/api/v1/auth/me", headers={**headers, "X-Request-ID": "trace-42"})
    finally:
        logger.removeHandler(collector)
        logger.setLevel(level)
    [line] = collector.lines
    assert line["method"] == "GET"
    assert line["path"] == "/api/v1/auth/me"
    assert line["status"] == 200
    assert line["user_id"] == str(user.id)
    assert line["request_id"] == "trace-42"
    assert isinstance(line["duration_ms"], float)
    assert line["level"] == "info" and line["msg"] == "request"
