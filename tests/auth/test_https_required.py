"""A login the browser would drop never fails silently: with ``Secure`` login cookies (the
production default), a login over plain HTTP at a name that is not loopback is refused with
words a person can act on, and the login page says so before anyone types; production warns
at start when its public address is plain HTTP. (The real browser behind the shipped proxy:
tests/e2e/test_https_proxy.py.)"""

from __future__ import annotations

import logging

import pytest

from oms import create_app
from oms.config import is_loopback_host
from tests.conftest import make_test_config
from tests.factories import PASSWORD, make_user

HTTPS_MESSAGE = "This site must be opened over HTTPS"


@pytest.fixture
def secure_cookies(app, monkeypatch):
    """The session app with production's cookies (``OMS_COOKIE_SECURE`` on)."""
    monkeypatch.setitem(app.config, "JWT_COOKIE_SECURE", True)
    return app


def _login(client, base_url: str, headers: dict | None = None):
    user = make_user()
    return client.post(
        "/api/v1/auth/login",
        json={"email": user.email, "password": PASSWORD},
        base_url=base_url,
        headers=headers or {},
    )


def test_login_over_plain_http_at_a_name_says_to_use_https(app_ctx, secure_cookies, client):
    response = _login(client, "http://oms.test:5620")
    assert response.status_code == 403
    error = response.get_json()["error"]
    assert error["code"] == "https_required"
    assert error["message"].startswith(HTTPS_MESSAGE)
    assert "https://oms.test" in error["message"]
    assert "Set-Cookie" not in response.headers


def test_the_message_names_the_public_https_address(app_ctx, secure_cookies, client, monkeypatch):
    monkeypatch.setitem(secure_cookies.config, "OMS_PUBLIC_URL", "https://shop.example.com")
    response = _login(client, "http://10.0.0.5:5000")
    assert response.status_code == 403
    assert "https://shop.example.com" in response.get_json()["error"]["message"]


@pytest.mark.parametrize(
    "base_url",
    ["https://oms.test:5620", "http://127.0.0.1:5000", "http://localhost:5000", "http://[::1]:80"],
)
def test_login_where_the_browser_keeps_secure_cookies(app_ctx, secure_cookies, client, base_url):
    response = _login(client, base_url)
    assert response.status_code == 200, response.get_json()
    cookies = response.headers.getlist("Set-Cookie")
    # the two tokens, their two CSRF cookies, and the known-device cookie (oms.auth.lockout)
    assert len(cookies) == 5
    assert all("Secure" in cookie for cookie in cookies)


def test_without_secure_cookies_plain_http_logs_in(app_ctx, client):
    assert _login(client, "http://oms.test:5620").status_code == 200


def test_behind_a_proxy_that_ends_tls_the_login_works(app_ctx, tmp_path):
    proxied = create_app(make_test_config(OMS_PROXY_HOPS=1, JWT_COOKIE_SECURE=True))
    with proxied.app_context():
        client = proxied.test_client()
        over_tls = _login(client, "http://oms.test", {"X-Forwarded-Proto": "https"})
        plain = _login(client, "http://oms.test", {"X-Forwarded-Proto": "http"})
    assert over_tls.status_code == 200
    assert plain.status_code == 403


def test_the_login_page_says_it_up_front(app_ctx, secure_cookies, client):
    page = client.get("/login", base_url="http://oms.test:5620").get_data(as_text=True)
    assert HTTPS_MESSAGE in page
    assert "data-https-required" in page
    over_tls = client.get("/login", base_url="https://oms.test:5620").get_data(as_text=True)
    assert HTTPS_MESSAGE not in over_tls


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1:5000", True),
        ("127.8.9.10", True),
        ("[::1]:8080", True),
        ("localhost", True),
        ("app.localhost:5000", True),
        ("oms.test:5620", False),
        ("10.0.0.5", False),
        ("localhost.example.com", False),
        ("[::1", False),
    ],
)
def test_loopback_hosts(host, loopback):
    assert is_loopback_host(host) is loopback


def _production(monkeypatch, public_url: str):
    monkeypatch.setenv("OMS_ENV", "production")
    for name in ("OMS_SECRET_KEY", "OMS_JWT_SECRET_KEY", "OMS_METRICS_TOKEN"):
        monkeypatch.setenv(name, "s" * 40)
    monkeypatch.setenv(
        "OMS_WEBHOOKS_ENCRYPTION_KEYS", "dGVzdC13ZWJob29rLWtleS0wMTIzNDU2Nzg5YWJjZGU="
    )
    monkeypatch.setenv("OMS_PUBLIC_URL", public_url)


@pytest.mark.parametrize(
    ("public_url", "warned"),
    [
        ("http://oms.test:5620", True),
        ("http://203.0.113.9", True),
        ("https://oms.test", False),
        ("http://127.0.0.1:5000", False),
    ],
)
def test_production_warns_at_start_about_a_plain_http_public_url(
    monkeypatch, caplog, public_url, warned
):
    _production(monkeypatch, public_url)
    with caplog.at_level(logging.WARNING, logger="oms.config"):
        create_app(make_test_config(OMS_ENV="production"))
    warnings = [r.getMessage() for r in caplog.records if r.name == "oms.config"]
    assert bool(warnings) is warned, warnings
    if warned:
        assert public_url in warnings[0] and "HTTPS" in warnings[0]
