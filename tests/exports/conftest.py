"""Fixtures of the export tests: a private export folder and a logged-in admin."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from oms.auth.enums import UserRole
from tests.factories import PASSWORD, make_user


@pytest.fixture
def export_dir(app, tmp_path, monkeypatch):
    """The app writes export files to a folder of this test's own."""
    folder = tmp_path / "exports"
    folder.mkdir()
    monkeypatch.setitem(app.config, "OMS_EXPORT_DIR", str(folder))
    return folder


@pytest.fixture
def admin(app_ctx, auth, export_dir):
    """An admin user with their Bearer headers."""
    user = make_user(UserRole.ADMIN)
    return SimpleNamespace(user=user, headers=auth.headers(user.email, PASSWORD))
