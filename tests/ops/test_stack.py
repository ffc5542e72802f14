"""Operations: the Procfile stack end to end, Flower behind basic auth, compose validation."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import urllib.error
import urllib.request

import pytest

from oms.auth.enums import UserRole
from oms.products.models import Product
from tests.conftest import TEST_DATABASE_URL
from tests.factories import ADDRESS, PASSWORD, make_product, make_user
from tests.integration.conftest import http
from tests.processes import BIN, ROOT, PrivateRedis, Process, free_port, stack_env, wait_for

pytestmark = pytest.mark.slow


def _get(url: str, auth: str | None = None) -> int:
    request = urllib.request.Request(url)
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def test_procfile_stack_runs_an_order_through_web_worker_beat_and_flower(app_ctx, tmp_path):
    redis_server = PrivateRedis()
    redis_server.start()
    web_port, flower_port = free_port(), free_port()
    env = stack_env(
        database_url=TEST_DATABASE_URL,
        redis_url=redis_server.url,
        broker_url=redis_server.url,
        FLOWER_PORT=str(flower_port),
        FLOWER_BASIC_AUTH="ops:secret-pass",
        OMS_INSTANCE_DIR=str(tmp_path),
        PATH=f"{BIN}:{os.environ['PATH']}",
    )
    stack = Process(
        [str(BIN / "honcho"), "start", "-f", str(ROOT / "Procfile"), "-p", str(web_port)],
        env,
        tmp_path / "stack.log",
    )
    try:
        base = f"http://127.0.0.1:{web_port}"
        assert wait_for(lambda: _get(f"{base}/healthz") == 200, 60), stack.log()[-3000:]
        assert wait_for(lambda: "ready." in stack.log() and "beat: Starting" in stack.log(), 60), (
            stack.log()[-3000:]
        )

        customer = make_user(UserRole.CUSTOMER)
        product = make_product(stock=3)
        status, body = http(
            "POST", f"{base}/api/v1/auth/login", {"email": customer.email, "password": PASSWORD}
        )
        token = body["access_token"]
        status, order = http(
            "POST",
            f"{base}/api/v1/orders",
            {
                "items": [{"product_id": str(product.id), "quantity": 1}],
                "shipping_address": ADDRESS,
            },
            token,
        )
        assert status == 202, order
        assert wait_for(
            lambda: (
                http("GET", f"{base}/api/v1/orders/{order['id']}", token=token)[1]["status"]
                == "placed"
            ),
            30,
        ), stack.log()[-3000:]

        assert wait_for(
            lambda: _get(f"http://127.0.0.1:{flower_port}/", "ops:secret-pass") == 200, 60
        ), stack.log()[-3000:]
        assert _get(f"http://127.0.0.1:{flower_port}/") == 401
        assert _get(f"http://127.0.0.1:{flower_port}/", "ops:wrong") == 401
    finally:
        stack.stop(timeout=40)
        redis_server.stop()
    from oms.extensions import db

    db.session.expire_all()
    assert db.session.get(Product, product.id).reserved_count == 1


def _compose_command() -> list[str] | None:
    if (
        shutil.which("docker")
        and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0
    ):
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_compose_file_validates():
    command = _compose_command()
    if command is None:
        message = (
            "neither `docker compose` nor `docker-compose` is installed: compose file NOT validated"
        )
        if os.environ.get("OMS_REQUIRE_COMPOSE") == "1":
            pytest.fail(message)
        pytest.skip(message)
    env = {
        **os.environ,
        "OMS_SECRET_KEY": "x" * 40,
        "OMS_JWT_SECRET_KEY": "y" * 40,
        "FLOWER_BASIC_AUTH": "a:b",
    }
    result = subprocess.run([*command, "config"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for service in ("postgres", "redis", "web", "worker", "beat", "flower"):
        assert f"  {service}:" in result.stdout
    assert result.stdout.count("healthcheck:") >= 6
