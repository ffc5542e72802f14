"""Login, logout, refresh, me and register through the real API."""

from __future__ import annotations

from datetime import timedelta

from flask_jwt_extended import create_access_token

from oms.auth.enums import UserRole
from tests.factories import PASSWORD, make_user


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_login_returns_tokens_and_user(app_ctx, client):
    user = make_user(UserRole.STAFF)
    response = client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"access_token", "refresh_token", "user"}
    assert body["user"]["email"] == user.email
    assert body["user"]["role"] == "staff"
    assert "password_hash" not in body["user"]
    me = client.get("/api/v1/auth/me", headers=_bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.get_json()["id"] == str(user.id)


def test_login_email_is_case_insensitive(app_ctx, client):
    user = make_user(email="MiXed@Example.test")
    response = client.post(
        "/api/v1/auth/login", json={"email": "mixed@example.TEST", "password": PASSWORD}
    )
    assert response.status_code == 200
    assert response.get_json()["user"]["email"] == user.email == "mixed@example.test"


def test_wrong_password_and_unknown_email_get_the_same_401(app_ctx, client):
    user = make_user()
    wrong = client.post("/api/v1/auth/login", json={"email": user.email, "password": "nope-nope"})
    unknown = client.post(
        "/api/v1/auth/login", json={"email": "who@example.test", "password": PASSWORD}
    )
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "authentication_error"
    assert wrong.get_json()["error"]["message"] == unknown.get_json()["error"]["message"]


def test_inactive_user_cannot_log_in_and_loses_existing_tokens(app_ctx, client, auth):
    user = make_user()
    headers = auth.headers(user.email, PASSWORD)
    admin = make_user(UserRole.ADMIN)
    admin_headers = auth.headers(admin.email, PASSWORD)
    assert (
        client.patch(
            f"/api/v1/users/{user.id}", json={"is_active": False}, headers=admin_headers
        ).status_code
        == 200
    )
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    response = client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 401


def test_logout_revokes_access_and_refresh_tokens(app_ctx, client, auth):
    user = make_user()
    tokens = auth.login(user.email, PASSWORD)
    assert (
        client.post("/api/v1/auth/logout", headers=_bearer(tokens["access_token"])).status_code
        == 200
    )
    after = client.get("/api/v1/auth/me", headers=_bearer(tokens["access_token"]))
    assert after.status_code == 401
    assert "revoked" in after.get_json()["error"]["message"]
    refreshed = client.post("/api/v1/auth/refresh", headers=_bearer(tokens["refresh_token"]))
    assert refreshed.status_code == 401


def test_logout_leaves_other_sessions_alone(app_ctx, client, auth):
    user = make_user()
    first = auth.login(user.email, PASSWORD)
    second = auth.login(user.email, PASSWORD)
    client.post("/api/v1/auth/logout", headers=_bearer(first["access_token"]))
    assert client.get("/api/v1/auth/me", headers=_bearer(second["access_token"])).status_code == 200


def test_refresh_issues_a_working_access_token(app_ctx, client, auth):
    user = make_user()
    tokens = auth.login(user.email, PASSWORD)
    response = client.post("/api/v1/auth/refresh", headers=_bearer(tokens["refresh_token"]))
    assert response.status_code == 200
    new_access = response.get_json()["access_token"]
    assert client.get("/api/v1/auth/me", headers=_bearer(new_access)).status_code == 200
    # the refreshed token belongs to the same login session: logging out kills both
    client.post("/api/v1/auth/logout", headers=_bearer(new_access))
    assert client.get("/api/v1/auth/me", headers=_bearer(tokens["access_token"])).status_code == 401


def test_refresh_token_is_not_an_access_token(app_ctx, client, auth):
    user = make_user()
    tokens = auth.login(user.email, PASSWORD)
    assert (
        client.get("/api/v1/auth/me", headers=_bearer(tokens["refresh_token"])).status_code == 401
    )
    assert (
        client.post("/api/v1/auth/refresh", headers=_bearer(tokens["access_token"])).status_code
        == 401
    )


def test_expired_token_is_rejected(app_ctx, client):
    user = make_user()
    token = create_access_token(
        identity=str(user.id),
        expires_delta=timedelta(seconds=-30),
        additional_claims={"sid": "s", "ep": 0},
    )
    response = client.get("/api/v1/auth/me", headers=_bearer(token))
    assert response.status_code == 401
    assert response.get_json()["error"]["message"] == "The token has expired."


def test_tampered_token_is_rejected(app_ctx, client, auth):
    user = make_user()
    token = auth.login(user.email, PASSWORD)["access_token"]
    header, payload, signature = token.split(".")
    forged_signature = ("A" if signature[0] != "A" else "B") + signature[1:]
    for bad in (f"{header}.{payload}.{forged_signature}", "not-a-jwt", f"{header}.{payload}."):
        response = client.get("/api/v1/auth/me", headers=_bearer(bad))
        assert response.status_code == 401, bad
        assert response.get_json()["error"]["code"] == "authentication_error"


def test_token_signed_with_another_key_is_rejected(app_ctx, client):
    import jwt as pyjwt

    user = make_user(UserRole.ADMIN)
    forged = pyjwt.encode(
        {"sub": str(user.id), "type": "access", "jti": "x", "fresh": False, "role": "admin"},
        "someone-elses-key",
        algorithm="HS256",
    )
    assert client.get("/api/v1/auth/me", headers=_bearer(forged)).status_code == 401


def test_missing_token_is_401(client):
    response = client.get("/api/v1/auth/me")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "authentication_error"


def test_browser_cookies_are_httponly_and_csrf_protected(app_ctx, client):
    user = make_user()
    response = client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    cookies = response.headers.getlist("Set-Cookie")
    access = next(c for c in cookies if c.startswith("access_token_cookie="))
    assert "HttpOnly" in access
    csrf = next(c for c in cookies if c.startswith("csrf_access_token="))
    assert "HttpOnly" not in csrf  # readable by the page's script, sent back as a header
    # the cookie alone authenticates a read...
    assert client.get("/api/v1/auth/me").status_code == 200
    # ...but a state-changing request without the CSRF header is refused
    assert client.post("/api/v1/auth/logout").status_code == 401
    csrf_value = client.get_cookie("csrf_access_token").value
    assert (
        client.post("/api/v1/auth/logout", headers={"X-CSRF-TOKEN": csrf_value}).status_code == 200
    )
    assert client.get("/api/v1/auth/me").status_code == 401


def test_register_creates_customer_user_and_record(app_ctx, client, outbox_mail):
    from tests.mail import register_and_confirm

    body = register_and_confirm(
        client,
        outbox_mail,
        {
            "email": "new@example.test",
            "password": "long-enough-1",
            "first_name": "Nia",
            "last_name": "New",
            "address": {
                "line1": "1 Main St",
                "city": "Oslo",
                "postal_code": "0150",
                "country": "NO",
            },
        },
    )
    assert body["user"]["role"] == "customer"
    assert body["user"]["customer_id"]
    from oms.customers.models import Customer
    from oms.extensions import db

    customer = db.session.get(Customer, __import__("uuid").UUID(body["user"]["customer_id"]))
    assert customer.email == "new@example.test"
    assert customer.address["city"] == "Oslo"


def test_register_hides_duplicates_refuses_short_passwords_and_role_fields(app_ctx, client):
    make_user(email="taken@example.test")
    base = {"password": "long-enough-1", "first_name": "A", "last_name": "B"}
    dup = client.post("/api/v1/auth/register", json={**base, "email": "taken@example.test"})
    assert dup.status_code == 202  # the same as a new email (tests/security/test_registration)
    short = client.post(
        "/api/v1/auth/register", json={**base, "email": "s@example.test", "password": "short"}
    )
    assert short.status_code == 422
    assert "password" in short.get_json()["error"]["details"]
    escalate = client.post(
        "/api/v1/auth/register", json={**base, "email": "e@example.test", "role": "admin"}
    )
    assert escalate.status_code == 422
    assert escalate.get_json()["error"]["details"] == {"role": ["Unknown field."]}


def test_failed_logins_are_rate_limited_and_successful_ones_are_not(app):
    """The login limits count failed attempts only (the full behaviour, with the default
    limits, is in tests/core/test_rate_limits.py)."""
    from oms import create_app
    from tests.conftest import make_test_config

    # the Redis storage of the tests (``app`` flushes it afterwards)
    limited_app = create_app(make_test_config(OMS_RATELIMIT_LOGIN_ACCOUNT="3 per minute"))
    client = limited_app.test_client()
    statuses = [
        client.post(
            "/api/v1/auth/login", json={"email": "x@example.test", "password": "whatever1"}
        ).status_code
        for _ in range(4)
    ]
    assert statuses == [401, 401, 401, 429]
    limited = client.post(
        "/api/v1/auth/login", json={"email": "x@example.test", "password": "whatever1"}
    )
    error = limited.get_json()["error"]
    assert error["code"] == "rate_limited"
    assert error["message"].startswith("Too many attempts. Try again in ")
    assert int(limited.headers["Retry-After"]) > 0
    with limited_app.app_context():
        from oms.extensions import db

        email = make_user(email="ok@example.test").email
        db.session.remove()
    ok = [
        client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD}).status_code
        for _ in range(5)
    ]
    assert ok == [200] * 5


