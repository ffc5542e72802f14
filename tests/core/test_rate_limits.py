"""Rate limits as a deployment needs them (issue 9, item 3, and the limiter part of item 4).

Every test here runs an app with the real default limits (none of the generous test settings)
on the real Redis storage: users behind one address each have their own budget, login counts
failed attempts only (per account and per address), registration has its own limit, a 429 says
in words how long to wait, and the limiter keeps answering when its Redis is down.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import time

import pytest
import redis

from oms import create_app
from oms.auth.enums import UserRole
from oms.config import ConfigurationError, load_config
from tests.conftest import (
    TEST_BROKER_URL,
    TEST_DATABASE_URL,
    TEST_REDIS_URL,
    make_test_config,
)
from tests.factories import PASSWORD, make_user
from tests.integration.conftest import http_raw
from tests.processes import PrivateRedis, free_port, stack_env, start_web, wait_for

OFFICE = "198.51.100.10"  # one address for a whole office (NAT)
ELSEWHERE = "203.0.113.20"
ATTACKER = "192.0.2.66"

LOGIN = "/api/v1/auth/login"
ATTEMPTS_MESSAGE = re.compile(r"Too many attempts\. Try again in (\d+) seconds?\.")
REQUESTS_MESSAGE = re.compile(r"Too many requests\. Try again in (\d+) seconds?\.")


def _real_limits_config() -> dict:
    """The test config without its generous OMS_RATELIMIT_* settings: the real defaults."""
    return {k: v for k, v in make_test_config().items() if not k.startswith("OMS_RATELIMIT_")}


@pytest.fixture
def limited_app(app, monkeypatch):
    """An app with the default limits on the test Redis (``app`` migrated the schema; the
    tables are truncated and that Redis flushed after the test)."""
    for name in [n for n in os.environ if n.startswith("OMS_RATELIMIT_")]:
        monkeypatch.delenv(name)
    redis.Redis.from_url(TEST_REDIS_URL).flushdb()
    return create_app(_real_limits_config())


def _users(app, role: UserRole, n: int) -> list[str]:
    with app.app_context():
        return [make_user(role).email for _ in range(n)]


def _login(client, email: str, password: str, address: str):
    return client.post(
        LOGIN, json={"email": email, "password": password}, environ_base={"REMOTE_ADDR": address}
    )


def _wait_seconds(response, pattern: re.Pattern) -> int:
    """The seconds a 429 asks to wait; its message and its Retry-After header agree."""
    assert response.status_code == 429
    error = response.get_json()["error"]
    assert error["code"] == "rate_limited"
    # the limiter refuses before any other hook runs: the envelope still has the request id
    assert error["request_id"] and error["request_id"] == response.headers["X-Request-ID"]
    match = pattern.fullmatch(error["message"])
    assert match, error["message"]
    retry_after = int(response.headers["Retry-After"])
    assert abs(int(match[1]) - retry_after) <= 1
    return retry_after


def test_wrong_passwords_lock_the_account_even_for_the_right_password_elsewhere(limited_app):
    (admin,) = _users(limited_app, UserRole.ADMIN, 1)
    (colleague,) = _users(limited_app, UserRole.STAFF, 1)
    client = limited_app.test_client()

    guesses = [_login(client, admin, f"guess-{i}-wrong", ATTACKER) for i in range(20)]
    assert [r.status_code for r in guesses] == [401] * 5 + [429] * 15
    wait = _wait_seconds(guesses[-1], ATTEMPTS_MESSAGE)
    assert 0 < wait <= 60

    # The owner, from another address, with the right password: the account is locked.
    owner = _login(client, admin, PASSWORD, ELSEWHERE)
    assert 0 < _wait_seconds(owner, ATTEMPTS_MESSAGE) <= 60
    # The account is the normalised email: other spellings are the same account.
    spelled = _login(client, admin.upper(), PASSWORD, ELSEWHERE)
    assert spelled.status_code == 429

    # Only the five failures counted against the attacker's address, not the refused
    # attempts: another account still logs in from there.
    assert _login(client, colleague, PASSWORD, ATTACKER).status_code == 200


def test_failed_logins_are_limited_per_address_across_accounts(limited_app):
    (staff,) = _users(limited_app, UserRole.STAFF, 1)
    client = limited_app.test_client()
    statuses = [
        _login(client, f"nobody{i}@example.test", "wrong-password", ATTACKER).status_code
        for i in range(20)
    ]
    assert statuses == [401] * 20  # every account different: no account is locked
    refused = _login(client, staff, PASSWORD, ATTACKER)
    assert _wait_seconds(refused, ATTEMPTS_MESSAGE) > 0
    assert _login(client, staff, PASSWORD, ELSEWHERE).status_code == 200


def test_successful_logins_do_not_use_the_login_budget(limited_app):
    (staff,) = _users(limited_app, UserRole.STAFF, 1)
    client = limited_app.test_client()
    statuses = [_login(client, staff, PASSWORD, OFFICE).status_code for _ in range(25)]
    assert statuses == [200] * 25  # more than the 5 per account and 20 per address


def test_authenticated_requests_are_limited_per_user_and_role(limited_app):
    first, second = _users(limited_app, UserRole.CUSTOMER, 2)
    (staff,) = _users(limited_app, UserRole.STAFF, 1)
    client = limited_app.test_client(use_cookies=False)
    office = {"REMOTE_ADDR": OFFICE}

    def bearer(email):  # an API client of that user's own (no cookies)
        api_client = limited_app.test_client(use_cookies=False)
        token = _login(api_client, email, PASSWORD, OFFICE).get_json()["access_token"]
        return {"Authorization": f"Bearer {token}"}

    customer = bearer(first)
    statuses = [
        client.get("/api/v1/auth/me", headers=customer, environ_base=office).status_code
        for _ in range(120)
    ]
    assert statuses == [200] * 120
    refused = client.get("/api/v1/auth/me", headers=customer, environ_base=office)
    assert 0 < _wait_seconds(refused, REQUESTS_MESSAGE) <= 60

    # Another customer behind the same address has a budget of their own.
    other = client.get("/api/v1/auth/me", headers=bearer(second), environ_base=office)
    assert other.status_code == 200

    # Staff get more than customers; a browser's cookies identify the user as well.
    browser = limited_app.test_client()
    assert _login(browser, staff, PASSWORD, OFFICE).status_code == 200
    staff_statuses = [
        browser.get("/api/v1/auth/me", environ_base=office).status_code for _ in range(150)
    ]
    assert staff_statuses == [200] * 150


def test_anonymous_requests_are_limited_per_address(limited_app):
    client = limited_app.test_client()
    office = {"REMOTE_ADDR": OFFICE}
    statuses = [client.get("/login", environ_base=office).status_code for _ in range(300)]
    assert statuses == [200] * 300
    refused = client.get("/login", environ_base=office)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert b"Too many requests. Try again in" in refused.data
    # A made-up token does not buy a fresh budget.
    made_up = {"Authorization": "Bearer abc.def.ghi"}
    forged = client.get("/login", headers=made_up, environ_base=office)
    assert forged.status_code == 429
    assert client.get("/login", environ_base={"REMOTE_ADDR": ELSEWHERE}).status_code == 200
    # Health stays exempt.
    assert client.get("/healthz", environ_base=office).status_code == 200


def test_registration_has_its_own_limit(limited_app):
    client = limited_app.test_client()

    def register(n: int, address: str):
        body = {
            "email": f"new{n}@example.test",
            "password": "long-enough-1",
            "first_name": "New",
            "last_name": f"Customer{n}",
        }
        return client.post(
            "/api/v1/auth/register", json=body, environ_base={"REMOTE_ADDR": address}
        )

    assert [register(n, OFFICE).status_code for n in range(5)] == [202] * 5
    assert _wait_seconds(register(5, OFFICE), ATTEMPTS_MESSAGE) > 0
    assert register(6, ELSEWHERE).status_code == 202


def test_long_waits_are_said_in_minutes(limited_app):
    from flask import request

    from oms import limits

    with limited_app.test_request_context():
        for seconds, words in [(1, "1 second"), (40, "40 seconds"), (119, "119 seconds")]:
            request.environ[limits._RETRY_AFTER] = seconds  # as a breach records it
            assert limits.too_many_attempts() == f"Too many attempts. Try again in {words}."
        request.environ[limits._RETRY_AFTER] = 841  # the 15-minute tier
        assert limits.too_many_requests() == "Too many requests. Try again in 15 minutes."


def test_a_limit_that_does_not_parse_is_refused_at_start(monkeypatch):
    monkeypatch.setenv("OMS_RATELIMIT_STAFF", "lots per minute")
    with pytest.raises(ConfigurationError, match="OMS_RATELIMIT_STAFF"):
        load_config()


@pytest.mark.slow
def test_an_office_logs_in_and_polls_for_a_minute_while_an_account_is_locked(limited_app):
    """30 staff log in from one address and poll the order list every 5 s for a minute: no
    429. Meanwhile one account, locked by wrong passwords from elsewhere, stays locked for the
    right password from the office until the lock ends, and then lets its owner in."""
    staff = _users(limited_app, UserRole.STAFF, 30)
    (locked,) = _users(limited_app, UserRole.STAFF, 1)
    probe = limited_app.test_client()
    guesses = [_login(probe, locked, "not-the-password", ATTACKER) for _ in range(6)]
    assert [r.status_code for r in guesses] == [401] * 5 + [429]
    lock_ends = time.time() + _wait_seconds(guesses[-1], ATTEMPTS_MESSAGE)

    office = {"REMOTE_ADDR": OFFICE}
    browsers = [limited_app.test_client() for _ in staff]
    statuses = []
    for browser, email in zip(browsers, staff, strict=True):
        statuses.append(browser.get("/login", environ_base=office).status_code)
        statuses.append(_login(browser, email, PASSWORD, OFFICE).status_code)
    assert statuses == [200] * 60

    owner = []  # (time, status) of the owner's logins with the right password, at the office
    start = time.monotonic()
    polls = []
    for round_ in range(13):  # t = 0, 5, ..., 60 s
        time.sleep(max(0.0, start + 5 * round_ - time.monotonic()))
        polls += [
            browser.get("/api/v1/orders", environ_base=office).status_code for browser in browsers
        ]
        if not owner or owner[-1][1] != 200:
            owner.append((time.time(), _login(probe, locked, PASSWORD, OFFICE).status_code))
    assert polls == [200] * 13 * 30
    if owner[-1][1] != 200:
        time.sleep(max(0.0, lock_ends + 1.5 - time.time()))
        owner.append((time.time(), _login(probe, locked, PASSWORD, OFFICE).status_code))
    assert owner[0][1] == 429 and owner[-1][1] == 200
    for at, status in owner:
        if at < lock_ends - 1:
            assert status == 429
        elif at > lock_ends + 1:
            assert status == 200


@pytest.mark.slow
def test_the_web_process_keeps_answering_while_the_limiter_storage_is_down(app, tmp_path):
    """A web process whose limiter counts in a Redis of its own: that Redis stops, and every
    request is still answered (no 500), with a warning in the log; then it comes back."""
    with app.app_context():
        email = make_user(UserRole.STAFF).email
    storage = PrivateRedis()
    storage.start()
    env = stack_env(
        database_url=TEST_DATABASE_URL, redis_url=TEST_REDIS_URL, broker_url=TEST_BROKER_URL
    )
    env = {k: v for k, v in env.items() if not k.startswith("OMS_RATELIMIT_")}  # real limits
    env["OMS_RATELIMIT_STORAGE_URL"] = storage.url
    web = start_web(env, tmp_path / "web.log", port := free_port())
    base = f"http://127.0.0.1:{port}"
    try:
        status, body, _ = http_raw("POST", base + LOGIN, {"email": email, "password": PASSWORD})
        assert status == 200
        token = json.loads(body)["access_token"]

        strangers = itertools.count()  # a new account each time: none gets locked

        slowest = [0.0]  # seconds of the slowest request

        def timed(*args, **kwargs) -> int:
            started = time.monotonic()
            status = http_raw(*args, **kwargs)[0]
            slowest[0] = max(slowest[0], time.monotonic() - started)
            return status

        def answers() -> list[int]:
            wrong = {"email": f"nobody{next(strangers)}@example.test", "password": "wrong-one"}
            return [
                timed("GET", base + "/login"),
                timed("POST", base + LOGIN, wrong),
                timed("GET", base + "/api/v1/orders", token=token),
                timed("POST", base + LOGIN, {"email": email, "password": PASSWORD}),
            ]

        expected = [200, 401, 200, 200]
        assert answers() == expected
        assert redis.Redis(port=storage.port).dbsize() > 0, "the limiter did not count there"

        storage.stop()
        slowest[0] = 0.0
        assert [answers() for _ in range(5)] == [expected] * 5
        assert slowest[0] < 1.5, f"a request waited {slowest[0]:.1f} s for the dead storage"
        assert wait_for(lambda: "storage unreachable" in web.log(), 5), web.log()
        warning = next(
            json.loads(line) for line in web.log().splitlines() if "storage unreachable" in line
        )
        assert warning["level"] == "warning"

        storage.start()
        assert answers() == expected
    finally:
        web.stop()
        if storage.alive():
            storage.stop()
