"""Operator commands."""

from __future__ import annotations

import sqlalchemy as sa

from oms.auth.models import User
from oms.extensions import db
from oms.products.models import Product


def test_users_create(app_ctx, runner, auth):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "Ops@Example.test",
            "--password",
            "ops-pass-123",
            "--role",
            "admin",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "created admin ops@example.test" in result.output
    assert auth.login("ops@example.test", "ops-pass-123")["user"]["role"] == "admin"


def test_users_create_refuses_bad_input(app_ctx, runner):
    short = runner.invoke(
        args=["users", "create", "--email", "a@b.test", "--password", "x", "--role", "staff"]
    )
    assert short.exit_code != 0 and "too short" in short.output
    bad_role = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "a@b.test",
            "--password",
            "long-enough",
            "--role",
            "boss",
        ]
    )
    assert bad_role.exit_code != 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_demo_load_is_idempotent_and_prints_logins(app_ctx, runner, auth):
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0 and "Demo data loaded." in first.output
    assert "admin@example.com" in first.output
    products = db.session.scalar(sa.select(sa.func.count()).select_from(Product))
    assert products >= 5
    second = runner.invoke(args=["demo", "load"])
    assert "already present" in second.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Product)) == products
    assert auth.login("customer@example.com", "customer-pass-123")["user"]["customer_id"]


def test_every_command_has_help(runner):
    for args in (
        ["users", "--help"],
        ["users", "create", "--help"],
        ["demo", "load", "--help"],
        ["db", "--help"],
    ):
        result = runner.invoke(args=args)
        assert result.exit_code == 0 and "Usage" in result.output
