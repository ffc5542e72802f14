"""Liveness and readiness."""

from __future__ import annotations

import pytest

from oms import create_app
from tests.conftest import make_test_config


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_checks_database_and_redis(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}


@pytest.mark.usefixtures("_database")
def test_readyz_is_503_and_names_what_is_down():
    app = create_app(
        make_test_config(
            OMS_REDIS_URL="redis://127.0.0.1:1/0",
            SQLALCHEMY_DATABASE_URI="postgresql+psycopg2://postgres@127.0.0.1:1/none",
        )
    )
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"].startswith("down")
    assert body["checks"]["redis"].startswith("down")
