"""One structured log line per request; the request id and the order number on the lines of
the work a request caused; the text format for development."""

from __future__ import annotations

import logging

import pytest

from oms.auth.enums import UserRole
from oms.config import ConfigurationError, load_config
from oms.logging import TextFormatter
from tests.factories import ADDRESS, PASSWORD, make_product, make_user
from tests.logs import log_lines


def request_log():
    """The request log lines written inside the block."""
    return log_lines("oms.request")


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


def test_lines_of_the_tasks_a_request_ran_carry_its_id_and_an_email_its_order_number(
    app_ctx, client, auth
):
    """The embedded default runs the tasks in the request: the email task's line names the
    request, the task and the order."""
    customer = make_user(UserRole.CUSTOMER)
    product = make_product(stock=5)
    body = {"items": [{"product_id": str(product.id), "quantity": 1}], "shipping_address": ADDRESS}
    headers = {**auth.headers(customer.email, PASSWORD), "X-Request-ID": "order-trace-7"}
    with log_lines("oms.notifications") as lines:
        response = client.post("/api/v1/orders", json=body, headers=headers)
    assert response.status_code == 202, response.get_json()
    [sent] = [line for line in lines if line["msg"] == "order email sent"]
    assert sent["order_number"] == response.get_json()["number"]
    assert sent["order_status"] == "placed"
    assert sent["request_id"] == "order-trace-7"
    assert sent["task"] == "notifications.send_order_status"


def test_the_text_format_is_one_readable_line_with_the_fields():
    record = logging.makeLogRecord(
        {"name": "oms.orders", "levelname": "INFO", "msg": "placed %s", "args": ("ORD-000042",)}
    )
    record.request_id = "abc"
    line = TextFormatter().format(record)
    assert line.endswith(" INFO    oms.orders: placed ORD-000042 request_id=abc"), line
    assert "\n" not in line


def test_the_log_format_is_json_or_text(monkeypatch):
    assert load_config()["OMS_LOG_FORMAT"] == "json"
    monkeypatch.setenv("OMS_LOG_FORMAT", "Text")
    assert load_config()["OMS_LOG_FORMAT"] == "text"
    monkeypatch.setenv("OMS_LOG_FORMAT", "xml")
    with pytest.raises(ConfigurationError, match="OMS_LOG_FORMAT"):
        load_config()
