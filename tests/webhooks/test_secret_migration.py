"""Migration 0015 encrypts the endpoint secrets stored in plain text before it, unchanged (the
receivers keep theirs), on PostgreSQL and SQLite; its downgrade gives them back."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from oms import create_app
from oms.extensions import db
from oms.webhooks.models import WebhookEndpoint
from tests.conftest import TEST_DATABASE_URL, ensure_database, make_test_config, reset_schema

LEGACY_SECRET = "whsec_q3Ru-2b7_xVn0f8Zk1pLhQmYc4sWtE9aJrUoDgBiNvM"  # token_urlsafe(32), as before


@pytest.fixture(params=["postgresql", "sqlite"])
def database_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'embedded.sqlite3'}"
    url = TEST_DATABASE_URL + "_secrets"
    ensure_database(url)
    reset_schema(url)
    return url


def test_existing_secrets_are_encrypted_and_decrypted_back(database_url):
    app = create_app(make_test_config(SQLALCHEMY_DATABASE_URI=database_url, OMS_REDIS_URL=None))
    endpoint_id = uuid.uuid4()
    with app.app_context():
        upgrade(revision="0014")
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO webhook_endpoints (id, url, event_types, active, secret, "
                    "created_at, updated_at) VALUES (:id, 'https://hooks.example.com/', "
                    "'[\"order.created\"]', true, :secret, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {
                    "id": endpoint_id.hex if "sqlite" in database_url else endpoint_id,
                    "secret": LEGACY_SECRET,
                },
            )
        upgrade()
        with db.engine.connect() as conn:
            row = conn.execute(sa.text("SELECT * FROM webhook_endpoints")).one()._asdict()
        assert "secret" not in row and LEGACY_SECRET not in str(row)
        assert db.session.get(WebhookEndpoint, endpoint_id).secret == LEGACY_SECRET
        db.session.remove()
        downgrade(revision="0014")
        with db.engine.connect() as conn:
            secret = conn.scalar(sa.text("SELECT secret FROM webhook_endpoints"))
        assert secret == LEGACY_SECRET
        downgrade(revision="base")
        db.engine.dispose()
