"""Issue 10 finding 5, last sentence: registration does not reveal which emails exist.

The same answer for a new and a known email; a new one gets a single-use, expiring link that
activates the account, a known one a warning email; until confirmed, logging in fails like a
wrong password. The mailer is the mocked boundary; the outbox, the notifications task and
PostgreSQL are real."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from oms.audit.models import AuditEntry
from oms.auth.enums import UserRole
from oms.auth.models import PasswordReset, TokenPurpose, User
from oms.db import transaction, utcnow
from oms.extensions import db
from tests.factories import PASSWORD, make_customer, make_user
from tests.mail import link_token, register_and_confirm, text_of

BODY = {"password": "a-long-passphrase", "first_name": "Ada", "last_name": "Lovelace"}


def _register(client, email: str, **extra):
    return client.post("/api/v1/auth/register", json={**BODY, "email": email, **extra})


def _login(client, email: str, password: str = BODY["password"]):
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


def _confirm(client, token: str):
    return client.post("/api/v1/auth/register/confirm", json={"token": token})


def test_a_new_and_a_known_email_get_the_same_answer(app_ctx, client, outbox_mail):
    user = make_user(UserRole.CUSTOMER)
    staff_record = make_customer(email="record@example.test")
    new = _register(client, "new@example.test")
    known = _register(client, user.email.upper())
    record = _register(client, staff_record.email)
    assert new.status_code == known.status_code == record.status_code == 202
    assert new.get_json() == known.get_json() == record.get_json()
    assert new.headers.get("Set-Cookie") is None and known.headers.get("Set-Cookie") is None
    assert [m["To"] for m in outbox_mail] == ["new@example.test", user.email, staff_record.email]
    assert outbox_mail[0]["Subject"] == "Confirm your email address"
    # the known addresses hear that someone tried, with no usable link
    for warning in outbox_mail[1:]:
        assert warning["Subject"] == "Someone tried to register with your address"
        assert "/password-reset" in text_of(warning)
        assert "#token=" not in text_of(warning)
    # nothing changed for the known ones: the old password still logs in
    assert _login(client, user.email, PASSWORD).status_code == 200
    assert _login(client, user.email).status_code == 401
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 2


def test_invalid_input_is_refused_the_same_for_new_and_known_emails(app_ctx, client):
    user = make_user(UserRole.CUSTOMER)
    for email in (user.email, "fresh@example.test"):
        short = _register(client, email, password="short")
        assert short.status_code == 422
        assert "password" in short.get_json()["error"]["details"]


def test_an_unconfirmed_login_answers_like_a_wrong_password(app_ctx, client, outbox_mail):
    assert _register(client, "wait@example.test").status_code == 202
    unconfirmed = _login(client, "wait@example.test")
    wrong = _login(client, "wait@example.test", "not-the-password")
    nobody = _login(client, "nobody@example.test")
    assert unconfirmed.status_code == wrong.status_code == nobody.status_code == 401
    assert unconfirmed.get_json()["error"]["message"] == wrong.get_json()["error"]["message"]
    assert unconfirmed.get_json()["error"]["code"] == wrong.get_json()["error"]["code"]


def test_the_link_activates_the_account_once(app_ctx, client, outbox_mail):
    logged_in = register_and_confirm(
        client, outbox_mail, {**BODY, "email": "ada@example.test", "phone": "+47 1234"}
    )
    assert logged_in["user"]["email"] == "ada@example.test"
    assert logged_in["user"]["role"] == "customer" and logged_in["user"]["customer_id"]
    me = client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {logged_in['access_token']}"}
    )
    assert me.status_code == 200
    assert _login(client, "ada@example.test").status_code == 200
    token = link_token(outbox_mail[-1], "/register/confirm")
    again = _confirm(client, token)
    assert again.status_code == 422 and again.get_json()["error"]["details"]["token"]
    # registering again now is a known email: a warning, the account stays as it is
    assert _register(client, "ada@example.test", password="another-pass-9").status_code == 202
    assert outbox_mail[-1]["Subject"] == "Someone tried to register with your address"
    assert _login(client, "ada@example.test", "another-pass-9").status_code == 401


def test_the_link_expires(app_ctx, client, outbox_mail):
    _register(client, "late@example.test")
    token = link_token(outbox_mail[-1], "/register/confirm")
    with transaction() as session:
        session.execute(sa.update(PasswordReset).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert _confirm(client, token).status_code == 422
    assert _login(client, "late@example.test").status_code == 401


def test_a_password_reset_confirms_an_unconfirmed_account(app_ctx, client, outbox_mail):
    """The owner who lost the confirmation email (or whose address someone else registered)
    gets in by a reset: its link proves the address too."""
    _register(client, "lost@example.test")
    client.post("/api/v1/auth/password-reset", json={"email": "lost@example.test"})
    token = link_token(outbox_mail[-1], "/password-reset")
    new = {"token": token, "new_password": "mine-not-theirs-1"}
    assert client.post("/api/v1/auth/password-reset/confirm", json=new).status_code == 200
    assert _login(client, "lost@example.test", "mine-not-theirs-1").status_code == 200


def test_tokens_of_one_purpose_do_not_work_for_the_other(app_ctx, client, outbox_mail):
    user = make_user()
    client.post("/api/v1/auth/password-reset", json={"email": user.email})
    reset = link_token(outbox_mail[-1], "/password-reset")
    assert _confirm(client, reset).status_code == 422
    _register(client, "other@example.test")
    confirmation = link_token(outbox_mail[-1], "/register/confirm")
    body = {"token": confirmation, "new_password": "x" * 12}
    assert client.post("/api/v1/auth/password-reset/confirm", json=body).status_code == 422
    purposes = db.session.scalars(sa.select(PasswordReset.purpose).order_by("created_at"))
    assert list(purposes) == [TokenPurpose.PASSWORD_RESET, TokenPurpose.EMAIL_CONFIRMATION]


@pytest.mark.parametrize("token", ["", "x", "a.b", "0" * 32 + ".abc", "\u00e9" * 10 + ".x"])
def test_a_forged_confirmation_token_is_a_422(app_ctx, client, token):
    assert _confirm(client, token).status_code == 422


def test_a_stranded_confirmation_email_is_sent_again_once(app_ctx, client, outbox_mail):
    from oms.notifications import service as notifications
    from oms.notifications.models import Notification
    from oms.redis_store import redis_client, redis_key

    _register(client, "stranded@example.test")
    then = utcnow() - timedelta(minutes=30)
    with transaction() as session:  # as if the send had been lost with its worker
        session.execute(
            sa.update(Notification).values(sent_at=None, created_at=then, last_attempt_at=then)
        )
        for key in session.scalars(sa.select(Notification.dedupe_key)):
            redis_client().delete(redis_key("notifications", "mailed", key))
    assert notifications.resend_unsent(older_than=timedelta(minutes=10)) == 1
    assert [m["To"] for m in outbox_mail] == ["stranded@example.test"] * 2
    assert notifications.resend_unsent(older_than=timedelta(minutes=10)) == 0


def test_registrations_racing_for_one_new_email_all_get_the_same_answer(app, outbox_mail):
    """The loser of a race for a new email meets the unique index, not the check: it answers
    as for a known email (never a 409 or a 500 that would tell)."""
    import threading

    from oms.auth import service

    racers = 6
    barrier = threading.Barrier(racers)
    failures: list[BaseException] = []

    def register() -> None:
        with app.app_context():
            barrier.wait()
            try:
                service.register_customer(email="race@example.test", **BODY)
            except BaseException as exc:  # any failure fails the test
                failures.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=register) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1
    subjects = sorted(m["Subject"] for m in outbox_mail)
    assert subjects.count("Confirm your email address") == 1
    # the losers are known emails now: warned, at most once an hour, though racing ones may
    # each warn (none of them sees another's uncommitted notice)
    assert 1 <= subjects.count("Someone tried to register with your address") <= racers - 1


def test_a_known_address_hears_of_attempts_once_an_hour(app_ctx, client, outbox_mail):
    """Registering a victim's address over and over, from any number of addresses, must not
    fill their inbox: one warning per address per hour; the answer stays the same."""
    user = make_user(UserRole.CUSTOMER)
    answers = {_register(client, user.email).status_code for _ in range(5)}
    assert answers == {202}
    assert [m["To"] for m in outbox_mail] == [user.email]
    with transaction() as session:  # an hour later, the next attempt warns again
        session.execute(
            sa.update(PasswordReset).values(created_at=utcnow() - timedelta(minutes=61))
        )
    _register(client, user.email)
    assert [m["To"] for m in outbox_mail] == [user.email] * 2
    attempts = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == "user.registration_attempted")
    )
    assert attempts == 6  # each attempt is still in the audit log
