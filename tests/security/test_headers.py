"""Finding 8: the policy and the other headers on every response; HSTS only over HTTPS,
including HTTPS ended at a trusted proxy; the Swagger page holds no inline script."""

from __future__ import annotations

import re

import pytest

from oms import create_app
from oms.headers import CONTENT_SECURITY_POLICY
from tests.conftest import make_test_config


def test_headers_on_pages_api_and_errors(client):
    for path in ("/login", "/api/v1/auth/me", "/no-such-page", "/api/v1/openapi.json"):
        headers = client.get(path).headers
        assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, path
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert "Strict-Transport-Security" not in headers  # plain HTTP


def test_the_policy_allows_nothing_inline():
    directives = dict(d.split(" ", 1) for d in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"


def test_hsts_over_https(client):
    response = client.get("/login", base_url="https://shop.example.test")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=63072000")


@pytest.mark.usefixtures("_database")
def test_hsts_behind_a_trusted_proxy_that_ends_tls():
    behind = create_app(make_test_config(OMS_PROXY_HOPS=1)).test_client()
    https = behind.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" in https.headers
    assert "Strict-Transport-Security" not in behind.get("/login").headers


def test_without_a_trusted_proxy_a_forwarded_scheme_is_not_believed(client):
    response = client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in response.headers


def test_swagger_page_has_no_inline_script(client):
    html = client.get("/api/v1/docs").get_data(as_text=True)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all("src=" in attrs and not body.strip() for attrs, body in scripts)
    assert re.search(r"/static/[0-9a-f]+/js/swagger-init.js", html)


@pytest.mark.usefixtures("_database")
def test_a_socket_process_on_another_origin_is_allowed_to_connect():
    """`make stack`: the pages' Socket.IO connection goes to OMS_SOCKET_URL."""
    app = create_app(make_test_config(OMS_SOCKET_URL="http://127.0.0.1:5001"))
    response = app.test_client().get("/login")
    directives = dict(
        d.split(" ", 1) for d in response.headers["Content-Security-Policy"].split("; ")
    )
    assert directives["connect-src"] == "'self' http://127.0.0.1:5001 ws://127.0.0.1:5001"
    assert 'data-socket-url="http://127.0.0.1:5001"' in response.get_data(as_text=True)
