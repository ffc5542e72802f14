"""Finding 6: a token lacking a claim the app relies on (exp, sub, type, jti, iat, sid, ep) is a
401 with the envelope, on the API and on Socket.IO, even when it is signed with our key."""

from __future__ import annotations

import time
import uuid

import jwt as pyjwt
import pytest

from oms import create_app
from oms.auth.enums import UserRole
from oms.extensions import socketio
from tests.conftest import make_test_config
from tests.factories import make_user

REQUIRED = ("exp", "sub", "type", "jti", "iat", "sid", "ep")


def _claims(user) -> dict:
    now = int(time.time())
    return {
        "sub": str(user.id),
        "type": "access",
        "jti": uuid.uuid4().hex,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "sid": uuid.uuid4().hex,
        "role": user.role.value,
        "ep": user.session_epoch,
        "fresh": False,
    }


def _sign(app, claims: dict) -> str:
    return pyjwt.encode(claims, app.config["JWT_SECRET_KEY"], algorithm="HS256")


def test_a_token_with_every_claim_is_accepted(app, app_ctx, client):
    user = make_user(UserRole.STAFF)
    token = _sign(app, _claims(user))
    assert (
        client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code
        == 200
    )


@pytest.mark.parametrize("missing", REQUIRED)
def test_a_token_without_a_required_claim_is_a_401(app, app_ctx, client, missing):
    user = make_user(UserRole.ADMIN)
    claims = _claims(user)
    del claims[missing]
    response = client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {_sign(app, claims)}"}
    )
    assert response.status_code == 401
    error = response.get_json()["error"]
    assert error["code"] == "authentication_error"
    assert error["request_id"]


@pytest.mark.usefixtures("_database")
def test_socketio_refuses_a_token_without_exp(app, app_ctx):
    user = make_user(UserRole.STAFF)
    embedded = create_app(make_test_config(OMS_REDIS_URL=None, RATELIMIT_STORAGE_URI="memory://"))
    claims = _claims(user)
    with embedded.app_context():
        good = socketio.test_client(embedded, auth={"token": _sign(embedded, claims)})
        assert good.is_connected()
        good.disconnect()
        del claims["exp"]
        bad = socketio.test_client(embedded, auth={"token": _sign(embedded, claims)})
        assert not bad.is_connected()