def test_a_refresh_token_works_once_and_its_reuse_ends_the_session(app_ctx, client, auth):
    """Issue 24, item 5: the same refresh token answered 200 twice. Now each use hands out the
    next one, and a spent one used again (a copy in other hands) ends that login session."""
    user = make_user()
    first = auth.login(user.email, PASSWORD)
    other = auth.login(user.email, PASSWORD)  # another device: another session
    response = client.post("/api/v1/auth/refresh", headers=_bearer(first["refresh_token"]))
    assert response.status_code == 200
    second = response.get_json()
    assert set(second) == {"access_token", "refresh_token"}
    assert second["refresh_token"] != first["refresh_token"]
    assert client.get("/api/v1/auth/me", headers=_bearer(second["access_token"])).status_code == 200

    reused = client.post("/api/v1/auth/refresh", headers=_bearer(first["refresh_token"]))
    assert reused.status_code == 401
    # the whole session ended: the thief's copy and the owner's newer tokens alike
    for token in (second["access_token"], first["access_token"]):
        assert client.get("/api/v1/auth/me", headers=_bearer(token)).status_code == 401
    again = client.post("/api/v1/auth/refresh", headers=_bearer(second["refresh_token"]))
    assert again.status_code == 401
    # the other session is not touched
    assert client.get("/api/v1/auth/me", headers=_bearer(other["access_token"])).status_code == 200
    renewed = client.post("/api/v1/auth/refresh", headers=_bearer(other["refresh_token"]))
    assert renewed.status_code == 200


def test_a_refresh_token_used_twice_at_once_works_only_once(app_ctx, app, auth):
    """Two uses racing: one gets the next token, the other a 401 (and the session ends)."""
    import threading

    user = make_user()
    tokens = auth.login(user.email, PASSWORD)
    answers: list[int] = []
    start = threading.Barrier(4)

    def use() -> None:
        with app.test_client() as racer:
            start.wait()
            answers.append(
                racer.post(
                    "/api/v1/auth/refresh", headers=_bearer(tokens["refresh_token"])
                ).status_code
            )

    threads = [threading.Thread(target=use) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(answers) == [200, 401, 401, 401]
