"""Role checks, through the admin-only user management API."""

from __future__ import annotations

import pytest

from oms.auth.enums import UserRole
from tests.factories import PASSWORD, make_user


@pytest.mark.parametrize("role", [UserRole.CUSTOMER, UserRole.STAFF])
def test_non_admins_get_403(app_ctx, client, auth, role):
    user = make_user(role)
    response = client.get("/api/v1/users", headers=auth.headers(user.email, PASSWORD))
    assert response.status_code == 403
    error = response.get_json()["error"]
    assert error["code"] == "authorization_error"
    assert error["details"]["required"] == ["admin"]


def test_anonymous_gets_401(client):
    assert client.get("/api/v1/users").status_code == 401
    assert client.post("/api/v1/users", json={}).status_code == 401


def test_admin_lists_filters_and_pages_users(app_ctx, client, auth):
    admin = make_user(UserRole.ADMIN)
    for _ in range(3):
        make_user(UserRole.STAFF)
    make_user(UserRole.CUSTOMER)
    headers = auth.headers(admin.email, PASSWORD)
    seen = []
    cursor = None
    while True:
        url = "/api/v1/users?limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(url, headers=headers).get_json()
        assert set(body) == {"items", "limit", "next_cursor", "has_more"}
        seen += [u["email"] for u in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 5
    staff = client.get("/api/v1/users?role=staff", headers=headers).get_json()["items"]
    assert {u["role"] for u in staff} == {"staff"} and len(staff) == 3
    by_email = client.get("/api/v1/users?sort=email", headers=headers).get_json()["items"]
    assert [u["email"] for u in by_email] == sorted(u["email"] for u in by_email)


def test_admin_creates_staff_who_can_log_in(app_ctx, client, auth):
    admin = make_user(UserRole.ADMIN)
    response = client.post(
        "/api/v1/users",
        json={"email": "worker@example.test", "password": "warehouse-1", "role": "staff"},
        headers=auth.headers(admin.email, PASSWORD),
    )
    assert response.status_code == 201
    assert response.get_json()["role"] == "staff"
    assert auth.login("worker@example.test", "warehouse-1")["user"]["role"] == "staff"


def test_admin_cannot_demote_or_deactivate_self(app_ctx, client, auth):
    admin = make_user(UserRole.ADMIN)
    headers = auth.headers(admin.email, PASSWORD)
    for change in ({"role": "staff"}, {"is_active": False}):
        response = client.patch(f"/api/v1/users/{admin.id}", json=change, headers=headers)
        assert response.status_code == 409


def test_role_change_takes_effect_on_existing_tokens(app_ctx, client, auth):
    admin = make_user(UserRole.ADMIN)
    other = make_user(UserRole.ADMIN)
    other_headers = auth.headers(other.email, PASSWORD)
    assert client.get("/api/v1/users", headers=other_headers).status_code == 200
    client.patch(
        f"/api/v1/users/{other.id}",
        json={"role": "staff"},
        headers=auth.headers(admin.email, PASSWORD),
    )
    assert client.get("/api/v1/users", headers=other_headers).status_code == 403


def test_unknown_user_is_404(app_ctx, client, auth):
    admin = make_user(UserRole.ADMIN)
    response = client.get(
        "/api/v1/users/00000000-0000-0000-0000-000000000000",
        headers=auth.headers(admin.email, PASSWORD),
    )
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
