"""Finding 7: production refuses to start without ``OMS_METRICS_TOKEN``, and compose passes it
(required) to the web process, so ``/metrics`` is never public where compose publishes port 5000."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from cryptography.fernet import Fernet

from oms.config import ConfigurationError, load_config

ROOT = Path(__file__).resolve().parents[2]


def _production(monkeypatch):
    monkeypatch.setenv("OMS_ENV", "production")
    monkeypatch.setenv("OMS_SECRET_KEY", "a" * 40)
    monkeypatch.setenv("OMS_JWT_SECRET_KEY", "b" * 40)
    monkeypatch.setenv("OMS_WEBHOOKS_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    monkeypatch.setenv("OMS_PUBLIC_URL", "https://shop.example.com")


def test_production_refuses_to_start_without_a_metrics_token(monkeypatch):
    _production(monkeypatch)
    monkeypatch.delenv("OMS_METRICS_TOKEN", raising=False)
    with pytest.raises(ConfigurationError) as info:
        load_config()
    assert "OMS_METRICS_TOKEN" in str(info.value)


def test_production_with_a_metrics_token_starts(monkeypatch):
    _production(monkeypatch)
    monkeypatch.setenv("OMS_METRICS_TOKEN", "m" * 32)
    assert load_config()["OMS_METRICS_TOKEN"] == "m" * 32


def test_metrics_answer_only_with_the_token(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "OMS_METRICS_TOKEN", "s3cret-token")
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    response = client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
    assert response.status_code == 200 and b"oms_http_requests_total" in response.data


def test_compose_requires_the_metrics_token():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    env = compose["x-app"]["environment"]
    assert env["OMS_ENV"] == "production"
    assert env["OMS_METRICS_TOKEN"].startswith("${OMS_METRICS_TOKEN:?")
    for service in ("web", "worker", "beat"):
        assert compose["services"][service]["environment"]["OMS_METRICS_TOKEN"]
