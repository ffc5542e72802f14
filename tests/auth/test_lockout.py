"""Login throttling nobody can turn into a lockout (issue 24, item 4), on an app with the
default limits and the real Redis storage: guesses from anywhere do not keep the owner out of
a device they logged in with before; an office is not locked by colleagues' typos; the owner
is emailed; admins see and lift locks."""

from __future__ import annotations

import json

import pytest

from oms.auth.enums import UserRole
from oms.auth.lockout import DEVICE_COOKIE
from tests.core import test_rate_limits
from tests.core.test_rate_limits import (
    ATTACKER,
    ATTEMPTS_MESSAGE,
    ELSEWHERE,
    OFFICE,
    _login,
    _users,
    _wait_seconds,
)
from tests.factories import PASSWORD

limited_app = test_rate_limits.limited_app  # the app with the default limits (a fixture)


def _guess(app, email: str, n: int, address: str = ATTACKER) -> list[int]:
    """``n`` wrong passwords from a client with no cookies (a new device every time)."""
    attacker = app.test_client(use_cookies=False)
    return [_login(attacker, email, f"guess-{i}-wrong", address).status_code for i in range(n)]


def test_guesses_do_not_keep_the_owner_out_of_a_device_they_used_before(limited_app):
    (admin,) = _users(limited_app, UserRole.ADMIN, 1)
    laptop = limited_app.test_client()
    assert _login(laptop, admin, PASSWORD, OFFICE).status_code == 200
    assert laptop.get_cookie(DEVICE_COOKIE, path="/api/v1/auth/login") is not None

    # 20 anonymous guesses an hour kept an admin out for ever: now they lock new devices only.
    assert _guess(limited_app, admin, 20) == [401] * 5 + [429] * 15
    new_phone = limited_app.test_client()
    assert _wait_seconds(_login(new_phone, admin, PASSWORD, ELSEWHERE), ATTEMPTS_MESSAGE) > 0

    # The laptop logs in, from the office or from anywhere else.
    assert _login(laptop, admin, PASSWORD, OFFICE).status_code == 200
    assert _login(laptop, admin, PASSWORD, ELSEWHERE).status_code == 200
    # Its device cookie is for this account only: another account's lock still holds on it.
    (other,) = _users(limited_app, UserRole.STAFF, 1)
    assert _guess(limited_app, other, 5) == [401] * 5
    assert _login(laptop, other, PASSWORD, OFFICE).status_code == 429


def test_a_forged_device_cookie_buys_nothing(limited_app):
    (staff,) = _users(limited_app, UserRole.STAFF, 1)
    assert _guess(limited_app, staff, 5) == [401] * 5
    forger = limited_app.test_client()
    unsigned = json.dumps({"d": "x", "e": [staff]})
    forger.set_cookie(DEVICE_COOKIE, unsigned, path="/api/v1/auth/login")
    assert _login(forger, staff, PASSWORD, OFFICE).status_code == 429


def test_a_known_device_has_its_own_budget(limited_app):
    (staff,) = _users(limited_app, UserRole.STAFF, 1)
    desk = limited_app.test_client()
    assert _login(desk, staff, PASSWORD, OFFICE).status_code == 200
    # The owner's own typos on their desk: counted on the desk (10 per 15 minutes), not the
    # account, so a new device still logs in meanwhile.
    typos = [_login(desk, staff, f"typo-{i}", OFFICE).status_code for i in range(11)]
    assert typos == [401] * 10 + [429]
    assert _login(limited_app.test_client(), staff, PASSWORD, ELSEWHERE).status_code == 200


def test_colleagues_typos_do_not_lock_the_office(limited_app):
    """The address counts accounts failed from it, not failures: four colleagues mistyping
    five times each (20 failures) leave the office's other logins alone."""
    clumsy = _users(limited_app, UserRole.STAFF, 4)
    (colleague,) = _users(limited_app, UserRole.STAFF, 1)
    for email in clumsy:
        assert _guess(limited_app, email, 5, OFFICE) == [401] * 5
    fresh_browser = limited_app.test_client()
    assert _login(fresh_browser, colleague, PASSWORD, OFFICE).status_code == 200


def test_the_owner_is_emailed_once_when_their_account_is_being_guessed(limited_app, outbox_mail):
    (staff,) = _users(limited_app, UserRole.STAFF, 1)
    assert _guess(limited_app, staff, 12) == [401] * 5 + [429] * 7
    notices = [m for m in outbox_mail if m["To"] == staff]
    assert len(notices) == 1
    assert notices[0]["Subject"] == "Someone is trying to log in to your account"
    # An email nobody owns is locked too, and nobody is emailed.
    assert _guess(limited_app, "nobody@example.test", 6) == [401] * 5 + [429]
    assert not [m for m in outbox_mail if m["To"] == "nobody@example.test"]


@pytest.fixture
def admin_client(limited_app):
    (admin,) = _users(limited_app, UserRole.ADMIN, 1)
    client = limited_app.test_client()
    token = _login(client, admin, PASSWORD, OFFICE).get_json()["access_token"]
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    client.environ_base["REMOTE_ADDR"] = OFFICE
    return client


def test_admins_see_and_lift_locks(limited_app, admin_client):
    (staff,) = _users(limited_app, UserRole.STAFF, 1)
    assert admin_client.get("/api/v1/auth/locks").get_json() == {"items": []}
    assert _guess(limited_app, staff, 5) == [401] * 5
    sprayed = [f"nobody{i}@example.test" for i in range(20)]
    for email in sprayed:
        _guess(limited_app, email, 1, ELSEWHERE)

    locks = admin_client.get("/api/v1/auth/locks")
    assert locks.status_code == 200
    by_key = {(lock["kind"], lock["key"]): lock for lock in locks.get_json()["items"]}
    assert ("account", staff) in by_key
    assert ("address", ELSEWHERE) in by_key
    assert by_key[("account", staff)]["locked_until"] > by_key[("account", staff)]["locked_at"]

    # Not for anyone but admins.
    (other,) = _users(limited_app, UserRole.STAFF, 1)
    staff_client = limited_app.test_client()
    token = _login(staff_client, other, PASSWORD, OFFICE).get_json()["access_token"]
    assert (
        staff_client.get(
            "/api/v1/auth/locks", headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 403
    )

    assert admin_client.delete(f"/api/v1/auth/locks/account/{staff}").status_code == 204
    assert admin_client.delete(f"/api/v1/auth/locks/address/{ELSEWHERE}").status_code == 204
    assert admin_client.delete(f"/api/v1/auth/locks/account/{staff}").status_code == 404
    assert admin_client.get("/api/v1/auth/locks").get_json() == {"items": []}
    new_device = limited_app.test_client()
    assert _login(new_device, staff, PASSWORD, ELSEWHERE).status_code == 200
