"""The supported test helpers: tokens without an HTTP login, and the outbox drained on demand."""

from __future__ import annotations

import sqlalchemy as sa
from flask_jwt_extended import decode_token

from oms.auth.enums import UserRole
from oms.extensions import db
from oms.outbox import service as outbox
from oms.outbox.models import OutboxMessage
from tests.factories import PASSWORD, make_user
from tests.outbox import transaction_without_dispatch


def test_tokens_carry_the_claims_of_a_real_login(app_ctx, client, auth, tokens):
    staff = make_user(UserRole.STAFF)
    issued = tokens.issue(staff)
    logged_in = auth.login(staff.email, PASSWORD)
    for name in ("access_token", "refresh_token"):
        mine, real = decode_token(issued[name]), decode_token(logged_in[name])
        assert {k: mine[k] for k in ("sub", "role", "type")} == {
            k: real[k] for k in ("sub", "role", "type")
        }
        assert mine["sid"] and mine["sid"] != real["sid"]
    me = client.get("/api/v1/auth/me", headers=tokens.headers(staff))
    assert me.status_code == 200 and me.get_json()["email"] == staff.email


def test_tokens_of_one_session_are_revoked_with_it(app_ctx, client, tokens):
    customer = make_user(UserRole.CUSTOMER)
    headers = tokens.headers(customer, sid="one-session")
    assert client.post("/api/v1/auth/logout", headers=headers).status_code in (200, 204)
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401


def test_a_transaction_without_dispatch_leaves_its_messages_to_drain_outbox(app_ctx, drain_outbox):
    with transaction_without_dispatch():
        outbox.enqueue("reports.purge_exports")
    db.session.remove()
    unsent = sa.select(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
    assert len(db.session.scalars(unsent).all()) == 1
    assert drain_outbox() == 1
    db.session.remove()
    assert db.session.scalars(unsent).all() == []
    assert drain_outbox() == 0
