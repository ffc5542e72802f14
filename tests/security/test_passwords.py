"""Finding 5: change the password, log out everywhere, reset a forgotten password by email.

The mailer is the mocked boundary: ``mailer.send`` is replaced by a list; everything else
(the outbox, the notifications task, PostgreSQL) is real."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from oms.auth.enums import UserRole
from oms.auth.models import PasswordReset
from oms.db import transaction, utcnow
from oms.extensions import db
from tests.factories import PASSWORD, make_user
from tests.mail import link_token

NEW = "a-brand-new-pass-9"


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _login(client, email, password=PASSWORD) -> dict:
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _me(client, token) -> int:
    return client.get("/api/v1/auth/me", headers=_bearer(token)).status_code


def test_change_password_revokes_every_other_session_and_renews_this_one(app_ctx, client):
    user = make_user(UserRole.STAFF)
    this, other = _login(client, user.email), _login(client, user.email)
    response = client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW},
        headers=_bearer(this["access_token"]),
    )
    assert response.status_code == 200, response.get_json()
    fresh = response.get_json()
    assert _me(client, fresh["access_token"]) == 200
    for old in (this, other):
        assert _me(client, old["access_token"]) == 401
        refreshed = client.post("/api/v1/auth/refresh", headers=_bearer(old["refresh_token"]))
        assert refreshed.status_code == 401
    assert (
        client.post("/api/v1/auth/refresh", headers=_bearer(fresh["refresh_token"])).status_code
        == 200
    )
    assert (
        client.post(
            "/api/v1/auth/login", json={"email": user.email, "password": PASSWORD}
        ).status_code
        == 401
    )
    _login(client, user.email, NEW)


def test_change_password_needs_the_current_one(app_ctx, client):
    user = make_user()
    token = _login(client, user.email)["access_token"]
    response = client.post(
        "/api/v1/auth/password",
        json={"current_password": "not-it-at-all", "new_password": NEW},
        headers=_bearer(token),
    )
    assert response.status_code == 422
    assert "current_password" in response.get_json()["error"]["details"]
    assert _me(client, token) == 200
    short = client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "short"},
        headers=_bearer(token),
    )
    assert short.status_code == 422 and "new_password" in short.get_json()["error"]["details"]
    assert client.post("/api/v1/auth/password", json={}).status_code == 401


def test_logout_all_ends_every_session(app_ctx, client):
    user = make_user()
    first, second = _login(client, user.email), _login(client, user.email)
    response = client.post("/api/v1/auth/logout-all", headers=_bearer(first["access_token"]))
    assert response.status_code == 200
    for tokens in (first, second):
        assert _me(client, tokens["access_token"]) == 401
        assert (
            client.post(
                "/api/v1/auth/refresh", headers=_bearer(tokens["refresh_token"])
            ).status_code
            == 401
        )
    assert _me(client, _login(client, user.email)["access_token"]) == 200


def _reset_link(message) -> str:
    return link_token(message, "/password-reset")


def test_reset_answers_the_same_whether_or_not_the_email_exists(app_ctx, client, outbox_mail):
    user = make_user()
    known = client.post("/api/v1/auth/password-reset", json={"email": user.email.upper()})
    unknown = client.post("/api/v1/auth/password-reset", json={"email": "nobody@example.test"})
    assert known.status_code == unknown.status_code == 202
    assert known.get_json() == unknown.get_json()
    assert [m["To"] for m in outbox_mail] == [user.email]
    assert "password" in outbox_mail[0]["Subject"].lower()
    bad = client.post("/api/v1/auth/password-reset", json={"email": "not an email"})
    assert bad.status_code == 422


def test_a_reset_token_works_once_and_revokes_every_session(app_ctx, client, outbox_mail):
    user = make_user()
    session = _login(client, user.email)
    client.post("/api/v1/auth/password-reset", json={"email": user.email})
    token = _reset_link(outbox_mail[-1])
    # nothing stored lets a database reader rebuild the token
    stored = db.session.scalars(sa.select(PasswordReset)).one()
    assert token.split(".")[1] not in str(stored.__dict__)
    confirm = {"token": token, "new_password": NEW}
    response = client.post("/api/v1/auth/password-reset/confirm", json=confirm)
    assert response.status_code == 200, response.get_json()
    assert _me(client, session["access_token"]) == 401
    _login(client, user.email, NEW)
    again = client.post(
        "/api/v1/auth/password-reset/confirm", json={**confirm, "new_password": "x" * 12}
    )
    assert again.status_code == 422 and again.get_json()["error"]["details"]["token"]
    _login(client, user.email, NEW)


def test_a_reset_token_expires_and_a_newer_one_replaces_it(app_ctx, client, outbox_mail):
    user = make_user()
    client.post("/api/v1/auth/password-reset", json={"email": user.email})
    first = _reset_link(outbox_mail[-1])
    client.post("/api/v1/auth/password-reset", json={"email": user.email})
    second = _reset_link(outbox_mail[-1])
    replaced = client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": first, "new_password": NEW}
    )
    assert replaced.status_code == 422
    with transaction() as session:
        for reset in session.scalars(sa.select(PasswordReset)):
            reset.expires_at = utcnow() - timedelta(seconds=1)
    expired = client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": second, "new_password": NEW}
    )
    assert expired.status_code == 422
    _login(client, user.email)


@pytest.mark.parametrize("token", ["", "x", "a.b", "0" * 36 + ".abc", "\u00e9" * 10 + ".x"])
def test_a_forged_reset_token_is_a_422(app_ctx, client, token):
    response = client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": NEW}
    )
    assert response.status_code == 422


def test_the_notification_sweep_sends_a_stranded_reset_email_once(app_ctx, client, outbox_mail):
    """Beat's resend_unsent (issue 10 finding 4) knows password-reset rows, not only orders."""
    from oms.notifications import service as notifications
    from oms.notifications.models import Notification
    from oms.redis_store import redis_client, redis_key

    user = make_user()
    client.post("/api/v1/auth/password-reset", json={"email": user.email})
    assert len(outbox_mail) == 1
    then = utcnow() - timedelta(minutes=30)
    with transaction() as session:  # as if the send had been lost with its worker
        session.execute(
            sa.update(Notification).values(sent_at=None, created_at=then, last_attempt_at=then)
        )
        for key in session.scalars(sa.select(Notification.dedupe_key)):
            redis_client().delete(redis_key("notifications", "mailed", key))
    assert notifications.resend_unsent(older_than=timedelta(minutes=10)) == 1
    assert len(outbox_mail) == 2 and outbox_mail[-1]["To"] == user.email
    assert notifications.resend_unsent(older_than=timedelta(minutes=10)) == 0
