"""The audit log: every change of a product, customer or user and every login attempt is an
entry (who, when, what, before and after, request id) written in the change's transaction;
the table refuses UPDATE and DELETE; admins read it at ``GET /api/v1/audit``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from oms.audit.models import AuditEntry
from oms.auth.enums import UserRole
from oms.extensions import db
from tests.factories import PASSWORD, make_product, make_user


def _entries(**where) -> list[AuditEntry]:
    query = sa.select(AuditEntry).order_by(AuditEntry.at, AuditEntry.id)
    for key, value in where.items():
        query = query.where(getattr(AuditEntry, key) == value)
    db.session.expire_all()
    return list(db.session.scalars(query))


def test_a_product_change_records_who_what_before_after_and_request(app_ctx, client, tokens):
    staff = make_user(UserRole.STAFF)
    product = make_product(name="Kettle", price="30.00", stock=4)
    headers = {**tokens.headers(staff), "X-Request-ID": "req-audit-1"}
    response = client.put(
        f"/api/v1/products/{product.id}",
        json={"price": "32.50", "add_units": 6, "active": False},
        headers=headers,
    )
    assert response.status_code == 200
    (entry,) = _entries(action="product.updated")
    assert entry.entity_type == "product" and entry.entity_id == product.id
    assert entry.actor_id == staff.id and entry.actor_email == staff.email
    assert entry.before == {"price": "30.00", "inventory_count": 4, "active": True}
    assert entry.after == {"price": "32.50", "inventory_count": 10, "active": False}
    assert entry.request_id == "req-audit-1"
    assert entry.at > datetime.now(UTC) - timedelta(minutes=1)


def test_a_refused_change_leaves_no_entry(app_ctx, client, tokens):
    staff = make_user(UserRole.STAFF)
    product = make_product(stock=4)
    response = client.put(
        f"/api/v1/products/{product.id}",
        json={"add_units": 2**31},
        headers=tokens.headers(staff),
    )
    assert response.status_code == 422
    assert _entries(action="product.updated") == []


def test_customers_and_users_are_audited(app_ctx, client, tokens):
    admin = make_user(UserRole.ADMIN)
    headers = tokens.headers(admin)
    created = client.post(
        "/api/v1/customers",
        json={"email": "c@example.test", "first_name": "Cy", "last_name": "Audit"},
        headers=headers,
    ).get_json()
    client.put(f"/api/v1/customers/{created['id']}", json={"last_name": "Changed"}, headers=headers)
    staff = make_user(UserRole.STAFF)
    client.patch(
        f"/api/v1/users/{staff.id}", json={"role": "admin", "is_active": False}, headers=headers
    )
    (updated,) = _entries(action="customer.updated")
    assert updated.before == {"last_name": "Audit"} and updated.after == {"last_name": "Changed"}
    assert updated.actor_id == admin.id
    (role,) = _entries(action="user.updated")
    assert role.entity_id == staff.id
    assert role.before == {"role": "staff", "is_active": True}
    assert role.after == {"role": "admin", "is_active": False}
    assert _entries(action="customer.created")[0].after["email"] == "c@example.test"


def test_logins_are_audited_success_and_failure(app_ctx, client):
    user = make_user()
    client.post("/api/v1/auth/login", json={"email": user.email, "password": "wrong-one-1"})
    client.post("/api/v1/auth/login", json={"email": "nobody@example.test", "password": "x"})
    client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    failed = _entries(action="login.failed")
    assert [(e.entity_id, e.after["email"], e.actor_id) for e in failed] == [
        (user.id, user.email, None),
        (None, "nobody@example.test", None),
    ]
    (ok,) = _entries(action="login.succeeded")
    assert ok.entity_id == ok.actor_id == user.id and ok.remote_addr


def test_the_log_is_append_only(app_ctx):
    make_user()
    entry_id = _entries()[0].id
    for statement in (
        sa.update(AuditEntry).where(AuditEntry.id == entry_id).values(action="forged"),
        sa.delete(AuditEntry).where(AuditEntry.id == entry_id),
    ):
        with (
            pytest.raises(sa.exc.DBAPIError, match="append-only"),
            db.engine.begin() as connection,
        ):
            connection.execute(statement)
    assert _entries(id=entry_id)[0].action == "user.created"


def test_admins_read_it_with_filters_and_cursor_pages(app_ctx, client, tokens):
    admin = make_user(UserRole.ADMIN)
    staff = make_user(UserRole.STAFF)
    products = [make_product(stock=1) for _ in range(3)]
    for product in products:
        client.put(
            f"/api/v1/products/{product.id}", json={"add_units": 1}, headers=tokens.headers(staff)
        )
    headers = tokens.headers(admin)
    page = client.get("/api/v1/audit?entity_type=product&limit=2", headers=headers).get_json()
    assert len(page["items"]) == 2 and page["has_more"]
    rest = client.get(
        f"/api/v1/audit?entity_type=product&limit=2&cursor={page['next_cursor']}", headers=headers
    ).get_json()
    seen = [e["id"] for e in page["items"] + rest["items"]]
    assert len(seen) == len(set(seen)) == 3 and not rest["has_more"]  # the 3 restocks
    one = client.get(f"/api/v1/audit?entity_id={products[0].id}", headers=headers).get_json()
    assert [e["after"] for e in one["items"]] == [{"inventory_count": 2}]
    by_staff = client.get(f"/api/v1/audit?actor_id={staff.id}", headers=headers).get_json()
    assert {e["action"] for e in by_staff["items"]} == {"product.updated"}
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    later = client.get("/api/v1/audit", query_string={"created_from": future}, headers=headers)
    assert later.get_json()["items"] == []
    bad = client.get("/api/v1/audit?entity_type=order", headers=headers)
    assert bad.status_code == 422 and "entity_type" in bad.get_json()["error"]["details"]


def test_only_admins_read_the_log(app_ctx, client, tokens):
    assert client.get("/api/v1/audit").status_code == 401
    for role in (UserRole.CUSTOMER, UserRole.STAFF):
        response = client.get("/api/v1/audit", headers=tokens.headers(make_user(role)))
        assert response.status_code == 403
